// rr and wrr as slot sequences for `numgen inc mod N map { … }`.
import type { Backend } from './types.ts';

/** Longest sequence we render; weights are scaled down (keeping each ≥ 1) beyond it. */
export const MAX_SEQUENCE = 4096;

/** rr: each backend once, in key order. */
export function rrSequence(backends: readonly Backend[]): Backend[] {
  return [...backends].sort(byKey);
}

/**
 * wrr: smooth weighted round robin (nginx's algorithm, ngx_http_upstream_get_peer): every
 * turn each backend gains its weight, the richest is picked and pays the total. Weights 5,1,1
 * give a a b a c a a, interleaved rather than a block of five a's (IPVS wrr gives blocks).
 * The sequence length is the weight sum after dividing by the common divisor.
 */
export function smoothWrrSequence(backends: readonly Backend[]): Backend[] {
  const sorted = [...backends].sort(byKey).filter((b) => b.weight > 0);
  if (sorted.length === 0) return [];
  let weights = sorted.map((b) => Math.floor(b.weight));
  const g = weights.reduce(gcd);
  weights = weights.map((w) => w / g);
  let total = weights.reduce((a, b) => a + b, 0);
  if (total > MAX_SEQUENCE) {
    const scale = MAX_SEQUENCE / total;
    weights = weights.map((w) => Math.max(1, Math.floor(w * scale)));
    total = weights.reduce((a, b) => a + b, 0);
  }
  const current = weights.map(() => 0);
  const out: Backend[] = [];
  for (let n = 0; n < total; n++) {
    let best = 0;
    for (let i = 0; i < sorted.length; i++) {
      current[i] += weights[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    out.push(sorted[best]);
  }
  return out;
}

export function byKey(a: Backend, b: Backend): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
