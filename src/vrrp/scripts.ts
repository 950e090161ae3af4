// vrrp_script runner. It runs on the main thread: a script's result is
// not timing-critical (it moves a priority, and rise/fall already smooth it), and spawning
// processes must never share the thread that sends advertisements.
// Each script runs as its `user USER [GROUP]`, else script_user, by keepalived's rules
// (src/util/script-user.ts); one that cannot run as its user, or that enable_script_security
// refuses, counts as failing, and why is logged once until it changes.
import type { VrrpScript } from '../config/model.ts';
import { runScript } from '../util/run-script.ts';
import type { ScriptPolicy } from '../util/script-user.ts';
import { createScriptTracker, type ScriptTracker } from './track.ts';

export interface ScriptRunnerHooks {
  result(name: string, up: boolean): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
}

/** Runs each vrrp_script every `interval`, bounded by `timeout`, and reports rise/fall changes. */
export class ScriptRunner {
  private timers: NodeJS.Timeout[] = [];
  private trackers = new Map<string, ScriptTracker>();
  private stopped = false;

  constructor(
    private readonly scripts: VrrpScript[],
    private readonly hooks: ScriptRunnerHooks,
    /** global_defs' script_user and enable_script_security as they are now (a reload may change them). */
    private readonly policy: () => ScriptPolicy,
  ) {}

  start(): void {
    for (const s of this.scripts) {
      const tracker = createScriptTracker({ rise: s.rise, fall: s.fall, initFail: s.initFail });
      this.trackers.set(s.name, tracker);
      if (s.initFail) this.hooks.result(s.name, false);
      let lastProblem: string | null = null;
      const tick = async (): Promise<void> => {
        if (this.stopped) return;
        const r = await runScript(s.script.argv, { user: s.user, group: s.group }, this.policy(), { timeoutMs: s.timeoutMs });
        if (this.stopped) return;
        const ok = r.code === 0 && !r.timedOut;
        const problem = r.refused ? `VRRP_Script(${s.name}) not run: ${r.refused}` : r.error ? `VRRP_Script(${s.name}) cannot run: ${r.error}` : null;
        if (problem && problem !== lastProblem) this.hooks.log('warn', problem);
        lastProblem = problem;
        const changed = tracker.feed(ok);
        if (changed && changed !== 'init') {
          // keepalived's wording (vrrp_track.c): "VRRP_Script(chk) succeeded" / "failed".
          this.hooks.log('info', `VRRP_Script(${s.name}) ${changed === 'up' ? 'succeeded' : 'failed'}${r.timedOut ? ' (timed out)' : ''}`);
          this.hooks.result(s.name, changed === 'up');
        }
        const t = setTimeout(() => void tick(), s.intervalMs);
        this.timers.push(t);
        if (this.timers.length > 64) this.timers = this.timers.slice(-this.scripts.length * 2);
      };
      void tick();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }
}
