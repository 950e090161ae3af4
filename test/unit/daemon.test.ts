// The daemon's wiring (src/daemon.ts) with fakes of its system boundaries (DaemonSystem): what it
// starts and in which order, what a VRRP transition sets off, what a reload changes and what it
// keeps when the new configuration cannot apply, maintenance, and the stop order. No root, no
// network, no worker thread, no nft.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon, type DaemonSystem } from '../../src/daemon.ts';
import type { VrrpClientHooks, VrrpHandle, ReconfigureResult } from '../../src/vrrp/client.ts';
import type { EngineConfig } from '../../src/vrrp/engine-config.ts';
import type { LbDeps } from '../../src/lb/controller.ts';
import type { VrrpInstanceStatus, VrrpState, VrrpStatus } from '../../src/status.ts';
import { createCounters } from '../../src/vrrp/counters.ts';

const CONF = (priority: number) => `global_defs {
  router_id lb-test
}
vrrp_instance VI_PUB {
  interface eth0
  virtual_router_id 51
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
    203.0.113.1/24
  }
}
virtual_server 203.0.113.1 80 {
  lb_algo mh
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 8080 {
  }
  real_server 198.51.100.12 8080 {
  }
}
`;

class FakeVrrp implements VrrpHandle {
  started: EngineConfig | null = null;
  reconfigured: EngineConfig[] = [];
  maintenance: boolean[] = [];
  reconfigureResult: ReconfigureResult = { ok: true, errors: [], restarted: [] };
  states = new Map<string, VrrpInstanceStatus>();
  constructor(readonly hooks: VrrpClientHooks, private readonly order: string[]) {}
  status(name: string, state: VrrpState): VrrpInstanceStatus {
    return {
      name, interface: 'eth0', vrid: 51, version: 2, state, priority: 100, effectivePriority: 100, vips: ['203.0.113.1/24'],
      masterAddress: null, since: 0, reason: 'test', fault: null, syncGroup: null, counters: createCounters(),
    };
  }
  async start(config: EngineConfig): Promise<VrrpStatus> {
    this.order.push('vrrp start');
    this.started = config;
    const s = this.status('VI_PUB', 'BACKUP');
    this.states.set(s.name, s);
    return { instances: [s], groups: [], unattributed: {} };
  }
  async stop(): Promise<void> {
    this.order.push('vrrp stop');
  }
  snapshot(): VrrpInstanceStatus[] {
    return [...this.states.values()];
  }
  groupSnapshot() {
    return [];
  }
  async query(): Promise<VrrpStatus> {
    return { instances: this.snapshot(), groups: [], unattributed: {} };
  }
  async reconfigure(config: EngineConfig): Promise<ReconfigureResult> {
    this.reconfigured.push(config);
    return this.reconfigureResult;
  }
  trackedValue(): void {}
  setMaintenance(on: boolean): void {
    this.maintenance.push(on);
  }
  /** The worker reports a transition. */
  transition(to: VrrpState): void {
    const from = this.states.get('VI_PUB')!.state;
    const s = this.status('VI_PUB', to);
    this.states.set('VI_PUB', s);
    this.hooks.stateChanged(s, from, 'test');
  }
}

function fakes() {
  const order: string[] = [];
  const nft: string[] = [];
  const vipFlows: string[] = [];
  const sysctls: string[] = [];
  let vrrp: FakeVrrp | null = null;
  const lb: LbDeps = {
    nft: { apply: async (tx) => { nft.push(typeof tx === 'string' ? tx : tx.render()); order.push('nft'); }, close: () => order.push('nft close') },
    deleteFlows: async () => 0,
    deleteVipFlows: async (vip, port) => { vipFlows.push(`${vip}:${port}`); return 0; },
    countFlows: async () => 0,
    nftAvailable: async () => true,
    makeChecker: () => ({ start: () => order.push('checks start'), stop: () => order.push('checks stop'), reload: () => undefined }),
    forwarder: { serve: async () => undefined, update: () => undefined, connections: () => null, closeConnections: () => 0, stop: async () => undefined },
  };
  const system: DaemonSystem = {
    vrrp: (hooks) => (vrrp = new FakeVrrp(hooks, order)),
    lb: () => lb,
    sysctls: async (want) => { for (const [p, v] of want) sysctls.push(`${p}=${v}`); order.push('sysctls'); },
    controlSocket: async () => { order.push('control socket'); return { close: () => { order.push('control socket close'); } }; },
    interfaces: async () => new Map([['eth0', ['203.0.113.2/24']], ['eth1', ['198.51.100.2/24']]]),
  };
  return { order, nft, vipFlows, sysctls, system, vrrp: () => vrrp! };
}

async function daemon(t: { after(fn: () => Promise<void>): void }, text = CONF(100)) {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-daemon-'));
  const file = join(dir, 'tandem.conf');
  await writeFile(file, text);
  const f = fakes();
  const d = new Daemon({ file, board: null, stateDir: join(dir, 'state'), controlSocket: join(dir, 'ctl.sock'), logLevel: 'error', configId: null }, f.system);
  t.after(async () => {
    await d.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { d, f, file };
}

test('start: VRRP first, then sysctls, the whole nftables table and the checks, then the control socket', async (t) => {
  const { d, f } = await daemon(t);
  await d.start();
  assert.deepEqual(f.order, ['vrrp start', 'sysctls', 'nft', 'checks start', 'control socket']);
  assert.equal(f.vrrp().started!.instances[0]!.priority, 100);
  assert.ok(f.sysctls.includes('/proc/sys/net/ipv4/ip_forward=1'));
  assert.match(f.nft[0]!, /add table ip tandem/);
  assert.match(f.nft[0]!, /203\.0\.113\.1 \. tcp \. 80 : goto/);
});

test('a MASTER that leaves MASTER forgets the flows to its virtual servers (stale windows would reset them when it comes back)', async (t) => {
  const { d, f } = await daemon(t);
  await d.start();
  f.vipFlows.length = 0; // the start's own clean-up
  f.vrrp().transition('MASTER');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.vipFlows, []);
  f.vrrp().transition('BACKUP');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.vipFlows, ['203.0.113.1:80']);
});

