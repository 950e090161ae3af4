// Rate-limited log lines. A flood of bad packets (or any repeated failure) must not bury the
// log that an operator reads (`show log`): the first line of a kind is written, then at most one
// per interval, carrying how many were suppressed in between (as FRR's and rsyslog's rate
// limits say "N messages suppressed").
import type { Clock } from './clock.ts';

export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = 10_000,
    /** Distinct keys remembered; beyond it the oldest are forgotten (a flood of new keys stays bounded). */
    private readonly maxKeys = 512,
  ) {}

  /** null: suppress this line. A number: write it, noting that many were suppressed before it. */
  allow(key: string): number | null {
    const now = this.clock.monotonic();
    const e = this.last.get(key);
    if (e && now - e.at < this.intervalMs) {
      e.suppressed++;
      return null;
    }
    const suppressed = e?.suppressed ?? 0;
    this.last.delete(key);
    this.last.set(key, { at: now, suppressed: 0 });
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value as string);
    return suppressed;
  }
}

/** " (N more suppressed)" or "". */
export function suppressedNote(n: number): string {
  return n > 0 ? ` (${n} more like it suppressed)` : '';
}
