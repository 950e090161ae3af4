// Helpers of the load-balancing lab tests and benches: virtual_server text for
// pairConfig's `extra`, small programs run inside the lab's namespaces (a many-request HTTP
// client, a line-echo TCP server, long-lived TCP and UDP session clients), and conntrack /
// nft look-ups on a board. The programs are CommonJS for `node -e`; values reach them through
// process.argv, never spliced into their source (as in services.ts).
import type { Lab, LabProcess, Host, Board } from './lab.ts';
import { vsObjectName } from '../../src/lb/plan.ts';

// ---- configuration ------------------------------------------------------------------------

export interface RsSpec {
  address: string;
  port: number;
  weight?: number;
  /** Checker block(s) inside the real_server, e.g. tcpCheck({...}). */
  checker?: string;
}

export interface VsSpec {
  address: string;
  port: number;
  protocol?: 'TCP' | 'UDP';
  lbAlgo: string;
  lbKind?: string;
  delayLoop?: number;
  quorum?: number;
  hysteresis?: number;
  sorry?: { address: string; port: number };
  persistenceTimeout?: number;
  /** Extra lines inside the virtual_server block. */
  extra?: string;
  realServers: RsSpec[];
}

export function virtualServerBlock(v: VsSpec): string {
  const lines = [
    `virtual_server ${v.address} ${v.port} {`,
    `    delay_loop ${v.delayLoop ?? 1}`,
    `    lb_algo ${v.lbAlgo}`,
    `    lb_kind ${v.lbKind ?? 'NAT'}`,
    `    protocol ${v.protocol ?? 'TCP'}`,
  ];
  if (v.quorum !== undefined) lines.push(`    quorum ${v.quorum}`);
  if (v.hysteresis !== undefined) lines.push(`    hysteresis ${v.hysteresis}`);
  if (v.persistenceTimeout !== undefined) lines.push(`    persistence_timeout ${v.persistenceTimeout}`);
  if (v.sorry) lines.push(`    sorry_server ${v.sorry.address} ${v.sorry.port}`);
  if (v.extra) lines.push(v.extra);
  for (const rs of v.realServers) {
    lines.push(`    real_server ${rs.address} ${rs.port} {`);
    lines.push(`        weight ${rs.weight ?? 1}`);
    if (rs.checker) lines.push(rs.checker);
    lines.push('    }');
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

export interface TcpCheckSpec {
  connectTimeout: number;
  retry: number;
  delayBeforeRetry: number;
  /** Per-checker delay_loop (else the virtual server's). */
  delayLoop?: number;
  /** warmup 0 checks at once after start (keepalived's default warmup is delay_loop). */
  warmup?: number;
}

export function tcpCheck(c: TcpCheckSpec): string {
  return [
    '        TCP_CHECK {',
    `            connect_timeout ${c.connectTimeout}`,
    `            retry ${c.retry}`,
    `            delay_before_retry ${c.delayBeforeRetry}`,
    ...(c.delayLoop !== undefined ? [`            delay_loop ${c.delayLoop}`] : []),
    ...(c.warmup !== undefined ? [`            warmup ${c.warmup}`] : []),
    '        }',
  ].join('\n');
}

/**
 * keepalived's bound on detecting a dead real server whose port refuses connections: the
 * failing check may start up to one delay_loop after the death, then 1 + retry attempts, each
 * at most connect_timeout, delay_before_retry apart (check_tcp.c / check_api.c).
 */
export function removalBoundMs(c: TcpCheckSpec, vsDelayLoop: number): number {
  const loop = c.delayLoop ?? vsDelayLoop;
  return 1000 * (loop + (1 + c.retry) * c.connectTimeout + c.retry * c.delayBeforeRetry);
}

// ---- programs run in namespaces -----------------------------------------------------------

/**
 * argv: HOST PORT COUNT CONCURRENCY TIMEOUT_MS. COUNT HTTP GETs, a new connection each, at most
 * CONCURRENCY at once. Prints {"counts":{body:n},"errors":n,"firstError":s} as JSON.
 */
export const MANY_HTTP_JS = `
const http = require('http');
const [host, port, count, conc, timeout] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const counts = {};
let errors = 0, firstError = null, started = 0, done = 0;
function one() {
  if (started >= count) return;
  started++;
  const req = http.get({ host, port, path: '/', agent: false, timeout, headers: { connection: 'close' } }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => { body += d; });
    res.on('end', () => { const k = body.trim(); counts[k] = (counts[k] || 0) + 1; next(); });
  });
  req.on('timeout', () => req.destroy(new Error('timed out after ' + timeout + ' ms')));
  req.on('error', (e) => { errors++; if (!firstError) firstError = e.message; next(); });
}
function next() {
  done++;
  if (done === count) { process.stdout.write(JSON.stringify({ counts, errors, firstError })); return; }
  one();
}
for (let i = 0; i < Math.min(conc, count); i++) one();
`;

/** argv: NAME PORT [HOST]. TCP server answering every line with "NAME line\\n" (on HOST, default 0.0.0.0; '::' for IPv6); logs "listening PORT". */
export const TCP_ECHO_JS = `
const net = require('net');
const [name, port, host] = [process.argv[1], Number(process.argv[2]), process.argv[3] || '0.0.0.0'];
const srv = net.createServer((s) => {
  console.log('conn ' + s.remoteAddress);
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\\n')) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1); s.write(name + ' ' + line + '\\n'); }
    if (buf.length > 65536) s.destroy();
  });
  s.on('error', () => {});
});
srv.on('error', (e) => { console.error('error ' + e.message); process.exit(1); });
srv.listen(port, host, () => console.log('listening ' + port));
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * argv: ADDR PORT N INTERVAL_MS SOURCES. Opens N TCP connections to ADDR:PORT (connection i
 * bound to source address SOURCES[i mod len], comma-separated, or none) and sends one line per
 * connection every INTERVAL_MS. Prints "ready" once every connection had an echo. Each line
 * "report" on stdin prints "report {json}": per connection the real server that echoes, echo
 * count, whether it closed and why. Bounded: exits on its own after 10 minutes.
 */
export const LONG_TCP_CLIENT_JS = `
const net = require('net');
const [addr, port, n, interval, sources] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), process.argv[5] || ''];
const srcs = sources ? sources.split(',') : [];
const conns = [];
let ready = false;
for (let i = 0; i < n; i++) {
  const c = { i, server: null, echoes: 0, sent: 0, closed: false, error: null, mismatch: 0, buf: '' };
  const opts = { host: addr, port };
  if (srcs.length) opts.localAddress = srcs[i % srcs.length];
  const s = net.connect(opts);
  c.s = s;
  s.setEncoding('utf8');
  s.on('data', (d) => {
    c.buf += d;
    let k;
    while ((k = c.buf.indexOf('\\n')) >= 0) {
      const line = c.buf.slice(0, k); c.buf = c.buf.slice(k + 1);
      const name = line.split(' ')[0];
      if (c.server === null) c.server = name; else if (c.server !== name) c.mismatch++;
      c.echoes++;
    }
    if (!ready && conns.every((x) => x.echoes > 0)) { ready = true; console.log('ready'); }
  });
  s.on('error', (e) => { c.error = e.code || e.message; });
  s.on('close', () => { c.closed = true; });
  conns.push(c);
}
const tick = setInterval(() => {
  for (const c of conns) if (!c.closed && c.s.writable) { c.sent++; c.s.write('c' + c.i + ' ' + c.sent + '\\n'); }
}, interval);
process.stdin.setEncoding('utf8');
let inbuf = '';
process.stdin.on('data', (d) => {
  inbuf += d;
  let k;
  while ((k = inbuf.indexOf('\\n')) >= 0) {
    const cmd = inbuf.slice(0, k).trim(); inbuf = inbuf.slice(k + 1);
    if (cmd === 'report') {
      console.log('report ' + JSON.stringify(conns.map((c) => ({ i: c.i, server: c.server, echoes: c.echoes, sent: c.sent, closed: c.closed, error: c.error, mismatch: c.mismatch }))));
    }
  }
});
process.stdin.on('end', () => process.exit(0));
setTimeout(() => process.exit(3), 600000).unref();
process.on('SIGTERM', () => { clearInterval(tick); process.exit(0); });
`;

/**
 * argv: ADDR PORT INTERVAL_MS. One UDP socket (one source port: one flow) sending a numbered
 * datagram every INTERVAL_MS. "report" on stdin prints "report {json}" with the replies seen per
 * real server (the echo's "NAME:" prefix) and the highest answered sequence number.
 */
export const UDP_SESSION_JS = `
const dgram = require('dgram');
const [addr, port, interval] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const s = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4');
const byServer = {};
let seq = 0, lastAnswered = 0, replies = 0;
s.on('message', (msg) => {
  const t = msg.toString();
  const k = t.indexOf(':');
  const name = t.slice(0, k);
  byServer[name] = (byServer[name] || 0) + 1;
  replies++;
  const n = Number(t.slice(k + 1));
  if (n > lastAnswered) lastAnswered = n;
});
s.on('error', (e) => { console.error('error ' + e.message); });
s.bind(0, () => console.log('bound ' + s.address().port));
const tick = setInterval(() => { seq++; s.send(Buffer.from(String(seq)), port, addr); }, interval);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  if (d.includes('report')) console.log('report ' + JSON.stringify({ sent: seq, replies, lastAnswered, byServer }));
});
process.stdin.on('end', () => process.exit(0));
setTimeout(() => process.exit(3), 600000).unref();
process.on('SIGTERM', () => { clearInterval(tick); process.exit(0); });
`;

// ---- running them -------------------------------------------------------------------------

export interface ManyResult {
  counts: Record<string, number>;
  errors: number;
  firstError: string | null;
}

/** COUNT HTTP GETs from the client to ADDR:PORT, a new connection each. */
export async function manyHttp(lab: Lab, addr: string, port: number, count: number, concurrency = 8, timeoutMs = 3000): Promise<ManyResult> {
  const r = await lab.exec('client', [process.execPath, '-e', MANY_HTTP_JS, addr, String(port), String(count), String(concurrency), String(timeoutMs)],
    { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`many-http client failed (exit ${String(r.code)}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as ManyResult;
}

