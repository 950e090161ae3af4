// Composition: wiring, start-up and shutdown order, reload (DESIGN.md "Parts").
//
// Start-up: configuration → VRRP worker (removes stale VIPs, then elects) → trackers (vrrp_script, track_process, track_file) →
// data plane and health checks → MQTT → console. Shutdown: VRRP first, so the peer takes over
// at once (priority 0) while we clean up; then the data plane (table removed), MQTT (`offline`
// published), console.
import { mkdirSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import * as configApi from './config/index.ts';
import { loadConfigFile, formatDiagnostic, parseConfigText } from './config/index.ts';
import type { Config, VirtualServer, RealServer } from './config/model.ts';
import { chooseConfigId, type ConfigIdChoice } from './config/config-id.ts';
import { createLogger, isLogLevel, type Logger } from './log.ts';
import { engineConfigFrom } from './vrrp/engine-config.ts';
import { VrrpClient, type VrrpClientHooks, type VrrpHandle } from './vrrp/client.ts';
import { Trackers } from './vrrp/trackers.ts';
import { VrrpNotifier } from './vrrp/notify.ts';
import { notifyPolicy, scriptPolicy } from './util/script-user.ts';
import { EventFifos, formatFifoStats, type EventFifosDeps, type FifoStats } from './util/event-fifo.ts';
import { rsLine, vsLine } from './lb/fifo-lines.ts';
import { auditScripts } from './script-audit.ts';
import type { RealServerStatus, SyncGroupState, SyncGroupStatus, VrrpInstanceStatus, VrrpState } from './status.ts';
import { LbController, type LbDeps } from './lb/controller.ts';
import { configuredVips } from './lb/dr-topology.ts';
import { systemNft } from './lb/nft.ts';
import { countRealServerFlows, deleteRealServerFlows, deleteVipFlows } from './lb/conntrack.ts';
import { Reporter } from './report/session.ts';
import { MetricsCollector } from './report/metrics.ts';
import { MetricsServer } from './report/metrics-server.ts';
import { TransitionTally } from './report/transitions.ts';
import { sharedConfigDigest } from './report/shared-config.ts';
import { loadBoardProfile, boardCapacity, type BoardProfile } from './board/profile.ts';
import type { BoardCapacity } from './config/capacity.ts';
import { createLedDriver, ledStateFor, type LedDriver } from './board/leds.ts';
import { createConsoleEngine, startControlSocket } from './console/index.ts';
import type { ConsoleEngine } from './console/engine.ts';
import type { ConsoleCounters } from './console/host.ts';
import type { SerialStats } from './console/serial.ts';
import { DaemonConsoleHost } from './daemon-host.ts';
import { FORWARDING_SYSCTLS, setSysctls } from './net/sysctl.ts';
import { hostInterfaceAddresses } from './net/interfaces.ts';
import { VERSION, COMMIT } from './version.ts';
import { writeFile } from 'node:fs/promises';
import { writeFileAtomic } from './util/atomic-file.ts';
import { join, resolve as resolvePath } from 'node:path';
import { FilePendingStore } from './console/pending-commit.ts';
import { formatVrrpStatistics } from './vrrp/counters.ts';
import { limitConcurrency } from './util/limit.ts';

export interface DaemonOptions {
  file: string;
  /** `--config-id`: which `@ID` lines this board reads; null: STATE_DIR/config-id, else the host name. */
  configId: string | null;
  board: string | null;
  stateDir: string;
  controlSocket: string;
  logLevel: string;
}

/**
 * The system boundaries the daemon composes, in one place (DESIGN.md: everything that touches
 * the system sits behind a small interface): the real ones in `systemParts`; the wiring tests
 * (test/unit/daemon.test.ts) hand in fakes.
 */
export interface DaemonSystem {
  vrrp(hooks: VrrpClientHooks): VrrpHandle;
  /** What the load balancer needs of the kernel: nft, conntrack (src/lb/controller.ts LbDeps). */
  lb(): LbDeps;
  sysctls(want: ReadonlyArray<readonly [string, string]>, log: (level: 'warn', msg: string) => void): Promise<void>;
  controlSocket(engine: ConsoleEngine, path: string): Promise<{ close(): Promise<void> | void; stats?(): { connections: number; refused: number } }>;
  /** This board's interfaces and their addresses (checks that need them: lb_kind DR reachability). */
  interfaces(): Promise<Map<string, string[]>>;
}

/** conntrack processes at once: real servers failing together (or `show virtual-servers` counting
 *  1,000 of them) queue for these instead of each starting one (docs/footprint.md "Bounds under load"). */
export const CONNTRACK_CONCURRENCY = 4;

export const systemParts: DaemonSystem = {
  vrrp: (hooks) => new VrrpClient(hooks),
  lb: () => {
    const slot = limitConcurrency(CONNTRACK_CONCURRENCY);
    return {
      nft: systemNft(),
      deleteFlows: (a, p, protos) => slot(() => deleteRealServerFlows(a, p, protos)),
      deleteVipFlows: (vip, port, proto) => slot(() => deleteVipFlows(vip, port, proto)),
      countFlows: (a, p, proto) => slot(() => countRealServerFlows(a, p, proto)),
    };
  },
  sysctls: setSysctls,
  controlSocket: startControlSocket,
  interfaces: hostInterfaceAddresses,
};

export class Daemon {
  readonly log: Logger;
  config!: Config;
  /** The configuration file's text now running (`show running-config`; what a commit edits). */
  runningText = '';
  /** The config id this board reads the file for, and where it came from (config/config-id.ts). */
  configId: ConfigIdChoice = { id: '', source: 'hostname', problem: null };
  vrrp: VrrpHandle | null = null;
  lb: LbController | null = null;
  reporter: Reporter | null = null;
  metrics: MetricsCollector | null = null;
  /** metrics { listen … }: Prometheus /metrics (null when not configured). */
  metricsServer: MetricsServer | null = null;
  readonly transitions = new TransitionTally();
  board: BoardProfile | null = null;
  private leds: LedDriver | null = null;
  private trackers: Trackers | null = null;
  /** init_file applies at the daemon's start only (keepalived: never on a reload). */
  private trackersStarted = false;
  /** notify_fifo, vrrp_notify_fifo, lvs_notify_fifo (none until start opens them). */
  private fifos: EventFifos;
  private readonly notifier = new VrrpNotifier({
    config: () => this.config,
    log: (level, msg) => this.log.log(level, msg),
    fifo: (line) => this.fifos.vrrp(line),
  });
  private consoleEngine: ConsoleEngine | null = null;
  /** The control socket's and the serial console's counters, for show health. */
  private consoleCounters: { controlSocket: (() => { connections: number; refused: number }) | null; serial: (() => SerialStats) | null } = { controlSocket: null, serial: null };
  private closers: Array<() => Promise<void> | void> = [];
  private stopping: Promise<void> | null = null;
  readonly startedAt = Date.now();
  lastReload: { at: number; ok: boolean; message: string } | null = null;
  maintenance = false;

  constructor(readonly opts: DaemonOptions, private readonly system: DaemonSystem = systemParts) {
    this.log = createLogger(isLogLevel(opts.logLevel) ? opts.logLevel : 'info');
    this.fifos = EventFifos.none(this.fifoDeps());
  }

  private fifoDeps(): EventFifosDeps {
    return { log: (level, msg) => this.log.log(level, msg) };
  }

  /** global_defs umask (keepalived sets it as it reads the configuration, so a reload does too). */
  private applyUmask(cfg: Config): void {
    if (cfg.global.umask !== null) process.umask(cfg.global.umask);
  }

  get node(): string {
    return this.config.mqtt?.node ?? this.config.global.routerId ?? hostname();
  }

  /** What a configuration is checked against on this board: its interfaces and its profile's VRRP capacity. */
  private async loadChecks(): Promise<{ interfaces: Map<string, string[]>; capacity?: BoardCapacity }> {
    const capacity = this.board ? boardCapacity(this.board) : undefined;
    return { interfaces: await this.system.interfaces(), ...(capacity ? { capacity } : {}) };
  }

  async start(): Promise<void> {
    this.configId = chooseConfigId(this.opts.configId, this.opts.stateDir);
    if (this.configId.problem) this.log.warn(this.configId.problem);
    // Before the configuration: its capacity is one of the checks (too many adverts a second).
    if (this.opts.board) this.board = loadBoardProfile(this.opts.board);
    // Checked against this board's interfaces (lb_kind DR real servers must be reachable directly).
    const r = loadConfigFile(this.opts.file, { configId: this.configId.id, ...(await this.loadChecks()) });
    for (const d of r.diagnostics) this.log.log(d.severity === 'error' ? 'error' : 'warn', formatDiagnostic(d));
    if (!r.config) throw new Error(`${this.opts.file}: configuration has errors for config id '${this.configId.id}', not starting`);
    if ((await this.refusedPrograms(r.config)).length > 0) throw new Error(`${this.opts.file}: configured programs refused, not starting`);
    this.config = r.config;
    this.runningText = r.source.text ?? '';
    this.applyUmask(this.config);
    mkdirSync(this.opts.stateDir, { recursive: true, mode: 0o700 });
    if (this.board) {
      this.leds = createLedDriver(this.board);
      void this.leds.show('INIT');
    }
    this.log.info(`Starting tandem ${VERSION} (commit ${COMMIT}) on node ${process.version}, configuration ${this.opts.file}, config id ${this.configId.id} (${this.configId.source})`);
    // Before VRRP, so the FIFOs carry the first transitions.
    this.fifos = await EventFifos.open(this.config.global, scriptPolicy(this.config.global), this.fifoDeps());
    await this.startVrrp(this.config);
    await this.startLb(this.config);
    await this.startReporting(this.config);
    await this.startMetrics(this.config);
    await this.startConsole(this.config);
  }

  // ---- VRRP -------------------------------------------------------------------------------

  private async startVrrp(cfg: Config): Promise<void> {
    if (cfg.instances.length === 0) return;
    const vrrp = this.system.vrrp({
      log: (level, msg) => this.log.log(level, msg),
      stateChanged: (status, from, reason) => this.onVrrpState(status, from, reason),
      groupChanged: (status, from) => this.onGroupChanged(status, from),
      rxLowerPriority: (status, from, priority, splitBrain) => this.onRxLowerPriority(status, from, priority, splitBrain),
      priorityChanged: (status) => {
        this.notifier.priorityChanged(status);
        this.reporter?.setVrrp(status.name, status);
      },
      crashed: (err) => {
        this.log.error(`VRRP worker failed: ${err.message}; stopping`);
        void this.stop().then(() => process.exit(1));
      },
    });
    this.vrrp = vrrp;
    const status = await vrrp.start(engineConfigFrom(cfg));
    if (this.maintenance) vrrp.setMaintenance(true);
    for (const s of status.instances) this.reporter?.setVrrp(s.name, s);
    this.startTrackers(cfg, vrrp);
  }

  /** vrrp_script, track_process and track_file, reporting to the VRRP worker. */
  private startTrackers(cfg: Config, vrrp: VrrpHandle): void {
    this.trackers = new Trackers(cfg, {
      value: (kind, name, value) => vrrp.trackedValue(kind, name, value),
      log: (level, msg) => this.log.log(level, msg),
    }, () => scriptPolicy(this.config.global));
    this.trackers.start({ initFiles: !this.trackersStarted });
    this.trackersStarted = true;
  }

  /** Logs what src/script-audit.ts finds in the programs `cfg` would run; returns the refusals. */
  private async refusedPrograms(cfg: Config): Promise<string[]> {
    const found = await auditScripts(cfg);
    for (const d of found) this.log.log(d.severity === 'error' ? 'error' : 'warn', formatDiagnostic(d));
    return found.filter((d) => d.severity === 'error').map(formatDiagnostic);
  }

  private onVrrpState(status: VrrpInstanceStatus, from: VrrpState, reason: string): void {
    this.log.debug(`(${status.name}) ${from} -> ${status.state}: ${reason}`);
    this.transitions.note(status.name);
    this.notifier.stateChanged(status);
    if (from === 'MASTER' && status.state !== 'MASTER') {
      void this.lb?.dropVipFlows(`(${status.name}) left MASTER`);
      // We keep answering for the VIPs until the new master announces itself (make before
      // break, up to 3 s): flows that arrived meanwhile go too, unless we are MASTER again.
      setTimeout(() => {
        if (!(this.vrrp?.snapshot() ?? []).some((x) => x.state === 'MASTER')) void this.lb?.dropVipFlows('after the handover');
      }, 3500).unref();
    }
    this.reporter?.setVrrp(status.name, status);
    this.reporter?.event({ type: 'vrrp-transition', instance: status.name, from, to: status.state, reason, priority: status.effectivePriority });
    if (this.leds) void this.leds.show(ledStateFor(this.vrrp?.snapshot() ?? [status]));
  }

  /**
   * MASTER, an instance heard another MASTER with a lower priority: notify_master_rx_lower_pri
   * and the FIFO line; the first of an episode means the two were split and clients reached the
   * other, so the flows it carried meanwhile are forgotten here once (as on leaving MASTER):
   * entries this board kept from before the split would otherwise meet those clients' packets
   * with stale TCP state.
   */
  private onRxLowerPriority(status: VrrpInstanceStatus, from: string, priority: number, splitBrain: boolean): void {
    this.notifier.rxLowerPriority(status);
    if (!splitBrain) return;
    void this.lb?.dropVipFlows(`(${status.name}) heard MASTER ${from} at priority ${priority}: a split brain healed`);
    this.reporter?.event({ type: 'split-brain-healed', instance: status.name, peer: from, peerPriority: priority, priority: status.effectivePriority });
  }

  /** vrrp_sync_group notify programs run when the group as a whole changes state (keepalived vrrp_sync.c). */
  private onGroupChanged(status: SyncGroupStatus, _from: SyncGroupState): void {
    this.notifier.groupChanged(status);
  }

  // ---- load balancing -----------------------------------------------------------------------

  private async startLb(cfg: Config): Promise<void> {
    if (cfg.virtualServers.length === 0) return;
    await this.system.sysctls(FORWARDING_SYSCTLS, (level, msg) => this.log.log(level, msg));
    const lb = new LbController(
      cfg.virtualServers,
      // The running configuration's VIPs (lb_kind DR: the interfaces clients' packets arrive on).
      { ...this.system.lb(), vips: () => configuredVips(this.config.instances) },
      {
        log: (level, msg) => this.log.log(level, msg),
        rsChanged: (vs, rs, v) => this.onRsChanged(vs, rs, v),
        quorumChanged: (vs, up) => this.fifos.lvs(vsLine(vs, up)),
        rsUpDown: (vs, rs, up) => this.fifos.lvs(rsLine(vs, rs, up)),
      },
      () => notifyPolicy(this.config),
    );
    this.lb = lb;
    await lb.start();
  }

  private onRsChanged(vs: VirtualServer, rs: RealServer, v: RealServerStatus): void {
    this.reporter?.setRealServer(vs.name, rs.name, { ...v, method: vs.method });
  }

  // ---- reporting ------------------------------------------------------------------------------

  private async startReporting(cfg: Config): Promise<void> {
    const m = cfg.mqtt;
    if (!m || !m.enabled) return;
    const thermal = this.board?.thermalZone ? Number(/thermal_zone(\d+)/.exec(this.board.thermalZone)?.[1] ?? NaN) : NaN;
    this.metrics = new MetricsCollector({ intervalMs: m.healthIntervalMs, thermalZone: Number.isFinite(thermal) ? thermal : null });
    const reporter = new Reporter(
      m,
      {
        node: cfg.global.routerId ?? hostname(),
        board: this.board?.name ?? this.opts.board ?? 'unknown',
        version: VERSION,
        stateDir: this.opts.stateDir,
        interfaces: () => birthInterfaces(),
        config: () => sharedConfigDigest(this.config),
      },
      { log: (level, msg) => this.log.log(level, `mqtt: ${msg}`) },
    );
    this.reporter = reporter;
    const metrics = this.metrics;
    // Health carries the VRRP thread's timing too: how late its timers fire and how it is scheduled.
    reporter.setHealthSource(async () => {
      const q = await this.vrrp?.query();
      return {
        ...(await metrics.collect()),
        vrrp: q ? { timers: q.timers ?? null, thread: q.thread ?? null, socketDrops: q.socketDrops ?? null } : null,
        ...(this.fifos.any ? { eventFifos: this.fifos.stats() } : {}),
        console: this.consoleStats(),
      };
    });
    for (const s of this.vrrp?.snapshot() ?? []) reporter.setVrrp(s.name, s);
    for (const vs of this.lb?.virtualServers() ?? []) {
      for (const rs of vs.realServers) this.onRsChanged(vs, rs, this.lb!.view(vs, rs));
    }
    await reporter.start();
  }

  /**
   * Reload and MQTT: retained topics of instances and real servers the new configuration no
   * longer has are deleted at the broker (empty retained payload, MQTT 5 §3.3.1.3); otherwise a
   * removed instance's last MASTER would stay retained for ever and the fleet view would count it
   * (a false split brain). Changed mqtt settings reconnect with the new ones.
   */
  private async reloadReporting(prev: Config, next: Config): Promise<void> {
    const mqttKey = (c: Config): string => JSON.stringify(c.mqtt ? { ...c.mqtt, pos: null } : null);
    if (mqttKey(prev) !== mqttKey(next)) {
      this.log.info('Reload: mqtt settings changed, reconnecting with the new ones');
      if (prev.mqtt?.homeassistant && !next.mqtt?.homeassistant) this.reporter?.clearDiscovery();
      await this.reporter?.stop();
      this.reporter = null;
      this.metrics?.close();
      this.metrics = null;
      await this.startReporting(next);
      return;
    }
    const r = this.reporter;
    if (!r) return;
    await r.configChanged();
    const instances = new Set(next.instances.map((i) => i.name));
    for (const i of prev.instances) if (!instances.has(i.name)) r.clearVrrp(i.name);
    const servers = new Set(next.virtualServers.flatMap((vs) => vs.realServers.map((rs) => `${vs.name}|${rs.name}`)));
    for (const vs of prev.virtualServers) {
      for (const rs of vs.realServers) if (!servers.has(`${vs.name}|${rs.name}`)) r.clearRealServer(vs.name, rs.name);
    }
  }

  // ---- Prometheus ---------------------------------------------------------------------------

  private async startMetrics(cfg: Config): Promise<void> {
    if (!cfg.metrics) return;
    const server = new MetricsServer(cfg.metrics, async () => ({
      info: { version: VERSION, commit: COMMIT, node: this.node, board: this.board?.name ?? this.opts.board ?? 'unknown' },
      vrrp: this.vrrp ? await this.vrrp.query() : null,
      transitions: (name) => this.transitions.count(name),
      virtualServers: this.lb?.status() ?? [],
    }), {
      log: (level, msg) => this.log.log(level, msg),
      refreshConnections: async () => { await this.lb?.refreshConnectionCounts(); },
    });
    this.metricsServer = server;
    await server.start();
  }

  /** A changed metrics block restarts the server with the new listen and allow lines. */
  private async reloadMetrics(prev: Config, next: Config): Promise<void> {
    const key = (c: Config): string => JSON.stringify(c.metrics ? { ...c.metrics, pos: null } : null);
    if (key(prev) === key(next)) return;
    await this.metricsServer?.close();
    this.metricsServer = null;
    await this.startMetrics(next);
  }

  // ---- console ----------------------------------------------------------------------------

  private async startConsole(cfg: Config): Promise<void> {
    const host = new DaemonConsoleHost(this);
    this.closers.push(() => host.close());
    const engine = createConsoleEngine(host, configApi);
    this.consoleEngine = engine;
    try {
      const sock = await this.system.controlSocket(engine, this.opts.controlSocket);
      this.closers.push(() => sock.close());
      if (sock.stats) this.consoleCounters.controlSocket = () => sock.stats!();
    } catch (err) {
      // startControlSocket's messages name the socket already.
      this.log.error(`${(err as Error).message}; running without the control socket`);
    }
    const sc = cfg.serialConsole;
    const device = sc?.device ?? (sc ? this.board?.console.device : null);
    if (sc && sc.enabled && device) {
      // A console that cannot start (its native addon fails to load) is logged, never fatal:
      // the board keeps balancing and the control socket still works.
      try {
        const { startSerialConsole } = await import('./console/serial.ts');
        const serial = await startSerialConsole(engine, {
          device,
          baud: sc.baud ?? this.board?.console.baud,
          idleTimeoutMs: sc.idleTimeoutMs,
          log: (msg: string) => this.log.info(msg),
        });
        this.closers.push(() => serial.close());
        this.consoleCounters.serial = () => serial.stats();
      } catch (err) {
        this.log.error(`serial console ${device} not started: ${(err as Error).message}`);
      }
    }
  }

  /**
   * keepalived writes its per-instance counters to /tmp/keepalived.stats on SIGUSR2
   * (`keepalived --signum=STATS`); we write the same layout to STATE_DIR/vrrp.stats, plus the
   * drops that could not be attributed to an instance (unknown VRID, unreadable packets).
   * Atomically: a full disk leaves the previous file whole, never an empty or torn one.
   */
  async writeStats(): Promise<string> {
    const path = join(this.opts.stateDir, 'vrrp.stats');
    await writeFileAtomic(path, await this.statsText(), 0o644);
    return path;
  }

  /** The counters in keepalived's stats layout (also `show statistics` on the console). */
  async statsText(): Promise<string> {
    return formatVrrpStatistics(this.vrrp ? await this.vrrp.query() : { instances: [], groups: [], unattributed: {} }) + formatFifoStats(this.fifos.stats());
  }

  /** What the console's own transports counted: connections refused, bytes and lines dropped. */
  consoleStats(): ConsoleCounters {
    const c = this.consoleCounters;
    const serial = c.serial?.() ?? null;
    return {
      controlSocket: c.controlSocket?.() ?? null,
      serial: serial && { droppedInputBytes: serial.droppedBytes, droppedLines: serial.droppedLines, droppedOutputBytes: serial.droppedOutputBytes },
    };
  }

  /** The event FIFOs' counters (show statistics, MQTT health). */
  eventFifoStats(): FifoStats[] {
    return this.fifos.stats();
  }

  // ---- operations ---------------------------------------------------------------------------

  async setMaintenance(on: boolean): Promise<{ ok: boolean; message: string }> {
    if (!this.vrrp) return { ok: false, message: 'no VRRP instance configured' };
    this.maintenance = on;
    this.vrrp.setMaintenance(on);
    this.reporter?.event({ type: 'maintenance', on });
    return { ok: true, message: on ? 'maintenance on: priority lowered, mastership handed to the peer' : 'maintenance off: configured priorities restored' };
  }

  /** Reloads and the stop run one at a time, in order: two overlapping reloads (SIGHUP and a
   * console commit) could each restart the VRRP engine and leave two workers running. */
  private serial: Promise<unknown> = Promise.resolve();

  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.serial.then(fn, fn);
    this.serial = p.catch(() => undefined);
    return p;
  }

  /** SIGHUP / console commit: a bad configuration keeps the running one and says why. */
  reload(text?: string): Promise<{ ok: boolean; errors: string[] }> {
    if (this.stopping) return Promise.resolve({ ok: false, errors: ['the daemon is stopping'] });
    return this.inTurn(() => (this.stopping ? Promise.resolve({ ok: false, errors: ['the daemon is stopping'] }) : this.reloadNow(text)));
  }

  private async reloadNow(text?: string): Promise<{ ok: boolean; errors: string[] }> {
    // A reload from the file (SIGHUP, the console's config-id) picks the config id again too.
    const choice = text === undefined ? chooseConfigId(this.opts.configId, this.opts.stateDir) : this.configId;
    if (choice.problem) this.log.warn(choice.problem);
    const load = { configId: choice.id, ...(await this.loadChecks()) };
    const r = text === undefined ? loadConfigFile(this.opts.file, load) : parseConfigText(text, this.opts.file, load);
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    if (!r.config) {
      this.log.error(`Reload refused, keeping the running configuration: ${errors.join('; ')}`);
      this.lastReload = { at: Date.now(), ok: false, message: errors.join('; ') };
      this.reporter?.event({ type: 'reload', ok: false, errors });
      return { ok: false, errors };
    }
    const next = r.config;
    // Warnings as at start (keepalived logs its configuration warnings at every reload too).
    for (const d of r.diagnostics) if (d.severity !== 'error') this.log.warn(formatDiagnostic(d));
    const refused = await this.refusedPrograms(next);
    if (refused.length > 0) {
      this.log.error('Reload refused, keeping the running configuration: configured programs refused');
      this.lastReload = { at: Date.now(), ok: false, message: refused.join('; ') };
      this.reporter?.event({ type: 'reload', ok: false, errors: refused });
      return { ok: false, errors: refused };
    }
    const prev = this.config;
    const prevText = this.runningText;
    const prevId = this.configId;
    this.applyUmask(next);
    this.config = next;
    this.runningText = text ?? r.source.text ?? '';
    this.configId = choice;
    try {
      await this.applyReload(prev, next);
    } catch (err) {
      // A configuration that validates can still fail to apply (an interface without an
      // address, nft refusing a rule). Put the previous one back (DESIGN.md: a bad new
      // configuration keeps the old one running) and say so instead of rejecting: SIGHUP has
      // no one to hand a rejection to, and an unhandled rejection would kill the daemon with
      // its VIPs and rules left behind.
      const message = `applying the new configuration failed: ${err instanceof Error ? err.message : String(err)}`;
      this.log.error(`Reload: ${message}; restoring the previous configuration`);
      this.config = prev;
      this.runningText = prevText;
      this.configId = prevId;
      try {
        await this.applyReload(next, prev);
      } catch (e2) {
        this.log.error(`Reload: restoring the previous configuration failed too: ${e2 instanceof Error ? e2.message : String(e2)}`);
      }
      this.lastReload = { at: Date.now(), ok: false, message };
      this.reporter?.event({ type: 'reload', ok: false, errors: [message] });
      return { ok: false, errors: [message] };
    }
    this.log.info('Reload: configuration applied');
    this.lastReload = { at: Date.now(), ok: true, message: 'applied' };
    this.reporter?.event({ type: 'reload', ok: true });
    return { ok: true, errors: [] };
  }

  private async applyReload(prev: Config, next: Config): Promise<void> {
    if (!EventFifos.sameConfig(prev.global, next.global)) {
      await this.fifos.close();
      this.fifos = await EventFifos.open(next.global, scriptPolicy(next.global), this.fifoDeps());
    }
    const engineNext = engineConfigFrom(next);
    if (JSON.stringify(engineNext) !== JSON.stringify(engineConfigFrom(prev))) {
      if (this.vrrp && next.instances.length > 0) {
        // In place where instances keep their identity; a handover first where they do not
        // (docs/reload.md). Nothing changes when it cannot apply.
        const r = await this.vrrp.reconfigure(engineNext);
        if (!r.ok) throw new Error(r.errors.join('; '));
        if (r.restarted.length > 0) this.log.info(`Reload: ${r.restarted.join(', ')} restarted`);
      } else {
        this.trackers?.stop();
        this.trackers = null;
        await this.vrrp?.stop();
        this.vrrp = null;
        await this.startVrrp(next);
      }
    }
    if (this.vrrp && (!this.trackers || this.trackers.changedBy(next))) {
      this.trackers?.stop();
      this.startTrackers(next, this.vrrp);
    }
    if (this.lb) await this.lb.reload(next.virtualServers);
    else await this.startLb(next);
    await this.reloadReporting(prev, next);
    await this.reloadMetrics(prev, next);
    if (next.global.fifoWriteVrrpStatesOnReload && this.vrrp) this.notifier.writeStates(this.vrrp.snapshot(), this.vrrp.groupSnapshot());
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      // After any reload in progress: stopping in the middle of one could leave a VRRP worker
      // started after the stop.
      this.stopping = this.inTurn(async () => {
        this.log.info('Stopping');
        this.trackers?.stop();
        await this.vrrp?.stop();
        await this.lb?.stop();
        for (const s of this.vrrp?.snapshot() ?? []) this.reporter?.setVrrp(s.name, s);
        await this.reporter?.stop();
        this.metrics?.close();
        await this.metricsServer?.close();
        await this.fifos.close();
        for (const c of this.closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
        this.log.info('Stopped');
      });
    }
    return this.stopping;
  }
}

