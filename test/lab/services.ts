// Tiny programs the lab runs inside namespaces with `node -e`: real servers that answer with
// their own name (so a test sees which one the scheduler picked) and one-shot clients. They are
// CommonJS scripts because `node -e` evaluates CommonJS by default; values reach them as
// process.argv entries, never spliced into the source.

/** argv: NAME PORT. Answers every request with "NAME\n"; logs "listening PORT" and each request. */
export const HTTP_SERVER_JS = `
const http = require('http');
const [name, port] = [process.argv[1], Number(process.argv[2])];
const srv = http.createServer((req, res) => {
  console.log('request ' + req.socket.remoteAddress + ':' + req.socket.remotePort + ' ' + req.method + ' ' + req.url);
  res.setHeader('x-real-server', name);
  res.setHeader('connection', 'close');
  res.end(name + '\\n');
});
srv.on('error', (e) => { console.error('error ' + e.message); process.exit(1); });
srv.listen(port, '0.0.0.0', () => console.log('listening ' + port));
process.on('SIGTERM', () => process.exit(0));
`;

/** argv: NAME PORT. Replies to every datagram with "NAME:" + payload; logs "listening PORT". */
export const UDP_ECHO_JS = `
const dgram = require('dgram');
const [name, port] = [process.argv[1], Number(process.argv[2])];
const s = dgram.createSocket('udp4');
s.on('message', (msg, rinfo) => {
  console.log('datagram ' + rinfo.address + ':' + rinfo.port + ' ' + msg.length);
  s.send(Buffer.concat([Buffer.from(name + ':'), msg]), rinfo.port, rinfo.address);
});
s.on('error', (e) => { console.error('error ' + e.message); process.exit(1); });
s.bind(port, '0.0.0.0', () => console.log('listening ' + port));
process.on('SIGTERM', () => process.exit(0));
`;

/** argv: URL TIMEOUT_MS. Prints {"status":N,"body":"…"} as JSON; exit 2 with the error on stderr. */
export const HTTP_GET_JS = `
const http = require('http');
const [url, timeout] = [process.argv[1], Number(process.argv[2])];
const req = http.get(url, { agent: false, timeout, headers: { connection: 'close' } }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (d) => { body += d; });
  res.on('end', () => { process.stdout.write(JSON.stringify({ status: res.statusCode, body })); });
});
req.on('timeout', () => req.destroy(new Error('timed out after ' + timeout + ' ms')));
req.on('error', (e) => { process.stderr.write(e.message); process.exit(2); });
`;

/** argv: ADDR PORT PAYLOAD TIMEOUT_MS. Prints the first reply; exit 2 on timeout or error. */
export const UDP_REQUEST_JS = `
const dgram = require('dgram');
const [addr, port, payload, timeout] = [process.argv[1], Number(process.argv[2]), process.argv[3], Number(process.argv[4])];
const s = dgram.createSocket('udp4');
const t = setTimeout(() => { process.stderr.write('no reply after ' + timeout + ' ms'); process.exit(2); }, timeout);
s.on('message', (msg) => { clearTimeout(t); process.stdout.write(msg); s.close(); });
s.on('error', (e) => { process.stderr.write(e.message); process.exit(2); });
s.send(Buffer.from(payload), port, addr);
`;
