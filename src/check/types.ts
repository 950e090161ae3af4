// Shared types of the health checkers (DESIGN.md "health checks": src/check/).
// The checkers are the I/O part; timing.ts and scheduler.ts are the decision part and take
// time from the one Clock (src/util/clock.ts) so they can be driven by a fake one in unit tests.

/** Where a checker connects: the real server, or connect_ip/connect_port when given. */
export interface CheckTarget {
  address: string;
  port: number;
  /** virtualhost inherited from the virtual server (HTTP Host header and SNI fallback). */
  virtualhost: string | null;
}

/** The outcome of one check run. A checker never throws: failures are `ok: false` with a detail. */
export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  /** Human-readable reason ("connected", "status 503 not in 200-299", "timeout after 500 ms"). */
  detail: string;
  /**
   * MISC_CHECK with misc_dynamic only: the weight the script asked for (exit code − 2), or null
   * when it asked for the configured weight back (exit 0). Absent for every other checker.
   */
  weight?: number | null;
}

/** One real server's state as the data plane and reporting see it. */
export interface RsStateEvent {
  /** VirtualServer.name ("ADDRESS PORT"). */
  vs: string;
  /** VirtualServer.protocol: with the name, identifies the virtual server. */
  protocol: 'TCP' | 'UDP';
  /** RealServer.name ("ADDRESS PORT"). */
  rs: string;
  up: boolean;
  /** Effective weight: the configured one, or as set by misc_dynamic. */
  weight: number;
  /** Why: "initial", "alpha", or the detail of the check that changed the state. */
  reason: string;
  /** Latency of the check that produced this event, or null (initial state). */
  latencyMs: number | null;
  /** Consecutive failures of the checker that produced this event (0 on success). */
  failures: number;
  /** Clock time (ms) of that check, or null when no check has run yet. */
  lastCheck: number | null;
}
