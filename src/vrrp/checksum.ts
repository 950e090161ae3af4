// The Internet checksum (RFC 1071): the one implementation, for the VRRP message and for the
// IPv4 header the raw-socket transport builds (RFC 791 §3.1 "Header Checksum").
// VRRPv2 (RFC 3768 §5.3.8): over the VRRP message alone, starting at the version field.
// VRRPv3 over IPv4 (RFC 5798 §5.2.8): over the IPv4 pseudo-header (source, destination, zero,
// protocol 112, VRRP length) followed by the VRRP message. keepalived (vrrp_check_packet) and FRR
// (vrrp_pkt_adver_build) compute it the same way; the corpus vectors confirm it.

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

/** Sum of the IPv4 pseudo-header for protocol 112 (RFC 5798 §5.2.8), addresses as uint32. */
export function pseudoHeaderSum(src: number, dst: number, vrrpLength: number): number {
  let sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 112 + vrrpLength;
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
  srcIp?: number,
  dstIp?: number,
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
export function vrrpChecksumOk(version: 2 | 3, msg: Uint8Array, srcIp: number, dstIp: number): boolean {
  const initial = version === 3 ? pseudoHeaderSum(srcIp, dstIp, msg.length) : 0;
  return onesSum(msg, 0, msg.length, initial) === 0xffff;
}
