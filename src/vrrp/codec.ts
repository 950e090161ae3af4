// VRRP advertisement codec: VRRPv2 (RFC 3768 §5, IPv4 only) and VRRPv3 over IPv4 and IPv6
// (RFC 5798 §5: IPv6 adverts go to ff02::12 from the link-local address, hop limit 255, §5.1.2,
// and carry 16-byte addresses, §5.2.9).
//
// Receive checks are split in two, as keepalived's vrrp_check_packet applies them:
//  - decodeAdvert: structural checks that need no configuration (IP header, VRRP version field,
//    lengths against the address count, type, checksum, v2 auth type value). Any failure is a
//    DropReason; nothing here throws on any input.
//  - validateAdvert: checks against one instance (VRID, family, TTL or hop limit unless unicast,
//    version, v2 auth type and password, v2 advert interval, multicast or unicast destination,
//    the link-local source of an IPv6 multicast advert). The caller demultiplexes by family and
//    VRID first; an unknown VRID is counted globally (keepalived/SNMP vrrp_id_err), not per
//    instance.
//
// Wire layouts (network byte order):
//   v2: ver|type, vrid, priority, count, auth type, adver int (s), checksum, IPs..., auth data (8)
//   v3: ver|type, vrid, priority, count, rsvd(4)|max adver int (12 bits, cs), checksum, IPs...
//   IPs are 4 bytes each over IPv4, 16 over IPv6.

import { vrrpChecksum, vrrpChecksumOk } from './checksum.ts';
import { formatIp, isLinkLocal, isMulticast, parseIp, type IpAddress } from '../util/ip.ts';

export const IPPROTO_VRRP = 112;
export const VRRP_MCAST_GROUP = '224.0.0.18';
/** RFC 5798 §5.1.2.2: the IPv6 multicast address of VRRP. */
export const VRRP_MCAST_GROUP6 = 'ff02::12';

/** The VRRP multicast group of a family. */
export function vrrpGroup(family: 4 | 6): string {
  return family === 4 ? VRRP_MCAST_GROUP : VRRP_MCAST_GROUP6;
}
/** RFC 3768 §5.3.1 / RFC 5798 §5.2.1: the only packet type. */
export const VRRP_TYPE_ADVERT = 1;
/** RFC 3768 §5.3.6: auth types. 2 (IP AH) is recognised but not supported by tandem. */
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;
export const V2_AUTH_LEN = 8;
const VRRP_HDR_LEN = 8;
const IPV4_MIN_HDR = 20;
const IPV6_HDR = 40;
/** keepalived: Ethernet frames shorter than 60 octets are padded; up to 46 bytes of IP. */
const ETH_MIN_PAYLOAD = 46;

/** Why an advertisement was dropped. Names follow keepalived's stats (vrrp_print_stats) and its
 * SNMP counters (chk_err, vers_err, vrid_err), see counters.ts for the mapping. */
export type DropReason =
  | 'packet_len_err' // shorter than its headers, count vs length mismatch, bad IHL, tot_len
  | 'ip_header_err' // not IPv4/IPv6 or not protocol 112 (the raw socket should never deliver it), or not the instance's family
  | 'version_err' // VRRP version not 2/3, or not the instance's
  | 'invalid_type' // type != 1 (ADVERTISEMENT)
  | 'checksum_err'
  | 'invalid_authtype' // v2 auth type not 0, 1 or 2
  | 'ip_ttl_err' // TTL (IPv4) or hop limit (IPv6) != 255 on a multicast instance
  | 'vrid_err' // VRID not the instance's
  | 'auth_type_mismatch' // v2 auth type differs from the instance's
  | 'auth_failure' // v2 PASS password differs
  | 'advert_interval_err' // v2 advert interval differs from the instance's
  | 'addr_list_err' // multicast advert on a unicast instance or the reverse
  | 'ip_src_err'; // IPv6 multicast advert whose source is not link-local (RFC 5798 §5.1.2.1)

