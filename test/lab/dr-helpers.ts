// Helpers of the lb_kind DR lab tests and bench: services a DR real server runs (UDP bound to
// the VIP, so replies leave with the VIP as source, as DR needs), clients that speak from many
// source addresses (the hash spreads clients, not connections), a large-body HTTP pair for
// path-MTU discovery, and looks at a board's netdev table. Programs are CommonJS for `node -e`;
// values reach them through process.argv, never spliced into their source (as in services.ts).
import type { Lab, LabProcess, Host, Board } from './lab.ts';

/**
 * argv: NAME ADDR PORT. UDP echo bound to ADDR (the VIP on a DR real server's lo): replies
 * "NAME:" + payload from ADDR:PORT. A socket bound to 0.0.0.0 would answer from the real
 * server's own address, which the client never asked. Logs "listening PORT".
 */
export const UDP_ECHO_BOUND_JS = `
const dgram = require('dgram');
const [name, addr, port] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const s = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4');
s.on('message', (msg, rinfo) => {
  console.log('datagram ' + rinfo.address + ':' + rinfo.port + ' ' + msg.length);
  s.send(Buffer.concat([Buffer.from(name + ':'), msg]), rinfo.port, rinfo.address);
});
s.on('error', (e) => { console.error('error ' + e.message); process.exit(1); });
s.bind(port, addr, () => console.log('listening ' + port));
process.on('SIGTERM', () => process.exit(0));
`;

/** argv: ADDR PORT PAYLOAD TIMEOUT_MS. A connected UDP socket: only a reply from ADDR:PORT counts. Prints it; exit 2 otherwise. */
export const UDP_CONNECTED_REQUEST_JS = `
const dgram = require('dgram');
const [addr, port, payload, timeout] = [process.argv[1], Number(process.argv[2]), process.argv[3], Number(process.argv[4])];
const s = dgram.createSocket('udp4');
const t = setTimeout(() => { process.stderr.write('no reply from ' + addr + ':' + port + ' after ' + timeout + ' ms'); process.exit(2); }, timeout);
s.on('message', (msg) => { clearTimeout(t); process.stdout.write(msg); s.close(); });
s.on('error', (e) => { process.stderr.write(e.message); process.exit(2); });
s.connect(port, addr, () => s.send(Buffer.from(payload)));
`;

/**
 * argv: HOST PORT SOURCES PER TIMEOUT_MS. For each source address (comma-separated), PER HTTP
 * GETs to HOST:PORT from it, a new connection each, one source at a time and 8 sources at once.
 * Prints {"bySource":{src:[body,…]},"errors":n,"firstError":s}.
 */
export const SOURCES_HTTP_JS = `
const http = require('http');
const [host, port, sources, per, timeout] = [process.argv[1], Number(process.argv[2]), process.argv[3].split(','), Number(process.argv[4]), Number(process.argv[5])];
const bySource = {};
let errors = 0, firstError = null, next = 0, active = 0;
function get(src) {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/', localAddress: src, agent: false, timeout, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => { (bySource[src] = bySource[src] || []).push(body.trim()); resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('timed out after ' + timeout + ' ms')));
    req.on('error', (e) => { errors++; if (!firstError) firstError = src + ': ' + e.message; resolve(); });
  });
}
async function worker() {
  while (next < sources.length) {
    const src = sources[next++];
    for (let k = 0; k < per; k++) await get(src);
  }
}
Promise.all(Array.from({ length: 8 }, worker)).then(() => process.stdout.write(JSON.stringify({ bySource, errors, firstError })));
`;

/** argv: NAME PORT. HTTP server answering GET /?n=BYTES with BYTES bytes (a large body); logs "listening PORT". */
export const BIG_HTTP_SERVER_JS = `
const http = require('http');
const [name, port] = [process.argv[1], Number(process.argv[2])];
const srv = http.createServer((req, res) => {
  const n = Math.min(64 << 20, Number(new URL(req.url, 'http://x').searchParams.get('n') || '0'));
  res.setHeader('x-real-server', name);
  res.setHeader('content-length', String(n));
  res.setHeader('connection', 'close');
  res.end(Buffer.alloc(n, 120));
});
srv.on('error', (e) => { console.error('error ' + e.message); process.exit(1); });
srv.listen(port, '0.0.0.0', () => console.log('listening ' + port));
process.on('SIGTERM', () => process.exit(0));
`;

/** argv: URL TIMEOUT_MS. GET, counting the body's bytes: prints {"bytes":n,"server":s}; exit 2 (with what arrived) on timeout or error. */
export const BIG_GET_JS = `
const http = require('http');
const [url, timeout] = [process.argv[1], Number(process.argv[2])];
let bytes = 0;
const t = setTimeout(() => { process.stderr.write('timed out after ' + timeout + ' ms with ' + bytes + ' bytes'); process.exit(2); }, timeout);
http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
  res.on('data', (d) => { bytes += d.length; });
  res.on('end', () => { clearTimeout(t); process.stdout.write(JSON.stringify({ bytes, server: res.headers['x-real-server'] })); });
}).on('error', (e) => { process.stderr.write(e.message + ' after ' + bytes + ' bytes'); process.exit(2); });
`;