/** Starts the line-echo TCP server on a host (on `bind`, default every IPv4 address); resolves once it listens. */
export async function startTcpEcho(lab: Lab, host: Host, port: number, bind?: string): Promise<LabProcess> {
  const p = lab.spawn(host, [process.execPath, '-e', TCP_ECHO_JS, host, String(port), ...(bind ? [bind] : [])], { label: `${host}:echo${port}` });
  await p.waitForLog(/^listening /, 10_000);
  return p;
}

/** A process of this file that answers "report" on stdin with one "report {json}" line. */
export async function report<T>(p: LabProcess): Promise<T> {
  const from = p.mark();
  p.child.stdin!.write('report\n');
  const line = await p.waitForLog(/^report /, 5_000, { from });
  return JSON.parse(line.slice('report '.length)) as T;
}

export interface ConnReport {
  i: number;
  server: string | null;
  echoes: number;
  sent: number;
  closed: boolean;
  error: string | null;
  mismatch: number;
}

export interface UdpReport {
  sent: number;
  replies: number;
  lastAnswered: number;
  byServer: Record<string, number>;
}

/** Extra client source addresses (203.0.113.101…), so hash schedulers spread one client's flows. */
export function clientSources(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `203.0.113.${101 + i}`);
}

/** Extra IPv6 client source addresses (2001:db8:0:1::101…) for a lab built with ipv6: true. */
export function clientSources6(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `2001:db8:0:1::${101 + i}`);
}

