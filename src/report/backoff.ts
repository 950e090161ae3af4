// Reconnect delay: exponential backoff with jitter ("equal jitter": half fixed, half random),
// so a fleet of boards that lost the same broker does not reconnect in lock-step, while a single
// board still retries soon after a short outage. Pure: the random source is injected.

export interface BackoffPolicy {
  /** Delay scale of the first retry (default 1 s). */
  baseMs: number;
  /** Ceiling (default 60 s: a flaky uplink is retried at least once a minute). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000 };

/**
 * Delay before reconnect attempt `attempt` (0 = first retry after a loss).
 * The cap is min(max, base × 2^attempt); the result lies in [cap/2, cap).
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const a = Math.max(0, Math.min(30, Math.floor(attempt))); // 2^30 already exceeds any sane max
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** a);
  let r = random();
  if (!(r >= 0 && r < 1)) r = 0.5; // a broken random source must not give NaN or negative delays
  return Math.floor(cap / 2 + r * (cap / 2));
}
