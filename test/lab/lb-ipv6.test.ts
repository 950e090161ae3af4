// IPv6 virtual servers on a real pair (the lab with ipv6: true): NAT66 through the public IPv6
// VIP to real servers whose gateway is the link-local VIP fe80::1, in `table ip6 tandem`.
// 50 long-lived TCP connections through an mh and through an sh virtual server, from ten
// client addresses, and a UDP session through an mh one, survive a power loss of the MASTER
// (shared hash + the mid-stream guard over IPv6, as for IPv4 in lb-failover.test.ts); a
// dual-stack pair serves an IPv4 and an IPv6 virtual server at once and removes both tables on
// stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, LAB_ADDR, LAB_ADDR6, type Lab, type LabProcess } from './lab.ts';
import { pairConfig6 } from './vrrp-configs.ts';
import { waitHolder, waitHolder6 } from './vrrp-helpers.ts';
import {
  virtualServerBlock, tcpCheck, startTcpEcho, report, addClientSources, clientSources6,
  LONG_TCP_CLIENT_JS, TCP_ECHO_JS, UDP_SESSION_JS, type ConnReport, type UdpReport,
} from './lb-helpers.ts';
import { startUdpEchoOn } from './dr-helpers.ts';

const VIP6 = LAB_ADDR6.publicVip;
const RS6 = [1, 2, 3].map((i) => LAB_ADDR6.realServer(i));
const CONNS = 50;
const check = tcpCheck({ connectTimeout: 1, retry: 1, delayBeforeRetry: 0.5 });
const started = /Entering (BACKUP|MASTER|FAULT) STATE/;

const extra6 = [
  virtualServerBlock({ address: VIP6, port: 7000, lbAlgo: 'mh', realServers: RS6.map((a) => ({ address: a, port: 9000, checker: check })) }),
  virtualServerBlock({ address: VIP6, port: 7001, lbAlgo: 'sh', realServers: RS6.map((a) => ({ address: a, port: 9001, checker: check })) }),
  virtualServerBlock({ address: VIP6, port: 5300, protocol: 'UDP', lbAlgo: 'mh', realServers: RS6.map((a) => ({ address: a, port: 5353 })) }),
].join('\n');
const fast = { advertInt: 0.2, extra: extra6 };
const cfgA = pairConfig6({ routerId: 'lb-a', priority: 150, ...fast });
const cfgB = pairConfig6({ routerId: 'lb-b', priority: 100, ...fast });

function assertHealthy(rep: ConnReport[], what: string): void {
  assert.equal(rep.length, CONNS);
  const bad = rep.filter((c) => c.closed || c.error !== null || c.mismatch > 0);
  assert.deepEqual(bad, [], `${what}: connections closed, reset or moved`);
}

async function assertSurvived(lab: Lab, p: LabProcess, base: ConnReport[], what: string): Promise<void> {
  let last = base;
  await lab.waitFor(async () => {
    last = await report<ConnReport[]>(p);
    if (last.some((c) => c.closed)) return true; // fail fast below
    return last.every((c, i) => c.echoes >= base[i]!.echoes + 5);
  }, { timeoutMs: 30_000, intervalMs: 250, what: `${what}: all ${CONNS} connections echoing again` }).catch((e: Error) => {
    throw new Error(`${e.message}; stuck: [${last.filter((c, i) => c.echoes < base[i]!.echoes + 5).map((c) => c.i).join(',')}]`);
  });
  assertHealthy(last, what);
}

