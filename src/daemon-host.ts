// The daemon as the console sees it (src/console/host.ts): plain data out, operations in.
import { loadavg, networkInterfaces, uptime } from 'node:os';
import type { Daemon } from './daemon.ts';
import type {
  ActionResult,
  ConsoleEvent,
  ConsoleHost,
  HealthInfo,
  InterfaceInfo,
  MqttInfo,
  StatusInfo,
  VersionInfo,
  VirtualServerInfo,
  VrrpInfo,
} from './console/host.ts';
import { MetricsCollector } from './report/metrics.ts';
import { VERSION, COMMIT } from './version.ts';

export class DaemonConsoleHost implements ConsoleHost {
  private metrics: MetricsCollector | null = null;

  constructor(private readonly d: Daemon) {}

  get configPath(): string {
    return this.d.opts.file;
  }

  get stateDir(): string {
    return this.d.opts.stateDir;
  }

  version(): VersionInfo {
    return { version: VERSION, commit: COMMIT, node: this.d.node, board: this.d.board?.name ?? this.d.opts.board, nodeVersion: process.version };
  }

  status(): StatusInfo {
    return {
      node: this.d.node,
      board: this.d.board?.name ?? this.d.opts.board,
      uptimeS: Math.round((Date.now() - this.d.startedAt) / 1000),
      maintenance: this.d.maintenance,
      configPath: this.d.opts.file,
      lastReload: this.d.lastReload,
    };
  }

  vrrp(): VrrpInfo[] {
    return (this.d.vrrp?.snapshot() ?? []).map((s) => ({
      name: s.name,
      state: s.state,
      vrid: s.vrid,
      interface: s.dev,
      version: s.version,
      priority: s.priority,
      effectivePriority: s.effectivePriority,
      masterAddress: s.masterAddress,
      vips: s.vips,
      since: s.since,
      syncGroup: s.syncGroup,
    }));
  }

  virtualServers(): VirtualServerInfo[] {
    const lb = this.d.lb;
    if (!lb) return [];
    return lb.virtualServers().map((vs) => ({
      name: vs.name,
      protocol: vs.protocol,
      scheduler: vs.scheduler,
      forwarder: vs.forwarder,
      quorumUp: lb.quorumUp(vs),
      realServers: vs.realServers.map((rs) => {
        const v = lb.view(vs, rs);
        return {
          name: rs.name,
          up: v.up,
          weight: v.weight,
          drained: v.drained,
          lastCheckAt: v.lastCheck,
          failures: v.failures,
          latencyMs: v.latencyMs,
          connections: v.connections ?? null,
        };
      }),
    }));
  }

  async refreshConnections(): Promise<void> {
    await this.d.lb?.refreshConnectionCounts();
  }

  vrrpStatistics(): Promise<string> {
    return this.d.statsText();
  }

  /** Closes the collector made for the console when MQTT reporting (and its own) is off. */
  close(): void {
    this.metrics?.close();
    this.metrics = null;
  }

  private collector(): MetricsCollector {
    if (this.d.metrics) return this.d.metrics;
    this.metrics ??= new MetricsCollector({});
    return this.metrics;
  }

  async interfaces(): Promise<InterfaceInfo[]> {
    const h = await this.collector().collect();
    const os = networkInterfaces();
    return h.nics.map((n) => ({
      name: n.name,
      up: n.carrier ?? n.operstate === 'up',
      mac: os[n.name]?.[0]?.mac ?? null,
      addresses: (os[n.name] ?? []).filter((a) => a.family === 'IPv4').map((a) => a.cidr ?? a.address),
      rxBytes: n.rxBytes,
      txBytes: n.txBytes,
      rxErrors: n.rxErrors,
      txErrors: n.txErrors,
    }));
  }

  async health(): Promise<HealthInfo> {
    const h = await this.collector().collect();
    const la = loadavg();
    return {
      cpuPct: h.cpuPercent,
      memUsedPct: h.memory?.usedPercent ?? null,
      temperatureC: h.temperatureC,
      loadAvg: [la[0] ?? 0, la[1] ?? 0, la[2] ?? 0],
      uptimeS: h.uptimeS ?? uptime(),
      rssBytes: h.rssBytes,
      eventLoopLagMs: h.eventLoopLagMs?.max ?? null,
      conntrackCount: h.conntrackCount,
    };
  }

  mqtt(): MqttInfo {
    const m = this.d.config.mqtt;
    const r = this.d.reporter;
    const s = r?.stats();
    return {
      enabled: Boolean(m?.enabled),
      url: m?.url ?? null,
      connected: s?.connected ?? false,
      prefix: m?.prefix ?? 'tandem',
      node: this.d.node,
      queued: s ? s.bufferedEvents + s.bufferedHealth + s.dirtyTopics : 0,
      lastError: s?.lastError ?? null,
    };
  }

  log(n: number): string[] {
    return this.d.log.recent(n);
  }

  runningConfigText(): string {
    return this.d.runningText;
  }

  applyConfig(text: string): Promise<{ ok: boolean; errors: string[] }> {
    return this.d.reload(text);
  }

  async drain(vs: string, rs: string): Promise<ActionResult> {
    if (!this.d.lb) return { ok: false, message: 'no virtual server configured' };
    return this.d.lb.setDrained(vs, rs, true);
  }

  async enable(vs: string, rs: string): Promise<ActionResult> {
    if (!this.d.lb) return { ok: false, message: 'no virtual server configured' };
    return this.d.lb.setDrained(vs, rs, false);
  }

  maintenance(on: boolean): Promise<ActionResult> {
    return this.d.setMaintenance(on);
  }

  event(e: ConsoleEvent): void {
    this.d.log.info(`console ${e.transport}: ${e.type}${e.user ? ` user ${e.user}` : ''}${e.detail ? ` (${e.detail})` : ''}`);
    this.d.reporter?.event({ ...e, type: `console-${e.type}` });
  }
}