/** Starts the VIP-bound UDP echo on a real server; resolves once it listens. */
export async function startUdpEchoOn(lab: Lab, host: Host, addr: string, port: number): Promise<LabProcess> {
  const p = lab.spawn(host, [process.execPath, '-e', UDP_ECHO_BOUND_JS, host, addr, String(port)], { label: `${host}:udp${port}` });
  await p.waitForLog(/^listening /, 10_000);
  return p;
}

export async function startBigHttp(lab: Lab, host: Host, port: number): Promise<LabProcess> {
  const p = lab.spawn(host, [process.execPath, '-e', BIG_HTTP_SERVER_JS, host, String(port)], { label: `${host}:big${port}` });
  await p.waitForLog(/^listening /, 10_000);
  return p;
}

/** One UDP request over a connected socket: the reply must come from ADDR:PORT. */
export async function udpConnectedRequest(lab: Lab, host: Host, addr: string, port: number, payload: string, timeoutMs = 2_000): Promise<string> {
  const r = await lab.exec(host, [process.execPath, '-e', UDP_CONNECTED_REQUEST_JS, addr, String(port), payload, String(timeoutMs)], { timeoutMs: timeoutMs + 5_000 });
  if (r.code !== 0) throw new Error(`UDP to ${addr}:${port} from ${host} failed: ${r.stderr.trim() || `exit ${String(r.code)}`}`);
  return r.stdout;
}

export interface SourcesResult {
  bySource: Record<string, string[]>;
  errors: number;
  firstError: string | null;
}

/** PER HTTP GETs from each source address of the client host to ADDR:PORT. */
export async function httpFromSources(lab: Lab, host: Host, addr: string, port: number, sources: readonly string[], per = 1, timeoutMs = 3_000): Promise<SourcesResult> {
  const r = await lab.exec(host, [process.execPath, '-e', SOURCES_HTTP_JS, addr, String(port), sources.join(','), String(per), String(timeoutMs)], { timeoutMs: 180_000 });
  if (r.code !== 0) throw new Error(`sources-http client failed (exit ${String(r.code)}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as SourcesResult;
}

/** The one real server each source reached (throws if a source reached two: the hash must keep it on one). */
export function serverOf(r: SourcesResult): Map<string, string> {
  const out = new Map<string, string>();
  for (const [src, names] of Object.entries(r.bySource)) {
    const set = new Set(names);
    if (set.size !== 1) throw new Error(`source ${src} reached ${[...set].join(' and ')}`);
    out.set(src, names[0]!);
  }
  return out;
}

/**
 * Source addresses for a host without adding each: `ip route add local CIDR dev lo` makes the
 * whole range local (the kernel then also answers ARP for them on the host's interfaces).
 * Returns the first `count` addresses after the range's base (base + 1 …).
 */
export async function addSourceRange(lab: Lab, host: Host, base: string, prefix: number, count: number): Promise<string[]> {
  const r = await lab.exec(host, ['ip', 'route', 'add', 'local', `${base}/${prefix}`, 'dev', 'lo']);
  if (r.code !== 0) throw new Error(`ip route add local ${base}/${prefix} in ${host}: ${r.stderr.trim()}`);
  const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
  return Array.from({ length: count }, (_, i) => `${a}.${b}.${c}.${d + 1 + i}`);
}

/** `nft -j list table netdev tandem` on a board, parsed (null: no such table). */
export async function netdevTable(lab: Lab, board: Board): Promise<Array<Record<string, unknown>> | null> {
  const r = await lab.exec(board, ['nft', '-j', 'list', 'table', 'netdev', 'tandem']);
  if (r.code !== 0) {
    if (/No such file or directory/.test(r.stderr)) return null;
    throw new Error(`nft list table netdev tandem on ${board}: ${r.stderr.trim()}`);
  }
  return (JSON.parse(r.stdout) as { nftables: Array<Record<string, unknown>> }).nftables;
}

/** Packets counted by the `counter` of the rules of one chain of `table ip tandem` (or ip6) (in rule order). */
export async function ipChainCounters(lab: Lab, board: Board, chain: string, family: 'ip' | 'ip6' = 'ip'): Promise<number[]> {
  const r = await lab.exec(board, ['nft', '-j', 'list', 'chain', family, 'tandem', chain]);
  if (r.code !== 0) throw new Error(`nft list chain ${family} tandem ${chain} on ${board}: ${r.stderr.trim()}`);
  const out: number[] = [];
  for (const o of (JSON.parse(r.stdout) as { nftables: Array<{ rule?: { expr: Array<Record<string, { packets?: number }>> } }> }).nftables) {
    const c = o.rule?.expr.find((e) => 'counter' in e);
    if (o.rule) out.push(c?.counter?.packets ?? 0);
  }
  return out;
}
