// mh: Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software
// Network Load Balancer", NSDI 2016, section 3.4, Pseudocode 1). Each backend has a
// permutation of the M table slots, (offset + j·skip) mod M with M prime so every skip is a
// generator; backends take turns claiming their next preferred free slot. A backend's
// permutation depends only on its own key and the seed, so removing one backend moves its
// slots and disturbs others' only slightly (the paper's "minimal disruption").
import { hash32 } from './seed.ts';
import { byKey } from './wrr.ts';
import type { Backend } from './types.ts';

/** Prime table sizes; Maglev wants M ≫ N (the paper uses M ≥ 100·N). */
export const MAGLEV_PRIMES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521] as const;

/**
 * Table size for a VS with `configured` real servers (configured, not alive: the size must not
 * change with health, or every flow would move). Smallest prime ≥ 20·N, capped at 65521: a
 * trade, since the paper's 100·N makes 1,000 virtual servers × 8 real servers a million kernel
 * map elements; 20·N keeps shares within one slot of equal and disruption under ~10%.
 */
export function maglevSize(configured: number): number {
  const want = Math.max(1, configured) * 20;
  for (const p of MAGLEV_PRIMES) if (p >= want) return p;
  return MAGLEV_PRIMES[MAGLEV_PRIMES.length - 1];
}

/**
 * The lookup table: entry i is the backend for hash bucket i. Weighted by turns: each round a
 * backend claims floor(credit) slots, its credit growing by weight/maxWeight, so a weight-2
 * backend claims twice as often as a weight-1 one.
 */
export function maglevTable(backends: readonly Backend[], seed: number, size: number): Backend[] {
  const bs = [...backends].filter((b) => b.weight > 0).sort(byKey);
  if (bs.length === 0) return [];
  const maxW = Math.max(...bs.map((b) => b.weight));
  const offset = bs.map((b) => hash32(seed, b.key, 'offset') % size);
  const skip = bs.map((b) => (hash32(seed, b.key, 'skip') % (size - 1)) + 1);
  const next = bs.map(() => 0);
  const credit = bs.map(() => 0);
  const entry: number[] = new Array<number>(size).fill(-1);
  let filled = 0;
  while (filled < size) {
    for (let i = 0; i < bs.length && filled < size; i++) {
      credit[i] += bs[i].weight / maxW;
      while (credit[i] >= 1 && filled < size) {
        credit[i] -= 1;
        let c = (offset[i] + next[i] * skip[i]) % size;
        while (entry[c] >= 0) {
          next[i]++;
          c = (offset[i] + next[i] * skip[i]) % size;
        }
        entry[c] = i;
        next[i]++;
        filled++;
      }
    }
  }
  return entry.map((i) => bs[i]);
}
