// A bounded map whose entries expire after a period without use: the UDP session table and the
// persistence table of the userspace forwarder. Pure: time comes from the caller (`now`, ms).
//
// The JavaScript Map keeps insertion order, and every touch re-inserts the key, so the map is
// ordered by last use: expiry walks from the front and stops at the first live entry, and
// "evict the least recently used" is the first key. Both are O(entries removed).

export interface ExpiringMapOptions {
  /** Entries unused for this long expire. */
  idleMs: number;
  /** Hard bound on the number of entries. */
  max: number;
  /** When full: 'refuse' the new entry (sessions: a counted drop) or 'evict' the least recently used (persistence). */
  whenFull: 'refuse' | 'evict';
}

interface Entry<V> {
  value: V;
  lastUsed: number;
}

export class ExpiringMap<V> {
  private readonly m = new Map<string, Entry<V>>();

  constructor(private readonly opts: ExpiringMapOptions) {
    if (!(opts.max >= 1)) throw new RangeError(`ExpiringMap max must be >= 1, got ${opts.max}`);
    if (!(opts.idleMs > 0)) throw new RangeError(`ExpiringMap idleMs must be > 0, got ${opts.idleMs}`);
  }

  get size(): number {
    return this.m.size;
  }

  /** The value, refreshing its idle timer; undefined when absent or expired. */
  touch(key: string, now: number): V | undefined {
    const e = this.m.get(key);
    if (!e) return undefined;
    // An expired entry stays until expire() or set() hands it back, so its owner can close it.
    if (now - e.lastUsed >= this.opts.idleMs) return undefined;
    this.m.delete(key);
    e.lastUsed = now;
    this.m.set(key, e);
    return e.value;
  }

  /** The value without refreshing it (undefined if absent or expired). */
  peek(key: string, now: number): V | undefined {
    const e = this.m.get(key);
    if (!e || now - e.lastUsed >= this.opts.idleMs) return undefined;
    return e.value;
  }

  /**
   * Adds or replaces an entry. Returns the entries it removed (the one it replaced, expired
   * ones, the least recently used in 'evict' mode), or null when the map is full and refuses
   * ('refuse' mode; nothing changed then).
   */
  set(key: string, value: V, now: number): Array<[string, V]> | null {
    const out: Array<[string, V]> = [];
    const old = this.m.get(key);
    if (old) {
      this.m.delete(key);
      if (old.value !== value) out.push([key, old.value]);
    } else if (this.m.size >= this.opts.max) {
      out.push(...this.expire(now));
      if (this.m.size >= this.opts.max) {
        if (this.opts.whenFull === 'refuse') return null;
        const oldest = this.m.keys().next().value as string;
        out.push([oldest, this.m.get(oldest)!.value]);
        this.m.delete(oldest);
      }
    }
    this.m.set(key, { value, lastUsed: now });
    return out;
  }

  delete(key: string): boolean {
    return this.m.delete(key);
  }

  /** Removes and returns every entry idle for idleMs or more. */
  expire(now: number): Array<[string, V]> {
    const out: Array<[string, V]> = [];
    for (const [k, e] of this.m) {
      if (now - e.lastUsed < this.opts.idleMs) break;
      out.push([k, e.value]);
      this.m.delete(k);
    }
    return out;
  }

  /** Removes entries whose value matches (e.g. persistence entries of a server that went down). */
  deleteWhere(pred: (v: V) => boolean): number {
    let n = 0;
    for (const [k, e] of this.m) {
      if (pred(e.value)) {
        this.m.delete(k);
        n++;
      }
    }
    return n;
  }

  values(): V[] {
    return [...this.m.values()].map((e) => e.value);
  }

  clear(): void {
    this.m.clear();
  }
}