export interface Advert {
  /** The IP family it came over. */
  family: 4 | 6;
  version: 2 | 3;
  type: number;
  vrid: number;
  priority: number;
  countIp: number;
  /** v2 only: 0 none, 1 PASS, 2 AH. Always 0 for v3. */
  authType: number;
  /** v2: whole seconds on the wire; v3: centiseconds. Normalised to ms. */
  advertIntMs: number;
  /** The raw interval field: seconds (v2) or centiseconds (v3). */
  advertIntRaw: number;
  checksum: number;
  /** Canonical text (IPv6 as RFC 5952 writes it). */
  addresses: string[];
  /** v2 only: the 8 authentication bytes as received. */
  authData?: Buffer;
  srcIp: string;
  dstIp: string;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number;
}

export type DecodeResult =
  | { ok: true; advert: Advert }
  /** vrid is present when the VRRP header was readable, so the caller can count the drop
   * against the instance (keepalived counts per instance after looking the VRID up); family when
   * the IP header was. */
  | { ok: false; reason: DropReason; vrid?: number; family?: 4 | 6 };

export interface DecodeOptions {
  /** Accept Ethernet padding after ip tot_len (keepalived allows it for short frames). Default true. */
  allowPadding?: boolean;
}

function fail(reason: DropReason, vrid?: number, family?: 4 | 6): DecodeResult {
  const out: DecodeResult = { ok: false, reason };
  if (vrid !== undefined) out.vrid = vrid;
  if (family !== undefined) out.family = family;
  return out;
}

/** The IP header fields the receive checks need, from either family. */
interface IpHeader {
  family: 4 | 6;
  /** Bytes before the VRRP message. */
  headerLen: number;
  /** The packet length the header claims (IPv4 total length; IPv6 40 + payload length). */
  totalLen: number;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number;
  src: Uint8Array;
  dst: Uint8Array;
}

/** The IPv4 or IPv6 header of a packet, or why it cannot be read. */
function ipHeader(buf: Uint8Array): IpHeader | DropReason {
  const len = buf.length;
  const ipVersion = len > 0 ? buf[0]! >> 4 : 0;
  if (ipVersion !== 6 && len < IPV4_MIN_HDR) return 'packet_len_err';
  if (ipVersion === 4) {
    const ihl = (buf[0]! & 0x0f) * 4;
    if (ihl < IPV4_MIN_HDR || ihl > len) return 'packet_len_err';
    if (buf[9] !== IPPROTO_VRRP) return 'ip_header_err';
    return { family: 4, headerLen: ihl, totalLen: (buf[2]! << 8) | buf[3]!, ttl: buf[8]!, src: buf.subarray(12, 16), dst: buf.subarray(16, 20) };
  }
  if (ipVersion === 6) {
    // RFC 8200 §3: the fixed 40-byte header. The transport hands the packet on with the header
    // rebuilt from what the socket reports (an IPv6 raw socket strips it), so the next header
    // is the VRRP message itself.
    // Shorter than that it cannot be one the transport rebuilt: an IPv4 socket's odd packet.
    if (len < IPV6_HDR) return 'ip_header_err';
    if (buf[6] !== IPPROTO_VRRP) return 'ip_header_err';
    return { family: 6, headerLen: IPV6_HDR, totalLen: IPV6_HDR + ((buf[4]! << 8) | buf[5]!), ttl: buf[7]!, src: buf.subarray(8, 24), dst: buf.subarray(24, 40) };
  }
  return 'ip_header_err';
}

/**
 * Decodes a whole IPv4 packet as a raw socket for protocol 112 delivers it (IP header included,
 * options allowed), or a whole IPv6 packet (fixed header, no extension headers) as the transport
 * rebuilds it. Never throws.
 */