test('NAT66: 50 TCP connections (mh and sh) and a UDP session through the IPv6 VIP survive the MASTER\'s power loss', async (t) => {
  const lab = await withLab(t, { name: 'lb-ipv6', realServers: 3, ipv6: true });
  const echo = new Map<string, LabProcess>();
  for (let i = 1; i <= 3; i++) {
    echo.set(`rs${i}`, await startTcpEcho(lab, `rs${i}`, 9000, '::'));
    await startTcpEcho(lab, `rs${i}`, 9001, '::');
    await startUdpEchoOn(lab, `rs${i}`, '::', 5353);
  }
  const sources = clientSources6(10);
  await addClientSources(lab, sources);
  const a = await lab.startBoard('a', cfgA, { waitForLog: started });
  const b = await lab.startBoard('b', cfgB, { waitForLog: started });
  await waitHolder6(lab, 'a');
  await a.waitForLog(/table ip6 tandem with 3 IPv6 ones/);
  await b.waitForLog(/table ip6 tandem with 3 IPv6 ones/);

  const tcp = (port: number): LabProcess => lab.spawn('client', [process.execPath, '-e', LONG_TCP_CLIENT_JS, VIP6, String(port), String(CONNS), '100', sources.join(',')],
    { stdin: true, label: `client:tcp${port}` });
  // The checkers pass once before every real server is in the tables: retry until all answer.
  const mh = tcp(7000);
  const sh = tcp(7001);
  const udp = lab.spawn('client', [process.execPath, '-e', UDP_SESSION_JS, VIP6, '5300', '100'], { stdin: true, label: 'client:udp5300' });
  await mh.waitForLog(/^ready$/, 20_000);
  await sh.waitForLog(/^ready$/, 20_000);
  await lab.waitFor(async () => (await report<UdpReport>(udp)).replies > 3, { what: 'UDP session answered' });

  const mh0 = await report<ConnReport[]>(mh);
  const sh0 = await report<ConnReport[]>(sh);
  assertHealthy(mh0, 'mh before');
  assertHealthy(sh0, 'sh before');
  const spread = (r: ConnReport[]): number => new Set(r.map((c) => c.server)).size;
  assert.ok(spread(mh0) >= 2 && spread(sh0) >= 2, `flows spread over real servers: mh ${spread(mh0)}, sh ${spread(sh0)}`);
  // NAT66: the real servers see the clients' own IPv6 addresses (DNAT only, no SNAT); the
  // boards' own addresses on the private prefix are their health checks.
  const peers = new Set([...echo.values()].flatMap((p) => p.lines.map((l) => /^conn (\S+)$/.exec(l.text)?.[1]).filter((x): x is string => x !== undefined)));
  const clients = [...peers].filter((x) => !x.startsWith('2001:db8:0:2::'));
  assert.deepEqual(clients.sort(), [...sources].sort(), `peers: ${[...peers].join(', ')}`);
  // The flows are in conntrack as IPv6 entries, DNATed to the real servers.
  const ct = await lab.exec('a', ['conntrack', '-L', '-f', 'ipv6', '-p', 'tcp', '-d', VIP6, '--dport', '7000']);
  assert.match(ct.stderr, new RegExp(`${CONNS} flow entries have been shown`));
  const listed = await lab.exec('a', ['nft', 'list', 'set', 'ip6', 'tandem', 'rs_tcp']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /2001:db8:0:2::11 \. 9000/);

  await t.test('power loss of the MASTER: b takes over, every connection survives', async () => {
    await lab.powerOff('a');
    await waitHolder6(lab, 'b', 15_000, false);
    const mh1 = await report<ConnReport[]>(mh);
    const sh1 = await report<ConnReport[]>(sh);
    const at = await report<UdpReport>(udp);
    await Promise.all([
      assertSurvived(lab, mh, mh1, 'mh after power loss'),
      assertSurvived(lab, sh, sh1, 'sh after power loss'),
      lab.waitFor(async () => (await report<UdpReport>(udp)).lastAnswered >= at.sent + 5, { timeoutMs: 15_000, what: 'the UDP session answered again' }),
    ]);
    const u = await report<UdpReport>(udp);
    assert.equal(Object.keys(u.byServer).length, 1, `one UDP flow stays on one real server with mh: ${JSON.stringify(u.byServer)}`);
    // b's guard saw the real servers' mid-stream packets of flows it did not carry yet, or the
    // clients spoke first; either way no un-NATed entry from a real server's port exists.
    const stray = await lab.exec('b', ['conntrack', '-L', '-f', 'ipv6', '-p', 'tcp', '--orig-src', RS6[0]!, '--orig-port-src', '9000']);
    assert.match(stray.stderr, /0 flow entries have been shown/);
  });
});

