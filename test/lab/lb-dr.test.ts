// lb_kind DR on a real pair (docs/dr.md): three real servers with the VIP on lo (arp_ignore 1,
// arp_announce 2) whose gateway is the board (the lab's usual layout). Clients from 64 source
// addresses spread by weight, and the real servers see those addresses; a NAT virtual server
// works beside the DR ones; UDP; persistence by the masked client address; a killed real
// server's flows move and no other; a drained one keeps its connections and gets no new ones;
// 50 long-lived TCP connections and a UDP session survive a
// graceful handover, the preemption back and a power loss of the MASTER, with no state at all
// (both boards compute the same slot tables).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, LAB_ADDR, type BoardHandle, type Lab, type LabProcess } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { waitHolder } from './vrrp-helpers.ts';
import {
  virtualServerBlock, tcpCheck, startTcpEcho, report, manyHttp, LONG_TCP_CLIENT_JS, UDP_SESSION_JS, type ConnReport, type UdpReport,
} from './lb-helpers.ts';
import { addSourceRange, httpFromSources, ipChainCounters, netdevTable, serverOf, startUdpEchoOn, udpConnectedRequest } from './dr-helpers.ts';

const VIP = LAB_ADDR.publicVip;
const RS = [1, 2, 3].map((i) => LAB_ADDR.realServer(i));
const CONNS = 50;
const check = tcpCheck({ connectTimeout: 1, retry: 1, delayBeforeRetry: 0.5 });

const extra = [
  // Spread by weight (1, 2, 3) and the client's own address.
  virtualServerBlock({ address: VIP, port: 80, lbAlgo: 'mh', lbKind: 'DR', realServers: RS.map((a, i) => ({ address: a, port: 80, weight: i + 1, checker: check })) }),
  // Persistence: one /28 of clients stays on one real server.
  virtualServerBlock({
    address: VIP, port: 8000, lbAlgo: 'mh', lbKind: 'DR', persistenceTimeout: 300, extra: '    persistence_granularity 255.255.255.240',
    realServers: RS.map((a) => ({ address: a, port: 8000, checker: check })),
  }),
  // Long-lived connections.
  virtualServerBlock({ address: VIP, port: 7000, lbAlgo: 'sh', lbKind: 'DR', realServers: RS.map((a) => ({ address: a, port: 7000, checker: check })) }),
  virtualServerBlock({ address: VIP, port: 5300, protocol: 'UDP', lbAlgo: 'mh', lbKind: 'DR', realServers: RS.map((a) => ({ address: a, port: 5300 })) }),
  // NAT beside DR, on the same VIP.
  virtualServerBlock({ address: VIP, port: 8080, lbAlgo: 'rr', realServers: RS.map((a) => ({ address: a, port: 9000 })) }),
].join('\n');

const fast = { version: 3 as const, advertInt: 0.2, extra };
const cfgA = pairConfig({ routerId: 'lb-a', priority: 150, ...fast });
const cfgB = pairConfig({ routerId: 'lb-b', priority: 100, ...fast });
const started = /Entering (BACKUP|MASTER|FAULT) STATE/;

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

async function assertUdpMoves(lab: Lab, p: LabProcess, what: string): Promise<void> {
  const at = await report<UdpReport>(p);
  await lab.waitFor(async () => (await report<UdpReport>(p)).lastAnswered >= at.sent + 5, { timeoutMs: 15_000, what: `${what}: the UDP session answered again` });
  assert.equal(Object.keys((await report<UdpReport>(p)).byServer).length, 1, `${what}: one UDP flow stays on one real server`);
}

const rsLog = (n: number): RegExp => new RegExp(`\\[${RS[n - 1]!.replace(/\./g, '\\.')}\\]:`);

