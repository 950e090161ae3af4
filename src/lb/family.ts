// The address family of a virtual server as nftables writes it. IPv4 virtual servers live in
// `table ip tandem`, IPv6 ones (NAT66, and the notrack of DR over IPv6) in `table ip6 tandem`
// beside it: the same layout, the same names, other keywords and key types. lb_kind DR of both
// families shares `table netdev tandem` (netdev ingress sees both), with one dispatch map per
// family. One `inet` table for both was the other choice; two tables keep the IPv4 table and
// its small edits exactly what they were, each family's maps and sets need their own key type
// anyway (ipv4_addr / ipv6_addr), and nat statements name the family in an inet table too
// (`dnat ip to` / `dnat ip6 to`), so an inet table would save nothing but one `add table`.
import type { VirtualServer } from '../config/model.ts';
import { addressBits, formatIp, ipFamily, parseIp, prefixMaskBytes, type IpAddress } from '../util/ip.ts';
import type { NftFamily } from './nft.ts';

export interface LbFamily {
  readonly family: 4 | 6;
  /** The table holding NAT and DR's notrack: `table ip tandem`, `table ip6 tandem`. */
  readonly table: Extract<NftFamily, 'ip' | 'ip6'>;
  /** The payload keyword of addresses and of the nat and fwd statements (`ip saddr`, `dnat ip6 to`, `fwd ip6 to`). */
  readonly l3: 'ip' | 'ip6';
  /** nft's type of an address of the family. */
  readonly addrType: 'ipv4_addr' | 'ipv6_addr';
  readonly bits: 32 | 128;
}

export const AF4: LbFamily = { family: 4, table: 'ip', l3: 'ip', addrType: 'ipv4_addr', bits: 32 };
export const AF6: LbFamily = { family: 6, table: 'ip6', l3: 'ip6', addrType: 'ipv6_addr', bits: 128 };
export const FAMILIES: readonly LbFamily[] = [AF4, AF6];

/** The family of a virtual server (its address's; the configuration keeps its servers in it). Throws on a bad address. */
export function lbFamily(vs: Pick<VirtualServer, 'address'>): LbFamily {
  const f = ipFamily(vs.address);
  if (f === 0) throw new Error(`bad ${vs.address.includes(':') ? 'IPv6' : 'IPv4'} address ${vs.address}`);
  return f === 6 ? AF6 : AF4;
}

export function ofFamily<T extends Pick<VirtualServer, 'address'>>(vss: Iterable<T>, af: LbFamily): T[] {
  return [...vss].filter((vs) => lbFamily(vs) === af);
}

/** The netmask of a prefix length as nft writes it after `&` on an address (255.255.255.0, ffff:ffff::). */
export function maskText(af: LbFamily, prefix: number): string {
  const a: IpAddress = { family: af.family, bytes: prefixMaskBytes(af.family, prefix) };
  return formatIp(a);
}

/** `ip saddr`, or `ip6 saddr & ffff:ffff:ffff:ffff::` when the prefix is shorter than the address. */
export function maskedAddr(af: LbFamily, field: 'saddr' | 'daddr', prefix: number): string {
  const f = `${af.l3} ${field}`;
  return prefix >= af.bits ? f : `${f} & ${maskText(af, prefix)}`;
}

/** A raw payload constant of the address's bytes (`0xcb007101`): for matches on packet bits. */
export function rawAddr(address: string): string {
  const a = parseIp(address);
  if (!a) throw new Error(`bad address ${address}`);
  return `0x${Buffer.from(a.bytes).toString('hex')}`;
}

/** The raw mask of a prefix length over the family's address bits (`0xffffff00`). */
export function rawMask(af: LbFamily, prefix: number): string {
  return `0x${Buffer.from(prefixMaskBytes(af.family, prefix)).toString('hex')}`;
}

/** A nat statement's ADDRESS:PORT: IPv6 in brackets (nft's syntax, as RFC 3986 §3.2.2). */
export function natTarget(address: string, port: number): string {
  return ipFamily(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The persistence granularity of a virtual server, bounded by its family's width. */
export function granularityOf(vs: Pick<VirtualServer, 'address' | 'persistenceGranularity'>): number {
  return Math.min(vs.persistenceGranularity, addressBits(lbFamily(vs).family));
}
