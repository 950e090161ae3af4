// What the console needs from the daemon (src/daemon.ts implements it). Plain data in and out,
// so the engine stays transport- and daemon-free and a unit test can hand it a fake.
import type { VirtualServerStatus, VrrpInstanceStatus, VrrpStatus } from '../status.ts';
import type { FifoStats } from '../util/event-fifo.ts';

export interface VersionInfo {
  version: string;
  commit: string;
  node: string;
  board: string | null;
  nodeVersion: string;
}

export interface StatusInfo {
  node: string;
  board: string | null;
  /** Daemon uptime in seconds. */
  uptimeS: number;
  /** Maintenance mode: priority lowered so the peer holds mastership. */
  maintenance: boolean;
  configPath: string;
  /**
   * Which `@ID` lines of the configuration this board reads, and where the id came from:
   * 'option' (--config-id), 'state' (STATE_DIR/config-id), 'hostname' (keepalived's default).
   */
  configId?: { id: string; source: 'option' | 'state' | 'hostname' };
  /** Last reload: when (epoch ms), whether it worked, and why not. */
  lastReload: { at: number; ok: boolean; message: string } | null;
}

/** VRRP instances and virtual servers as the one status model has them (src/status.ts). */
export type { VrrpInstanceStatus, VirtualServerStatus, RealServerStatus } from '../status.ts';

export interface InterfaceInfo {
  name: string;
  up: boolean;
  mac: string | null;
  addresses: string[];
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
}

export interface HealthInfo {
  cpuPct: number | null;
  memUsedPct: number | null;
  temperatureC: number | null;
  loadAvg: [number, number, number];
  uptimeS: number;
  rssBytes: number;
  eventLoopLagMs: number | null;
  conntrackCount: number | null;
  /** The console's transports: what they refused or dropped (bounded queues). */
  console?: ConsoleCounters;
}

export interface ConsoleCounters {
  /** Connections open now and refused because the most were open; null without the socket. */
  controlSocket: { connections: number; refused: number } | null;
  /** The serial console's drops; null when it does not run. */
  serial: { droppedInputBytes: number; droppedLines: number; droppedOutputBytes: number } | null;
}

export interface MqttInfo {
  enabled: boolean;
  url: string | null;
  connected: boolean;
  prefix: string;
  node: string;
  queued: number;
  lastError: string | null;
}

export interface ActionResult {
  ok: boolean;
  /** Shown to the user; the reason when !ok. */
  message: string;
}

/** Events the console reports (the daemon forwards them to MQTT `events` and the log). */
export interface ConsoleEvent {
  type:
    | 'login'
    | 'login-failed'
    | 'lockout'
    | 'logout'
    | 'password-set'
    | 'commit'
    | 'commit-confirmed'
    | 'commit-rolled-back'
    | 'commit-rollback-failed'
    | 'drain'
    | 'enable'
    | 'maintenance'
    | 'config-id'
    /** The console's files in the state directory: a save that failed, leftovers removed at start. */
    | 'state-file';
  /** 'serial' | 'ctl' | whatever the transport calls itself. */
  transport: string;
  user?: string;
  detail?: string;
}

export interface ConsoleHost {
  version(): VersionInfo;
  status(): StatusInfo;
  vrrp(): VrrpInstanceStatus[];
  virtualServers(): VirtualServerStatus[];
  /** Refresh what virtualServers() reports as connections (spawns conntrack). */
  refreshConnections?(): Promise<void>;
  /** VRRP counters and what goes with them (`show statistics` renders keepalived's stats layout). */
  vrrpStatus?(): Promise<VrrpStatus>;
  /** The event FIFOs' counters (notify_fifo and friends); none configured: empty. */
  eventFifos?(): FifoStats[];
  interfaces(): Promise<InterfaceInfo[]>;
  health(): Promise<HealthInfo>;
  mqtt(): MqttInfo;
  /** The last `n` log lines, oldest first. */
  log(n: number): string[];
  /** The text of the configuration now running (what a reload last accepted). */
  runningConfigText(): string;
  /** The configuration file the daemon was started with; commits save here. */
  readonly configPath: string;
  /** Where console-users.json, console-lockout.json and commit-pending.json live. */
  readonly stateDir: string;
  /**
   * In-process reload with this configuration text (already saved to configPath). On failure the
   * daemon keeps the old configuration running and says why in `errors`.
   */
  applyConfig(text: string): Promise<{ ok: boolean; errors: string[] }>;
  /** vs and rs are the "ADDRESS PORT" names. */
  drain(vs: string, rs: string): Promise<ActionResult>;
  enable(vs: string, rs: string): Promise<ActionResult>;
  /**
   * Provision the config id: saved to STATE_DIR/config-id and applied by a reload with that
   * board's view of the file; refused (nothing saved) when that view has errors.
   */
  setConfigId?(id: string): Promise<ActionResult>;
  /** on: lower priority so the peer takes mastership cleanly; off: back to configured priority. */
  maintenance(on: boolean): Promise<ActionResult>;
  event(e: ConsoleEvent): void;
}
