// Unicast VRRP (DESIGN.md "VRRP on the wire": unicast to unicast_peer from unicast_src_ip):
// keepalived's `unicast_src_ip` + `unicast_peer { … }` on both boards, VI_PUB peering over the
// eth0 addresses and VI_PRIV over the eth1 addresses.
//  - two tandem boards elect, fail over on SIGKILL and preempt back; tcpdump on board b sees
//    every advertisement addressed to the peer's own address (never 224.0.0.18) with source =
//    the sender's unicast_src_ip;
//  - a tandem + keepalived 2.2.7 unicast pair (v2, advert_int 1) elects, keepalived takes over
//    from a crashed tandem, tandem stays BACKUP under keepalived's unicast adverts and takes over
//    on its priority-0 advert.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LAB_ADDR, withLab, type Board, type Lab } from './lab.ts';
import { runCommand } from './command.ts';
import { startMixedPair } from './keepalived.ts';
import { pairConfig, type PairOptions } from './vrrp-configs.ts';
import { vipHolders, waitHolder } from './vrrp-helpers.ts';

const started = /Entering (BACKUP|MASTER|FAULT) STATE/;
const MCAST = '224.0.0.18';

/**
 * pairConfig with unicast lines added to each instance: this board's address on the instance's
 * interface as unicast_src_ip, the other board's address on the same segment as the one peer.
 */
function unicastConfig(self: Board, o: PairOptions): string {
  const peer: Board = self === 'a' ? 'b' : 'a';
  const lines = (dev: 'eth0' | 'eth1'): string =>
    `    unicast_src_ip ${LAB_ADDR.board[self][dev]}\n    unicast_peer {\n        ${LAB_ADDR.board[peer][dev]}\n    }\n`;
  const text = pairConfig(o);
  const out = text.replace(/^(\s*interface (eth[01])\n)/gm, (_m, line: string, dev: 'eth0' | 'eth1') => `${line}${lines(dev)}`);
  // Both instances must have been rewritten, or the test would silently run multicast.
  assert.equal(out.match(/unicast_peer/g)?.length, 2, out);
  return out;
}

interface Pkt { time: number; src: string; dst: string; vrid: number; prio: number; ttl: number }

async function decode(pcap: string): Promise<Pkt[]> {
  const r = await runCommand('tshark', [
    '-r', pcap, '-Y', 'vrrp', '-T', 'fields', '-E', 'separator=|',
    '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'vrrp.virt_rtr_id', '-e', 'vrrp.prio', '-e', 'ip.ttl',
  ], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => {
    const f = l.split('|');
    return { time: Number(f[0]), src: f[1]!, dst: f[2]!, vrid: Number(f[3]), prio: Number(f[4]), ttl: Number(f[5]) };
  });
}

/** tcpdump of protocol 112 on every interface of board b's namespace. */
async function capture(lab: Lab, pcap: string): Promise<{ stop(): Promise<void> }> {
  const p = lab.spawn('b', ['tcpdump', '-i', 'any', '-n', '-U', '--immediate-mode', '-w', pcap, 'ip proto 112'], { label: 'tcpdump' });
  await p.waitForLog(/listening on/, 10_000);
  return { stop: async () => { await p.stop('SIGINT', 5_000); } };
}

/** The address a board's advert for `vrid` must carry: its own (src) and the peer's (dst). */
function expected(from: Board, vrid: number): { src: string; dst: string } {
  const dev = vrid === 51 ? 'eth0' : 'eth1';
  return { src: LAB_ADDR.board[from][dev], dst: LAB_ADDR.board[from === 'a' ? 'b' : 'a'][dev] };
}

