// Messages between the main thread (daemon.ts) and the VRRP worker (worker.ts).
import type { EngineConfig } from './engine-config.ts';
import type { InstanceStatus } from './worker/engine.ts';
import type { VrrpState } from './machine.ts';

export type ToWorker =
  | { type: 'start'; config: EngineConfig }
  | { type: 'script'; name: string; up: boolean }
  | { type: 'status'; id: number }
  | { type: 'reconfigure'; id: number; config: EngineConfig }
  | { type: 'maintenance'; on: boolean }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string }
  | { type: 'started'; statuses: InstanceStatus[] }
  | { type: 'startFailed'; error: string }
  | { type: 'state'; status: InstanceStatus; from: VrrpState; reason: string }
  | { type: 'status'; id: number; statuses: InstanceStatus[]; drops: Record<string, number> }
  | { type: 'reconfigured'; id: number; ok: boolean }
  | { type: 'stopped' };
