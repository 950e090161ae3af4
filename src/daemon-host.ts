// The daemon as the console sees it (src/console/host.ts): plain data out, operations in.
// It reads the daemon through DaemonParts, the few members it needs, so daemon.ts (which builds
// this host) and this file do not import each other.
import { loadavg, networkInterfaces, uptime } from 'node:os';
import type {
  ActionResult,
  ConsoleCounters,
  ConsoleEvent,
  ConsoleHost,
  HealthInfo,
  InterfaceInfo,
  MqttInfo,
  StatusInfo,
  VersionInfo,
} from './console/host.ts';
import type { Config } from './config/model.ts';
import { configIdProblem, saveConfigIdFile, type ConfigIdChoice } from './config/config-id.ts';
import { formatDiagnostic, loadConfigFile } from './config/index.ts';
import type { BoardProfile } from './board/profile.ts';
import type { LbController } from './lb/controller.ts';
import type { Logger } from './log.ts';
import type { Reporter } from './report/session.ts';
import type { VrrpHandle } from './vrrp/client.ts';
import type { VirtualServerStatus, VrrpInstanceStatus, VrrpStatus } from './status.ts';
import { MetricsCollector } from './report/metrics.ts';
import type { FifoStats } from './util/event-fifo.ts';
import { VERSION, COMMIT } from './version.ts';

/** What the console host reads of the running daemon (src/daemon.ts Daemon has these). */
export interface DaemonParts {
  readonly opts: { file: string; stateDir: string; board: string | null; configId: string | null };
  readonly configId: ConfigIdChoice;
  readonly node: string;
  readonly board: BoardProfile | null;
  readonly startedAt: number;
  readonly maintenance: boolean;
  readonly lastReload: { at: number; ok: boolean; message: string } | null;
  readonly config: Config;
  readonly runningText: string;
  readonly vrrp: VrrpHandle | null;
  readonly lb: LbController | null;
  readonly reporter: Reporter | null;
  readonly metrics: MetricsCollector | null;
  readonly log: Logger;
  statsText(): Promise<string>;
  eventFifoStats(): FifoStats[];
  consoleStats(): ConsoleCounters;
  reload(text?: string): Promise<{ ok: boolean; errors: string[] }>;
  setMaintenance(on: boolean): Promise<ActionResult>;
}

export class DaemonConsoleHost implements ConsoleHost {
  private metrics: MetricsCollector | null = null;

  constructor(private readonly d: DaemonParts) {}

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
      configId: { id: this.d.configId.id, source: this.d.configId.source },
      lastReload: this.d.lastReload,
    };
  }

  vrrp(): VrrpInstanceStatus[] {
    return this.d.vrrp?.snapshot() ?? [];
  }

  virtualServers(): VirtualServerStatus[] {
    return this.d.lb?.status() ?? [];
  }

  async refreshConnections(): Promise<void> {
    await this.d.lb?.refreshConnectionCounts();
  }

  eventFifos(): FifoStats[] {
    return this.d.eventFifoStats();
  }

  async vrrpStatus(): Promise<VrrpStatus> {
    return this.d.vrrp ? this.d.vrrp.query() : { instances: [], groups: [], unattributed: {} };
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
      addresses: (os[n.name] ?? []).map((a) => a.cidr ?? a.address), // both families: IPv6 VIPs show here too
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
      console: this.d.consoleStats(),
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

  async setConfigId(id: string): Promise<ActionResult> {
    const why = configIdProblem(id);
    if (why !== null) return { ok: false, message: why };
    if (this.d.opts.configId !== null) {
      return { ok: false, message: `this daemon was started with --config-id ${this.d.opts.configId}, which wins over ${this.d.opts.stateDir}/config-id: change the init script instead` };
    }
    // This board's view of the file must run before the id is saved: a typo in the id would
    // otherwise leave a board that reads the wrong lines after its next start.
    const r = loadConfigFile(this.d.opts.file, { configId: id });
    if (!r.config) {
      const errors = r.diagnostics.filter((d) => d.severity === 'error').slice(0, 10).map(formatDiagnostic);
      return { ok: false, message: `config id '${id}' not set: ${this.d.opts.file} has errors for it:\n  ${errors.join('\n  ')}` };
    }
    try {
      await saveConfigIdFile(this.d.opts.stateDir, id);
    } catch (e) {
      return { ok: false, message: `cannot save the config id: ${(e as Error).message}` };
    }
    const applied = await this.d.reload();
    if (!applied.ok) return { ok: false, message: `config id '${id}' saved, but the reload failed (the previous view still runs): ${applied.errors.join('; ')}` };
    const warned = r.diagnostics.filter((d) => d.severity === 'warning').map((d) => `\n${formatDiagnostic(d)}`).join('');
    return { ok: true, message: `config id '${id}' saved to ${this.d.opts.stateDir}/config-id and applied${warned}` };
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
