// Every checker over IPv6, against real servers on ::1 (checkers are userspace clients: no
// namespaces needed, as in check.test.ts): TCP_CHECK, HTTP_GET (the Host header and the URL with
// the address in brackets, RFC 3986 §3.2.2), SSL_GET, UDP_CHECK, MISC_CHECK given the IPv6
// address in its misc_path, and connect_ip / bindto in IPv6 as the configuration writes them
// (an IPv4 real server checked over IPv6, keepalived's way of checking a dual-stack server).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { checkTcp } from '../../src/check/tcp.ts';
import { checkHttp } from '../../src/check/http.ts';
import { checkUdp } from '../../src/check/udp.ts';
import { checkMisc } from '../../src/check/misc.ts';
import { makeProbe } from '../../src/check/probe.ts';
import { parseConfigText } from '../../src/config/index.ts';
import type { Checker } from '../../src/config/model.ts';
import { httpCheck, tcpCheck, udpCheck, url } from '../unit/check/fixtures.ts';

const LO6 = '::1';
const never = new AbortController().signal;
const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function listen(s: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, LO6, () => resolve((s.address() as AddressInfo).port));
  });
}

function close(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

const target = (port: number) => ({ address: LO6, port, virtualhost: null });

test('TCP_CHECK over IPv6: connects, a closed port fails, bindto ::1 works, an address we do not own fails cleanly', async () => {
  const srv = createNetServer((s) => s.end());
  const port = await listen(srv);
  cleanups.push(() => close(srv));
  const r = await checkTcp(target(port), tcpCheck({ connectTimeoutMs: 1000 }), never);
  assert.equal(r.ok, true, r.detail);
  assert.equal(r.detail, `tcp [::1]:${port}: connected`, 'the address in brackets');
  assert.equal((await checkTcp(target(port), tcpCheck({ connectTimeoutMs: 1000, bindTo: LO6 }), never)).ok, true);
  const bad = await checkTcp(target(port), tcpCheck({ connectTimeoutMs: 1000, bindTo: '2001:db8::250' }), never);
  assert.equal(bad.ok, false);
  const gone = createNetServer();
  const gp = await listen(gone);
  await close(gone);
  const f = await checkTcp(target(gp), tcpCheck({ connectTimeoutMs: 1000 }), never);
  assert.equal(f.ok, false);
  assert.match(f.detail, /ECONNREFUSED/);
});

test('HTTP_GET and SSL_GET over IPv6: status and digest, Host [::1]:PORT, the URL in brackets', async (t) => {
  const hosts: string[] = [];
  const http = createHttpServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    res.writeHead(req.url === '/ok' ? 200 : 404, { 'content-length': '5' }).end('hello');
  });
  const hp = await listen(http);
  cleanups.push(() => close(http));
  const md5 = createHash('md5').update('hello').digest('hex');
  const ok = await checkHttp(target(hp), httpCheck({ urls: [url({ path: '/ok', digest: md5 })], connectTimeoutMs: 2000 }), never);
  assert.equal(ok.ok, true, ok.detail);
  assert.match(ok.detail, new RegExp(`^HTTP_GET http://\\[::1\\]:${hp}/ok: `));
  assert.deepEqual(hosts, [`[::1]:${hp}`], 'RFC 9110 §7.2: an IPv6 literal in Host is bracketed');
  const nf = await checkHttp(target(hp), httpCheck({ urls: [url({ path: '/nope' })], connectTimeoutMs: 2000 }), never);
  assert.equal(nf.ok, false);

  const dir = mkdtempSync(join(tmpdir(), 'tandem-check6-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'),
    '-out', join(dir, 'c.pem'), '-subj', '/CN=tandem-test', '-days', '1'], { stdio: 'ignore' });
  const https = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_req, res) => {
    res.writeHead(200, { 'content-length': '5' }).end('hello');
  });
  const sp = await listen(https);
  cleanups.push(() => close(https));
  const tls = await checkHttp(target(sp), httpCheck({ kind: 'SSL_GET', urls: [url({ path: '/', digest: md5 })], connectTimeoutMs: 3000, bindTo: LO6 }), never);
  assert.equal(tls.ok, true, tls.detail);
  assert.match(tls.detail, new RegExp(`^SSL_GET https://\\[::1\\]:${sp}/: `));
});