test('lb_kind DR on a pair: spread, client addresses, NAT beside it, UDP, persistence, a dead server, drain, handover, power loss and return', async (t) => {
  const lab = await withLab(t, { name: 'lb-dr', realServers: 3, drVips: [VIP] });
  const servers = new Map<string, LabProcess>();
  for (let i = 1; i <= 3; i++) {
    servers.set(`http80-${i}`, await lab.startHttpServer(i, 80));
    servers.set(`http8000-${i}`, await lab.startHttpServer(i, 8000));
    servers.set(`echo-${i}`, await startTcpEcho(lab, `rs${i}`, 7000));
    await startUdpEchoOn(lab, `rs${i}`, VIP, 5300);
    await lab.startHttpServer(i, 9000);
  }
  const sources = await addSourceRange(lab, 'client', '203.0.113.128', 26, 62);
  let a: BoardHandle = await lab.startBoard('a', cfgA, { waitForLog: started });
  const b = await lab.startBoard('b', cfgB, { waitForLog: started });
  await waitHolder(lab, 'a');
  await a.waitForLog(/table ip tandem applied/);
  await b.waitForLog(/table ip tandem applied/);
  // Every checker has passed once (the real servers start up; the first check is within delay_loop).
  await lab.waitFor(async () => (await httpFromSources(lab, 'client', VIP, 80, sources.slice(0, 8))).errors === 0, { timeoutMs: 15_000, what: 'DR virtual server answering' });

  await t.test('clients spread by weight; the real servers see the clients\' own addresses; DR flows are never tracked', async () => {
    const r = await httpFromSources(lab, 'client', VIP, 80, sources, 2);
    assert.equal(r.errors, 0, r.firstError ?? '');
    const owner = serverOf(r); // each source on one real server, both times
    const count = (n: string): number => [...owner.values()].filter((x) => x === n).length;
    const [c1, c2, c3] = ['rs1', 'rs2', 'rs3'].map(count) as [number, number, number];
    const total = c1 + c2 + c3;
    assert.equal(total, sources.length);
    for (const [c, w] of [[c1, 1], [c2, 2], [c3, 3]] as const) {
      const want = (total * w) / 6;
      assert.ok(c >= want * 0.5 && c <= want * 1.6, `weight ${w}: ${c} of ${total} sources (expected about ${want.toFixed(1)}); all: ${c1}/${c2}/${c3}`);
    }
    assert.ok(c3 > c1, `weight 3 gets more than weight 1: ${c1}/${c2}/${c3}`);
    // The real servers saw the clients' source addresses, never a board's.
    const seen = new Set<string>();
    for (let i = 1; i <= 3; i++) {
      for (const l of servers.get(`http80-${i}`)!.lines) {
        const m = /^request (\d+\.\d+\.\d+\.\d+):\d+ GET \/$/.exec(l.text);
        if (m && m[1]!.startsWith('203.0.113.')) seen.add(m[1]!);
      }
    }
    assert.deepEqual([...seen].sort(), [...sources].sort());
    // No conntrack entry for the DR service on the MASTER; the replies (gateway: the board) were counted by the notrack rule.
    const ct = await lab.exec('a', ['conntrack', '-L', '-p', 'tcp', '-d', VIP, '--dport', '80']);
    assert.match(ct.stderr, /0 flow entries have been shown/);
    const [replies] = await ipChainCounters(lab, 'a', 'raw');
    assert.ok(replies! > 0, 'replies routed back through the board are notrack');
    // The netdev table holds an ingress hook on eth0 only (nft 1.0.6's JSON leaves the device out: the text says it).
    const listed = await lab.exec('a', ['nft', 'list', 'table', 'netdev', 'tandem']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual([...listed.stdout.matchAll(/hook ingress device "([^"]+)"/g)].map((m) => m[1]), ['eth0']);
  });

  await t.test('a NAT virtual server works beside the DR ones; UDP through DR is answered from the VIP', async () => {
    const nat = await manyHttp(lab, VIP, 8080, 30);
    assert.equal(nat.errors, 0, nat.firstError ?? '');
    assert.deepEqual(Object.keys(nat.counts).sort(), ['rs1', 'rs2', 'rs3'], 'rr over all three');
    for (let k = 0; k < 5; k++) assert.match(await udpConnectedRequest(lab, 'client', VIP, 5300, `ping${k}`), new RegExp(`^rs\\d:ping${k}$`));
    const show = await a.ctl(['show', 'virtual-servers']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /203\.0\.113\.1:80\s+TCP\s+mh\s+DR\s+nftables/);
    assert.match(show.stdout, /203\.0\.113\.1:8080\s+TCP\s+rr\s+NAT\s+nftables/);
  });

  await t.test('persistence: a /28 of clients stays on one server; a death moves only its clients, its return takes them back', async () => {
    // Groups of the mask (persistence_granularity /28): 203.0.113.128-143, 144-159, …
    const group = (src: string): number => Math.floor(Number(src.split('.')[3]) / 16);
    const map = async (): Promise<Map<number, string>> => {
      const owner = serverOf(await httpFromSources(lab, 'client', VIP, 8000, sources));
      const out = new Map<number, string>();
      for (const [src, s] of owner) {
        const g = group(src);
        assert.ok(!out.has(g) || out.get(g) === s, `group ${g} split over ${out.get(g)} and ${s}`);
        out.set(g, s);
      }
      return out;
    };
    const before = await map();
    assert.equal(before.size, 4);
    const victim = [...before.values()][0]!;
    const n = Number(victim.slice(2));
    const mark = a.proc.mark();
    await servers.get(`http8000-${n}`)!.stop('SIGTERM');
    await a.waitForLog(new RegExp(`Removing service ${rsLog(n).source}8000`), 15_000, { from: mark });
    const during = await map();
    for (const [g, s] of before) {
      if (s === victim) assert.notEqual(during.get(g), victim, `group ${g} left the dead server`);
      else assert.equal(during.get(g), s, `group ${g} of a live server stayed`);
    }
    const mark2 = a.proc.mark();
    servers.set(`http8000-${n}`, await lab.startHttpServer(n, 8000));
    await a.waitForLog(new RegExp(`Adding service ${rsLog(n).source}8000`), 15_000, { from: mark2 });
    // Unlike IPVS persistence (its template would keep a moved client on its new server until
    // persistence_timeout), the hash sends the dead server's clients back to it.
    assert.deepEqual(await map(), before);
  });

  const startConns = (): LabProcess => lab.spawn('client', [process.execPath, '-e', LONG_TCP_CLIENT_JS, VIP, '7000', String(CONNS), '100', sources.join(',')],
    { stdin: true, label: 'client:tcp7000' });

  await t.test('a killed real server\'s connections move to the others; no other connection moves or breaks', async () => {
    const conns = startConns();
    await conns.waitForLog(/^ready$/, 15_000);
    const r0 = await report<ConnReport[]>(conns);
    assertHealthy(r0, 'before');
    const on = (r: ConnReport[], s: string): ConnReport[] => r.filter((c) => c.server === s);
    assert.ok(on(r0, 'rs2').length > 0 && on(r0, 'rs2').length < CONNS, `rs2 holds some: ${on(r0, 'rs2').length}`);
    const mark = a.proc.mark();
    await servers.get('echo-2')!.stop('SIGKILL');
    await a.waitForLog(new RegExp(`Removing service ${rsLog(2).source}7000`), 15_000, { from: mark });
    // rs1's and rs3's connections carry on untouched; rs2's ended with their server.
    await lab.waitFor(async () => on(await report<ConnReport[]>(conns), 'rs2').every((c) => c.closed), { what: 'rs2\'s connections closed' });
    const r1 = await report<ConnReport[]>(conns);
    const others = r1.filter((c) => c.server !== 'rs2');
    assert.deepEqual(others.filter((c) => c.closed || c.error !== null || c.mismatch > 0), [], 'survivors untouched');
    // New connections from rs2's clients go to the others; everyone else's still to their own.
    const again = lab.spawn('client', [process.execPath, '-e', LONG_TCP_CLIENT_JS, VIP, '7000', String(CONNS), '100', sources.join(',')], { stdin: true, label: 'client:tcp7000b' });
    await again.waitForLog(/^ready$/, 15_000);
    const r2 = await report<ConnReport[]>(again);
    for (const c of r2) {
      const was = r0[c.i]!.server;
      if (was === 'rs2') assert.notEqual(c.server, 'rs2');
      else assert.equal(c.server, was, `connection ${c.i} from a live server's client moved`);
    }
    again.child.stdin!.end();
    conns.child.stdin!.end();
    const mark2 = a.proc.mark();
    servers.set('echo-2', await startTcpEcho(lab, 'rs2', 7000));
    await a.waitForLog(new RegExp(`Adding service ${rsLog(2).source}7000`), 15_000, { from: mark2 });
  });

  await t.test('drain: a drained server keeps its connections, new ones (remembered meanwhile) go to the others; enable brings them back', async () => {
    const conns = startConns();
    await conns.waitForLog(/^ready$/, 15_000);
    const r0 = await report<ConnReport[]>(conns);
    assert.ok(r0.some((c) => c.server === 'rs1'), 'rs1 holds some');
    const d = await a.ctl(['real-server', `${VIP}:7000`, `${RS[0]}:7000`, 'drain']);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    await assertSurvived(lab, conns, 'rs1 drained');
    const fresh = async (): Promise<ConnReport[]> => {
      const p = lab.spawn('client', [process.execPath, '-e', LONG_TCP_CLIENT_JS, VIP, '7000', String(CONNS), '100', sources.join(',')], { stdin: true, label: 'client:tcp7000n' });
      await p.waitForLog(/^ready$/, 15_000);
      const r = await report<ConnReport[]>(p);
      p.child.stdin!.end();
      return r;
    };
    const during = await fresh();
    for (const c of during) {
      if (r0[c.i]!.server === 'rs1') assert.notEqual(c.server, 'rs1', `new connection ${c.i} went to the drained server`);
      else assert.equal(c.server, r0[c.i]!.server, `new connection ${c.i} of another server's client moved`);
    }
    const e = await a.ctl(['real-server', `${VIP}:7000`, `${RS[0]}:7000`, 'enable']);
    assert.equal(e.code, 0, e.stdout + e.stderr);
    assert.deepEqual((await fresh()).map((c) => c.server), r0.map((c) => c.server), 'enabled: new connections as before the drain');
    assertHealthy(await report<ConnReport[]>(conns), 'after drain and enable');
    conns.child.stdin!.end();
  });

  await t.test(`${CONNS} connections and a UDP session survive a graceful handover, the preemption back, a power loss of the MASTER and its return`, async () => {
    const conns = startConns();
    await conns.waitForLog(/^ready$/, 15_000);
    assertHealthy(await report<ConnReport[]>(conns), 'before');
    assert.ok(new Set((await report<ConnReport[]>(conns)).map((c) => c.server)).size === 3, 'over all three real servers');
    const udp = lab.spawn('client', [process.execPath, '-e', UDP_SESSION_JS, VIP, '5300', '100'], { stdin: true, label: 'client:udp5300' });
    await lab.waitFor(async () => (await report<UdpReport>(udp)).replies > 3, { what: 'UDP session answered' });

    // Graceful: a stops (priority 0); b takes over; nothing is lost: no connection breaks, and
    // of the datagrams sent meanwhile at most the two in flight at the end go unanswered.
    const u0 = await report<UdpReport>(udp);
    // The DR sysctls on the interface facing the real servers, held while running, put back on stop.
    const sysctl = async (name: string): Promise<string> => (await lab.exec('a', ['cat', `/proc/sys/net/ipv4/conf/eth1/${name}`])).stdout.trim();
    assert.deepEqual([await sysctl('accept_local'), await sysctl('rp_filter')], ['1', '2']);
    await lab.stopBoard('a', 'SIGTERM');
    assert.deepEqual([await sysctl('accept_local'), await sysctl('rp_filter')], ['0', '0'], 'restored on stop');
    await waitHolder(lab, 'b');
    await Promise.all([assertSurvived(lab, conns, 'after the graceful handover'), assertUdpMoves(lab, udp, 'after the graceful handover')]);
    const u1 = await report<UdpReport>(udp);
    const lost = (u1.sent - u0.sent) - (u1.replies - u0.replies);
    assert.ok(lost <= 2, `graceful handover: ${lost} of ${u1.sent - u0.sent} datagrams unanswered`);
    assert.equal(await netdevTable(lab, 'a'), null, 'a\'s stop removed its netdev table');
    // a comes back and preempts.
    a = await lab.startBoard('a', cfgA, { waitForLog: started });
    await a.waitForLog(/table ip tandem applied/);
    await waitHolder(lab, 'a');
    await Promise.all([assertSurvived(lab, conns, 'after the preemption back'), assertUdpMoves(lab, udp, 'after the preemption back')]);
    // Power loss of the MASTER: no advert, no cleanup; b takes over with the same tables.
    await lab.powerOff('a');
    await waitHolder(lab, 'b', 15_000, false);
    await Promise.all([assertSurvived(lab, conns, 'after the power loss'), assertUdpMoves(lab, udp, 'after the power loss')]);
    // a boots with its cables still out (no carrier on either link), then they come back and it
    // preempts: its ingress hook and real-server routes were planned from interfaces without
    // carrier, which must count as present.
    a = await lab.startBoard('a', cfgA, { waitForLog: started });
    await a.waitForLog(/table ip tandem applied/);
    await lab.restoreLinks('a');
    await waitHolder(lab, 'a');
    await Promise.all([assertSurvived(lab, conns, 'after the return from the power loss'), assertUdpMoves(lab, udp, 'after the return from the power loss')]);
  });
});
