// How late the VRRP timers fire. An advertisement that leaves late shortens the peer's margin:
// the peer takes over when it hears nothing for its Master_Down_Interval (3 × interval + Skew_Time,
// RFC 5798 §6.1), so an advert more than about 2 × interval late makes it MASTER. keepalived logs
// "thread timer expired" after the fact; tandem measures every firing and warns while there is
// still margin left. Pure: time is passed in.

/** Upper bounds (ms) of the histogram buckets; the last bucket is everything above. */
export const LATENESS_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] as const;

export interface LatenessSnapshot {
  /** Timer firings measured. */
  count: number;
  /** The last firing's lateness, ms. */
  lastMs: number;
  /** The worst since start, ms. */
  maxMs: number;
  /** The worst over the last minute (at least), ms. */
  recentMaxMs: number;
  /** Sum of all lateness, ms (for a mean, and Prometheus's _sum). */
  sumMs: number;
  /** Cumulative counts per bucket, as Prometheus histograms count (≤ each bound), plus +Inf. */
  buckets: number[];
}

const WINDOW_MS = 60_000;

export class LatenessMeter {
  private count = 0;
  private last = 0;
  private max = 0;
  private sum = 0;
  private readonly hist = new Array<number>(LATENESS_BUCKETS_MS.length + 1).fill(0);
  /** The recent maximum over two windows: the current one and the one before. */
  private windowStart = 0;
  private cur = 0;
  private prev = 0;

  record(lateMs: number, nowMs: number): void {
    const l = Math.max(0, lateMs);
    this.count++;
    this.last = l;
    this.sum += l;
    if (l > this.max) this.max = l;
    let i = LATENESS_BUCKETS_MS.findIndex((b) => l <= b);
    if (i < 0) i = LATENESS_BUCKETS_MS.length;
    this.hist[i]!++;
    this.roll(nowMs);
    if (l > this.cur) this.cur = l;
  }

  private roll(nowMs: number): void {
    if (nowMs - this.windowStart < WINDOW_MS) return;
    this.prev = nowMs - this.windowStart < 2 * WINDOW_MS ? this.cur : 0;
    this.cur = 0;
    this.windowStart = nowMs;
  }

  snapshot(nowMs: number): LatenessSnapshot {
    this.roll(nowMs);
    let acc = 0;
    const buckets = this.hist.map((n) => (acc += n));
    return { count: this.count, lastMs: round(this.last), maxMs: round(this.max), recentMaxMs: round(Math.max(this.cur, this.prev)), sumMs: round(this.sum), buckets };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * Whether an advert that fired `lateMs` late is worth a warning: past half the margin a peer
 * gives us (it takes over at about 2 × interval late; warned from 1 × interval, and not below
 * 5 ms, the scale of one scheduler tick on a loaded board).
 */
export function advertLateWarning(lateMs: number, advertIntMs: number): boolean {
  return lateMs >= Math.max(advertIntMs, 5);
}
