// Event-loop lag, cheaply: a timer every `everyMs` notes how much later than asked it ran. A
// board at rest wakes twice a second for it, where perf_hooks.monitorEventLoopDelay wakes the
// loop every 20 ms (its resolution) and keeps a 350 KiB histogram. Short stalls between two
// probes are not seen; a stall that delays anything waiting on the loop is.
import { systemClock, type Clock, type TimerHandle } from './clock.ts';

export interface LagSummary {
  mean: number;
  max: number;
  p99: number;
}

export class LagProbe {
  private samples: number[] = [];
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(private readonly everyMs = 500, private readonly clock: Clock = systemClock, private readonly keep = 1200) {
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    const asked = this.clock.monotonic() + this.everyMs;
    this.timer = this.clock.setTimer(() => {
      this.samples.push(Math.max(0, this.clock.monotonic() - asked));
      if (this.samples.length > this.keep) this.samples.shift();
      this.arm();
    }, this.everyMs);
  }

  /** Lag since the last take() (ms), then starts afresh; null when no probe ran yet. */
  take(): LagSummary | null {
    const s = this.samples;
    this.samples = [];
    if (s.length === 0) return null;
    const sorted = [...s].sort((a, b) => a - b);
    const r = (x: number): number => Math.round(x * 10) / 10;
    return {
      mean: r(s.reduce((a, b) => a + b, 0) / s.length),
      max: r(sorted.at(-1)!),
      p99: r(sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!),
    };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimer(this.timer);
  }
}
