// HealthChecker: runs every checker of every real server of every virtual server, each on its
// own timer, and reports real-server state changes (DESIGN.md: checks run on both boards, so
// the BACKUP is warm). Decisions come from timing.ts (pure); time from an injected Clock; the
// checks themselves from an injected ProbeFn (default: the real checkers in probe.ts).
//
// Independence: a check run is a promise; nothing awaits another real server's check, so one
// hanging check never delays the others. Each run is also bounded here by the checker's own
// time bound plus a margin, in case a checker ever fails to honour its timeout.

import type { Checker, Command, RealServer, VirtualServer } from '../config/model.ts';
import { makeProbe, probeBoundMs, type ProbeContext, type ProbeFn } from './probe.ts';
import { runScript } from '../util/run-script.ts';
import {
  aggregateRs,
  applyResult,
  firstDelayMs,
  initialCheckerState,
  resolveTiming,
  type CheckerState,
  type RsAggregate,
  type TimingParams,
} from './timing.ts';
import type { CheckResult, RsStateEvent } from './types.ts';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.ts';

/** Margin past a checker's own bound before the scheduler gives up on a run. */
export const BACKSTOP_MARGIN_MS = 1000;

/** Runs a notify_up / notify_down command. The default spawns it bounded (see spawn.ts). */
export type NotifyFn = (cmd: Command, ev: RsStateEvent, signal: AbortSignal) => Promise<void>;

export interface HealthCheckerOptions extends ProbeContext {
  /** Called on every real-server state change (and once per real server at start/reload). */
  onChange: (ev: RsStateEvent) => void;
  clock?: Clock;
  /** [0, 1), for warmup. */
  random?: () => number;
  probe?: ProbeFn;
  notify?: NotifyFn;
  /** Bound on notify_up / notify_down programs (default 10 s). */
  notifyTimeoutMs?: number;
  log?: (level: 'info' | 'warn', msg: string) => void;
}

interface CheckerRun {
  checker: Checker;
  params: TimingParams;
  state: CheckerState;
  timer: TimerHandle | null;
  ctrl: AbortController | null;
  backstop: TimerHandle | null;
}

interface RsEntry {
  key: string;
  fingerprint: string;
  vs: VirtualServer;
  rs: RealServer;
  runs: CheckerRun[];
  agg: RsAggregate;
  last: RsStateEvent;
  stopped: boolean;
}

export function rsKey(vs: VirtualServer, rs: RealServer): string {
  return `${vs.protocol} ${vs.name} / ${rs.name}`;
}

/** What decides whether a reload may keep a real server's state: its checkers and timing. */
function fingerprint(vs: VirtualServer, rs: RealServer): string {
  const strip = (_k: string, v: unknown): unknown => (_k === 'pos' ? undefined : v);
  return JSON.stringify(
    { checkers: rs.checkers, delayLoopMs: vs.delayLoopMs, virtualhost: vs.virtualhost, alpha: vs.alpha, address: rs.address, port: rs.port },
    strip,
  );
}

export class HealthChecker {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly probe: ProbeFn;
  private readonly notify: NotifyFn;
  private readonly entries = new Map<string, RsEntry>();
  private readonly life = new AbortController();
  private started = false;

  constructor(
    private vss: VirtualServer[],
    private readonly opts: HealthCheckerOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.probe = opts.probe ?? makeProbe(opts);
    this.notify = opts.notify ?? defaultNotify(opts);
  }

  /** Emit every real server's initial state and schedule the first checks. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const vs of this.vss) for (const rs of vs.realServers) this.add(vs, rs);
  }

  /** Cancel every timer, running check and notify program. */
  stop(): void {
    for (const e of this.entries.values()) this.cancel(e);
    this.entries.clear();
    this.life.abort();
  }

  /**
   * Apply a new configuration. Real servers whose key (VS protocol, name, RS name) and checker
   * configuration are unchanged keep their state and timers; others start afresh (with an
   * initial event); removed ones are cancelled silently.
   */
  reload(vss: VirtualServer[]): void {
    this.vss = vss;
    if (!this.started) return;
    const seen = new Set<string>();
    for (const vs of vss) {
      for (const rs of vs.realServers) {
        const key = rsKey(vs, rs);
        if (seen.has(key)) continue; // duplicate real server: the validator refuses it; first wins
        seen.add(key);
        const old = this.entries.get(key);
        if (old && old.fingerprint === fingerprint(vs, rs)) {
          old.vs = vs;
          old.rs = rs;
          for (let i = 0; i < old.runs.length; i++) old.runs[i]!.checker = rs.checkers[i]!;
          this.recompute(old, null, 'reload');
          continue;
        }
        if (old) this.cancel(old);
        this.entries.delete(key);
        this.add(vs, rs);
      }
    }
    for (const [key, e] of this.entries) {
      if (!seen.has(key)) {
        this.cancel(e);
        this.entries.delete(key);
      }
    }
  }

  /** Current state of every real server (for the console and MQTT rebirth). */
  states(): RsStateEvent[] {
    return [...this.entries.values()].map((e) => ({ ...e.last }));
  }

