// Shared helpers for the VRRP unit tests: the capture corpus and a packet builder.
import { readFileSync } from 'node:fs';
import { encodeAdvert, type EncodeParams } from '../../../src/vrrp/codec.ts';
import { inetChecksum, pseudoHeaderSum } from '../../../src/vrrp/checksum.ts';
import { ipv4ToUint32 } from '../../../src/util/ip.ts';

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
  const ihl = (pkt[0]! & 15) * 4;
  const msg = pkt.subarray(ihl);
  msg.writeUInt16BE(0, 6);
  let sum = 0;
  if (msg[0]! >> 4 === 3) {
    sum = pseudoHeaderSum(pkt.readUInt32BE(12), pkt.readUInt32BE(16), msg.length);
  }
  msg.writeUInt16BE(inetChecksum(msg, 0, msg.length, sum), 6);
  return pkt;
}
