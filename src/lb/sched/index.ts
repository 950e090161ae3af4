// Picks the slot table for a virtual server from its scheduler and its schedulable backends.
import type { VirtualServer } from '../../config/model.ts';
import { smoothWrrSequence, rrSequence } from './wrr.ts';
import { maglevTable, maglevSize } from './maglev.ts';
import { bucketTable } from './bucket.ts';
import { vsSeed } from './seed.ts';
import { drTables, type DrTables, type Member } from './resilient.ts';
import type { Backend, SlotKey, SlotTable } from './types.ts';
import { ipv4PrefixMask } from '../../util/ip.ts';
import { granularityOf, lbFamily } from '../family.ts';

export type { Backend, SlotKey, SlotTable } from './types.ts';
export { vsSeed } from './seed.ts';
export { smoothWrrSequence, rrSequence } from './wrr.ts';
export { maglevTable, maglevSize, isPrime, MAGLEV_MAX_SIZE } from './maglev.ts';
export { bucketTable } from './bucket.ts';
export { drTables, baseLayout, type DrTables, type Member } from './resilient.ts';

/** Schedulers the nftables data plane serves; lc and wlc need connection counts (userspace). */
export const NFT_SCHEDULERS = ['rr', 'wrr', 'sh', 'dh', 'mh'] as const;
export type NftScheduler = (typeof NFT_SCHEDULERS)[number];

export function isNftScheduler(s: string): s is NftScheduler {
  return (NFT_SCHEDULERS as readonly string[]).includes(s);
}

/**
 * The scheduler's table for `vs` over `backends` (the real servers that may get new flows now,
 * with their effective weights). The hash table size depends on the configured real-server
 * count only, so health changes never resize it (that would move every flow).
 * sh hashes the client address masked with persistence_granularity, as IPVS's persistence
 * groups clients by that mask; dh hashes the destination address.
 */
export function slotTable(vs: VirtualServer, backends: readonly Backend[]): SlotTable {
  const seed = vsSeed(vs);
  switch (vs.scheduler) {
    case 'rr':
      return { key: { kind: 'numgen' }, slots: rrSequence(backends.filter((b) => b.weight > 0)) };
    case 'wrr':
      return { key: { kind: 'numgen' }, slots: smoothWrrSequence(backends) };
    case 'sh':
      return { key: hashKey(vs, 'saddr', seed), slots: bucketTable(backends) };
    case 'dh':
      return { key: hashKey(vs, 'daddr', seed), slots: bucketTable(backends) };
    case 'mh':
      return {
        key: hashKey(vs, 'saddr', seed),
        slots: maglevTable(backends, seed, maglevSize(vs.realServers.length)),
      };
    default:
      throw new Error(`scheduler ${vs.scheduler} is not served by nftables (use the userspace forwarder)`);
  }
}

/**
 * lb_kind DR's tables (src/lb/sched/resilient.ts) for `vs` (sh or mh; the configuration refuses
 * the others) over every configured real server in its current state. The key is the client
 * address masked with persistence_granularity, as for sh/mh in NAT, with the same seed; the
 * size is Maglev's rule on the configured count, so health never resizes it.
 */
export function drSlotTables(vs: VirtualServer, members: readonly Member[]): DrTables & { key: SlotKey } {
  if (vs.scheduler !== 'sh' && vs.scheduler !== 'mh') throw new Error(`scheduler ${vs.scheduler} cannot be used with lb_kind DR (sh or mh)`);
  const seed = vsSeed(vs);
  const key = hashKey(vs, 'saddr', seed);
  return { key, ...drTables(vs.scheduler, members, seed, maglevSize(vs.realServers.length)) };
}

/**
 * The jhash key of a hash scheduler: the client address masked with persistence_granularity
 * (IPVS groups persistent clients by that mask), or the destination unmasked (dh).
 */
function hashKey(vs: VirtualServer, field: 'saddr' | 'daddr', seed: number): SlotKey {
  const prefix = field === 'daddr' ? Infinity : granularityOf(vs);
  if (lbFamily(vs).family === 6) return { kind: 'jhash', field, mask: 0xffffffff, seed, prefix6: Math.min(prefix, 128) };
  return { kind: 'jhash', field, mask: prefix >= 32 ? 0xffffffff : ipv4PrefixMask(prefix), seed };
}

/** Index into a jhash table for a 32-bit hash value (the kernel uses reciprocal_scale too). */
export function slotIndex(hash: number, size: number): number {
  return Math.floor(((hash >>> 0) * size) / 0x100000000);
}
