// Messages between the main thread (client.ts) and the VRRP worker thread (worker/main.ts).
// Plain data only: it crosses postMessage.
import type { EngineConfig, TrackedKind, TrackedValue } from './engine-config.ts';
import type { SyncGroupState, SyncGroupStatus, VrrpInstanceStatus, VrrpState, VrrpStatus } from '../status.ts';

export type ToWorker =
  | { type: 'start'; config: EngineConfig }
  /** A tracker's new value: vrrp_script up/down, track_process quorum, track_file number. */
  | { type: 'tracked'; kind: TrackedKind; name: string; value: TrackedValue }
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
  /**
   * MASTER, it heard another MASTER with a lower priority (keepalived MASTER_RX_LOWER_PRI);
   * splitBrain: the first of an episode: the peer carried flows meanwhile, forget them once.
   */
  | { type: 'rxLowerPriority'; status: VrrpInstanceStatus; from: string; priority: number; splitBrain: boolean }
  /** The effective priority changed (notify_priority_changes). */
  | { type: 'priority'; status: VrrpInstanceStatus }
  | { type: 'status'; id: number; status: VrrpStatus }
  /** ok false: the new configuration cannot apply (errors say why) and nothing changed. */
  | { type: 'reconfigured'; id: number; ok: boolean; errors: string[]; restarted: string[] }
  | { type: 'stopped' };
