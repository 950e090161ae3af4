// Real-server selection for the userspace forwarder. Pure: takes the schedulable backends and
// the client address, keeps per-backend active-connection counts (what lc and wlc need and
// nftables cannot give), and the persistence table; time comes from the caller.
//
// - rr, wrr: cycle through the same sequences the nftables plane installs (src/lb/sched/wrr.ts:
//   rr in key order, wrr as nginx's smooth interleave).
// - lc: fewest active connections (IPVS ip_vs_lc.c; IPVS adds inactive·1, we count only active).
// - wlc: fewest active/weight, compared as a·w' < a'·w to stay in integers (IPVS ip_vs_wlc.c).
//   IPVS breaks ties by list order, so back-to-back short connections all land on the first
//   server; ties here go round-robin from after the last pick, which keeps lc/wlc fair for
//   that pattern and changes nothing when loads differ.
// - sh, dh, mh: a seeded hash of the (masked) client or destination address into the same
//   tables as the nftables plane (bucket table, Maglev). The hash is FNV-1a, not the kernel's
//   jhash, so a flow may map to a different server than under nftables; both boards' userspace
//   forwarders agree, since the seed comes from the configuration (src/lb/sched/seed.ts).
// - persistence_timeout (rr, wrr, lc, wlc): a masked client address sticks to the server it got
//   last, for the timeout after its last new connection (hash schedulers are sticky by hash).
import type { Scheduler } from '../../config/model.ts';
import { rrSequence, smoothWrrSequence, bucketTable, maglevTable, maglevSize, slotIndex } from '../sched/index.ts';
import { ipv4OfSocketAddress, ipv4PrefixMask, networkOf, parseIp } from '../../util/ip.ts';
import type { Backend } from '../sched/index.ts';
import { ExpiringMap } from './expiring-map.ts';

export type { Backend } from '../sched/index.ts';

export interface SchedulerOptions {
  scheduler: Scheduler;
  /** vsSeed(vs): the shared seed of the hash schedulers. */
  seed: number;
  /** Configured real-server count (fixes the Maglev table size, as the nftables plane does). */
  configuredCount: number;
  /** The VIP: dh hashes the destination, which for a proxy is always the VIP. */
  vip: string;
  /** persistence_timeout in ms (0 = off) and persistence_granularity (prefix length). */
  persistenceTimeoutMs: number;
  persistenceGranularity: number;
  /** Bound on the persistence table (least recently used entries go first). Default 65536. */
  maxPersistence?: number;
}

export class ForwarderScheduler {
  private backends: Backend[] = [];
  private seq: Backend[] = [];
  private table: Backend[] = [];
  private cursor = 0;
  private readonly active = new Map<string, number>();
  private readonly persist: ExpiringMap<string> | null;
  private readonly mask: number;
  private readonly prefix6: number;

  constructor(private readonly opts: SchedulerOptions) {
    // The granularity is a prefix length of the virtual server's family: an IPv4 mask bounds it
    // at 32; IPv6 clients are masked to it directly (clientKey6).
    this.mask = ipv4PrefixMask(Math.min(32, opts.persistenceGranularity));
    this.prefix6 = Math.min(128, opts.persistenceGranularity);
    const hashed = opts.scheduler === 'sh' || opts.scheduler === 'dh' || opts.scheduler === 'mh';
    this.persist = opts.persistenceTimeoutMs > 0 && !hashed
      ? new ExpiringMap<string>({ idleMs: opts.persistenceTimeoutMs, max: opts.maxPersistence ?? 65_536, whenFull: 'evict' })
      : null;
  }

  /**
   * The servers that may take new connections now (up, weight > 0 after drain and health).
   * Active counts are kept for servers that leave: their connections still run.
   */
  setBackends(backends: readonly Backend[]): void {
    this.backends = [...backends].filter((b) => b.weight > 0).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const s = this.opts.scheduler;
    this.seq = s === 'rr' ? rrSequence(this.backends) : s === 'wrr' ? smoothWrrSequence(this.backends) : [];
    this.table = s === 'sh' || s === 'dh' ? bucketTable(this.backends)
      : s === 'mh' ? maglevTable(this.backends, this.opts.seed, maglevSize(this.opts.configuredCount)) : [];
    if (this.cursor >= Math.max(1, this.seq.length, this.backends.length)) this.cursor = 0;
    // A client stuck to a server that can no longer take new connections is scheduled afresh.
    if (this.persist) {
      const keys = new Set(this.backends.map((b) => b.key));
      this.persist.deleteWhere((k) => !keys.has(k));
    }
  }

  get schedulable(): readonly Backend[] {
    return this.backends;
  }

