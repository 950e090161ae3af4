// Failed-login policy: a growing delay after each failure (1 s, 2 s, 4 s, 8 s) and a lockout
// of 5 minutes after 5 failures in a row. One guard per console (not per session), so
// reconnecting the serial cable or opening a new session does not reset the count; and the
// count and the lockout are kept on disk (users.ts FileLoginStore), so restarting the daemon
// or power-cycling the board does not reset them either. Time comes from the injected clock.
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

/** What is kept across restarts. lockedUntil is wall-clock epoch ms, 0 when not locked. */
export interface LoginRecord {
  failures: number;
  lockedUntil: number;
}

export interface LoginStateStore {
  /** null when nothing was recorded yet; throws when the record is there but unusable. */
  load(): Promise<LoginRecord | null>;
  save(r: LoginRecord): Promise<void>;
}

export interface LoginGuardOptions {
  policy?: LoginPolicy;
  store?: LoginStateStore;
  /** A record that could not be read (the console locks, failing closed) or saved. */
  problem?: (message: string) => void;
}

export class LoginGuard {
  private failures = 0;
  private lockedUntil = 0;
  readonly policy: LoginPolicy;
  private readonly clock: Clock;
  private readonly store: LoginStateStore | null;
  private readonly problem: (message: string) => void;
  private loading: Promise<void> | null = null;
  private saving: Promise<void> = Promise.resolve();

  constructor(clock: Clock, opts: LoginGuardOptions = {}) {
    this.clock = clock;
    this.policy = opts.policy ?? DEFAULT_LOGIN_POLICY;
    this.store = opts.store ?? null;
    this.problem = opts.problem ?? (() => undefined);
  }

  /** Loads the kept record once; callers await it before the first decision. */
  ready(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  private async load(): Promise<void> {
    if (!this.store) return;
    try {
      const r = await this.store.load();
      if (!r) return;
      this.failures = r.failures;
      this.lockedUntil = r.lockedUntil;
    } catch (e) {
      // Fail closed: an unreadable record must not reopen the door it may have been keeping shut.
      this.failures = this.policy.maxFailures;
      this.lockedUntil = this.clock.now() + this.policy.lockoutMs;
      this.problem(`login record unreadable, console locked for ${this.policy.lockoutMs / 1000} s: ${(e as Error).message}`);
    }
  }

  /** Writes the record; resolves when it is on disk (or failed, which problem() reports). */
  settle(): Promise<void> {
    return this.saving;
  }

  private persist(): void {
    const store = this.store;
    if (!store) return;
    const r: LoginRecord = { failures: this.failures, lockedUntil: this.lockedUntil };
    this.saving = this.saving.then(() => store.save(r)).catch((e: Error) => {
      this.problem(`cannot save the login record: ${e.message}`);
    });
  }

  /** Milliseconds the console stays locked; 0 when it is not. */
  lockedFor(): number {
    const now = this.clock.now();
    if (this.lockedUntil - now > this.policy.lockoutMs) {
      // Never longer than one lockout: the wall clock stepped back since the lockout began (a
      // board without a real-time clock boots in 1970 until NTP answers). Count it from now.
      this.lockedUntil = now + this.policy.lockoutMs;
      this.persist();
    }
    const left = this.lockedUntil - now;
    if (left > 0) return left;
    if (this.lockedUntil !== 0) {
      // Lockout over: start counting afresh.
      this.lockedUntil = 0;
      this.failures = 0;
      this.persist();
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
      this.persist();
      return { locked: true, lockedForMs: this.policy.lockoutMs };
    }
    this.persist();
    const delayMs = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (this.failures - 1));
    return { locked: false, delayMs };
  }

  recordSuccess(): void {
    const changed = this.failures !== 0 || this.lockedUntil !== 0;
    this.failures = 0;
    this.lockedUntil = 0;
    if (changed) this.persist();
  }
}
