// lb_kind DR over IPv6 on a real pair (docs/dr.md "IPv6"): three real servers with the IPv6
// VIP on lo (a /128; no sysctl: Linux answers a neighbour solicitation only for an address of
// the interface it arrives on, so the real servers never claim the VIP) and the link-local VIP
// fe80::1 as their gateway. The client's packets are forwarded unchanged at netdev ingress
// (`fwd ip6`); the real servers see the clients' own addresses; nothing is tracked; an ICMPv6
// Packet Too Big about a flow reaches the real server owning it; 50 long-lived TCP connections
// and a UDP session survive a power loss of the MASTER with no state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, LAB_ADDR6, type Lab, type LabProcess } from './lab.ts';
import { pairConfig6 } from './vrrp-configs.ts';
import { waitHolder6 } from './vrrp-helpers.ts';
import {
  virtualServerBlock, tcpCheck, startTcpEcho, report, addClientSources, clientSources6,
  LONG_TCP_CLIENT_JS, UDP_SESSION_JS, type ConnReport, type UdpReport,
} from './lb-helpers.ts';
import { ipChainCounters, startUdpEchoOn } from './dr-helpers.ts';

const VIP6 = LAB_ADDR6.publicVip;
const RS6 = [1, 2, 3].map((i) => LAB_ADDR6.realServer(i));
const CONNS = 50;
const check = tcpCheck({ connectTimeout: 1, retry: 1, delayBeforeRetry: 0.5 });
const started = /Entering (BACKUP|MASTER|FAULT) STATE/;

const extra = [
  virtualServerBlock({ address: VIP6, port: 7000, lbAlgo: 'sh', lbKind: 'DR', realServers: RS6.map((a) => ({ address: a, port: 7000, checker: check })) }),
  virtualServerBlock({ address: VIP6, port: 5300, protocol: 'UDP', lbAlgo: 'mh', lbKind: 'DR', realServers: RS6.map((a) => ({ address: a, port: 5300 })) }),
].join('\n');
const cfgA = pairConfig6({ routerId: 'lb-a', priority: 150, advertInt: 0.2, extra });
const cfgB = pairConfig6({ routerId: 'lb-b', priority: 100, advertInt: 0.2, extra });

/** On a real server: counts the ICMPv6 Packet Too Big messages that arrive (table ip6 ptb_probe of the lab's namespace). */
const PTB_COUNTER = 'table ip6 ptb_probe {\n  chain input {\n    type filter hook prerouting priority raw; policy accept;\n    icmpv6 type packet-too-big counter\n  }\n}\n';

/**
 * argv: VIP CLIENT CLIENT_PORT VS_PORT. Sends one ICMPv6 Packet Too Big (MTU 1280) to the VIP
 * about the reply packet VIP:VS_PORT → CLIENT:CLIENT_PORT (an embedded IPv6 header and the start
 * of a TCP header), as a router towards the client would. The kernel fills in the checksum of
 * a raw ICMPv6 socket (RFC 3542 §3.1).
 */
const PTB_SENDER_PY = `
import socket, struct, sys
vip, client, cport, vport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tcp = struct.pack('!HHIIBBHHH', vport, cport, 1, 1, 0x50, 0x10, 65535, 0, 0)
ip6 = struct.pack('!IHBB', 6 << 28, 1440, 6, 64) + socket.inet_pton(socket.AF_INET6, vip) + socket.inet_pton(socket.AF_INET6, client)
msg = struct.pack('!BBHI', 2, 0, 0, 1280) + ip6 + tcp
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.sendto(msg, (vip, 0))
`;

function assertHealthy(rep: ConnReport[], what: string): void {
  assert.equal(rep.length, CONNS);
  const bad = rep.filter((c) => c.closed || c.error !== null || c.mismatch > 0);
  assert.deepEqual(bad, [], `${what}: connections closed, reset or moved`);
}

