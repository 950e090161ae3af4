// The main thread's handle on the VRRP worker thread (DESIGN.md: the VRRP engine runs in its
// own worker so nothing else delays its timers). Everything here runs on the main thread.
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EngineConfig, TrackedKind, TrackedValue } from './engine-config.ts';
import type { FromWorker, ToWorker } from './messages.ts';
import type { SyncGroupState, SyncGroupStatus, VrrpInstanceStatus, VrrpState, VrrpStatus } from '../status.ts';

export interface ReconfigureResult {
  ok: boolean;
  errors: string[];
  /** Instances handed over and started again (their identity or sync group changed). */
  restarted: string[];
}

export interface VrrpClientHooks {
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  stateChanged(status: VrrpInstanceStatus, from: VrrpState, reason: string): void;
  groupChanged(status: SyncGroupStatus, from: SyncGroupState): void;
  /** MASTER, an instance heard another MASTER with a lower priority (splitBrain: the first of an episode). */
  rxLowerPriority?(status: VrrpInstanceStatus, from: string, priority: number, splitBrain: boolean): void;
  /** An instance's effective priority changed. */
  priorityChanged?(status: VrrpInstanceStatus): void;
  /** The worker died unexpectedly (a bug): the daemon must not carry on without VRRP. */
  crashed(err: Error): void;
}

/** Bundled: dist/vrrp-worker.js beside the bundle. From source (tsx): src/vrrp/worker/main.ts. */
function workerUrl(): URL {
  const bundled = new URL('./vrrp-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(bundled))) return bundled;
  return new URL('./worker/main.ts', import.meta.url);
}

export class VrrpClient {
  private worker: Worker | null = null;
  private latest = new Map<string, VrrpInstanceStatus>();
  private groups = new Map<string, SyncGroupStatus>();
  private nextId = 1;
  private waiting = new Map<number, (s: VrrpStatus) => void>();
  private waitingReconf = new Map<number, (r: ReconfigureResult) => void>();
  private stopping = false;

  constructor(private readonly hooks: VrrpClientHooks) {}

  private remember(s: VrrpStatus): void {
    for (const i of s.instances) this.latest.set(i.name, i);
    for (const g of s.groups) this.groups.set(g.name, g);
  }

  start(config: EngineConfig): Promise<VrrpStatus> {
    const w = new Worker(workerUrl());
    this.worker = w;
    return new Promise((resolve, reject) => {
      let started = false;
      w.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'log':
            this.hooks.log(m.level, m.msg);
            break;
          case 'started':
            started = true;
            this.remember(m.status);
            resolve(m.status);
            break;
          case 'startFailed':
            reject(new Error(m.error));
            break;
          case 'state':
            this.latest.set(m.status.name, m.status);
            this.hooks.stateChanged(m.status, m.from, m.reason);
            break;
          case 'group':
            this.groups.set(m.status.name, m.status);
            this.hooks.groupChanged(m.status, m.from);
            break;
          case 'rxLowerPriority':
            this.hooks.rxLowerPriority?.(m.status, m.from, m.priority, m.splitBrain);
            break;
          case 'priority':
            this.latest.set(m.status.name, m.status);
            this.hooks.priorityChanged?.(m.status);
            break;
          case 'status': {
            this.remember(m.status);
            const fn = this.waiting.get(m.id);
            this.waiting.delete(m.id);
            fn?.(m.status);
            break;
          }
          case 'reconfigured': {
            const fn = this.waitingReconf.get(m.id);
            this.waitingReconf.delete(m.id);
            fn?.({ ok: m.ok, errors: m.errors, restarted: m.restarted });
            break;
          }
          case 'stopped':
            break;
        }
      });
      w.on('error', (err) => {
        if (!started) reject(err);
        else this.hooks.crashed(err);
      });
      w.on('exit', (code) => {
        if (!this.stopping && started) this.hooks.crashed(new Error(`VRRP worker exited with code ${code}`));
        if (!started) reject(new Error(`VRRP worker exited with code ${code} before starting`));
      });
      this.send({ type: 'start', config });
    });
  }

  private send(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  /** A tracker's new value (src/vrrp/trackers.ts): vrrp_script, track_process, track_file. */
  trackedValue(kind: TrackedKind, name: string, value: TrackedValue): void {
    this.send({ type: 'tracked', kind, name, value });
  }

  /** The last known state of every instance (updated on each change; counters as of then). */
  snapshot(): VrrpInstanceStatus[] {
    return [...this.latest.values()];
  }

  /** The last known state of every sync group. */
  groupSnapshot(): SyncGroupStatus[] {
    return [...this.groups.values()];
  }

  setMaintenance(on: boolean): void {
    this.send({ type: 'maintenance', on });
  }

  /** A fresh status with counters, asked from the worker (the last known one if it does not answer). */
  query(timeoutMs = 1000): Promise<VrrpStatus> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ instances: this.snapshot(), groups: this.groupSnapshot(), unattributed: {} });
      }, timeoutMs);
      this.waiting.set(id, (s) => {
        clearTimeout(t);
        resolve(s);
      });
      this.send({ type: 'status', id });
    });
  }

  /**
   * A reload (VrrpEngine.reconfigure): in place where identities stay, a handover and restart
   * for the instances whose identity changed. Not ok: it could not apply and nothing changed.
   * The bound covers the handovers of restarted instances (at most 3 s each, run together).
   */
  reconfigure(config: EngineConfig, timeoutMs = 10_000): Promise<ReconfigureResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waitingReconf.delete(id);
        resolve({ ok: false, errors: [`the VRRP worker did not answer within ${timeoutMs} ms`], restarted: [] });
      }, timeoutMs);
      this.waitingReconf.set(id, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      this.send({ type: 'reconfigure', id, config });
    });
  }

  /** Graceful stop: priority-0 adverts and VIPs handed over, then the worker exits. */
  stop(timeoutMs = 5000): Promise<void> {
    const w = this.worker;
    if (!w) return Promise.resolve();
    this.stopping = true;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        void w.terminate();
        resolve();
      }, timeoutMs);
      w.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.send({ type: 'stop' });
    });
  }
}

/** The VRRP worker as the rest of the main thread uses it (a fake in the daemon's wiring tests). */
export type VrrpHandle = Pick<VrrpClient, 'start' | 'stop' | 'snapshot' | 'groupSnapshot' | 'query' | 'reconfigure' | 'trackedValue' | 'setMaintenance'>;