  /** The server for a new connection from `client` (dotted quad), or null when none can take it. */
  pick(client: string, now: number): Backend | null {
    if (this.backends.length === 0) return null;
    const pkey = this.persist ? maskedKey(client, this.mask) ?? clientKey6(client, this.prefix6) : null;
    if (this.persist && pkey !== null) {
      const stuck = this.persist.touch(pkey, now);
      const b = stuck !== undefined ? this.backends.find((x) => x.key === stuck) : undefined;
      if (b) return b;
    }
    const b = this.choose(client);
    if (b && this.persist && pkey !== null) this.persist.set(pkey, b.key, now);
    return b;
  }

  private choose(client: string): Backend | null {
    switch (this.opts.scheduler) {
      case 'rr':
      case 'wrr': {
        if (this.seq.length === 0) return null;
        const b = this.seq[this.cursor % this.seq.length];
        this.cursor = (this.cursor + 1) % this.seq.length;
        return b;
      }
      case 'lc':
      case 'wlc':
        return this.leastLoaded(this.opts.scheduler === 'wlc');
      case 'sh':
      case 'mh': {
        // IPv6 clients hash their masked address; anything unparsable still gets a server (slot of 0).
        const k6 = clientKey6(client, this.prefix6);
        return k6 === null ? this.hashed(addrNumber(client) & this.mask) : this.hashedText(k6);
      }
      case 'dh': {
        const n = addrNumber(this.opts.vip);
        return Number.isNaN(n) ? this.hashedText(this.opts.vip) : this.hashed(n);
      }
    }
  }

  private hashed(key: number): Backend | null {
    if (this.table.length === 0) return null;
    return this.table[slotIndex(fnv1a32(key >>> 0, this.opts.seed), this.table.length)];
  }

  /** The same over an IPv6 address's text (its 16 bytes folded 4 at a time): any stable spread does, both boards agree. */
  private hashedText(key: string): Backend | null {
    if (this.table.length === 0) return null;
    const a = parseIp(key);
    if (!a) return null;
    let h = this.opts.seed >>> 0;
    for (let i = 0; i < a.bytes.length; i += 4) h = fnv1a32(((a.bytes[i]! << 24) | (a.bytes[i + 1]! << 16) | (a.bytes[i + 2]! << 8) | a.bytes[i + 3]!) >>> 0, h);
    return this.table[slotIndex(h, this.table.length)];
  }

  private leastLoaded(weighted: boolean): Backend | null {
    const n = this.backends.length;
    let best: Backend | null = null;
    let bestLoad = 0;
    let bestIdx = 0;
    for (let j = 0; j < n; j++) {
      const i = (this.cursor + j) % n;
      const b = this.backends[i];
      const load = this.active.get(b.key) ?? 0;
      // load/weight < bestLoad/bestWeight  ⇔  load·bestWeight < bestLoad·weight (weights > 0).
      const better = best === null || (weighted ? load * best.weight < bestLoad * b.weight : load < bestLoad);
      if (better) {
        best = b;
        bestLoad = load;
        bestIdx = i;
      }
    }
    this.cursor = (bestIdx + 1) % n;
    return best;
  }

  /** A connection to `key` started (counted from the connect attempt, so a burst spreads). */
  acquire(key: string): void {
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
  }

  /** That connection ended. */
  release(key: string): void {
    const n = (this.active.get(key) ?? 0) - 1;
    if (n > 0) this.active.set(key, n);
    else this.active.delete(key);
  }

  activeFor(key: string): number {
    return this.active.get(key) ?? 0;
  }

  /** Persistence entries now (for stats). */
  get persistenceEntries(): number {
    return this.persist?.size ?? 0;
  }

  /** Forgets persistence entries idle past the timeout (called from the forwarder's sweep). */
  expire(now: number): void {
    this.persist?.expire(now);
  }
}

/** The masked client address as the persistence key (IPVS groups clients by this mask). */
function maskedKey(client: string, mask: number): string | null {
  const n = addrNumber(client);
  return Number.isNaN(n) ? null : String((n & mask) >>> 0);
}

/** An IPv6 client's address masked to `prefix`, as text (the persistence and hash key); null for anything else. */
function clientKey6(client: string, prefix: number): string | null {
  const a = parseIp(client);
  if (a?.family !== 6) return null;
  return Buffer.from(networkOf(a, prefix).bytes).toString('hex').replace(/(.{4})(?!$)/g, '$1:');
}

/** A client's address as an unsigned 32-bit number (IPv4-mapped addresses unwrapped); NaN for anything else. */
export function addrNumber(addr: string): number {
  return ipv4OfSocketAddress(addr) ?? NaN;
}

/** FNV-1a over the 4 bytes of `key`, started from the seed mixed into the offset basis. */
export function fnv1a32(key: number, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let s = 24; s >= 0; s -= 8) {
    h ^= (key >>> s) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche (murmur3 fmix32) so nearby addresses spread over the table.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
