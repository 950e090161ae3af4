// Shared helpers for the VRRP unit tests: the capture corpus and a packet builder.
import { readFileSync } from 'node:fs';
import { encodeAdvert, type EncodeParams } from '../../../src/vrrp/codec.ts';
import { inetChecksum, pseudoHeaderSum } from '../../../src/vrrp/checksum.ts';
import { ipv4ToUint32, parseIpv6 } from '../../../src/util/ip.ts';

export interface CorpusEntry {
  name: string;
  source: string;
  ip_src: string;
  ip_dst: string;
  ip_ttl: number;
  ip_packet_hex: string;
  decoded: {
    version: 2 | 3;
    type: number;
    vrid: number;
    priority: number;
    count_ip_addrs: number;
    checksum: string;
    auth_type?: number;
    adver_int_seconds?: number;
    max_adver_int_centiseconds?: number;
    addresses: string[];
    auth_data?: string;
  };
}

// CI keeps a copy of shared/ beside the repository clone.
const corpusDir = new URL('../../../../shared/corpus/vrrp-packets/', import.meta.url);

export function loadCorpus(): CorpusEntry[] {
  return JSON.parse(readFileSync(new URL('captured.json', corpusDir), 'utf8')) as CorpusEntry[];
}

/** keepalived's adverts over IPv6, captured in the lab (fixtures/README.md). */
export interface Ipv6Vector {
  name: string;
  source: string;
  ip_src: string;
  ip_dst: string;
  ip_hlim: number;
  ip_packet_hex: string;
  decoded: {
    version: 3;
    type: number;
    vrid: number;
    priority: number;
    count_ip_addrs: number;
    checksum: string;
    max_adver_int_centiseconds: number;
    addresses: string[];
    tshark_checksum_status: string;
  };
}

export function loadIpv6Vectors(): Ipv6Vector[] {
  const doc = JSON.parse(readFileSync(new URL('fixtures/keepalived-ipv6-adverts.json', import.meta.url), 'utf8')) as { vectors: Ipv6Vector[] };
  return doc.vectors;
}

/** A link-local source and the group, as an IPv6 advert to ff02::12 carries them. */
export const LL_SRC = 'fe80::200:5eff:fe00:201';

/**
 * A whole IPv6 packet around a VRRP message: the fixed header the transport rebuilds from what
 * an IPv6 raw socket reports (source, destination, hop limit), next header 112.
 */
export function ipWrap6(vrrp: Buffer, o: { src?: string; dst?: string; hlim?: number } = {}): Buffer {
  const hdr = Buffer.alloc(40);
  hdr.writeUInt32BE((6 << 28) >>> 0, 0);
  hdr.writeUInt16BE(vrrp.length, 4);
  hdr[6] = 112;
  hdr[7] = o.hlim ?? 255;
  hdr.set(parseIpv6(o.src ?? LL_SRC)!, 8);
  hdr.set(parseIpv6(o.dst ?? 'ff02::12')!, 24);
  return Buffer.concat([hdr, vrrp]);
}

/** A VRRPv3 advert over IPv6 (defaults: VRID 51, priority 150, 0.1 s, one VIP, link-local to ff02::12). */
export function packet6(
  p: Partial<EncodeParams> = {},
  o: { src?: string; dst?: string; hlim?: number } = {},
): Buffer {
  const src = o.src ?? LL_SRC;
  const dst = o.dst ?? 'ff02::12';
  const msg = encodeAdvert({
    version: 3,
    vrid: p.vrid ?? 51,
    priority: p.priority ?? 150,
    advertIntMs: p.advertIntMs ?? 100,
    addresses: p.addresses ?? ['2001:db8:0:1::1'],
    srcIp: src,
    dstIp: dst,
  });
  return ipWrap6(msg, { ...o, src, dst });
}

/** A whole IPv4 packet around a VRRP message, as a raw socket would deliver it. */
export function ipWrap(
  vrrp: Buffer,
  o: { src?: string; dst?: string; ttl?: number; options?: Buffer } = {},
): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const ihl = 20 + opts.length;
  const hdr = Buffer.alloc(ihl);
  hdr[0] = 0x40 | (ihl / 4);
  hdr[1] = 0xc0;
  hdr.writeUInt16BE(ihl + vrrp.length, 2);
  hdr[8] = o.ttl ?? 255;
  hdr[9] = 112;
  hdr.writeUInt32BE(ipv4ToUint32(o.src ?? '192.0.2.1'), 12);
  hdr.writeUInt32BE(ipv4ToUint32(o.dst ?? '224.0.0.18'), 16);
  opts.copy(hdr, 20);
  hdr.writeUInt16BE(inetChecksum(hdr), 10);
  return Buffer.concat([hdr, vrrp]);
}

export function packet(
  p: Partial<EncodeParams> = {},
  o: { src?: string; dst?: string; ttl?: number; options?: Buffer } = {},
): Buffer {
  const version = p.version ?? 3;
  const src = o.src ?? '192.0.2.1';
  const dst = o.dst ?? '224.0.0.18';
  const msg = encodeAdvert({
    version,
    vrid: p.vrid ?? 51,
    priority: p.priority ?? 150,
    advertIntMs: p.advertIntMs ?? (version === 2 ? 1000 : 100),
    addresses: p.addresses ?? ['192.0.2.100'],
    authPass: p.authPass ?? null,
    srcIp: src,
    dstIp: dst,
  });
  return ipWrap(msg, { ...o, src, dst });
}

/** Recomputes the VRRP checksum after a test edited the message (v2: plain, v3: pseudo-header). */
export function fixChecksum(pkt: Buffer): Buffer {
  const six = pkt[0]! >> 4 === 6;
  const ihl = six ? 40 : (pkt[0]! & 15) * 4;
  const msg = pkt.subarray(ihl);
  msg.writeUInt16BE(0, 6);
  let sum = 0;
  if (msg[0]! >> 4 === 3) {
    sum = six
      ? pseudoHeaderSum(pkt.subarray(8, 24), pkt.subarray(24, 40), msg.length)
      : pseudoHeaderSum(pkt.readUInt32BE(12), pkt.readUInt32BE(16), msg.length);
  }
  msg.writeUInt16BE(inetChecksum(msg, 0, msg.length, sum), 6);
  return pkt;
}