test('UDP_CHECK over IPv6: an echo with require_reply, bindto ::1, a closed port is unreachable', async (t) => {
  const echo = createSocket('udp6');
  echo.on('message', (m, r) => echo.send(m, r.port, r.address));
  await new Promise<void>((r) => echo.bind(0, LO6, r));
  const gone = createSocket('udp6');
  await new Promise<void>((r) => gone.bind(0, LO6, r));
  const gonePort = gone.address().port;
  await new Promise<void>((r) => gone.close(() => r()));
  t.after(() => echo.close());
  const payload = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
  const ep = echo.address().port;
  const yes = await checkUdp(target(ep), udpCheck({ connectTimeoutMs: 500, payload, requireReply: 'dead', bindTo: LO6 }), never);
  assert.equal(yes.ok, true, yes.detail);
  assert.match(yes.detail, new RegExp(`^udp \\[::1\\]:${ep}: `));
  const no = await checkUdp(target(gonePort), udpCheck({ connectTimeoutMs: 500, payload }), never);
  assert.equal(no.ok, false);
  assert.match(no.detail, /port unreachable/);
});

/** The checkers of one real server, read from configuration text. */
function checkersOf(text: string): { checkers: Checker[]; vs: ReturnType<typeof parseConfigText>['config'] } {
  const r = parseConfigText(text, 'check6.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  return { checkers: r.config!.virtualServers[0]!.realServers[0]!.checkers, vs: r.config };
}

test('MISC_CHECK gets the IPv6 address in its misc_path; connect_ip and bindto in IPv6 check an IPv4 real server over IPv6', async (t) => {
  const srv = createNetServer((s) => s.end());
  const port = await listen(srv);
  cleanups.push(() => close(srv));
  const dir = mkdtempSync(join(tmpdir(), 'tandem-misc6-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const probeJs = join(dir, 'probe.cjs');
  // argv: ADDRESS PORT: exit 0 when a TCP connection to it opens.
  writeFileSync(probeJs, "const s = require('net').connect(Number(process.argv[3]), process.argv[2], () => process.exit(0)); s.on('error', () => process.exit(1));\n");
  const text = `vrrp_instance V {
  interface eth0
  virtual_router_id 9
  virtual_ipaddress {
    192.0.2.10/24
  }
}
virtual_server 192.0.2.10 80 {
  lb_algo rr
  real_server 192.0.2.20 80 {
    MISC_CHECK {
      misc_path "${process.execPath} ${probeJs} ::1 ${port}"
    }
    TCP_CHECK {
      connect_ip ::1
      connect_port ${port}
      bindto 0:0:0:0:0:0:0:1
    }
  }
}
`;
  const { checkers, vs } = checkersOf(text);
  const [misc, tcp] = checkers;
  assert.ok(misc?.kind === 'MISC_CHECK' && tcp?.kind === 'TCP_CHECK');
  assert.deepEqual(misc.path.argv.slice(-2), ['::1', String(port)], 'the address reaches the program as one word');
  assert.equal(tcp.bindTo, '::1', 'canonical text');
  const m = await checkMisc(misc, { timeoutMs: 5000 }, never);
  assert.equal(m.ok, true, m.detail);
  const probe = makeProbe();
  const v = vs!.virtualServers[0]!;
  const rs = v.realServers[0]!;
  const r = await probe(tcp, rs, v, never);
  assert.equal(r.ok, true, `an IPv4 real server checked at its IPv6 connect_ip: ${r.detail}`);
  assert.match(r.detail, new RegExp(`\\[::1\\]:${port}`));
  await close(srv);
  assert.equal((await checkMisc(misc, { timeoutMs: 5000 }, never)).ok, false, 'the script sees the server gone');
  assert.equal((await probe(tcp, rs, v, never)).ok, false);
});
