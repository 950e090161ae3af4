// A fixed-capacity FIFO that drops its oldest entry when full: the offline buffer for events and
// health. O(1) push and shift, so 100k pushes while the broker is away cost nothing.

export class Ring<T> {
  private readonly buf: Array<T | undefined>;
  private head = 0;
  private len = 0;
  /** Entries pushed out because the ring was full. */
  dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.buf = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.len;
  }

  push(v: T): void {
    if (this.len === this.capacity) {
      // Full: the oldest goes (the issue: "oldest health dropped first").
      this.buf[this.head] = v;
      this.head = (this.head + 1) % this.capacity;
      this.dropped++;
      return;
    }
    this.buf[(this.head + this.len) % this.capacity] = v;
    this.len++;
  }

  /** Puts an entry back at the front (a publish that failed); drops it if the ring is full. */
  unshift(v: T): void {
    if (this.len === this.capacity) {
      this.dropped++;
      return;
    }
    this.head = (this.head - 1 + this.capacity) % this.capacity;
    this.buf[this.head] = v;
    this.len++;
  }

  shift(): T | undefined {
    if (this.len === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.len--;
    return v;
  }

  clear(): void {
    while (this.len > 0) this.shift();
  }
}
