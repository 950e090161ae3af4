// Address checks for the configuration, on the one parser of src/util/ip.ts. Where a keyword
// takes IPv4 only (brd, netmasks), an IPv6 literal is refused
// by name rather than reported as garbage (looksIpv6 only chooses that message; it is not a
// parser).
import { inPrefix, ipv4MaskLength, parseIp, parseIpv4 } from '../util/ip.ts';

// Leading zeros are refused there too (ambiguous: octal?).
export { isIpv4, parseIpv4 } from '../util/ip.ts';

export function looksIpv6(s: string): boolean {
  return s.includes(':') && /^[0-9a-fA-F:.]+(\/\d+)?$/.test(s);
}

/** Whether `addr` lies in `net/prefix` (same family; false across families). */
export function inSubnet(addr: string, net: string, prefix: number): boolean {
  const a = parseIp(addr);
  const n = parseIp(net);
  return a !== null && n !== null && inPrefix(a, n, prefix);
}

/** Prefix length of a dotted netmask such as 255.255.255.0, or null if not contiguous. */
export function maskToPrefix(mask: string): number | null {
  const v = parseIpv4(mask);
  return v === null ? null : ipv4MaskLength(v);
}
