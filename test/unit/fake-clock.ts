// The fake of src/util/clock.ts for unit tests: time moves only when a test moves it.
//   tick(ms)     fires due timers in order, synchronously (the console's engine is synchronous)
//   advance(ms)  the same, letting promise callbacks settle before and after each timer (parts
//                whose timer callbacks start async work: the check scheduler, the VRRP engine)
import type { Clock, TimerHandle } from '../../src/util/clock.ts';

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
  t: number;
  /** Timers fire this late (ms): a starved event loop. */
  lag = 0;
  private seq = 0;
  private timers: Timer[] = [];

  /** `start` is the wall-clock value of now(); monotonic() starts at 0. */
  constructor(private readonly start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  monotonic(): number {
    return this.t - this.start;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { id: ++this.seq, at: this.t + Math.max(0, ms) + this.lag, fn };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimer(h: TimerHandle): void {
    this.timers = this.timers.filter((x) => x.id !== h.id);
  }

  get pending(): number {
    return this.timers.length;
  }

  /** The next timer due, or null. */
  private next(to: number): Timer | null {
    this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
    const n = this.timers[0];
    if (!n || n.at > to) return null;
    this.timers.shift();
    return n;
  }

  /** Moves time forward by ms, firing due timers in order, synchronously. */
  tick(ms: number): void {
    const end = this.t + ms;
    for (let n = this.next(end); n; n = this.next(end)) {
      this.t = n.at;
      n.fn();
    }
    this.t = end;
  }

  /** Advance to the wall-clock value `to`, letting promises settle around each timer. */
  async advanceTo(to: number): Promise<void> {
    await flush();
    for (let n = this.next(to); n; n = this.next(to)) {
      this.t = n.at;
      n.fn();
      await flush();
    }
    this.t = to;
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.t + ms);
  }
}
