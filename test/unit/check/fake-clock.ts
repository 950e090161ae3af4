// A fake Clock for driving the scheduler: timers fire only when the test advances time.
import type { Clock, TimerHandle } from '../../../src/check/types.ts';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** Let pending promise callbacks (microtasks and one macrotask turn) run. */
export function flush(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

export class FakeClock implements Clock {
  t = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { id: ++this.seq, at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer;
  }

  clearTimer(h: TimerHandle): void {
    this.timers = this.timers.filter((x) => x !== h);
  }

  pending(): number {
    return this.timers.length;
  }

  /** Advance to `to`, firing due timers in order and letting promises settle after each. */
  async advanceTo(to: number): Promise<void> {
    await flush();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > to) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await flush();
    }
    this.t = to;
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.t + ms);
  }
}
