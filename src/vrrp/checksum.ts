// The Internet checksum (RFC 1071): the one implementation, for the VRRP message, for the
// IPv4 header the raw-socket transport builds (RFC 791 §3.1 "Header Checksum") and for the
// ICMPv6 neighbour advertisements of IPv6 VIPs (RFC 4443 §2.3).
// VRRPv2 (RFC 3768 §5.3.8): over the VRRP message alone, starting at the version field.
// VRRPv3 (RFC 5798 §5.2.8): over the pseudo-header followed by the VRRP message. Over IPv4 the
// pseudo-header is source, destination, zero, protocol 112, VRRP length; over IPv6 it is RFC 8200
// §8.1's: source, destination, the upper-layer length as 32 bits, three zero bytes, next header
// 112. keepalived (vrrp_check_packet) and FRR (vrrp_pkt_adver_build) compute it the same way; the
// corpus vectors and the lab's captures of keepalived over IPv6 confirm it.

/** One's-complement sum of 16-bit big-endian words, not yet complemented; folds carries. */
export function onesSum(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  // An odd trailing byte is padded with a zero byte (RFC 1071 §4.1).
  if (i < end) sum += buf[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The checksum field value: complement of the one's-complement sum. */
export function inetChecksum(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  return ~onesSum(buf, start, end, initial) & 0xffff;
}

/**
 * A pseudo-header address: an IPv4 address as its unsigned 32-bit value, or the address bytes of
 * either family (4 or 16, network order).
 */
export type PseudoAddress = number | Uint8Array;

function addressSum(a: PseudoAddress): number {
  return typeof a === 'number' ? (a >>> 16) + (a & 0xffff) : onesSum(a);
}

/**
 * Sum of the pseudo-header (not complemented). The two families' layouts hold the same words
 * apart from zeros: the addresses, the upper-layer length (16 bits in IPv4, 32 in IPv6) and the
 * protocol / next header, so one sum serves both. `protocol` is 112 for VRRP, 58 for ICMPv6.
 */
export function pseudoHeaderSum(src: PseudoAddress, dst: PseudoAddress, length: number, protocol = 112): number {
  let sum = addressSum(src) + addressSum(dst) + (length >>> 16) + (length & 0xffff) + protocol;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * Checksum of a VRRP message as it must appear in the checksum field: the message's own
 * checksum bytes (offset 6..7) are treated as zero. For v3 the pseudo-header addresses are
 * required. A message whose field already holds the right value sums (with the field) to 0xffff.
 */
export function vrrpChecksum(
  version: 2 | 3,
  msg: Uint8Array,
  srcIp?: PseudoAddress,
  dstIp?: PseudoAddress,
): number {
  let initial = 0;
  if (version === 3) {
    if (srcIp === undefined || dstIp === undefined) {
      throw new TypeError('VRRPv3 checksum needs the source and destination addresses');
    }
    initial = pseudoHeaderSum(srcIp, dstIp, msg.length);
  }
  // Sum around the checksum field rather than copying the message.
  const head = onesSum(msg, 0, 6, initial);
  return inetChecksum(msg, 8, msg.length, head);
}

/** True when the message's checksum field is right (sum including the field is 0xffff). */
export function vrrpChecksumOk(version: 2 | 3, msg: Uint8Array, srcIp: PseudoAddress, dstIp: PseudoAddress): boolean {
  const initial = version === 3 ? pseudoHeaderSum(srcIp, dstIp, msg.length) : 0;
  return onesSum(msg, 0, msg.length, initial) === 0xffff;
}
