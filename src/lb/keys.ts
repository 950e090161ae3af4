// How the load balancer names things: the keys of virtual and real servers in its maps, the
// nftables object names derived from them, and the live state a plan is rendered from. Shared
// by the NAT plan (plan.ts), the DR plan (plan-dr.ts) and the controller.
import type { VirtualServer, RealServer } from '../config/model.ts';
import { ipHex as addressHex, parseIp } from '../util/ip.ts';

/** Live state of one real server: health and effective weight (misc_dynamic may change it). */
export interface RsLive {
  up: boolean;
  weight: number;
}
/** Keyed by rsKey(vs, rs). A real server missing from the map is up (down with alpha) at its configured weight. */
export type RsStateMap = ReadonlyMap<string, RsLive>;

export function vsKey(vs: Pick<VirtualServer, 'address' | 'port' | 'protocol'>): string {
  return `${vs.address}:${vs.port}/${vs.protocol}`;
}
export function rsKey(vs: Pick<VirtualServer, 'address' | 'port' | 'protocol'>, rs: Pick<RealServer, 'address' | 'port'>): string {
  return `${vsKey(vs)}/${rs.address}:${rs.port}`;
}

/** nftables object name of a virtual server: v_<hex address>_<t|u><port>, stable across reloads. */
export function vsObjectName(vs: Pick<VirtualServer, 'address' | 'port' | 'protocol'>): string {
  return `v_${ipHex(vs.address)}_${vs.protocol === 'TCP' ? 't' : 'u'}${vs.port}`;
}

export function rsLive(vs: VirtualServer, rs: RealServer, state: RsStateMap): RsLive {
  return state.get(rsKey(vs, rs)) ?? { up: !vs.alpha, weight: rs.weight };
}

export function checkPort(p: number): void {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`bad port ${p}`);
}

/**
 * The address's hex for object names and raw payload matches (8 digits for IPv4, 32 for IPv6);
 * throws on anything else, or on the other family when `family` is given.
 */
export function ipHex(addr: string, family?: 4 | 6): string {
  const a = parseIp(addr);
  if (!a || (family !== undefined && a.family !== family)) throw new Error(`bad ${family === 6 ? 'IPv6' : family === 4 ? 'IPv4' : 'IP'} address ${addr}`);
  return addressHex(a);
}
