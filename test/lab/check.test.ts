// Health checkers against real servers on 127.0.0.1 ephemeral ports (checkers are userspace
// clients: no namespaces needed). Bounds are asserted with margins, never tight timings.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { checkTcp } from '../../src/check/tcp.ts';
import { checkHttp } from '../../src/check/http.ts';
import { checkUdp } from '../../src/check/udp.ts';
import { checkMisc } from '../../src/check/misc.ts';
import { runBounded } from '../../src/util/spawn.ts';
import { makeProbe } from '../../src/check/probe.ts';
import { HealthChecker } from '../../src/check/scheduler.ts';
import type { RsStateEvent } from '../../src/check/types.ts';
import { httpCheck, miscCheck, realServer, tcpCheck, udpCheck, url, virtualServer } from '../unit/check/fixtures.ts';

const LO = '127.0.0.1';
const never = new AbortController().signal;
const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function listen(s: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, LO, () => resolve((s.address() as AddressInfo).port));
  });
}

/** Server-side sockets of every server started here, destroyed when their server closes. */
const serverSockets = new WeakMap<Server, Set<Socket>>();
function track(s: Server): Server {
  const set = new Set<Socket>();
  serverSockets.set(s, set);
  s.on('connection', (c: Socket) => {
    set.add(c);
    c.on('close', () => set.delete(c));
  });
  return s;
}

function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    for (const c of serverSockets.get(s) ?? []) c.destroy();
  });
}

