// The engine's part in tracking (one path for vrrp_script, track_process and track_file values),
// split-brain healing (the GARP burst, MASTER_RX_LOWER_PRI, the split brain reported once, the
// sync group's siblings), priority changes, vrrp_mcast_group4 and vrrp_startup_delay — the real
// engine, machines and receive path under the fakes (fakes.ts) and the fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VrrpEngine } from '../../../src/vrrp/worker/engine.ts';
import { engineConfigFrom, startupDelayMs, type EngineConfig } from '../../../src/vrrp/engine-config.ts';
import { DEFAULT_RIVAL } from '../../../src/vrrp/machine.ts';
import { masterDownIntervalMs } from '../../../src/vrrp/timing.ts';
import { parseConfigText } from '../../../src/config/index.ts';
import type { VrrpInstanceStatus } from '../../../src/status.ts';
import { FakeClock } from '../fake-clock.ts';
import { FakeHostNet, FakeTransport } from './fakes.ts';
import { packet } from './helpers.ts';
import { inst, PEER, PRIV, VIP } from './engine-fixtures.ts';

function setup(cfg: EngineConfig) {
  const clock = new FakeClock(1_700_000_000_000);
  const tx = new FakeTransport(clock);
  const net = new FakeHostNet({ eth0: '192.0.2.2', eth1: '198.51.100.2' });
  const logs: string[] = [];
  const rx: Array<{ name: string; from: string; priority: number; splitBrain: boolean }> = [];
  const priorities: Array<{ name: string; state: string; priority: number }> = [];
  const transitions: string[] = [];
  const engine = new VrrpEngine(cfg, tx, net, {
    log: (_level, msg) => logs.push(msg),
    stateChanged: (status: VrrpInstanceStatus, from) => transitions.push(`${status.name} ${from}>${status.state}`),
    rxLowerPriority: (status, from, priority, splitBrain) => rx.push({ name: status.name, from, priority, splitBrain }),
    priorityChanged: (status) => priorities.push({ name: status.name, state: status.state, priority: status.effectivePriority }),
  }, clock);
  const links = new Map([['eth0', true], ['eth1', true]]);
  const state = (name = 'VI_PUB') => engine.status().instances.find((i) => i.name === name)!;
  const fromPeer = (priority: number, o: { vrid?: number; dev?: string; addresses?: string[] } = {}) =>
    tx.deliver(o.dev ?? 'eth0', packet(
      { vrid: o.vrid ?? 51, priority, version: 3, advertIntMs: 100, addresses: o.addresses ?? [VIP] },
      { src: o.dev === 'eth1' ? '198.51.100.3' : PEER },
    ));
  return { clock, tx, net, logs, rx, priorities, transitions, engine, links, state, fromPeer };
}

const MDI = masterDownIntervalMs(3, 100, 100);

test('a track_file number moves the priority, beyond -253 means FAULT; a process quorum lost with weight 0 means FAULT — one tracked-value path', async () => {
  const s = setup({ instances: [inst({ tracked: [{ kind: 'file', name: 'prio', weight: 2, reverse: false }, { kind: 'process', name: 'nginx', weight: 0, reverse: false }] })], syncGroups: [] });
  s.engine.trackedValue('process', 'nginx', true);
  await s.engine.start(s.links);
  await s.clock.advance(MDI + 1);
  assert.equal(s.state().state, 'MASTER');
  assert.equal(s.state().effectivePriority, 100, 'a missing file reads 0');
  s.engine.trackedValue('file', 'prio', -10);
  assert.equal(s.state().effectivePriority, 80, '-10 × weight 2');
  assert.deepEqual(s.priorities.at(-1), { name: 'VI_PUB', state: 'MASTER', priority: 80 });
  s.engine.trackedValue('file', 'prio', -127);
  assert.equal(s.state().state, 'FAULT', '-254: FAULT (keepalived track_file.c)');
  assert.match(s.state().fault ?? '', /file prio/);
  s.engine.trackedValue('file', 'prio', 0);
  assert.equal(s.state().state, 'BACKUP');
  s.engine.trackedValue('process', 'nginx', false);
  assert.equal(s.state().state, 'FAULT');
  assert.match(s.state().fault ?? '', /process nginx/);
  // A value for something this instance does not track changes nothing.
  s.engine.trackedValue('script', 'nginx', false);
  s.engine.trackedValue('process', 'nginx', true);
  assert.equal(s.state().state, 'BACKUP');
});

test('a sync group\'s track_file, track_process and track_script apply to every member (keepalived), the member\'s own line first', () => {
  const r = parseConfigText(`vrrp_script chk {\n script /bin/true\n weight -5\n}\ntrack_file tf {\n file /run/tf\n}\nvrrp_track_process tp {\n process nginx\n weight 7\n}\n`
    + 'vrrp_sync_group G {\n group {\n A\n B\n }\n track_script {\n chk\n }\n track_file {\n tf weight 3\n }\n track_process {\n tp\n }\n track_interface {\n eth2 weight 4\n }\n}\n'
    + 'vrrp_instance A {\n interface eth0\n virtual_router_id 1\n track_file {\n tf weight 9 reverse\n }\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n'
    + 'vrrp_instance B {\n interface eth1\n virtual_router_id 2\n virtual_ipaddress {\n 192.0.2.2\n }\n}\n', 't.conf');
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  const [a, b] = engineConfigFrom(r.config).instances;
  assert.deepEqual(a!.tracked, [
    { kind: 'file', name: 'tf', weight: 9, reverse: true },
    { kind: 'script', name: 'chk', weight: -5, reverse: false },
    { kind: 'process', name: 'tp', weight: 7, reverse: false },
  ]);
  assert.deepEqual(b!.tracked.map((t) => `${t.kind} ${t.name} ${t.weight}`), ['script chk -5', 'file tf 3', 'process tp 7']);
  assert.deepEqual(b!.trackInterfaces, [{ name: 'eth2', weight: 4 }]);
});

