// Quorum with hysteresis, as keepalived's checker does it (check/ipwrapper.c,
// update_quorum_state / weigh_live_realservers): the quorum is the sum of the weights of the
// alive real servers. When it is up and the sum falls below quorum - hysteresis it goes down;
// when it is down and the sum reaches quorum + hysteresis it comes back up. Down with a
// sorry_server means the sorry server takes the traffic (and the alive real servers are taken
// out, as keepalived does). Pure logic: the caller feeds weight sums.

export interface QuorumSettings {
  quorum: number;
  hysteresis: number;
}

/** Next quorum state given the current one and the alive weight sum. */
export function nextQuorumUp(currentlyUp: boolean, aliveWeight: number, s: QuorumSettings): boolean {
  // keepalived also drops the quorum when nothing is alive at all (`!weight_sum`), whatever
  // quorum - hysteresis works out to.
  if (currentlyUp) return !(aliveWeight === 0 || aliveWeight < s.quorum - s.hysteresis);
  return aliveWeight >= s.quorum + s.hysteresis;
}

/** Sum of effective weights of the real servers that are up (inhibited ones count as 0). */
export function aliveWeight(weights: Iterable<{ up: boolean; weight: number }>): number {
  let sum = 0;
  for (const w of weights) if (w.up && w.weight > 0) sum += w.weight;
  return sum;
}

/** Tracks one virtual server's quorum; `update` says whether the state changed. */
export class QuorumTracker {
  private up: boolean;
  constructor(readonly settings: QuorumSettings, initiallyUp = true) {
    this.up = initiallyUp;
  }
  get isUp(): boolean {
    return this.up;
  }
  update(aliveWeightSum: number): { up: boolean; changed: boolean } {
    const next = nextQuorumUp(this.up, aliveWeightSum, this.settings);
    const changed = next !== this.up;
    this.up = next;
    return { up: next, changed };
  }
}