export async function addClientSources(lab: Lab, addrs: readonly string[]): Promise<void> {
  for (const a of addrs) {
    // IPv6: without duplicate address detection, so the address is usable at once.
    const argv = a.includes(':') ? ['ip', 'addr', 'add', `${a}/64`, 'dev', 'eth0', 'nodad'] : ['ip', 'addr', 'add', `${a}/24`, 'dev', 'eth0'];
    const r = await lab.exec('client', argv);
    if (r.code !== 0) throw new Error(`ip addr add ${a} in client: ${r.stderr.trim()}`);
  }
}

// ---- looking at a board -------------------------------------------------------------------

/** Conntrack entries on a board for flows to VIP whose reply comes from ADDR:PORT. */
export async function conntrackCount(lab: Lab, board: Board, vip: string, proto: 'tcp' | 'udp', rsAddr: string, rsPort: number): Promise<number> {
  const r = await lab.exec(board, ['conntrack', '-L', '-p', proto, '-d', vip, '--reply-src', rsAddr, '--reply-port-src', String(rsPort)]);
  // conntrack -L prints the entries on stdout and "N flow entries have been shown." on stderr.
  const m = /(\d+) flow entries have been shown/.exec(r.stderr);
  if (r.code !== 0 || !m) throw new Error(`conntrack -L failed on ${board} (exit ${String(r.code)}): ${r.stderr.trim()}`);
  return Number(m[1]);
}

/** `nft list map ip tandem NAME` on a board, as text. */
export async function nftMap(lab: Lab, board: Board, name: string): Promise<string> {
  const r = await lab.exec(board, ['nft', 'list', 'map', 'ip', 'tandem', name]);
  if (r.code !== 0) throw new Error(`nft list map ${name} on ${board}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** nft object name of a virtual server (the daemon's own naming). */
export function vsObject(address: string, port: number, protocol: 'TCP' | 'UDP' = 'TCP'): string {
  return vsObjectName({ address, port, protocol });
}

/** Time (LogLine.at) of the first daemon log line matching `re` at or after line `from`. */
export async function logTime(p: LabProcess, re: RegExp, timeoutMs: number, from = 0): Promise<number> {
  const text = await p.waitForLog(re, timeoutMs, { from });
  const hit = p.lines.slice(Math.max(0, from - (p.mark() - p.lines.length))).find((l) => l.text === text);
  return hit?.at ?? Date.now();
}
