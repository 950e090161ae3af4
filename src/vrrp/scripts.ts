// vrrp_script runner. It runs on the main thread: a script's result is
// not timing-critical (it moves a priority, and rise/fall already smooth it), and spawning
// processes must never share the thread that sends advertisements.
import type { VrrpScript } from '../config/model.ts';
import { runBounded } from '../util/spawn.ts';
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
  ) {}

  start(): void {
    for (const s of this.scripts) {
      const tracker = createScriptTracker({ rise: s.rise, fall: s.fall, initFail: s.initFail });
      this.trackers.set(s.name, tracker);
      if (s.initFail) this.hooks.result(s.name, false);
      const tick = async (): Promise<void> => {
        if (this.stopped) return;
        const r = await runBounded(s.script.argv, { timeoutMs: s.timeoutMs });
        if (this.stopped) return;
        const ok = r.code === 0 && !r.timedOut;
        if (r.error) this.hooks.log('warn', `VRRP_Script(${s.name}) cannot run: ${r.error}`);
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
