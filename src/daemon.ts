// Composition: wiring, start-up and shutdown order, reload (DESIGN.md "Parts").
//
// Start-up: configuration → VRRP worker (removes stale VIPs, then elects) → vrrp_scripts →
// data plane and health checks → MQTT → console. Shutdown runs the other way round, except that
// VRRP stops first so the peer takes over at once (priority 0) while we clean up.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { loadConfigFile } from './config/index.ts';
import { formatDiagnostic } from './config/index.ts';
import type { Config } from './config/model.ts';
import { createLogger, isLogLevel, type Logger } from './log.ts';
import { engineConfigFrom } from './vrrp/engine-config.ts';
import { VrrpHost } from './vrrp/host.ts';
import { ScriptRunner, runNotify } from './vrrp/scripts.ts';
import type { InstanceStatus } from './vrrp/engine.ts';
import type { VrrpState } from './vrrp/machine.ts';
import { VERSION, COMMIT } from './version.ts';

export interface DaemonOptions {
  file: string;
  board: string | null;
  stateDir: string;
  controlSocket: string;
  logLevel: string;
}

export interface DaemonEvents {
  vrrpChanged(status: InstanceStatus, from: VrrpState, reason: string): void;
}

export class Daemon {
  readonly log: Logger;
  config!: Config;
  vrrp: VrrpHost | null = null;
  private scripts: ScriptRunner | null = null;
  private stopping: Promise<void> | null = null;
  readonly startedAt = Date.now();
  lastReload: { at: number; ok: boolean; message: string } | null = null;
  private listeners: DaemonEvents[] = [];

  constructor(readonly opts: DaemonOptions) {
    this.log = createLogger(isLogLevel(opts.logLevel) ? opts.logLevel : 'info');
  }

  get node(): string {
    return this.config.mqtt?.node ?? this.config.global.routerId ?? hostname();
  }

  on(l: DaemonEvents): void {
    this.listeners.push(l);
  }

  load(): Config | null {
    const r = loadConfigFile(this.opts.file);
    for (const d of r.diagnostics) this.log.log(d.severity === 'error' ? 'error' : 'warn', formatDiagnostic(d));
    return r.config;
  }

  async start(): Promise<void> {
    const cfg = this.load();
    if (!cfg) throw new Error(`${this.opts.file}: configuration has errors, not starting`);
    this.config = cfg;
    mkdirSync(this.opts.stateDir, { recursive: true });
    this.log.info(`Starting tandem ${VERSION} (commit ${COMMIT}) on node ${process.version}, configuration ${this.opts.file}`);
    await this.startVrrp(cfg);
  }

  private async startVrrp(cfg: Config): Promise<void> {
    if (cfg.instances.length === 0) return;
    const vrrp = new VrrpHost({
      log: (level, msg) => this.log.log(level, msg),
      stateChanged: (status, from, reason) => this.onVrrpState(status, from, reason),
      crashed: (err) => {
        this.log.error(`VRRP worker failed: ${err.message}; stopping`);
        void this.stop().then(() => process.exit(1));
      },
    });
    this.vrrp = vrrp;
    await vrrp.start(engineConfigFrom(cfg));
    this.scripts = new ScriptRunner(cfg.scripts, {
      result: (name, up) => vrrp.scriptResult(name, up),
      log: (level, msg) => this.log.log(level, msg),
    });
    this.scripts.start();
  }

  private onVrrpState(status: InstanceStatus, from: VrrpState, reason: string): void {
    this.log.debug(`(${status.name}) ${from} -> ${status.state}: ${reason}`);
    const inst = this.config.instances.find((i) => i.name === status.name);
    if (inst) {
      const notifyLog = (level: 'warn' | 'debug', msg: string): void => this.log.log(level, `(${inst.name}) ${msg}`);
      const specific = { MASTER: inst.notifyMaster, BACKUP: inst.notifyBackup, FAULT: inst.notifyFault, STOP: inst.notifyStop }[
        status.state as 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP'
      ];
      if (specific) void runNotify(specific, [], notifyLog);
      if (inst.notify && status.state !== 'INIT') {
        void runNotify(inst.notify, ['INSTANCE', inst.name, status.state, String(status.effectivePriority)], notifyLog);
      }
    }
    for (const l of this.listeners) l.vrrpChanged(status, from, reason);
  }

  /** SIGHUP / console commit: a bad configuration keeps the running one and says why. */
  async reload(text?: string): Promise<{ ok: boolean; errors: string[] }> {
    const { parseConfigText } = await import('./config/index.ts');
    const r = text === undefined ? loadConfigFile(this.opts.file) : parseConfigText(text, this.opts.file);
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    if (!r.config) {
      this.log.error(`Reload refused, keeping the running configuration: ${errors.join('; ')}`);
      this.lastReload = { at: Date.now(), ok: false, message: errors.join('; ') };
      return { ok: false, errors };
    }
    const next = r.config;
    const prev = this.config;
    this.config = next;
    const engineNext = engineConfigFrom(next);
    if (JSON.stringify(engineNext) !== JSON.stringify(engineConfigFrom(prev))) {
      const inPlace = this.vrrp ? await this.vrrp.reconfigure(engineNext) : false;
      if (!inPlace) {
        this.log.info('Reload: VRRP instances changed, restarting the VRRP engine');
        this.scripts?.stop();
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
    this.log.info('Reload: configuration applied');
    this.lastReload = { at: Date.now(), ok: true, message: 'applied' };
    return { ok: true, errors: [] };
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        this.log.info('Stopping');
        this.scripts?.stop();
        await this.vrrp?.stop();
        this.log.info('Stopped');
      })();
    }
    return this.stopping;
  }
}

export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const d = new Daemon(opts);
  try {
    await d.start();
  } catch (err) {
    d.log.error(err instanceof Error ? err.message : String(err));
    await d.stop();
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = (sig: string): void => {
      d.log.info(`Received ${sig}`);
      void d.stop().then(() => resolve(0));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      d.log.info('Received SIGHUP, reloading');
      void d.reload();
    });
  });
}
