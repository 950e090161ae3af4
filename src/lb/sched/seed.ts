// The shared hash seed. Both boards read the same configuration, so deriving the seed from it
// (and from nothing local: no host name, no random number, no start time) makes both boards'
// kernels compute the same jhash for the same flow, hence pick the same real server. That is
// what lets an established connection continue on the new MASTER after a failover.
import { createHash } from 'node:crypto';
import type { VirtualServer } from '../../config/model.ts';

/** 32-bit seed from SHA-256 of "ADDRESS:PORT:PROTO|rs1|rs2..." with real servers sorted. */
export function vsSeed(vs: Pick<VirtualServer, 'address' | 'port' | 'protocol' | 'realServers'>): number {
  const rs = vs.realServers.map((r) => `${r.address}:${r.port}`).sort();
  const text = `${vs.address}:${vs.port}:${vs.protocol}|${rs.join('|')}`;
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** Seeded 32-bit hash of a string (first 4 bytes of SHA-256); used for Maglev permutations. */
export function hash32(seed: number, text: string, salt: string): number {
  return createHash('sha256').update(`${seed >>> 0}/${salt}/${text}`).digest().readUInt32BE(0);
}