test('unicast tandem pair: elects, adverts go to the peer from unicast_src_ip, fails over on SIGKILL, preempts back', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-unicast-pair', realServers: 0 });
  const fast = { version: 3 as const, advertInt: 0.2 };
  const cfgA = unicastConfig('a', { routerId: 'lb-a', priority: 150, ...fast });
  const cfgB = unicastConfig('b', { routerId: 'lb-b', priority: 100, ...fast });
  const pcap = join(lab.tmpDir, 'unicast.pcap');
  const cap = await capture(lab, pcap);

  const a = await lab.startBoard('a', cfgA, { waitForLog: started });
  const b = await lab.startBoard('b', cfgB, { waitForLog: started });
  await waitHolder(lab, 'a');
  await a.waitForLog(/\(VI_PUB\) Entering MASTER STATE/);
  await b.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/);
  const settled = b.proc.mark();
  // a's adverts reach b on both segments.
  await lab.waitFor(async () => {
    const d = await decode(pcap);
    return [51, 52].every((v) => d.filter((p) => p.vrid === v && p.src === expected('a', v).src && p.prio === 150).length >= 5);
  }, { timeoutMs: 15_000, intervalMs: 300, what: '5 unicast adverts from a per VRID' });
  // b hears a's unicast adverts: once settled as BACKUP it did not become MASTER while 5+ adverts
  // came in (more than a Master_Down_Interval of 3 × 0.2 s + skew).
  const dropped = b.proc.mark() - b.proc.lines.length;
  assert.ok(!b.proc.lines.some((l, i) => i + dropped >= settled && /Entering MASTER STATE/.test(l.text)), b.proc.tail());
  const markB = b.proc.mark();

  // Crash: b takes both VIPs after Master_Down_Interval and advertises to a's address.
  await lab.stopBoard('a', 'SIGKILL');
  await waitHolder(lab, 'b', 15_000, false);
  await b.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 10_000, { from: markB });
  await lab.waitFor(async () => {
    const d = await decode(pcap);
    return [51, 52].every((v) => d.filter((p) => p.vrid === v && p.src === expected('b', v).src).length >= 3);
  }, { timeoutMs: 10_000, intervalMs: 300, what: '3 unicast adverts from b per VRID' });

  // a returns with the higher priority and preempts back; b yields.
  const markB2 = b.proc.mark();
  const a2 = await lab.startBoard('a', cfgA, { waitForLog: started });
  await a2.waitForLog(/removing VIP 203\.0\.113\.1 left behind on eth0/);
  await waitHolder(lab, 'a');
  await b.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, 10_000, { from: markB2 });
  const preempted = Date.now() / 1000;
  await lab.waitFor(async () => {
    const d = await decode(pcap);
    return [51, 52].every((v) => d.filter((p) => p.vrid === v && p.src === expected('a', v).src && p.time >= preempted).length >= 3);
  }, { timeoutMs: 10_000, intervalMs: 300, what: '3 unicast adverts per VRID from a after preempting' });
  await cap.stop();

  const pkts = await decode(pcap);
  assert.ok(pkts.length >= 16, `${pkts.length} VRRP packets captured`);
  for (const p of pkts) {
    const msg = JSON.stringify(p);
    assert.ok(p.vrid === 51 || p.vrid === 52, msg);
    assert.notEqual(p.dst, MCAST, `unicast instance sent to the multicast group: ${msg}`);
    // Every advert is one of the two allowed (src, dst) pairs for its VRID: a → b or b → a.
    const fromA = expected('a', p.vrid);
    const fromB = expected('b', p.vrid);
    assert.ok((p.src === fromA.src && p.dst === fromA.dst) || (p.src === fromB.src && p.dst === fromB.dst), msg);
    assert.ok([150, 100, 0].includes(p.prio), msg);
  }
  // Both directions were seen on both segments (a as master, then b as master, then a again).
  for (const v of [51, 52]) {
    assert.ok(pkts.some((p) => p.vrid === v && p.src === expected('b', v).src && p.prio === 100), `b advertised VRID ${v}`);
    // Once a was back as master, b (BACKUP again) sent nothing more.
    const lastB = Math.max(...pkts.filter((p) => p.vrid === v && p.src === expected('b', v).src).map((p) => p.time));
    assert.ok(lastB < preempted, `b advertised VRID ${v} after yielding`);
  }
});

test('unicast mixed pair, v2: tandem (150) masters keepalived (100); keepalived takes over on crash; tandem (50) stays BACKUP, then takes over on priority 0', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-unicast-ka', realServers: 0 });
  const proto = { version: 2 as const, advertInt: 1 };
  const { ka } = await startMixedPair(lab, {
    tandem: { board: 'a', config: unicastConfig('a', { routerId: 'lb-a', priority: 150, ...proto }) },
    keepalived: { board: 'b', config: unicastConfig('b', { routerId: 'ka-b', priority: 100, ...proto }) },
    master: 'tandem',
  });
  // keepalived accepts tandem's unicast adverts: it is (or went back to) BACKUP on both instances.
  await ka.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, 10_000);
  await ka.waitForLog(/\(VI_PRIV\) Entering BACKUP STATE/, 10_000);

  // tandem crashes: keepalived takes both VIPs after Master_Down_Interval.
  let mark = ka.proc.mark();
  await lab.stopBoard('a', 'SIGKILL');
  await waitHolder(lab, 'b', 15_000, false);
  await ka.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 10_000, { from: mark });
  await ka.waitForLog(/\(VI_PRIV\) Entering MASTER STATE/, 10_000, { from: mark });

  // tandem returns with a lower priority: it must hear keepalived's unicast adverts and stay
  // BACKUP. Its received-advert counter grows and keepalived keeps the VIPs for more than a
  // Master_Down_Interval (3 × 1 s + skew) after tandem entered BACKUP.
  mark = ka.proc.mark();
  const a2 = await lab.startBoard('a', unicastConfig('a', { routerId: 'lb-a', priority: 50, ...proto }), { waitForLog: started });
  await a2.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/);
  await a2.waitForLog(/removing VIP 203\.0\.113\.1 left behind on eth0/);
  const received = async (): Promise<number> => {
    const r = await a2.ctl(['show', 'statistics']);
    assert.equal(r.code, 0, r.stderr);
    // keepalived's stats layout: "  Advertisements:" then "    Received: N" per instance.
    return [...r.stdout.matchAll(/Advertisements:\s*\n\s+Received:\s+(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
  };
  await lab.waitFor(async () => (await received()) >= 8, { timeoutMs: 10_000, intervalMs: 250, what: 'tandem counting keepalived\'s unicast adverts' });
  const h = await vipHolders(lab);
  assert.deepEqual(h, { pub: ['b'], priv: ['b'] }, 'keepalived kept both VIPs while tandem listened');
  assert.doesNotMatch(a2.proc.lines.map((l) => l.text).join('\n'), /Entering MASTER STATE/);

  // Graceful stop of keepalived: its priority-0 unicast advert makes tandem take over at once.
  const m2 = a2.proc.mark();
  await ka.stop();
  await waitHolder(lab, 'a');
  await a2.waitForLog(/\(VI_P(UB|RIV)\) BACKUP -> MASTER: master released \(priority 0\)/, 5_000, { from: m2 });
});
