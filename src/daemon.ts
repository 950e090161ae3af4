// Composition: wiring, start-up and shutdown order, reload (DESIGN.md "Parts").
//
// Start-up: configuration → VRRP worker (removes stale VIPs, then elects) → vrrp_scripts →
// data plane and health checks → MQTT → console. Shutdown: VRRP first, so the peer takes over
// at once (priority 0) while we clean up; then the data plane (table removed), MQTT (`offline`
// published), console.
import { mkdirSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import * as configApi from './config/index.ts';
import { loadConfigFile, formatDiagnostic, parseConfigText } from './config/index.ts';
import type { Config, VirtualServer, RealServer } from './config/model.ts';
import { createLogger, isLogLevel, type Logger } from './log.ts';
import { engineConfigFrom } from './vrrp/engine-config.ts';
import { VrrpClient } from './vrrp/client.ts';
import { ScriptRunner } from './vrrp/scripts.ts';
import { runNotify } from './util/notify.ts';
import type { RealServerStatus, SyncGroupState, SyncGroupStatus, VrrpInstanceStatus, VrrpState } from './status.ts';
import { LbController } from './lb/controller.ts';
import { configuredVips } from './lb/dr-topology.ts';
import { systemNft } from './lb/nft.ts';
import { countRealServerFlows, deleteRealServerFlows, deleteVipFlows } from './lb/conntrack.ts';
import { Reporter } from './report/session.ts';
import { MetricsCollector } from './report/metrics.ts';
import { loadBoardProfile, type BoardProfile } from './board/profile.ts';
import { createLedDriver, ledStateFor, type LedDriver } from './board/leds.ts';
import { createConsoleEngine, startControlSocket } from './console/index.ts';
import type { ConsoleEngine } from './console/engine.ts';
import { DaemonConsoleHost } from './daemon-host.ts';
import { FORWARDING_SYSCTLS, setSysctls } from './net/sysctl.ts';
import { hostInterfaceAddresses } from './net/interfaces.ts';
import { VERSION, COMMIT } from './version.ts';
import { writeFile } from 'node:fs/promises';
import { writeFileAtomic } from './util/atomic-file.ts';
import { join, resolve as resolvePath } from 'node:path';
import { FilePendingStore } from './console/pending-commit.ts';
import { formatStats } from './vrrp/counters.ts';

export interface DaemonOptions {
  file: string;
  board: string | null;
  stateDir: string;
  controlSocket: string;
  logLevel: string;
}

export class Daemon {
  readonly log: Logger;
  config!: Config;
  /** The configuration text now running (for `show running-config` and the console's diff). */
  runningText = '';
  vrrp: VrrpClient | null = null;
  lb: LbController | null = null;
  reporter: Reporter | null = null;
  metrics: MetricsCollector | null = null;
  board: BoardProfile | null = null;
  private leds: LedDriver | null = null;
  private scripts: ScriptRunner | null = null;
  private consoleEngine: ConsoleEngine | null = null;
  private closers: Array<() => Promise<void> | void> = [];
  private stopping: Promise<void> | null = null;
  readonly startedAt = Date.now();
  lastReload: { at: number; ok: boolean; message: string } | null = null;
  maintenance = false;

  constructor(readonly opts: DaemonOptions) {
    this.log = createLogger(isLogLevel(opts.logLevel) ? opts.logLevel : 'info');
  }

  get node(): string {
    return this.config.mqtt?.node ?? this.config.global.routerId ?? hostname();
  }

  async start(): Promise<void> {
    // Checked against this board's interfaces (lb_kind DR real servers must be reachable directly).
    const r = loadConfigFile(this.opts.file, { interfaces: await hostInterfaceAddresses() });
    for (const d of r.diagnostics) this.log.log(d.severity === 'error' ? 'error' : 'warn', formatDiagnostic(d));
    if (!r.config) throw new Error(`${this.opts.file}: configuration has errors, not starting`);
    this.config = r.config;
    this.runningText = configApi.writeConfig(r.config);
    mkdirSync(this.opts.stateDir, { recursive: true, mode: 0o700 });
    if (this.opts.board) {
      this.board = loadBoardProfile(this.opts.board);
      this.leds = createLedDriver(this.board);
      void this.leds.show('INIT');
    }
    this.log.info(`Starting tandem ${VERSION} (commit ${COMMIT}) on node ${process.version}, configuration ${this.opts.file}`);
    await this.startVrrp(this.config);
    await this.startLb(this.config);
    await this.startReporting(this.config);
    await this.startConsole(this.config);
  }

  // ---- VRRP -------------------------------------------------------------------------------

  private async startVrrp(cfg: Config): Promise<void> {
    if (cfg.instances.length === 0) return;
    const vrrp = new VrrpClient({
      log: (level, msg) => this.log.log(level, msg),
      stateChanged: (status, from, reason) => this.onVrrpState(status, from, reason),
      groupChanged: (status, from) => this.onGroupChanged(status, from),
      crashed: (err) => {
        this.log.error(`VRRP worker failed: ${err.message}; stopping`);
        void this.stop().then(() => process.exit(1));
      },
    });
    this.vrrp = vrrp;
    const status = await vrrp.start(engineConfigFrom(cfg));
    if (this.maintenance) vrrp.setMaintenance(true);
    for (const s of status.instances) this.reporter?.setVrrp(s.name, s);
    this.scripts = new ScriptRunner(cfg.scripts, {
      result: (name, up) => vrrp.scriptResult(name, up),
      log: (level, msg) => this.log.log(level, msg),
    });
    this.scripts.start();
  }

  private onVrrpState(status: VrrpInstanceStatus, from: VrrpState, reason: string): void {
    this.log.debug(`(${status.name}) ${from} -> ${status.state}: ${reason}`);
    const inst = this.config.instances.find((i) => i.name === status.name);
    if (inst) {
      const notifyLog = (level: 'warn' | 'debug', msg: string): void => this.log.log(level, `(${inst.name}) ${msg}`);
      const specific = { MASTER: inst.notifyMaster, BACKUP: inst.notifyBackup, FAULT: inst.notifyFault, STOP: inst.notifyStop }[
        status.state as 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'
      ];
      if (specific) void runNotify(specific, [], notifyLog);
      // keepalived's generic notify: "INSTANCE" NAME STATE PRIORITY.
      if (inst.notify && status.state !== 'INIT') {
        void runNotify(inst.notify, ['INSTANCE', inst.name, status.state, String(status.effectivePriority)], notifyLog);
      }
    }
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
   * vrrp_sync_group notify programs run when the group as a whole changes state (keepalived
   * vrrp_sync.c; the worker reports it). The generic `notify` gets "GROUP" NAME STATE 0, as
   * keepalived passes it.
   */
  private onGroupChanged(status: SyncGroupStatus, _from: SyncGroupState): void {
    const group = this.config.syncGroups.find((g) => g.name === status.name);
    if (!group || status.state === 'INIT') return;
    const name = status.name;
    const state = status.state;
    const log = (level: 'warn' | 'debug', msg: string): void => this.log.log(level, `VRRP_Group(${name}) ${msg}`);
    const specific = { MASTER: group.notifyMaster, BACKUP: group.notifyBackup, FAULT: group.notifyFault, STOP: group.notifyStop }[state];
    if (specific) void runNotify(specific, [], log);
    if (group.notify) void runNotify(group.notify, ['GROUP', name, state, '0'], log);
  }

  // ---- load balancing -----------------------------------------------------------------------

  private async startLb(cfg: Config): Promise<void> {
    if (cfg.virtualServers.length === 0) return;
    await setSysctls(FORWARDING_SYSCTLS, (level, msg) => this.log.log(level, msg));
    const lb = new LbController(
      cfg.virtualServers,
      {
        nft: systemNft(),
        deleteFlows: (a, p, protos) => deleteRealServerFlows(a, p, protos),
        deleteVipFlows: (vip, port, proto) => deleteVipFlows(vip, port, proto),
        countFlows: (a, p, proto) => countRealServerFlows(a, p, proto),
        // The running configuration's VIPs (lb_kind DR: the interfaces clients' packets arrive on).
        vips: () => configuredVips(this.config.instances),
      },
      {
        log: (level, msg) => this.log.log(level, msg),
        rsChanged: (vs, rs, v) => this.onRsChanged(vs, rs, v),
      },
      cfg.global.scriptUser,
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
      },
      { log: (level, msg) => this.log.log(level, `mqtt: ${msg}`) },
    );
    this.reporter = reporter;
    const metrics = this.metrics;
    reporter.setHealthSource(() => metrics.collect());
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
      await this.reporter?.stop();
      this.reporter = null;
      this.metrics?.close();
      this.metrics = null;
      await this.startReporting(next);
      return;
    }
    const r = this.reporter;
    if (!r) return;
    const instances = new Set(next.instances.map((i) => i.name));
    for (const i of prev.instances) if (!instances.has(i.name)) r.clearVrrp(i.name);
    const servers = new Set(next.virtualServers.flatMap((vs) => vs.realServers.map((rs) => `${vs.name}|${rs.name}`)));
    for (const vs of prev.virtualServers) {
      for (const rs of vs.realServers) if (!servers.has(`${vs.name}|${rs.name}`)) r.clearRealServer(vs.name, rs.name);
    }
  }

  // ---- console ----------------------------------------------------------------------------

  private async startConsole(cfg: Config): Promise<void> {
    const host = new DaemonConsoleHost(this);
    this.closers.push(() => host.close());
    const engine = createConsoleEngine(host, configApi);
    this.consoleEngine = engine;
    try {
      const sock = await startControlSocket(engine, this.opts.controlSocket);
      this.closers.push(() => sock.close());
    } catch (err) {
      this.log.error(`control socket ${this.opts.controlSocket}: ${(err as Error).message}`);
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
    const q = this.vrrp ? await this.vrrp.query() : { instances: [], groups: [], unattributed: {} };
    const parts = q.instances.map((s) => formatStats(s.name, s.counters));
    const drops = Object.entries(q.unattributed).map(([k, v]) => `  ${k}: ${v}`);
    parts.push(['Unattributed drops:', ...(drops.length ? drops : ['  none'])].join('\n'));
    // Beyond keepalived's layout: what the kernel dropped before the daemon could read it.
    parts.push(`Socket receive queue drops (kernel): ${q.socketDrops ?? 'unknown'}`);
    return parts.join('\n') + '\n';
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
    const load = { interfaces: await hostInterfaceAddresses() };
    const r = text === undefined ? loadConfigFile(this.opts.file, load) : parseConfigText(text, this.opts.file, load);
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    if (!r.config) {
      this.log.error(`Reload refused, keeping the running configuration: ${errors.join('; ')}`);
      this.lastReload = { at: Date.now(), ok: false, message: errors.join('; ') };
      this.reporter?.event({ type: 'reload', ok: false, errors });
      return { ok: false, errors };
    }
    const next = r.config;
    const prev = this.config;
    const prevText = this.runningText;
    this.config = next;
    this.runningText = configApi.writeConfig(next);
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
    const engineNext = engineConfigFrom(next);
    if (JSON.stringify(engineNext) !== JSON.stringify(engineConfigFrom(prev))) {
      if (this.vrrp && next.instances.length > 0) {
        // In place where instances keep their identity; a handover first where they do not
        // (docs/reload.md). Nothing changes when it cannot apply.
        const r = await this.vrrp.reconfigure(engineNext);
        if (!r.ok) throw new Error(r.errors.join('; '));
        if (r.restarted.length > 0) this.log.info(`Reload: ${r.restarted.join(', ')} restarted`);
      } else {
        this.scripts?.stop();
        this.scripts = null;
        await this.vrrp?.stop();
        this.vrrp = null;
        await this.startVrrp(next);
      }
    }
    if (JSON.stringify(next.scripts) !== JSON.stringify(prev.scripts) && this.vrrp) {
      this.scripts?.stop();
      const vrrp = this.vrrp;
      this.scripts = new ScriptRunner(next.scripts, {
        result: (name, up) => vrrp.scriptResult(name, up),
        log: (level, msg) => this.log.log(level, msg),
      });
      this.scripts.start();
    }
    if (this.lb) await this.lb.reload(next.virtualServers);
    else await this.startLb(next);
    await this.reloadReporting(prev, next);
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      // After any reload in progress: stopping in the middle of one could leave a VRRP worker
      // started after the stop.
      this.stopping = this.inTurn(async () => {
        this.log.info('Stopping');
        this.scripts?.stop();
        await this.vrrp?.stop();
        await this.lb?.stop();
        for (const s of this.vrrp?.snapshot() ?? []) this.reporter?.setVrrp(s.name, s);
        await this.reporter?.stop();
        this.metrics?.close();
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
    out.push({ name, mac: addrs[0]?.mac ?? null, addresses: addrs.filter((a) => a.family === 'IPv4').map((a) => a.cidr ?? a.address) });
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
