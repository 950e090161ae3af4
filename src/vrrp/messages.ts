// Messages between the main thread (client.ts) and the VRRP worker thread (worker/main.ts).
// Plain data only: it crosses postMessage.
import type { EngineConfig } from './engine-config.ts';
import type { SyncGroupState, SyncGroupStatus, VrrpInstanceStatus, VrrpState, VrrpStatus } from '../status.ts';

export type ToWorker =
  | { type: 'start'; config: EngineConfig }
  | { type: 'script'; name: string; up: boolean }
  | { type: 'status'; id: number }
  | { type: 'reconfigure'; id: number; config: EngineConfig }
  | { type: 'maintenance'; on: boolean }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string }
  | { type: 'started'; status: VrrpStatus }
  | { type: 'startFailed'; error: string }
  | { type: 'state'; status: VrrpInstanceStatus; from: VrrpState; reason: string }
  | { type: 'group'; status: SyncGroupStatus; from: SyncGroupState }
  | { type: 'status'; id: number; status: VrrpStatus }
  /** ok false: the new configuration cannot apply (errors say why) and nothing changed. */
  | { type: 'reconfigured'; id: number; ok: boolean; errors: string[]; restarted: string[] }
  | { type: 'stopped' };
