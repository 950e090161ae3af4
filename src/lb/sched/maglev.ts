// mh: Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software
// Network Load Balancer", NSDI 2016, section 3.4, Pseudocode 1). Each backend has a
// permutation of the M table slots, (offset + j·skip) mod M with M prime so every skip is a
// generator; backends take turns claiming their next preferred free slot. A backend's
// permutation depends only on its own key and the seed, so removing one backend moves its
// slots and disturbs others' only slightly (the paper's "minimal disruption").
import { hash32 } from './seed.ts';
import { byKey } from './wrr.ts';
import type { Backend } from './types.ts';

/** Largest table: keeps a huge pool's map bounded (65521 is the largest prime below 2^16). */
export const MAGLEV_MAX_SIZE = 65521;

/**
 * Table size for a VS with `configured` real servers (configured, not alive: the size must not
 * change with health, or every flow would move). Smallest prime ≥ 13·N, capped at 65521.
 * The paper wants M ≫ N (it uses M ≥ 100·N); every slot is a kernel map element, and nft's
 * parse of 1,000 virtual servers × 8 real servers × M elements is what the full apply costs
 * (under 1 s). At 13·N (107 for 8) equal shares stay within one slot, and removing one
 * of 8 backends moves on average ~8 % of the survivors' slots (5 % at 251; measured over 200
 * seeds). IPVS's own mh uses a fixed 251 whatever N, so for N ≥ 20 we are larger than IPVS.
 */
export function maglevSize(configured: number): number {
  const want = Math.max(1, configured) * 13;
  if (want >= MAGLEV_MAX_SIZE) return MAGLEV_MAX_SIZE;
  for (let p = want; ; p++) if (isPrime(p)) return p;
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
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