function birthInterfaces(): Array<{ name: string; mac: string | null; addresses: string[] }> {
  const out: Array<{ name: string; mac: string | null; addresses: string[] }> = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (!addrs || name === 'lo') continue;
    out.push({ name, mac: addrs[0]?.mac ?? null, addresses: addrs.map((a) => a.cidr ?? a.address) });
  }
  return out;
}

/**
 * A daemon that cannot start while a `commit confirmed` is pending: the unconfirmed file is the
 * likely cause, and nobody can confirm or roll it back with the daemon down. Put the previous
 * file back (what the pending record holds) and say so; the caller starts again with it.
 */
async function rollBackUnconfirmed(opts: DaemonOptions, log: Logger): Promise<boolean> {
  const store = new FilePendingStore(opts.stateDir);
  const rec = await store.load().catch(() => null);
  if (!rec || resolvePath(rec.configPath) !== resolvePath(opts.file)) return false;
  try {
    await writeFileAtomic(opts.file, rec.previousText, 0o600, { keepPrevious: true });
    await store.clear();
  } catch (err) {
    log.error(`the unconfirmed commit could not be rolled back: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  }
  log.error('Start failed with an unconfirmed commit pending: rolled back to the previous configuration, starting with it');
  return true;
}

export async function runDaemon(opts: DaemonOptions): Promise<number> {
  let d = new Daemon(opts);
  // Signal handlers come first, as keepalived installs its own before anything else: a SIGTERM
  // that arrives while we start must still stop us cleanly (VIPs and rules removed), not kill
  // the process with half a state behind it.
  let started = false;
  let stopRequested: string | null = null;
  let resolveRun: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => {
    resolveRun = r;
  });
  const stop = (sig: string): void => {
    d.log.info(`Received ${sig}`);
    if (!started) {
      stopRequested = sig; // start() finishes first, then we stop
      return;
    }
    void d.stop().then(() => resolveRun(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGUSR2', () => {
    if (!started) return;
    d.writeStats().then(
      (p) => d.log.info(`Statistics written to ${p}`),
      (err: Error) => d.log.error(`writing statistics: ${err.message}`),
    );
  });
  process.on('SIGHUP', () => {
    if (!started) {
      d.log.warn('Received SIGHUP while starting; the configuration just loaded stays');
      return;
    }
    d.log.info('Received SIGHUP, reloading');
    d.reload().catch((err: unknown) => d.log.error(`Reload failed: ${err instanceof Error ? err.message : String(err)}`));
  });
  try {
    await d.start();
  } catch (err) {
    d.log.error(err instanceof Error ? err.message : String(err));
    await d.stop();
    if (stopRequested || !(await rollBackUnconfirmed(opts, d.log))) return 1;
    d = new Daemon(opts);
    try {
      await d.start();
    } catch (err2) {
      d.log.error(err2 instanceof Error ? err2.message : String(err2));
      await d.stop();
      return 1;
    }
  }
  started = true;
  if (stopRequested) {
    await d.stop();
    return 0;
  }
  return done;
}
