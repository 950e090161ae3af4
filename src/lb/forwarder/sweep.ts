// The forwarders' periodic sweep over their connections or sessions (idle timeouts, persistence
// expiry): one timer per virtual server rather than one per connection refreshed per chunk, so
// nothing runs per chunk but the relay itself. An entry idle for `idleMs` goes between idleMs
// and idleMs + period after its last use.
import type { Clock, TimerHandle } from '../../util/clock.ts';

/** Sweep period for an idle timeout: a quarter of it, between 50 ms and 1 s. */
export function sweepPeriodMs(idleMs: number): number {
  return Math.max(50, Math.min(1_000, Math.floor(idleMs / 4)));
}

export class Sweep {
  private timer: TimerHandle | null = null;

  constructor(private readonly clock: Clock, private readonly periodMs: number, private readonly fn: (now: number) => void) {}

  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      this.timer = this.clock.setTimer(tick, this.periodMs);
      this.fn(this.clock.monotonic());
    };
    this.timer = this.clock.setTimer(tick, this.periodMs);
  }

  stop(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
  }
}