async function assertSurvived(lab: Lab, p: LabProcess, what: string): Promise<void> {
  const base = await report<ConnReport[]>(p);
  let last = base;
  await lab.waitFor(async () => {
    last = await report<ConnReport[]>(p);
    if (last.some((c) => c.closed)) return true;
    return last.every((c, i) => c.echoes >= base[i]!.echoes + 5);
  }, { timeoutMs: 30_000, intervalMs: 250, what: `${what}: all ${CONNS} connections echoing again` }).catch((e: Error) => {
    throw new Error(`${e.message}; stuck: [${last.filter((c, i) => c.echoes < base[i]!.echoes + 5).map((c) => c.i).join(',')}]`);
  });
  assertHealthy(last, what);
}

test('lb_kind DR over IPv6: VIP on lo unclaimed, client addresses seen, nothing tracked, connections survive a power loss', async (t) => {
  const lab = await withLab(t, { name: 'lb-dr-ipv6', realServers: 3, ipv6: true, drVips: [VIP6] });

  // Before any daemon: a host on the private segment soliciting the VIP gets no answer from the
  // real servers holding it on lo (RFC 4861 §7.2.3: a target address of the receiving interface
  // only), so no neighbour entry ever points the VIP at a real server.
  const probe = ['ip', '-6', 'route', 'add', `${VIP6}/128`, 'dev', 'eth1'];
  assert.equal((await lab.exec('b', probe)).code, 0);
  assert.equal(await lab.ping('b', VIP6, { count: 2, timeoutS: 1 }), false, 'no real server answers for the VIP');
  const ns = (await lab.neighbours('b', 'eth1')).filter((n) => n.address === VIP6);
  assert.ok(ns.every((n) => n.mac === null), `no link-layer address learnt for the VIP: ${JSON.stringify(ns)}`);
  assert.equal((await lab.exec('b', ['ip', '-6', 'route', 'del', `${VIP6}/128`, 'dev', 'eth1'])).code, 0);
  assert.equal((await lab.exec('b', ['ip', '-6', 'neigh', 'flush', 'dev', 'eth1'])).code, 0);

  const echo: LabProcess[] = [];
  for (let i = 1; i <= 3; i++) {
    echo.push(await startTcpEcho(lab, `rs${i}`, 7000, '::'));
    await startUdpEchoOn(lab, `rs${i}`, VIP6, 5300);
  }
  const sources = clientSources6(10);
  await addClientSources(lab, sources);
  const a = await lab.startBoard('a', cfgA, { waitForLog: started });
  const b = await lab.startBoard('b', cfgB, { waitForLog: started });
  await waitHolder6(lab, 'a');
  await a.waitForLog(/table ip6 tandem with 2 IPv6 ones/);
  await b.waitForLog(/table ip6 tandem with 2 IPv6 ones/);

  const tcp = lab.spawn('client', [process.execPath, '-e', LONG_TCP_CLIENT_JS, VIP6, '7000', String(CONNS), '100', sources.join(',')], { stdin: true, label: 'client:tcp7000' });
  const udp = lab.spawn('client', [process.execPath, '-e', UDP_SESSION_JS, VIP6, '5300', '100'], { stdin: true, label: 'client:udp5300' });
  await tcp.waitForLog(/^ready$/, 20_000);
  await lab.waitFor(async () => (await report<UdpReport>(udp)).replies > 3, { what: 'UDP session answered (from the VIP)' });

  await t.test('spread, the clients\' own addresses, the board\'s MAC for the VIP, no conntrack entry, replies notrack', async () => {
    const r = await report<ConnReport[]>(tcp);
    assertHealthy(r, 'before');
    assert.ok(new Set(r.map((c) => c.server)).size >= 2, `spread: ${JSON.stringify(r.map((c) => c.server))}`);
    const peers = new Set(echo.flatMap((p) => p.lines.map((l) => /^conn (\S+)$/.exec(l.text)?.[1]).filter((x): x is string => x !== undefined)));
    assert.deepEqual([...peers].filter((x) => !x.startsWith('2001:db8:0:2::')).sort(), [...sources].sort(), 'the real servers see the clients, not a board');
    const mac = await lab.mac('a', 'eth0');
    const n = (await lab.neighbours('client', 'eth0')).find((x) => x.address === VIP6);
    assert.equal(n?.mac, mac, 'the client reaches the VIP at the MASTER\'s MAC');
    const ct = await lab.exec('a', ['conntrack', '-L', '-f', 'ipv6', '-p', 'tcp', '-d', VIP6, '--dport', '7000']);
    assert.match(ct.stderr, /0 flow entries have been shown/);
    const [replies] = await ipChainCounters(lab, 'a', 'raw', 'ip6');
    assert.ok(replies! > 0, 'replies routed back through the board are notrack (table ip6 tandem)');
    const nd = await lab.exec('a', ['nft', 'list', 'table', 'netdev', 'tandem']);
    assert.match(nd.stdout, /fwd ip6 to jhash ip6 saddr mod \d+ seed 0x[0-9a-f]+ map @v_20010db8000000010000000000000001_t7000_s device "eth1"/);
  });

  await t.test('an ICMPv6 Packet Too Big about a flow, sent to the VIP, reaches the real server that owns the flow and no other', async () => {
    // A counter of arriving Packet Too Big messages on each real server (its own namespace).
    for (let i = 1; i <= 3; i++) {
      const r = await lab.exec(`rs${i}`, ['nft', '-f', '-'], { input: PTB_COUNTER });
      assert.equal(r.code, 0, r.stderr);
    }
    // One of the client's connections, and the real server holding it (its socket: VIP:7000 ↔ client).
    const ss = await lab.exec('client', ['ss', '-Htn', 'state', 'established', 'dst', `[${VIP6}]:7000`]);
    const m = /\[([0-9a-f:]+)\]:(\d+)\s+\[[0-9a-f:]+\]:7000/.exec(ss.stdout);
    assert.ok(m, ss.stdout);
    const [client, port] = [m[1]!, m[2]!];
    const owners: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const r = await lab.exec(`rs${i}`, ['ss', '-Htn', 'state', 'established', 'dst', `[${client}]:${port}`]);
      if (r.stdout.trim() !== '') owners.push(`rs${i}`);
    }
    assert.equal(owners.length, 1, `one real server holds ${client}:${port}: ${owners.join(', ')}`);
    // A router on the clients' side would send this to the reply's source, the VIP (RFC 4443 §3.2).
    const sent = await lab.exec('client', ['python3', '-c', PTB_SENDER_PY, VIP6, client, port, '7000']);
    assert.equal(sent.code, 0, sent.stderr);
    const counts = async (): Promise<number[]> => Promise.all([1, 2, 3].map(async (i) => {
      const r = await lab.exec(`rs${i}`, ['nft', 'list', 'chain', 'ip6', 'ptb_probe', 'input']);
      return Number(/counter packets (\d+)/.exec(r.stdout)?.[1] ?? -1);
    }));
    const owner = Number(owners[0]!.slice(2)) - 1;
    await lab.waitFor(async () => (await counts())[owner]! >= 1, { timeoutMs: 5_000, what: `the Packet Too Big at ${owners[0]}` });
    // An absence: the others had the same chance (sent once, forwarded at once) and got nothing.
    assert.deepEqual((await counts()).map((c, i) => (i === owner ? c >= 1 : c === 0)), [true, true, true], `counters: ${JSON.stringify(await counts())}`);
  });

  await t.test(`power loss of the MASTER: b forwards the same flows to the same real servers, all ${CONNS} connections and the UDP session go on`, async () => {
    await lab.powerOff('a');
    await waitHolder6(lab, 'b', 15_000, false);
    const at = await report<UdpReport>(udp);
    await Promise.all([
      assertSurvived(lab, tcp, 'after power loss'),
      lab.waitFor(async () => (await report<UdpReport>(udp)).lastAnswered >= at.sent + 5, { timeoutMs: 15_000, what: 'the UDP session answered again' }),
    ]);
    assert.equal(Object.keys((await report<UdpReport>(udp)).byServer).length, 1, 'one UDP flow stays on one real server');
    const n = (await lab.neighbours('client', 'eth0')).find((x) => x.address === VIP6);
    assert.equal(n?.mac, await lab.mac('b', 'eth0'), 'the unsolicited neighbour advertisement moved the client to b');
  });
});