  private add(vs: VirtualServer, rs: RealServer): void {
    const key = rsKey(vs, rs);
    if (this.entries.has(key)) return;
    const runs: CheckerRun[] = rs.checkers.map((checker) => ({
      checker,
      params: resolveTiming(checker, vs),
      state: initialCheckerState(vs.alpha),
      timer: null,
      ctrl: null,
      backstop: null,
    }));
    const agg = aggregateRs(rs, runs.map((r) => r.state));
    const reason = runs.length === 0 ? 'no checkers' : vs.alpha ? 'alpha' : 'initial';
    const last: RsStateEvent = {
      vs: vs.name, protocol: vs.protocol, rs: rs.name, up: agg.up, weight: agg.weight,
      reason, latencyMs: null, failures: 0, lastCheck: null,
    };
    const e: RsEntry = { key, fingerprint: fingerprint(vs, rs), vs, rs, runs, agg, last, stopped: false };
    this.entries.set(key, e);
    this.emit(e.last);
    for (const run of runs) run.timer = this.clock.setTimer(() => this.runOnce(e, run), firstDelayMs(run.params, this.random));
  }

  private cancel(e: RsEntry): void {
    e.stopped = true;
    for (const r of e.runs) {
      if (r.timer !== null) this.clock.clearTimer(r.timer);
      r.timer = null;
      if (r.backstop !== null) this.clock.clearTimer(r.backstop);
      r.backstop = null;
      r.ctrl?.abort();
      r.ctrl = null;
    }
  }

  private runOnce(e: RsEntry, run: CheckerRun): void {
    run.timer = null;
    if (e.stopped) return;
    const ctrl = new AbortController();
    run.ctrl = ctrl;
    const t0 = this.clock.now();
    const bound = probeBoundMs(run.checker, e.vs) + BACKSTOP_MARGIN_MS;
    let backstopFired = false;
    const backstop = (run.backstop = this.clock.setTimer(() => {
      backstopFired = true;
      ctrl.abort();
    }, bound));
    const aborted = new Promise<CheckResult>((resolve) => {
      ctrl.signal.addEventListener('abort', () =>
        resolve({
          ok: false,
          latencyMs: this.clock.now() - t0,
          detail: backstopFired ? `${run.checker.kind}: no result within ${bound} ms` : 'cancelled',
        }),
      { once: true });
    });
    const attempt = this.probe(run.checker, e.rs, e.vs, ctrl.signal).catch(
      (err: unknown): CheckResult => ({ ok: false, latencyMs: this.clock.now() - t0, detail: `${run.checker.kind}: ${String(err)}` }),
    );
    void Promise.race([attempt, aborted]).then((r) => {
      this.clock.clearTimer(backstop);
      if (run.backstop === backstop) run.backstop = null;
      if (e.stopped || run.ctrl !== ctrl) return;
      run.ctrl = null;
      const out = applyResult(run.state, run.params, r, this.clock.now());
      run.state = out.state;
      run.timer = this.clock.setTimer(() => this.runOnce(e, run), out.nextDelayMs);
      if (!r.ok) this.opts.log?.('info', `${e.key}: ${r.detail} (failure ${out.state.failures})`);
      this.recompute(e, run, r.detail);
    });
  }

  private recompute(e: RsEntry, run: CheckerRun | null, reason: string): void {
    const agg = aggregateRs(e.rs, e.runs.map((r) => r.state));
    const s = run?.state;
    e.last = {
      vs: e.vs.name, protocol: e.vs.protocol, rs: e.rs.name, up: agg.up, weight: agg.weight,
      reason: s ? reason : e.last.reason,
      latencyMs: s ? s.latencyMs : e.last.latencyMs,
      failures: s ? s.failures : e.last.failures,
      lastCheck: s ? s.lastCheck : e.last.lastCheck,
    };
    const upChanged = agg.up !== e.agg.up;
    const changed = upChanged || agg.weight !== e.agg.weight;
    e.agg = agg;
    if (!changed) return;
    if (!s) e.last.reason = reason;
    this.emit(e.last);
    if (upChanged) {
      const cmd = agg.up ? e.rs.notifyUp : e.rs.notifyDown;
      if (cmd) {
        const ev = { ...e.last };
        this.notify(cmd, ev, this.life.signal).catch((err: unknown) => this.opts.log?.('warn', `${e.key}: notify failed: ${String(err)}`));
      }
    }
  }

  private emit(ev: RsStateEvent): void {
    try {
      this.opts.onChange({ ...ev });
    } catch (err) {
      // A consumer's bug must not stop the checks.
      this.opts.log?.('warn', `health event handler threw: ${String(err)}`);
    }
  }
}

/** notify_up / notify_down: argv as configured, as script_user (src/util/script-user.ts), bounded, output discarded. */
function defaultNotify(opts: HealthCheckerOptions): NotifyFn {
  return async (cmd, ev, signal) => {
    const policy = { scriptUser: opts.scriptUser ?? null, scriptGroup: opts.scriptGroup ?? null, enableScriptSecurity: opts.enableScriptSecurity ?? false };
    const r = await runScript(cmd.argv, null, policy, { timeoutMs: opts.notifyTimeoutMs ?? 10_000, signal });
    if (r.error || r.timedOut || r.code !== 0) {
      opts.log?.('warn', `notify ${cmd.argv[0] ?? ''} for ${ev.vs} / ${ev.rs}: ${r.error ?? (r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`)}`);
    }
  };
}
