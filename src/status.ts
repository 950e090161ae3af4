// The one status model. VRRP (src/vrrp) and load balancing (src/lb) produce these shapes; MQTT
// payloads (src/report/payloads.ts), the console (src/console/host.ts), the metrics and the fleet
// page read them. Field names are the ones users already read in the MQTT payloads of DESIGN.md
// (`interface`, `masterAddress`, `lastCheck`, …), so nothing renames on the way out.
import type { ForwardingMethod } from './config/model.ts';
import type { Counters } from './vrrp/counters.ts';
import type { VrrpState } from './vrrp/machine.ts';
import type { LatenessSnapshot } from './vrrp/lateness.ts';

export type { VrrpState } from './vrrp/machine.ts';
export type SyncGroupState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export interface VrrpInstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  version: 2 | 3;
  state: VrrpState;
  /** The priority in use before tracking: the configured one, or 1 in maintenance. */
  priority: number;
  /** After tracked interfaces and scripts. */
  effectivePriority: number;
  /** virtual_ipaddress and _excluded, "ADDRESS/PREFIX". */
  vips: string[];
  /** Our own address when MASTER, else the master's as last heard (null when unknown). */
  masterAddress: string | null;
  /** Wall-clock ms of the last state change. */
  since: number;
  /** Why it entered its state, in keepalived's wording ("master down timer expired", …). */
  reason: string;
  /** Why it is in FAULT (a tracked interface or script, a VIP that could not be added); null otherwise. */
  fault: string | null;
  syncGroup: string | null;
  counters: Counters;
}

export interface SyncGroupStatus {
  name: string;
  state: SyncGroupState;
  members: string[];
}

/** How the VRRP thread is scheduled (src/vrrp/worker/scheduling.ts). */
export interface ThreadScheduling {
  /** The kernel thread id of the VRRP thread; null when unknown. */
  tid: number | null;
  policy: 'SCHED_RR' | 'SCHED_OTHER';
  /** Realtime priority (SCHED_RR), 0 for SCHED_OTHER. */
  priority: number;
  nice: number | null;
  /** Why the configured scheduling could not be set; null when it was. */
  error: string | null;
}

export interface VrrpStatus {
  instances: VrrpInstanceStatus[];
  groups: SyncGroupStatus[];
  /** Drops that belong to no instance (unknown VRID, unreadable packets), by reason. */
  unattributed: Record<string, number>;
  /** Packets the kernel dropped before we read them (full socket queues, /proc/net/raw); null unknown. */
  socketDrops?: number | null;
  /** How late the advert and Master_Down timers fired (src/vrrp/lateness.ts). */
  timers?: { advert: LatenessSnapshot; masterDown: LatenessSnapshot };
  /** How the VRRP thread is scheduled (realtime priority, nice), and why not as configured. */
  thread?: ThreadScheduling;
}

export interface RealServerStatus {
  /** "ADDRESS PORT" as in the configuration. */
  name: string;
  address: string;
  port: number;
  up: boolean;
  /** Effective weight: configured, 0 when drained, or set by misc_dynamic. */
  weight: number;
  /** Drained from the console: no new connections, existing ones continue. */
  drained: boolean;
  /** Wall-clock ms of the last completed check; null before the first. */
  lastCheck: number | null;
  /** Consecutive failures. */
  failures: number;
  /** Latency of the last check in ms; null before the first. */
  latencyMs: number | null;
  /** Why it is in its state ("initial", "alpha", or the detail of the check). */
  reason: string;
  /** Active connections (conntrack for nftables, the forwarder's own count); null unknown. */
  connections: number | null;
}

export interface VirtualServerStatus {
  /** "ADDRESS PORT" as in the configuration. */
  name: string;
  address: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  scheduler: string;
  /** The data plane serving it: nftables or the userspace forwarder. */
  forwarder: 'nftables' | 'userspace';
  /**
   * How packets reach its real servers (lb_kind): NAT (destination rewritten, replies back
   * through the board) or DR (the client's packet forwarded unchanged to the real server's MAC).
   * ipvsadm's "Forward" column (Masq / Route).
   */
  method: ForwardingMethod;
  /** Enough real servers up for the quorum. */
  quorumUp: boolean;
  realServers: RealServerStatus[];
}
