// Test doubles for the console's unit tests: a fake clock and an in-memory ConsoleHost.
import { FakeClock as BaseClock } from '../fake-clock.ts';
import type { ConsoleEvent, ConsoleHost } from '../../../src/console/host.ts';
import type { VirtualServerStatus, VrrpInstanceStatus } from '../../../src/status.ts';
import { createCounters } from '../../../src/vrrp/counters.ts';

/** The console's tests start the wall clock in 2023 (lockout and commit deadlines are epoch times). */
export class FakeClock extends BaseClock {
  constructor() {
    super(1_700_000_000_000);
  }
}

/** Wait (without sleeping blindly) until cond() holds: yields to the event loop between checks. */
export async function until(cond: () => boolean, what: string, limitMs = 10000): Promise<void> {
  // The bound only turns a hang into a failure; scrypt runs on the thread pool, so yield on a
  // short real timer rather than counting event-loop turns.
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition never held: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export class FakeHost implements ConsoleHost {
  configPath: string;
  stateDir: string;
  running: string;
  events: ConsoleEvent[] = [];
  applied: string[] = [];
  failApply: string[] | null = null;
  maint = false;
  /** The board's config id as the daemon reports it; undefined: a host that does not say. */
  configId: { id: string; source: 'option' | 'state' | 'hostname' } | undefined = undefined;
  /** Ids `config-id` asked for; setConfigIdResult is the answer. */
  configIdCalls: string[] = [];
  setConfigIdResult = { ok: true, message: 'saved' };
  /** When set, `show health` waits for it (a command still running when the line hangs up). */
  healthGate: Promise<void> | null = null;
  healthCalls = 0;
  vs: VirtualServerStatus[] = [
    {
      name: '203.0.113.1 80', address: '203.0.113.1', port: 80, protocol: 'TCP', scheduler: 'rr', forwarder: 'nftables', method: 'NAT', quorumUp: true,
      realServers: [
        { name: '192.0.2.11 8080', address: '192.0.2.11', port: 8080, up: true, weight: 1, drained: false, lastCheck: null, failures: 0, latencyMs: 1.5, reason: 'connected', connections: null },
        { name: '192.0.2.12 8080', address: '192.0.2.12', port: 8080, up: false, weight: 1, drained: false, lastCheck: null, failures: 3, latencyMs: null, reason: 'refused', connections: null },
      ],
    },
  ];
  vr: VrrpInstanceStatus[] = [
    { name: 'VI_PUB', state: 'MASTER', vrid: 51, interface: 'eth0', version: 2, priority: 100, effectivePriority: 100,
      masterAddress: '198.51.100.2', vips: ['203.0.113.1/24'], since: 0, reason: 'master down timer expired', fault: null,
      syncGroup: null, counters: createCounters() },
  ];

  constructor(configPath: string, stateDir: string, running: string) {
    this.configPath = configPath;
    this.stateDir = stateDir;
    this.running = running;
  }
  version() {
    return { version: '9.9.9', commit: 'abc123', node: 'lb-a', board: 'testboard', nodeVersion: process.version };
  }
  status() {
    return { node: 'lb-a', board: 'testboard', uptimeS: 3661, maintenance: this.maint, configPath: this.configPath, lastReload: null, ...(this.configId ? { configId: this.configId } : {}) };
  }
  vrrp() {
    return this.vr;
  }
  virtualServers() {
    return this.vs;
  }
  async interfaces() {
    return [{ name: 'eth0', up: true, mac: '02:00:00:00:00:01', addresses: ['198.51.100.2/24'], rxBytes: 2048, txBytes: 10, rxErrors: 0, txErrors: 0 }];
  }
  async health() {
    this.healthCalls++;
    if (this.healthGate) await this.healthGate;
    return { cpuPct: 3.25, memUsedPct: 40, temperatureC: null, loadAvg: [0.1, 0.2, 0.3] as [number, number, number], uptimeS: 100, rssBytes: 50 * 1024 * 1024, eventLoopLagMs: 1, conntrackCount: 12,
      console: { controlSocket: { connections: 1, refused: 3 }, serial: { droppedInputBytes: 10, droppedLines: 2, droppedOutputBytes: 4096 } } };
  }
  mqtt() {
    return { enabled: true, url: 'mqtt://192.0.2.5:1883', connected: true, prefix: 'tandem', node: 'lb-a', queued: 0, lastError: null };
  }
  log(n: number) {
    return Array.from({ length: Math.min(n, 3) }, (_, i) => `log line ${i + 1}`);
  }
  runningConfigText() {
    return this.running;
  }
  async applyConfig(text: string) {
    if (this.failApply) return { ok: false, errors: this.failApply };
    this.applied.push(text);
    this.running = text;
    return { ok: true, errors: [] };
  }
  async drain(vs: string, rs: string) {
    const r = this.vs.find((v) => v.name === vs)?.realServers.find((x) => x.name === rs);
    if (r) r.drained = true;
    return { ok: true, message: '' };
  }
  async enable(vs: string, rs: string) {
    const r = this.vs.find((v) => v.name === vs)?.realServers.find((x) => x.name === rs);
    if (r) r.drained = false;
    return { ok: true, message: '' };
  }
  async setConfigId(id: string) {
    this.configIdCalls.push(id);
    if (this.setConfigIdResult.ok) this.configId = { id, source: 'state' };
    return this.setConfigIdResult;
  }
  async maintenance(on: boolean) {
    this.maint = on;
    return { ok: true, message: '' };
  }
  event(e: ConsoleEvent) {
    this.events.push(e);
  }
}

export const SAMPLE_CONF = `global_defs {
  router_id lb-a
}
vrrp_instance VI_PUB {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    203.0.113.1/24
  }
}
virtual_server 203.0.113.1 80 {
  delay_loop 5
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.11 8080 {
    weight 1
  }
  real_server 192.0.2.12 8080 {
    weight 1
  }
}
`;
