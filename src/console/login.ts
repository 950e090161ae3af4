// Failed-login policy: a growing delay after each failure (1 s, 2 s, 4 s, 8 s) and a lockout
// of 5 minutes after 5 failures in a row. One guard per console (not per session), so
// reconnecting the serial cable or opening a new session does not reset the count.
// Time comes from the injected clock.
import type { Clock } from '../util/clock.ts';

export interface LoginPolicy {
  /** Failures in a row that lock the console. */
  maxFailures: number;
  lockoutMs: number;
  /** Delay after the first failure; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_LOGIN_POLICY: LoginPolicy = {
  maxFailures: 5,
  lockoutMs: 5 * 60_000,
  baseDelayMs: 1000,
  maxDelayMs: 16_000,
};

export type FailureOutcome = { locked: false; delayMs: number } | { locked: true; lockedForMs: number };

export class LoginGuard {
  private failures = 0;
  private lockedUntil = 0;
  readonly policy: LoginPolicy;
  private readonly clock: Clock;

  constructor(clock: Clock, policy: LoginPolicy = DEFAULT_LOGIN_POLICY) {
    this.clock = clock;
    this.policy = policy;
  }

  /** Milliseconds the console stays locked; 0 when it is not. */
  lockedFor(): number {
    const left = this.lockedUntil - this.clock.now();
    if (left > 0) return left;
    if (this.lockedUntil !== 0) {
      // Lockout over: start counting afresh.
      this.lockedUntil = 0;
      this.failures = 0;
    }
    return 0;
  }

  get failureCount(): number {
    return this.failures;
  }

  recordFailure(): FailureOutcome {
    this.failures++;
    if (this.failures >= this.policy.maxFailures) {
      this.lockedUntil = this.clock.now() + this.policy.lockoutMs;
      return { locked: true, lockedForMs: this.policy.lockoutMs };
    }
    const delayMs = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (this.failures - 1));
    return { locked: false, delayMs };
  }

  recordSuccess(): void {
    this.failures = 0;
    this.lockedUntil = 0;
  }
}