test('a dual-stack pair serves an IPv4 and an IPv6 virtual server at once (and the userspace forwarder an IPv6 one); an IPv6 real server\'s failure edits the ip6 table only, quorum lost sends to the IPv6 sorry server; stop removes both tables', async (t) => {
  const lab = await withLab(t, { name: 'lb-dual-stack', realServers: 2, ipv6: true });
  const echo6: LabProcess[] = [];
  for (let i = 1; i <= 2; i++) {
    await startTcpEcho(lab, `rs${i}`, 9000);
    echo6.push(await startTcpEcho(lab, `rs${i}`, 9006, '::'));
  }
  // The sorry server: an echo answering as "sorry" on rs1's IPv6 address.
  const sorry = lab.spawn('rs1', [process.execPath, '-e', TCP_ECHO_JS, 'sorry', '9007', '::'], { label: 'rs1:sorry' });
  await sorry.waitForLog(/^listening /);
  const extra = [
    virtualServerBlock({ address: LAB_ADDR.publicVip, port: 7000, lbAlgo: 'rr', realServers: [1, 2].map((i) => ({ address: LAB_ADDR.realServer(i), port: 9000, checker: check })) }),
    virtualServerBlock({
      address: VIP6, port: 7000, lbAlgo: 'rr', quorum: 2, sorry: { address: LAB_ADDR6.realServer(1), port: 9007 },
      realServers: [1, 2].map((i) => ({ address: LAB_ADDR6.realServer(i), port: 9006, checker: check })),
    }),
    // wlc needs connection counts: the userspace forwarder serves it, over IPv6 too.
    virtualServerBlock({ address: VIP6, port: 7100, lbAlgo: 'wlc', extra: '    forwarder userspace', realServers: [1, 2].map((i) => ({ address: LAB_ADDR6.realServer(i), port: 9006, checker: check })) }),
  ].join('\n');
  const cfg = pairConfig6({ routerId: 'lb-a', priority: 150, advertInt: 0.2, dualStack: true, extra });
  const a = await lab.startBoard('a', cfg, { waitForLog: started });
  await waitHolder(lab, 'a');
  await waitHolder6(lab, 'a');
  await a.waitForLog(/table ip tandem applied \(2 virtual servers\), table ip6 tandem with 1 IPv6 ones/);
  const ask = async (vip: string, port = 7000): Promise<string[]> => {
    const p = lab.spawn('client', [process.execPath, '-e', LONG_TCP_CLIENT_JS, vip, String(port), '6', '100', ''], { stdin: true, label: `client:${vip}` });
    await p.waitForLog(/^ready$/, 15_000);
    const r = await report<ConnReport[]>(p);
    p.child.stdin!.end();
    return r.map((c) => c.server ?? '?');
  };
  // rr over both real servers, in each family.
  await lab.waitFor(async () => new Set(await ask(LAB_ADDR.publicVip)).size === 2, { timeoutMs: 15_000, what: 'IPv4 virtual server over both real servers' });
  await lab.waitFor(async () => new Set(await ask(VIP6)).size === 2, { timeoutMs: 15_000, what: 'IPv6 virtual server over both real servers' });
  // The userspace forwarder listens on the IPv6 VIP and spreads connections (wlc) over both.
  await lab.waitFor(async () => new Set(await ask(VIP6, 7100)).size === 2, { timeoutMs: 15_000, what: 'the userspace forwarder over IPv6 to both real servers' });
  const ip4Before = (await lab.exec('a', ['nft', 'list', 'table', 'ip', 'tandem'])).stdout;

  // rs2's IPv6 service dies: only the ip6 table changes; the alive weight 1 is under quorum 2,
  // so the sorry server alone serves the IPv6 virtual server (keepalived's rule).
  await echo6[1]!.stop();
  await a.waitForLog(/Removing service \[2001:db8:0:2::12\]:9006 from VS \[2001:db8:0:1::1\]:7000/, 15_000);
  await a.waitForLog(/Lost quorum 2-0 for VS \[2001:db8:0:1::1\]:7000/, 5_000);
  await lab.waitFor(async () => (await ask(VIP6)).every((s) => s === 'sorry'), { timeoutMs: 10_000, what: 'IPv6 flows on the sorry server only' });
  assert.equal((await lab.exec('a', ['nft', 'list', 'table', 'ip', 'tandem'])).stdout.replace(/packets \d+ bytes \d+/g, ''), ip4Before.replace(/packets \d+ bytes \d+/g, ''), 'the IPv4 table is unchanged');
  assert.equal(new Set(await ask(LAB_ADDR.publicVip)).size, 2, 'the IPv4 virtual server still uses both');

  await lab.stopBoard('a');
  const tables = await lab.exec('a', ['nft', 'list', 'tables']);
  assert.doesNotMatch(tables.stdout, /tandem/, 'both tables removed on stop');
});