export function decodeAdvert(ipPacket: Uint8Array, opts: DecodeOptions = {}): DecodeResult {
  const allowPadding = opts.allowPadding ?? true;
  const buf = ipPacket;
  const len = buf.length;
  const h = ipHeader(buf);
  if (typeof h === 'string') return fail(h);
  const v = h.headerLen;
  const family = h.family;
  // keepalived vrrp_get_header: the fixed VRRP header must be there before anything is read.
  if (len < v + VRRP_HDR_LEN) return fail('packet_len_err', undefined, family);
  const vrid = buf[v + 1]!;
  const version = buf[v]! >> 4;
  const type = buf[v]! & 0x0f;
  if (version !== 2 && version !== 3) return fail('version_err', vrid, family);
  // VRRPv2 is defined for IPv4 only (RFC 3768 §1); over IPv6 there is only v3 (RFC 5798 §1).
  if (family === 6 && version !== 3) return fail('version_err', vrid, family);
  const count = buf[v + 3]!;
  const addrLen = family === 4 ? 4 : 16;
  const vrrpLen = VRRP_HDR_LEN + addrLen * count + (version === 2 ? V2_AUTH_LEN : 0);
  const expected = v + vrrpLen;
  // RFC 3768 §7.1 / RFC 5798 §7.1: MUST verify the packet holds the complete message including
  // the address list. keepalived compares the received length with the one implied by the count,
  // then the IP length with the received length, tolerating Ethernet padding of short frames.
  if (h.totalLen !== expected) return fail('packet_len_err', vrid, family);
  if (len !== h.totalLen) {
    const padded = allowPadding && len > h.totalLen && len <= ETH_MIN_PAYLOAD;
    if (!padded) return fail('packet_len_err', vrid, family);
  }
  if (type !== VRRP_TYPE_ADVERT) return fail('invalid_type', vrid, family);
  const msg = buf.subarray(v, v + vrrpLen);
  if (!vrrpChecksumOk(version, msg, h.src, h.dst)) return fail('checksum_err', vrid, family);
  let authType = 0;
  let advertIntRaw: number;
  let advertIntMs: number;
  if (version === 2) {
    authType = buf[v + 4]!;
    // RFC 3768 §5.3.6: 0, 1, 2 are the defined values; keepalived counts others as invalid_authtype.
    if (authType > AUTH_AH) return fail('invalid_authtype', vrid, family);
    advertIntRaw = buf[v + 5]!;
    advertIntMs = advertIntRaw * 1000;
  } else {
    // RFC 5798 §5.2.7: 4 reserved bits (ignored on receipt) then 12 bits of centiseconds.
    advertIntRaw = ((buf[v + 4]! & 0x0f) << 8) | buf[v + 5]!;
    advertIntMs = advertIntRaw * 10;
  }
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const o = v + VRRP_HDR_LEN + addrLen * i;
    addresses.push(formatIp({ family, bytes: buf.subarray(o, o + addrLen) }));
  }
  const advert: Advert = {
    family,
    version,
    type,
    vrid,
    priority: buf[v + 2]!,
    countIp: count,
    authType,
    advertIntMs,
    advertIntRaw,
    checksum: (buf[v + 6]! << 8) | buf[v + 7]!,
    addresses,
    srcIp: formatIp({ family, bytes: h.src }),
    dstIp: formatIp({ family, bytes: h.dst }),
    ttl: h.ttl,
  };
  if (version === 2) {
    const a = v + VRRP_HDR_LEN + 4 * count;
    advert.authData = Buffer.from(buf.subarray(a, a + V2_AUTH_LEN));
  }
  return { ok: true, advert };
}

