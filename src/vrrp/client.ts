// The main thread's handle on the VRRP worker thread (DESIGN.md: the VRRP engine runs in its
// own worker so nothing else delays its timers).
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EngineConfig } from './engine-config.ts';
import type { InstanceStatus } from './worker/engine.ts';
import type { VrrpState } from './machine.ts';
import type { FromWorker, ToWorker } from './messages.ts';

export interface VrrpClientHooks {
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  stateChanged(status: InstanceStatus, from: VrrpState, reason: string): void;
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
  private latest = new Map<string, InstanceStatus>();
  private nextId = 1;
  private waiting = new Map<number, (s: { statuses: InstanceStatus[]; drops: Record<string, number> }) => void>();
  private waitingReconf = new Map<number, (ok: boolean) => void>();
  private stopping = false;

  constructor(private readonly hooks: VrrpClientHooks) {}

  start(config: EngineConfig): Promise<InstanceStatus[]> {
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
            for (const s of m.statuses) this.latest.set(s.name, s);
            resolve(m.statuses);
            break;
          case 'startFailed':
            reject(new Error(m.error));
            break;
          case 'state':
            this.latest.set(m.status.name, m.status);
            this.hooks.stateChanged(m.status, m.from, m.reason);
            break;
          case 'status': {
            for (const s of m.statuses) this.latest.set(s.name, s);
            const fn = this.waiting.get(m.id);
            this.waiting.delete(m.id);
            fn?.({ statuses: m.statuses, drops: m.drops });
            break;
          }
          case 'reconfigured': {
            const fn = this.waitingReconf.get(m.id);
            this.waitingReconf.delete(m.id);
            fn?.(m.ok);
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

  scriptResult(name: string, up: boolean): void {
    this.send({ type: 'script', name, up });
  }

  /** The last known state of every instance (updated on each change). */
  snapshot(): InstanceStatus[] {
    return [...this.latest.values()];
  }

  setMaintenance(on: boolean): void {
    this.send({ type: 'maintenance', on });
  }

  /** A fresh status with counters, asked from the worker. */
  query(timeoutMs = 1000): Promise<{ statuses: InstanceStatus[]; drops: Record<string, number> }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ statuses: this.snapshot(), drops: {} });
      }, timeoutMs);
      this.waiting.set(id, (s) => {
        clearTimeout(t);
        resolve(s);
      });
      this.send({ type: 'status', id });
    });
  }

  /** In-place reload of priority-only changes; false when the engine must be restarted. */
  reconfigure(config: EngineConfig): Promise<boolean> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waitingReconf.delete(id);
        resolve(false);
      }, 2000);
      this.waitingReconf.set(id, (ok) => {
        clearTimeout(t);
        resolve(ok);
      });
      this.send({ type: 'reconfigure', id, config });
    });
  }

  /** Graceful stop: priority-0 adverts and VIPs removed, then the worker exits. */
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