test('split brain heals: the MASTER hearing a lower-priority MASTER sends GARPs at once and again 5 s later, reports it once per episode', async () => {
  const s = setup({ instances: [inst({ priority: 200 })], syncGroups: [] });
  await s.engine.start(s.links);
  await s.clock.advance(masterDownIntervalMs(3, 200, 100) + 1);
  assert.equal(s.state().state, 'MASTER');
  await s.clock.advance(5_100); // past the becoming-MASTER bursts
  const garpsBefore = s.net.log.filter((l) => l.startsWith('garp')).length;
  s.fromPeer(100);
  await s.clock.advance(1);
  assert.deepEqual(s.rx, [{ name: 'VI_PUB', from: PEER, priority: 100, splitBrain: true }]);
  assert.equal(s.net.log.filter((l) => l.startsWith('garp')).length - garpsBefore, 1);
  assert.ok(s.net.log.includes(`garp ${VIP} eth0 x5`));
  assert.ok(s.logs.some((l) => /\(VI_PUB\) Received advert from 192\.0\.2\.3 with lower priority 100, ours 200: another MASTER, a split brain healing/.test(l)));
  // The peer keeps advertising for a while (it has not heard us yet): no second report of a split brain.
  for (let i = 0; i < 5; i++) { await s.clock.advance(100); s.fromPeer(100); }
  assert.ok(s.rx.length > 1 && s.rx.slice(1).every((x) => !x.splitBrain));
  await s.clock.advance(5_000);
  assert.equal(s.net.log.filter((l) => l.startsWith('garp')).length - garpsBefore, 7, 'one burst per interval heard, then the delayed one');
  assert.equal(s.state().state, 'MASTER');
});

test('a sync group: the member that hears the rival reports it; its sibling sends its own GARP burst', async () => {
  const s = setup({ instances: [inst({ priority: 200 }), inst({ ...PRIV, priority: 200 })], syncGroups: [{ name: 'G', members: ['VI_PUB', 'VI_PRIV'] }] });
  await s.engine.start(s.links);
  await s.clock.advance(masterDownIntervalMs(3, 200, 100) + 1);
  await s.clock.advance(5_100);
  const before = s.net.log.length;
  s.fromPeer(100);
  await s.clock.advance(1);
  assert.deepEqual(s.net.log.slice(before).filter((l) => l.startsWith('garp')).sort(), [`garp 198.51.100.1 eth1 x5`, `garp ${VIP} eth0 x5`]);
  assert.deepEqual(s.rx.map((x) => x.name), ['VI_PUB']);
});

test('higher_prio_send_advert: the yielding MASTER advertises once at its own priority before it goes BACKUP', async () => {
  const s = setup({ instances: [inst({ rival: { ...DEFAULT_RIVAL, advertBeforeYielding: true } })], syncGroups: [] });
  await s.engine.start(s.links);
  await s.clock.advance(MDI + 1);
  const before = s.tx.sent.length;
  s.fromPeer(200);
  await s.clock.advance(1);
  assert.deepEqual(s.tx.priorities(before), [100]);
  assert.equal(s.state().state, 'BACKUP');
});

test('vrrp_mcast_group4: the socket joins the group and adverts go to it', async () => {
  const s = setup({ instances: [inst({ mcastGroup: '224.0.0.19' })], syncGroups: [] });
  const opened: string[] = [];
  const open = s.tx.open.bind(s.tx);
  s.tx.open = async (dev: string, family?: 4 | 6, group?: string) => { opened.push(`${dev} ${group}`); return open(dev, family, group); };
  await s.engine.start(s.links);
  await s.clock.advance(MDI + 1);
  assert.deepEqual(opened, ['eth0 224.0.0.19']);
  assert.ok(s.tx.sent.length > 0 && s.tx.sent.every((x) => x.dst === '224.0.0.19'));
});

test('vrrp_startup_delay: instances stay in INIT and ignore adverts until the delay has passed; vrrp_delay_after_boot counts from boot', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await s.engine.start(s.links, 2_000);
  assert.equal(s.state().state, 'INIT');
  s.fromPeer(50);
  assert.equal(s.state().counters.advert_rcvd, 0);
  await s.clock.advance(1_999);
  assert.equal(s.state().state, 'INIT');
  await s.clock.advance(1);
  assert.equal(s.state().state, 'BACKUP');
  assert.ok(s.logs.some((l) => /VRRP instances start in 2 s \(vrrp_startup_delay\)/.test(l)));
  assert.equal(startupDelayMs({ delayMs: 5_000, afterBootMs: 30_000 }, 10_000), 20_000);
  assert.equal(startupDelayMs({ delayMs: 5_000, afterBootMs: 30_000 }, 60_000), 5_000);
  assert.equal(startupDelayMs({ delayMs: 0, afterBootMs: 30_000 }, null), 0, 'uptime unknown: no boot delay');
  // Stopped during the delay: nothing starts later.
  const q = setup({ instances: [inst()], syncGroups: [] });
  await q.engine.start(q.links, 1_000);
  const stopped = q.engine.stop();
  await q.clock.advance(2_000);
  await stopped;
  assert.deepEqual(q.transitions, ['VI_PUB INIT>STOP'], 'never BACKUP or MASTER');
});
