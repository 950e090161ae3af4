// The slot tables of lb_kind DR. DR forwards at netdev ingress with no conntrack, so nothing
// remembers where a flow went: every packet is sent where its slot points *now*, and a flow
// whose slot changes owner breaks. The table must therefore move exactly what has to move.
//
// Two layers, both computed from the configuration and the seed alone (so both boards agree):
// - the base layout: every *configured* real server's share of the M slots, by its weight
//   (mh: the Maglev table over all configured servers, Eisenbud et al. NSDI 2016 §3.4; sh: the
//   smooth-wrr bucket sequence, repeated to M). Health never changes it.
// - a fallback order per slot: weighted rendezvous hashing (Thaler & Ravishankar, "Using
//   name-based mappings to increase hit rates", IEEE/ACM ToN 1998; the weighted form scores
//   -ln(u)/w, Schindelhauer & Schomaker 2005): every server's score for the slot, lowest first.
// A slot goes to its base owner when that one may take flows, else to the first in its
// fallback order that may. So a server's death moves only the slots it held (its own, and any
// it had taken over), none of the others'; its return takes back its base slots and only the
// orphans it ranks first for, which are the ones it held before it died, if it died last.
//
// Maglev alone (mh in NAT, src/lb/sched/maglev.ts) refills the whole table on a change and
// moves ~8 % of the survivors' slots at 13·N, which conntrack hides in NAT and DR cannot.
import { hash32 } from './seed.ts';
import { maglevTable } from './maglev.ts';
import { smoothWrrSequence, byKey } from './wrr.ts';
import type { Backend } from './types.ts';

/**
 * A configured real server as the DR tables see it. `weight` is its base weight (configured, or
 * what misc_dynamic set while it is above 0), which fixes its share of the base layout.
 * - up: takes new flows and keeps its own;
 * - kept: takes no new flows but keeps the ones it has (drained, weight 0, or down with
 *   inhibit_on_failure, which keepalived leaves in IPVS at weight 0 so its connections live on);
 * - gone: down: its flows move.
 */
export interface Member extends Backend {
  state: 'up' | 'kept' | 'gone';
}

export interface DrTables {
  /** M, fixed by the configured real-server count: never changed by health. */
  size: number;
  /** Where new flows go (TCP SYN; every UDP datagram): M slots, or none when nothing is up. */
  fresh: Backend[];
  /** Where the packets of existing flows go: kept servers keep their slots. M slots, or none. */
  established: Backend[];
}

/** A slot's fallback ranking key for one server: weighted rendezvous score, lower wins. */
function score(seed: number, slot: number, b: Backend): number {
  // u in (0, 1): never 0 or 1, so the logarithm is finite and negative.
  const u = (hash32(seed, b.key, `slot${slot}`) + 0.5) / 0x100000000;
  return -Math.log(u) / b.weight;
}

/** The base layout: slot i's owner among all configured servers with a base weight. */
export function baseLayout(kind: 'sh' | 'mh', members: readonly Backend[], seed: number, size: number): Backend[] {
  const weighted = members.filter((m) => m.weight > 0);
  if (weighted.length === 0) return [];
  if (kind === 'mh') return maglevTable(weighted, seed, size);
  const seq = smoothWrrSequence(weighted);
  return Array.from({ length: size }, (_, i) => seq[i % seq.length]!);
}

/**
 * The two tables for the members' current states. `size` is the table size (the caller's
 * configured-count rule); `seed` the shared configuration-derived seed.
 */
export function drTables(kind: 'sh' | 'mh', members: readonly Member[], seed: number, size: number): DrTables {
  const sorted = [...members].sort(byKey);
  const base = baseLayout(kind, sorted, seed, size);
  const pick = (ok: (m: Member) => boolean): Backend[] => {
    const eligible = sorted.filter((m) => ok(m) && m.weight > 0);
    if (eligible.length === 0 || base.length === 0) return [];
    const byKeyMap = new Map(sorted.map((m) => [m.key, m]));
    return base.map((owner, slot) => {
      const m = byKeyMap.get(owner.key)!;
      if (ok(m)) return strip(m);
      let best = eligible[0]!;
      let bestScore = score(seed, slot, best);
      for (let k = 1; k < eligible.length; k++) {
        const s = score(seed, slot, eligible[k]!);
        if (s < bestScore) { best = eligible[k]!; bestScore = s; }
      }
      return strip(best);
    });
  };
  return {
    size,
    fresh: pick((m) => m.state === 'up'),
    established: pick((m) => m.state !== 'gone'),
  };
}

function strip(m: Member): Backend {
  return { key: m.key, address: m.address, port: m.port, weight: m.weight };
}
