// Output waiting for a serial line, held as bytes in a few 16 KiB blocks rather than one chunk
// per write. The console echoes each typed byte as it comes: handed to the port one by one,
// a terminal that stops reading left one Buffer and one stream request per byte queued in the
// port's Writable (measured: 300,000 of them, 43 MiB of heap, for well under the 1 MiB the byte
// cap allowed, and the daemon ran out of heap). Here the cost is the bytes themselves, at most
// `cap` of them; beyond that, output is dropped and the caller counts it.

export class OutputQueue {
  private blocks: Buffer[] = [];
  /** Bytes used in the last block. */
  private tailUsed = 0;
  private n = 0;

  constructor(readonly cap: number, private readonly blockSize = 16 * 1024) {}

  get bytes(): number {
    return this.n;
  }

  /** Appends all of `b`, or nothing (false) when that would pass the cap. */
  push(b: Buffer): boolean {
    if (this.n + b.length > this.cap) return false;
    let off = 0;
    while (off < b.length) {
      let tail = this.blocks[this.blocks.length - 1];
      if (tail === undefined || this.tailUsed === tail.length) {
        tail = Buffer.allocUnsafe(Math.max(this.blockSize, 1));
        this.blocks.push(tail);
        this.tailUsed = 0;
      }
      const k = b.copy(tail, this.tailUsed, off);
      this.tailUsed += k;
      off += k;
    }
    this.n += b.length;
    return true;
  }

  /** Everything queued, as one Buffer (null when empty); the queue is empty afterwards. */
  take(): Buffer | null {
    if (this.n === 0) return null;
    const last = this.blocks.length - 1;
    const parts = this.blocks.map((bl, i) => (i === last ? bl.subarray(0, this.tailUsed) : bl));
    this.clear();
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  clear(): void {
    this.blocks = [];
    this.tailUsed = 0;
    this.n = 0;
  }
}