/** Wait until `cond` holds, polling; fails after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- HTTP fixtures -------------------------------------------------------------------------

const hostsSeen: string[] = [];
let httpPort = 0;
let garbagePort = 0;
let resetPort = 0;
let hangPort = 0;

function httpHandler(req: IncomingMessage, res: ServerResponse): void {
  hostsSeen.push(req.headers.host ?? '');
  switch (req.url) {
    case '/ok': res.writeHead(200, { 'content-length': '5' }).end('hello'); break;
    case '/teapot': res.writeHead(418).end('no'); break;
    case '/chunked': res.writeHead(200); res.write('hel'); setTimeout(() => res.end('lo'), 50); break;
    case '/slow': setTimeout(() => { if (!res.destroyed) res.writeHead(200).end('late'); }, 3000); break;
    case '/big': {
      // Streams 50 MB unless the client goes away.
      res.writeHead(200);
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = (): void => {
        while (sent < 50 * 1024 * 1024 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
      break;
    }
    default: res.writeHead(404).end();
  }
}

before(async () => {
  const http = track(createHttpServer(httpHandler));
  httpPort = await listen(http);
  cleanups.push(() => closeServer(http));

  const garbage = track(createNetServer((s) => { s.on('error', () => {}); s.end('SSH-2.0-OpenSSH_9.2\r\n\x00\xff\xfe'); }));
  garbagePort = await listen(garbage);
  cleanups.push(() => closeServer(garbage));

  const reset = track(createNetServer((s) => { s.on('error', () => {}); s.once('data', () => s.resetAndDestroy()); }));
  resetPort = await listen(reset);
  cleanups.push(() => closeServer(reset));

  const hang = track(createNetServer((s) => { s.on('error', () => {}); }));
  hangPort = await listen(hang);
  cleanups.push(() => closeServer(hang));
});

const target = (port: number, virtualhost: string | null = null) => ({ address: LO, port, virtualhost });

// ---- TCP -----------------------------------------------------------------------------------

test('TCP_CHECK: connect succeeds, refused port fails, connect_port honoured', async () => {
  const r = await checkTcp(target(httpPort), tcpCheck({ connectTimeoutMs: 1000 }), never);
  assert.equal(r.ok, true, r.detail);
  const closed = createNetServer();
  const port = await listen(closed);
  await closeServer(closed);
  const f = await checkTcp(target(port), tcpCheck({ connectTimeoutMs: 1000 }), never);
  assert.equal(f.ok, false);
  assert.match(f.detail, /ECONNREFUSED/);
  // Through the probe: the real server's port is closed, connect_port points at a live one.
  const probe = makeProbe();
  const rs = realServer(LO, port);
  const viaPort = await probe(tcpCheck({ connectPort: httpPort, connectTimeoutMs: 1000 }), rs, virtualServer([rs]), never);
  assert.equal(viaPort.ok, true, viaPort.detail);
  const bad = await probe(tcpCheck({ bindTo: '203.0.113.250', connectTimeoutMs: 1000 }), rs, virtualServer([rs]), never);
  assert.equal(bad.ok, false, 'binding to an address we do not own fails the check, not the process');
});

test('TCP_CHECK via HealthChecker: server gone → down within the bound; back → up', async () => {
  const srv = track(createNetServer((s) => s.destroy()));
  const port = await listen(srv);
  const timing = { connectTimeoutMs: 500, retry: 2, delayBeforeRetryMs: 200, warmupMs: 0, delayLoopMs: 300 };
  const rs = realServer(LO, port, { checkers: [tcpCheck(timing)] });
  const events: RsStateEvent[] = [];
  const hc = new HealthChecker([virtualServer([rs], { delayLoopMs: 300 })], { onChange: (e) => events.push(e) });
  cleanups.push(() => hc.stop());
  hc.start();
  await until(() => events.some((e) => e.lastCheck !== null) || hc.states()[0]!.lastCheck !== null, 3000, 'first check');
  assert.equal(hc.states()[0]!.up, true);
  const t0 = Date.now();
  await closeServer(srv);
  await until(() => events.some((e) => !e.up), 5000, 'down event');
  const took = Date.now() - t0;
  // Next check is at most delay_loop away, then 1 + retry attempts (each ≤ connect_timeout)
  // spaced by delay_before_retry.
  const bound = timing.delayLoopMs + 3 * timing.connectTimeoutMs + 2 * timing.delayBeforeRetryMs + 1000;
  assert.ok(took <= bound, `down after ${took} ms, bound ${bound} ms`);
  const down = events.find((e) => !e.up)!;
  assert.equal(down.failures, 3);
  const srv2 = track(createNetServer((s) => s.destroy()));
  await listen(srv2, port);
  cleanups.push(() => closeServer(srv2));
  await until(() => events.at(-1)!.up, 3000, 'up event');
  hc.stop();
});

// ---- HTTP ----------------------------------------------------------------------------------

test('HTTP_GET: status codes and ranges', async () => {
  const ok = await checkHttp(target(httpPort), httpCheck({ urls: [url({ path: '/ok' })] }), never);
  assert.equal(ok.ok, true, ok.detail);
  const tea = await checkHttp(target(httpPort), httpCheck({ urls: [url({ path: '/teapot' })] }), never);
  assert.equal(tea.ok, false);
  assert.match(tea.detail, /status 418 not in 200-299/);
  const range = await checkHttp(target(httpPort), httpCheck({ urls: [url({ path: '/teapot', statusCodes: [[400, 420]] })] }), never);
  assert.equal(range.ok, true, range.detail);
  const two = await checkHttp(target(httpPort), httpCheck({ urls: [url({ path: '/ok' }), url({ path: '/missing' })] }), never);
  assert.equal(two.ok, false, 'every url must pass');
  assert.match(two.detail, /404/);
});

test('HTTP_GET: digest match and mismatch, chunked HTTP/1.1 body', async () => {
  const md5 = createHash('md5').update('hello').digest('hex');
  const m = await checkHttp(target(httpPort), httpCheck({ urls: [url({ path: '/ok', digest: md5 })] }), never);
  assert.equal(m.ok, true, m.detail);
  const mm = await checkHttp(target(httpPort), httpCheck({ urls: [url({ path: '/ok', digest: '0'.repeat(32) })] }), never);
  assert.equal(mm.ok, false);
  assert.match(mm.detail, /digest mismatch/);
  const ch = await checkHttp(target(httpPort), httpCheck({ httpProtocol: '1.1', urls: [url({ path: '/chunked', digest: md5.toUpperCase() })] }), never);
  assert.equal(ch.ok, true, ch.detail);
});

test('HTTP_GET: Host header = url virtualhost, else checker, else VS, else ADDRESS:PORT', async () => {
  hostsSeen.length = 0;
  await checkHttp(target(httpPort, 'vs.example'), httpCheck({ virtualhost: 'chk.example', urls: [url({ path: '/ok', virtualhost: 'url.example' })] }), never);
  await checkHttp(target(httpPort, 'vs.example'), httpCheck({ virtualhost: 'chk.example', urls: [url({ path: '/ok' })] }), never);
  await checkHttp(target(httpPort, 'vs.example'), httpCheck({ urls: [url({ path: '/ok' })] }), never);
  await checkHttp(target(httpPort), httpCheck({ urls: [url({ path: '/ok' })] }), never);
  assert.deepEqual(hostsSeen, ['url.example', 'chk.example', 'vs.example', `${LO}:${httpPort}`]);
});

test('HTTP_GET: a path or Host holding CR/LF is never sent: the check fails and no request reaches the server', async () => {
  hostsSeen.length = 0;
  const probe = makeProbe();
  const rs = realServer(LO, httpPort);
  const viaPath = await probe(httpCheck({ urls: [url({ path: '/ok\r\nHost: evil.example' })] }), rs, virtualServer([rs]), never);
  const viaHost = await probe(httpCheck({ virtualhost: 'a.example\r\nX-Evil: 1', urls: [url({ path: '/ok' })] }), rs, virtualServer([rs]), never);
  const viaVs = await probe(httpCheck({ urls: [url({ path: '/ok' })] }), rs, virtualServer([rs], { virtualhost: 'vs.example\rX: 1' }), never);
  for (const r of [viaPath, viaHost, viaVs]) {
    assert.equal(r.ok, false);
    assert.match(r.detail, /refusing to send an HTTP request/);
  }
  const ok = await probe(httpCheck({ urls: [url({ path: '/ok' })] }), rs, virtualServer([rs]), never);
  assert.equal(ok.ok, true, ok.detail);
  assert.deepEqual(hostsSeen, [`${LO}:${httpPort}`], 'only the clean request reached the server');
});

test('HTTP_GET bad servers: garbage, reset, accept-then-hang, slow, 50 MB body: all bounded failures', async () => {
  const cfg = (path: string, digest: string | null = null) => httpCheck({ connectTimeoutMs: 800, urls: [url({ path, digest })] });
  const [garbage, reset, hang, slow, big] = await Promise.all([
    checkHttp(target(garbagePort), cfg('/'), never),
    checkHttp(target(resetPort), cfg('/'), never),
    checkHttp(target(hangPort), cfg('/'), never),
    checkHttp(target(httpPort), cfg('/slow'), never),
    checkHttp(target(httpPort), cfg('/big', '0'.repeat(32)), never),
  ]);
  assert.equal(garbage.ok, false);
  assert.match(garbage.detail, /garbage reply: not an HTTP reply: "SSH-2\.0/);
  assert.equal(reset.ok, false);
  assert.match(reset.detail, /ECONNRESET/);
  for (const r of [hang, slow]) {
    assert.equal(r.ok, false);
    assert.match(r.detail, /timeout after 800 ms/);
    assert.ok(r.latencyMs < 800 + 1000, `latency ${r.latencyMs}`);
  }
  assert.equal(big.ok, false);
  assert.match(big.detail, /cap/);
});

test('SSL_GET: self-signed certificate accepted, SNI sent only with enable_sni', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'),
    '-out', join(dir, 'c.pem'), '-subj', '/CN=tandem-test', '-days', '1'], { stdio: 'ignore' });
  const names: Array<string | false> = [];
  const srv = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (req, res) => {
    names.push((req.socket as TLSSocket).servername ?? false);
    res.writeHead(200, { 'content-length': '5' }).end('hello');
  });
  const port = await listen(srv);
  t.after(() => closeServer(srv));
  const md5 = createHash('md5').update('hello').digest('hex');
  const base = { kind: 'SSL_GET' as const, virtualhost: 'www.example.test', urls: [url({ path: '/', digest: md5 })] };
  const a = await checkHttp(target(port), httpCheck({ ...base, enableSni: true }), never);
  assert.equal(a.ok, true, a.detail);
  const b = await checkHttp(target(port), httpCheck({ ...base, enableSni: false }), never);
  assert.equal(b.ok, true, b.detail);
  assert.deepEqual(names, ['www.example.test', false]);
});

// ---- UDP -----------------------------------------------------------------------------------

test('UDP_CHECK: echo, reply match/mismatch, closed port, silent server', async (t) => {
  const echo = createSocket('udp4');
  echo.on('message', (m, r) => echo.send(m, r.port, r.address));
  await new Promise<void>((r) => echo.bind(0, LO, r));
  const silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, LO, r));
  const gone: UdpSocket = createSocket('udp4');
  await new Promise<void>((r) => gone.bind(0, LO, r));
  const gonePort = gone.address().port;
  await new Promise<void>((r) => gone.close(() => r()));
  t.after(() => { echo.close(); silent.close(); });
  const ep = echo.address().port;
  const sp = silent.address().port;
  const payload = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
  const c = (o: Parameters<typeof udpCheck>[0]) => udpCheck({ connectTimeoutMs: 500, payload, ...o });
  const [any, match, mismatch, closed, quiet, quietNeed] = await Promise.all([
    checkUdp(target(ep), c({ requireReply: '' }), never),
    checkUdp(target(ep), c({ requireReply: 'dead' }), never),
    checkUdp(target(ep), c({ requireReply: 'beef' }), never),
    checkUdp(target(gonePort), c({}), never),
    checkUdp(target(sp), c({}), never),
    checkUdp(target(sp), c({ requireReply: '' }), never),
  ]);
  assert.equal(any.ok, true, any.detail);
  assert.equal(match.ok, true, match.detail);
  assert.equal(mismatch.ok, false);
  assert.match(mismatch.detail, /mismatch/);
  assert.equal(closed.ok, false);
  assert.match(closed.detail, /port unreachable/);
  assert.equal(quiet.ok, true, 'no ICMP error within connect_timeout is a success without require_reply');
  assert.equal(quietNeed.ok, false);
  assert.match(quietNeed.detail, /no reply within 500 ms/);
});

// ---- MISC ----------------------------------------------------------------------------------

test('MISC_CHECK: exit codes, misc_dynamic weights, missing program', async () => {
  const run = (argv: string[], dyn = false) => checkMisc(miscCheck(argv, { miscDynamic: dyn }), { timeoutMs: 3000 }, never);
  assert.equal((await run(['/bin/true'])).ok, true);
  const f = await run(['/bin/sh', '-c', 'exit 1']);
  assert.equal(f.ok, false);
  assert.match(f.detail, /exit 1/);
  assert.equal((await run(['/bin/sh', '-c', 'exit 7'])).ok, false, 'without misc_dynamic, 7 is a failure');
  const d = await run(['/bin/sh', '-c', 'exit 7'], true);
  assert.deepEqual([d.ok, d.weight], [true, 5]);
  const z = await run(['/bin/true'], true);
  assert.deepEqual([z.ok, z.weight], [true, null]);
  const m = await run(['/nonexistent/script']);
  assert.equal(m.ok, false);
  assert.match(m.detail, /cannot run \(ENOENT\)/);
});

test('MISC_CHECK: a hanging script is killed with its process group at misc_timeout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-misc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'pid');
  const r = await checkMisc(miscCheck(['/bin/sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`]), { timeoutMs: 500 }, never);
  assert.equal(r.ok, false);
  assert.match(r.detail, /timeout after 500 ms, killed/);
  assert.ok(r.latencyMs < 500 + 1000, `latency ${r.latencyMs}`);
  const pid = readFileSync(pidFile, 'utf8').trim();
  await until(() => {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return /\) [ZX] /.test(st);
    } catch {
      return true;
    }
  }, 2000, 'grandchild gone');
});

test('MISC_CHECK: a script printing 50 MB neither blocks nor is buffered', async () => {
  const before = process.memoryUsage().rss;
  const raw = await runBounded(['/bin/sh', '-c', 'head -c 52428800 /dev/zero; head -c 1000 /dev/zero >&2'], { timeoutMs: 20_000 });
  assert.equal(raw.code, 0);
  assert.equal(raw.outputBytes, 52_428_800 + 1000);
  assert.ok(raw.outputHead.length <= 512);
  assert.ok(process.memoryUsage().rss - before < 40 * 1024 * 1024, 'output was not accumulated');
  const r = await checkMisc(miscCheck(['/bin/sh', '-c', 'head -c 52428800 /dev/zero']), { timeoutMs: 20_000 }, never);
  assert.equal(r.ok, true, r.detail);
});

test('MISC_CHECK: runs as script_user', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  const argv = ['/bin/sh', '-c', 'test "$(id -u)" = 65534'];
  const asNobody = await checkMisc(miscCheck(argv, { user: 'nobody' }), { timeoutMs: 3000 }, never);
  assert.equal(asNobody.ok, true, asNobody.detail);
  const asRoot = await checkMisc(miscCheck(argv), { timeoutMs: 3000 }, never);
  assert.equal(asRoot.ok, false);
  const viaDefault = await checkMisc(miscCheck(argv), { timeoutMs: 3000, defaultUser: 'nobody' }, never);
  assert.equal(viaDefault.ok, true, viaDefault.detail);
  const unknown = await checkMisc(miscCheck(argv, { user: 'no-such-user-tandem' }), { timeoutMs: 3000 }, never);
  assert.equal(unknown.ok, false);
  assert.match(unknown.detail, /unknown user/);
});

// ---- Isolation -----------------------------------------------------------------------------

test('bad servers and hanging scripts never block a healthy real server\'s cadence', async () => {
  const delayLoopMs = 200;
  const common = { connectTimeoutMs: 1500, retry: 0, delayBeforeRetryMs: 200, warmupMs: 0, delayLoopMs };
  const healthy = realServer(LO, httpPort, { checkers: [httpCheck({ ...common, urls: [url({ path: '/ok' })] })] });
  const bad = [
    realServer(LO, hangPort, { checkers: [httpCheck({ ...common, urls: [url({ path: '/' })] })] }),
    realServer(LO, garbagePort, { checkers: [httpCheck({ ...common, urls: [url({ path: '/' })] })] }),
    realServer(LO, resetPort, { checkers: [httpCheck({ ...common, urls: [url({ path: '/' })] })] }),
    realServer(LO, httpPort, { name: 'slow', checkers: [httpCheck({ ...common, urls: [url({ path: '/slow' })] })] }),
    realServer(LO, httpPort, { name: 'big', checkers: [httpCheck({ ...common, urls: [url({ path: '/big', digest: '0'.repeat(32) })] })] }),
    realServer(LO, 1, { name: 'sleeper', checkers: [miscCheck(['/bin/sleep', '30'], { miscTimeoutMs: 1500, retry: 0, warmupMs: 0, delayLoopMs })] }),
  ];
  const real = makeProbe();
  const starts: number[] = [];
  const events: RsStateEvent[] = [];
  const hc = new HealthChecker([virtualServer([healthy, ...bad], { delayLoopMs })], {
    onChange: (e) => events.push(e),
    probe: (c, rs, vs, s) => {
      if (rs === healthy) starts.push(Date.now());
      return real(c, rs, vs, s);
    },
  });
  cleanups.push(() => hc.stop());
  hc.start();
  await until(() => bad.every((b) => hc.states().some((s) => s.rs === b.name && !s.up)), 6000, 'all bad servers down');
  // Watch the cadence a while longer with the bad servers down: five more healthy checks.
  const seen = starts.length;
  await until(() => starts.length >= seen + 5, 5 * delayLoopMs + 3000, 'five more healthy checks');
  hc.stop();
  const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
  assert.ok(starts.length >= 8, `healthy checks ran ${starts.length} times`);
  // Each gap is delay_loop plus the healthy check's own latency; nothing waits for the bad ones.
  assert.ok(Math.max(...gaps) < delayLoopMs + 400, `healthy gaps ${gaps.join(',')}`);
  assert.ok(events.every((e) => e.rs !== healthy.name || e.up));
});