test('a MASTER that hears another MASTER with a lower priority forgets the flows once, at the first advert of the episode (a split brain healed), not at every one', async (t) => {
  const { d, f } = await daemon(t);
  await d.start();
  f.vrrp().transition('MASTER');
  await new Promise((r) => setImmediate(r));
  f.vipFlows.length = 0;
  const s = f.vrrp().states.get('VI_PUB')!;
  f.vrrp().hooks.rxLowerPriority?.(s, '192.0.2.3', 90, false);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.vipFlows, [], 'not for an advert inside an episode');
  f.vrrp().hooks.rxLowerPriority?.(s, '192.0.2.3', 90, true);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.vipFlows, ['203.0.113.1:80']);
  assert.equal(f.vrrp().states.get('VI_PUB')!.state, 'MASTER', 'it stays MASTER');
});

test('reload: a priority goes to the running engine in place, the data plane untouched; a refused reconfigure keeps the running configuration', async (t) => {
  const { d, f } = await daemon(t);
  await d.start();
  const nftBefore = f.nft.length;
  const r = await d.reload(CONF(120));
  assert.deepEqual(r, { ok: true, errors: [] });
  assert.equal(f.vrrp().reconfigured.at(-1)!.instances[0]!.priority, 120);
  assert.equal(f.nft.length, nftBefore, 'no nft transaction for a VRRP-only change');
  assert.equal(d.config.instances[0]!.priority, 120);
  // The worker refuses the next one (its preflight): the configuration stays as it runs.
  f.vrrp().reconfigureResult = { ok: false, errors: ['(VI_PUB) interface nosuch0 does not exist or has no IPv4 address'], restarted: [] };
  const bad = await d.reload(CONF(130).replace('interface eth0', 'interface nosuch0'));
  assert.equal(bad.ok, false);
  assert.match(bad.errors[0]!, /nosuch0 does not exist/);
  assert.equal(d.config.instances[0]!.priority, 120);
  assert.equal(d.config.instances[0]!.interface, 'eth0');
  assert.equal(d.lastReload?.ok, false);
  // A file with errors never reaches the engine.
  const n = f.vrrp().reconfigured.length;
  const broken = await d.reload('vrrp_instance {');
  assert.equal(broken.ok, false);
  assert.equal(f.vrrp().reconfigured.length, n);
});

test('maintenance goes to the engine; stop: VRRP first (the peer takes over at once), then the table, then the console', async (t) => {
  const { d, f } = await daemon(t);
  await d.start();
  assert.deepEqual(await d.setMaintenance(true), { ok: true, message: 'maintenance on: priority lowered, mastership handed to the peer' });
  assert.deepEqual(f.vrrp().maintenance, [true]);
  f.order.length = 0;
  await d.stop();
  assert.equal(f.order[0], 'vrrp stop');
  const nftAt = f.order.indexOf('nft');
  assert.ok(nftAt > 0, f.order.join(', '));
  assert.match(f.nft.at(-1)!, /delete table ip tandem/);
  assert.ok(f.order.indexOf('control socket close') > nftAt, f.order.join(', '));
});

test('run --board: a configuration asking for more adverts than the board profile holds is warned about at start and at reload, and still runs', async (t) => {
  // bpi-r3 holds about 280 adverts a second; 4 instances at 0.01 ask for 800 (sent and received).
  const inst = (n: number, advert: number) => `vrrp_instance VI_${n} {
  interface eth0
  virtual_router_id ${n}
  priority 100
  version 3
  advert_int ${advert}
  virtual_ipaddress {
    203.0.113.${n}/24
  }
}
`;
  const conf = (advert: number) => [1, 2, 3, 4].map((n) => inst(n, advert)).join('');
  const dir = await mkdtemp(join(tmpdir(), 'tandem-daemon-'));
  const file = join(dir, 'tandem.conf');
  await writeFile(file, conf(0.01));
  const f = fakes();
  const d = new Daemon({ file, board: 'bpi-r3', stateDir: join(dir, 'state'), controlSocket: join(dir, 'ctl.sock'), logLevel: 'error', configId: null }, f.system);
  t.after(async () => {
    await d.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await d.start();
  const warned = () => d.log.recent(500).filter((l) => / WARN .*4 VRRP instances at advert_int 0\.01 ask the VRRP thread for 800 adverts a second .*board bpi-r3 holds about 280/.test(l));
  assert.equal(warned().length, 1, d.log.recent(50).join('\n'));
  assert.ok(f.vrrp().started, 'it still runs');
  await writeFile(file, conf(0.1));
  assert.equal((await d.reload()).ok, true);
  assert.equal(warned().length, 1, 'at 0.1 it fits: no new warning');
  await writeFile(file, conf(0.01));
  assert.equal((await d.reload()).ok, true);
  assert.equal(warned().length, 2, 'back at 0.01: warned again');
});
