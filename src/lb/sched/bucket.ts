// sh and dh: IPVS's source- and destination-hashing schedulers (ip_vs_sh.c, ip_vs_dh.c) hash
// the address into a bucket table filled from the real-server list; here the kernel's jhash
// does the hashing and the table is the smooth-wrr sequence of the alive servers (one bucket
// per unit of weight, interleaved). Like IPVS's sh/dh, a change of the alive set refills the
// table, so most flows move (mh is the consistent one). Keeping the table this small (not
// IPVS's 256 buckets) keeps 1,000 virtual servers to a few thousand kernel map elements.
import { smoothWrrSequence } from './wrr.ts';
import type { Backend } from './types.ts';

export function bucketTable(backends: readonly Backend[]): Backend[] {
  return smoothWrrSequence(backends);
}
