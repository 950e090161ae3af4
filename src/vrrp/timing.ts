// VRRP timers, in milliseconds (fractions kept: the RFC formulas divide by 256, and binary
// fractions of that kind are exact in a double).
//
// RFC 5798 §6.1 (v3): Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256
//                      Master_Down_Interval = (3 * Master_Adver_Interval) + Skew_Time
// RFC 3768 §6.1 (v2): Skew_Time = (256 - Priority) / 256 seconds
//                      Master_Down_Interval = (3 * Advertisement_Interval) + Skew_Time
// keepalived (VRRP_TIMER_SKEW) uses the same formulas; for the address owner it uses 255.

export function skewTimeMs(version: 2 | 3, priority: number, masterAdverIntMs: number): number {
  const p = Math.min(Math.max(priority, 0), 255);
  return version === 3 ? ((256 - p) * masterAdverIntMs) / 256 : ((256 - p) * 1000) / 256;
}

export function masterDownIntervalMs(version: 2 | 3, priority: number, masterAdverIntMs: number): number {
  return 3 * masterAdverIntMs + skewTimeMs(version, priority, masterAdverIntMs);
}

/**
 * keepalived VRRP_TIMER_SKEW_MIN: the skew for priority value 1, used when `state MASTER` is
 * configured without being the address owner: it waits one interval plus this before taking
 * over, to make sure no other master is there (vrrp_scheduler.c vrrp_init_state).
 */
export function skewMinMs(version: 2 | 3, masterAdverIntMs: number): number {
  return version === 3 ? masterAdverIntMs / 256 : 1000 / 256;
}

/**
 * How long a MASTER that hands over on purpose (stop, maintenance: a priority-0 advertisement,
 * RFC 5798 §6.4.3) keeps its VIPs while waiting for the new master's first advertisement. A
 * BACKUP that hears priority 0 takes over after its Skew_Time (§6.4.2), at most the Skew_Time of
 * priority 1; a margin covers its scheduling, and a cap keeps a stop from lingering.
 */
export function handoverBoundMs(version: 2 | 3, advertIntMs: number): number {
  return Math.min(3000, skewTimeMs(version, 1, advertIntMs) + 150);
}