/** What validateAdvert needs from one instance. */
export interface InstanceCheck {
  vrid: number;
  /** The instance's family (keepalived: one instance, one family); default 4. */
  family?: 4 | 6;
  version: 2 | 3;
  advertIntMs: number;
  /** null/undefined: no authentication. PASS: the configured password (truncated to 8 bytes). */
  authPass?: string | null;
  /** v2 AH is refused at configuration time; 'AH' here only makes the mismatch check exact. */
  authType?: 'PASS' | 'AH' | null;
  /** unicast_peer configured: TTL is not checked and the destination must not be multicast. */
  unicast: boolean;
}

/** The 8 bytes of a v2 PASS password as sent: truncated to 8, padded with zeros (keepalived). */
export function passBytes(pass: string): Buffer {
  const out = Buffer.alloc(V2_AUTH_LEN);
  Buffer.from(pass, 'utf8').copy(out, 0, 0, V2_AUTH_LEN);
  return out;
}

/**
 * Per-instance receive checks, in keepalived's order (vrrp_check_packet). Returns null when the
 * advert may reach the state machine. The address list is checked apart (addressListMatches):
 * keepalived counts a mismatch as addr_list_err but still processes the advert.
 */
export function validateAdvert(advert: Advert, inst: InstanceCheck): DropReason | null {
  if (advert.vrid !== inst.vrid) return 'vrid_err';
  if (advert.family !== (inst.family ?? 4)) return 'ip_header_err';
  // RFC 3768 §7.1 / RFC 5798 §7.1: MUST verify the TTL (IPv6: hop limit) is 255; keepalived
  // skips it for unicast.
  if (!inst.unicast && advert.ttl !== 255) return 'ip_ttl_err';
  if (advert.version !== inst.version) return 'version_err';
  if (advert.version === 2) {
    const want = inst.authType === 'PASS' ? AUTH_PASS : inst.authType === 'AH' ? AUTH_AH : AUTH_NONE;
    if (advert.authType !== want) return 'auth_type_mismatch';
    if (want === AUTH_PASS) {
      const got = advert.authData ?? Buffer.alloc(V2_AUTH_LEN);
      if (!got.equals(passBytes(inst.authPass ?? ''))) return 'auth_failure';
    }
    // RFC 3768 §7.1: MUST verify the Adver Interval matches the local one (v2 only).
    if (advert.advertIntMs !== inst.advertIntMs) return 'advert_interval_err';
  }
  // keepalived: a multicast destination on a unicast instance (or the reverse) is addr_list_err.
  const dst = parseIp(advert.dstIp);
  if (dst !== null && isMulticast(dst) === inst.unicast) return 'addr_list_err';
  // RFC 5798 §5.1.2.1: an IPv6 advert to the group comes from the sender's link-local address.
  // A unicast advert comes from unicast_src_ip, which may be global (keepalived sends it so).
  if (advert.family === 6 && !inst.unicast) {
    const src = parseIp(advert.srcIp);
    if (src === null || !isLinkLocal(src)) return 'ip_src_err';
  }
  return null;
}

/**
 * RFC 3768/5798 §7.1 "MAY verify that the IP address(es) associated with the VRID are valid":
 * same count and every configured VIP present. keepalived counts addr_list_err on mismatch
 * but still processes the advert; the caller does the same.
 */
export function addressListMatches(advert: Advert, vips: readonly string[]): boolean {
  if (advert.countIp !== vips.length) return false;
  // Both sides in canonical text: "2001:DB8::0:1" in a configuration is 2001:db8::1 on the wire.
  const canon = (a: string): string => { const p = parseIp(a); return p ? formatIp(p) : a; };
  const got = new Set(advert.addresses);
  return vips.every((a) => got.has(canon(a)));
}

export interface EncodeParams {
  version: 2 | 3;
  vrid: number;
  priority: number;
  /** v2: a whole number of seconds (1..255); v3: a whole number of centiseconds (1..4095). */
  advertIntMs: number;
  addresses: readonly string[];
  /** v2 only. */
  authPass?: string | null;
  /** v3 only (pseudo-header): the source and destination the transport will use. They also
   * give the family (IPv6: the addresses are 16 bytes each); without them it is IPv4. */
  srcIp?: string;
  dstIp?: string;
}

