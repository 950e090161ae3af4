// Checker timing and real-server state rules, pure (no I/O, no clock reads: time is passed in).
//
// Follows keepalived 2.2 (keepalived/check/check_data.c, check_api.c, check_udp.c udp_epilog,
// check_misc.c misc_check_child_thread):
// - A checker starts up, unless alpha: then down until its first success.
// - The first check runs after a random delay in [0, warmup]; warmup defaults to delay_loop
//   (check_data.c: `checker->warmup = rs->warmup ?: checker->delay_loop`). keepalived adds a
//   1 s BOOTSTRAP_DELAY; tandem does not (the daemon has its own start-up order).
// - While up, a failure is retried `retry` times, delay_before_retry apart; the checker goes
//   DOWN on the (1 + retry)-th consecutive failure, and the next check is a delay_loop later.
// - While down, a failure is not retried (keepalived only counts retries while is_up): the
//   next check is a delay_loop later.
// - The first success brings the checker UP; the next check is a delay_loop later.
// - A real server is up only when all of its checkers are up (check_api.c
//   update_svr_checker_state: rs->num_failed_checkers == 0); with no checkers it is always up.
// - misc_dynamic: exit 0 = up with the configured weight, 1 = down, 2..255 = up with weight
//   code − 2. keepalived keeps per-checker deltas (cur_weight = code − 2 − iweight) and adds
//   them to the configured weight; aggregateRs does the same.

import type { Checker, RealServer, VirtualServer } from '../config/model.ts';
import type { CheckResult } from './types.ts';

export interface TimingParams {
  delayLoopMs: number;
  retry: number;
  delayBeforeRetryMs: number;
  warmupMs: number;
}

export interface CheckerState {
  up: boolean;
  /** Retries used in the current failure run (keepalived retry_it). */
  retryIt: number;
  /** Consecutive failures (reset on success). */
  failures: number;
  /** misc_dynamic weight; null = the real server's configured weight. */
  weight: number | null;
  lastCheck: number | null;
  latencyMs: number | null;
  detail: string;
}

export interface StepOutcome {
  state: CheckerState;
  /** Delay until this checker's next run. */
  nextDelayMs: number;
  /** The checker's up/down flipped, or its misc_dynamic weight changed. */
  changed: boolean;
}

/** Resolve a checker's timing against its virtual server (keepalived's inheritance). */
export function resolveTiming(checker: Checker, vs: VirtualServer): TimingParams {
  const delayLoopMs = checker.delayLoopMs ?? vs.delayLoopMs;
  return {
    delayLoopMs,
    retry: Math.max(0, Math.floor(checker.retry)),
    delayBeforeRetryMs: checker.delayBeforeRetryMs,
    warmupMs: checker.warmupMs ?? delayLoopMs,
  };
}

export function initialCheckerState(alpha: boolean): CheckerState {
  return {
    up: !alpha,
    retryIt: 0,
    failures: 0,
    weight: null,
    lastCheck: null,
    latencyMs: null,
    detail: alpha ? 'alpha' : 'initial',
  };
}

/** Delay before a checker's first run: uniform in [0, warmup]. `random` returns [0, 1). */
export function firstDelayMs(p: TimingParams, random: () => number): number {
  if (p.warmupMs <= 0) return 0;
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(p.warmupMs * r);
}

/** Apply one check result at time `now`. */
export function applyResult(s: CheckerState, p: TimingParams, r: CheckResult, now: number): StepOutcome {
  const base = { ...s, lastCheck: now, latencyMs: r.latencyMs, detail: r.detail };
  if (r.ok) {
    const weight = r.weight === undefined ? s.weight : r.weight;
    const state: CheckerState = { ...base, up: true, retryIt: 0, failures: 0, weight };
    return { state, nextDelayMs: p.delayLoopMs, changed: !s.up || weight !== s.weight };
  }
  const failures = s.failures + 1;
  if (!s.up) {
    return { state: { ...base, failures, retryIt: 0 }, nextDelayMs: p.delayLoopMs, changed: false };
  }
  if (s.retryIt < p.retry) {
    return {
      state: { ...base, failures, retryIt: s.retryIt + 1 },
      nextDelayMs: p.delayBeforeRetryMs,
      changed: false,
    };
  }
  // keepalived check_misc.c: going down drops the dynamic weight (cur_weight = 0).
  return {
    state: { ...base, up: false, failures, retryIt: 0, weight: null },
    nextDelayMs: p.delayLoopMs,
    changed: true,
  };
}

export interface RsAggregate {
  up: boolean;
  weight: number;
}

/** A real server's state from its checkers' states. */
export function aggregateRs(rs: Pick<RealServer, 'weight'>, states: readonly CheckerState[]): RsAggregate {
  let weight = rs.weight;
  for (const s of states) if (s.weight !== null) weight += s.weight - rs.weight;
  return { up: states.every((s) => s.up), weight: Math.max(0, weight) };
}

/** misc_dynamic exit-code rule (check_misc.c): ok, and the weight to set when dynamic. */
export function miscExitToResult(code: number, dynamic: boolean): { ok: boolean; weight?: number | null } {
  if (code === 0) return dynamic ? { ok: true, weight: null } : { ok: true };
  if (dynamic && code >= 2 && code <= 255) return { ok: true, weight: code - 2 };
  return { ok: false };
}