/**
 * Builds the VRRP message (no IP header: the raw socket adds it, with TTL 255 set by the
 * transport). Throws RangeError on parameters that cannot be encoded: those come from a
 * validated configuration, so an error here is a bug to report, not a packet to drop.
 */
export function encodeAdvert(p: EncodeParams): Buffer {
  if (p.version !== 2 && p.version !== 3) throw new RangeError(`VRRP version ${String(p.version)}`);
  if (!Number.isInteger(p.vrid) || p.vrid < 1 || p.vrid > 255) throw new RangeError(`VRID ${p.vrid}`);
  if (!Number.isInteger(p.priority) || p.priority < 0 || p.priority > 255) {
    throw new RangeError(`priority ${p.priority}`);
  }
  if (p.addresses.length > 255) throw new RangeError(`${p.addresses.length} addresses (max 255)`);
  let interval: number;
  if (p.version === 2) {
    interval = p.advertIntMs / 1000;
    if (!Number.isInteger(interval) || interval < 1 || interval > 255) {
      throw new RangeError(`VRRPv2 advert interval must be 1..255 whole seconds, got ${p.advertIntMs} ms`);
    }
  } else {
    interval = p.advertIntMs / 10;
    if (!Number.isInteger(interval) || interval < 1 || interval > 0xfff) {
      throw new RangeError(`VRRPv3 advert interval must be 1..4095 centiseconds, got ${p.advertIntMs} ms`);
    }
  }
  const family = encodeFamily(p);
  if (family === 6 && p.version !== 3) throw new RangeError('VRRPv2 is IPv4 only (RFC 3768); IPv6 needs VRRPv3');
  const addrs = p.addresses.map((a) => familyAddress(a, family, 'address'));
  const addrLen = family === 4 ? 4 : 16;
  const n = addrs.length;
  const len = VRRP_HDR_LEN + addrLen * n + (p.version === 2 ? V2_AUTH_LEN : 0);
  const out = Buffer.alloc(len);
  out[0] = (p.version << 4) | VRRP_TYPE_ADVERT;
  out[1] = p.vrid;
  out[2] = p.priority;
  out[3] = n;
  if (p.version === 2) {
    out[4] = p.authPass ? AUTH_PASS : AUTH_NONE;
    out[5] = interval;
  } else {
    out.writeUInt16BE(interval, 4); // reserved bits zero (RFC 5798 §5.2.6)
  }
  addrs.forEach((a, i) => out.set(a.bytes, VRRP_HDR_LEN + addrLen * i));
  if (p.version === 2 && p.authPass) passBytes(p.authPass).copy(out, VRRP_HDR_LEN + 4 * n);
  let csum: number;
  if (p.version === 3) {
    if (p.srcIp === undefined || p.dstIp === undefined) {
      throw new RangeError('VRRPv3 encoding needs srcIp and dstIp for the checksum pseudo-header');
    }
    csum = vrrpChecksum(3, out, familyAddress(p.srcIp, family, 'srcIp').bytes, familyAddress(p.dstIp, family, 'dstIp').bytes);
  } else {
    csum = vrrpChecksum(2, out);
  }
  out.writeUInt16BE(csum, 6);
  return out;
}

/** The family an advert is encoded for: its source's, else its first address's, else IPv4. */
function encodeFamily(p: EncodeParams): 4 | 6 {
  for (const a of [p.srcIp, p.addresses[0]]) {
    const parsed = a === undefined ? null : parseIp(a);
    if (parsed) return parsed.family;
  }
  return 4;
}

function familyAddress(text: string, family: 4 | 6, what: string): IpAddress {
  const a = parseIp(text);
  if (!a || a.family !== family) throw new RangeError(`${what} ${JSON.stringify(text)} is not an IPv${family} address`);
  return a;
}
