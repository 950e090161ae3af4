// The receive path as one pure step, so the engine only has to feed raw packets in (IPv4 as the
// raw socket delivers them, IPv6 with the header the transport rebuilds):
// decode → our own advertisement? → find the instance by family and VRID (an IPv4 and an IPv6
// instance may share a VRID on one interface: RFC 5798 §5.2.3 scopes it per family) →
// per-instance checks → an advert
// event for the machine, or a counted drop. keepalived order (vrrp_check_packet): the VRID is
// looked up from the header first and every error is then counted against that instance;
// packets for no configured VRID (or unreadable) are counted globally (vrid_err / the reason's
// counter with instance null).
//
// A drop carries no text: building a message for each of 50,000 packets a second would cost
// more than the check. The engine asks explainDrop() for the line it logs, and logs at a bounded
// rate, the way FRR's vrrpd and keepalived log a failed check: what was received and what this
// instance expected ("advert interval 2000 ms, ours 1000 ms").

import { addressListMatches, decodeAdvert, passBytes, validateAdvert, vrrpGroup, V2_AUTH_LEN, type Advert, type DropReason, type InstanceCheck } from './codec.ts';
import { vrrpChecksum } from './checksum.ts';
import { formatIp } from '../util/ip.ts';
import { counterForDrop, type CounterName } from './counters.ts';
import type { MachineEvent } from './machine.ts';

export interface ReceiveInstance extends InstanceCheck {
  name: string;
  /** virtual_ipaddress as carried in adverts (not the _excluded ones). */
  vips: readonly string[];
  /** unicast_peer addresses; an advert from another source is accepted (keepalived without
   * vrrp_check_unicast_src) but flagged. */
  unicastPeers?: readonly string[];
}

export type ReceiveOutcome =
  | {
      kind: 'advert';
      instance: string;
      advert: Advert;
      event: Extract<MachineEvent, { type: 'advert' }>;
      /** Counted but not dropped: addr_list_err when the address list differs (keepalived). */
      counters: CounterName[];
      /** A unicast instance heard a source that is not one of its unicast_peers. */
      unknownPeer: boolean;
    }
  /** One of our own advertisements, looped back by the segment or a socket of ours: ignored. */
  | { kind: 'own' }
  | { kind: 'drop'; instance: string | null; reason: DropReason; counter: CounterName };

export function receiveAdvert(
  ipPacket: Uint8Array,
  lookup: (vrid: number, family: 4 | 6) => ReceiveInstance | undefined,
  isOwnAddress: (ip: string) => boolean = () => false,
): ReceiveOutcome {
  const r = decodeAdvert(ipPacket);
  if (!r.ok) {
    const inst = r.vrid === undefined ? undefined : lookup(r.vrid, r.family ?? 4);
    return { kind: 'drop', instance: inst?.name ?? null, reason: r.reason, counter: counterForDrop(r.reason) };
  }
  const a = r.advert;
  if (isOwnAddress(a.srcIp)) return { kind: 'own' };
  const inst = lookup(a.vrid, a.family);
  if (!inst) return { kind: 'drop', instance: null, reason: 'vrid_err', counter: 'vrid_err' };
  const reason = validateAdvert(a, inst);
  if (reason) return { kind: 'drop', instance: inst.name, reason, counter: counterForDrop(reason) };
  const peers = inst.unicastPeers ?? [];
  return {
    kind: 'advert',
    instance: inst.name,
    advert: a,
    event: { type: 'advert', priority: a.priority, srcIp: a.srcIp, advertIntMs: a.advertIntMs },
    counters: addressListMatches(a, inst.vips) ? [] : ['addr_list_err'],
    unknownPeer: inst.unicast && peers.length > 0 && !peers.includes(a.srcIp),
  };
}

const AUTH_NAMES = ['none', 'PASS', 'AH'];

/** The IP header of a packet read leniently (it may have failed a check), for log lines. */
interface LooseHeader {
  family: 4 | 6;
  /** Where the VRRP message starts. */
  v: number;
  src: string;
  dst: string;
  ttl: number;
  totalLen: number;
}

function looseHeader(b: Uint8Array): LooseHeader | null {
  const ver = b.length > 0 ? b[0]! >> 4 : 0;
  if (ver === 6 && b.length >= 40) {
    return {
      family: 6, v: 40, ttl: b[7]!, totalLen: 40 + ((b[4]! << 8) | b[5]!),
      src: formatIp({ family: 6, bytes: b.subarray(8, 24) }), dst: formatIp({ family: 6, bytes: b.subarray(24, 40) }),
    };
  }
  if (b.length < 20) return null;
  return {
    family: 4, v: (b[0]! & 0x0f) * 4, ttl: b[8]!, totalLen: (b[2]! << 8) | b[3]!,
    src: formatIp({ family: 4, bytes: b.subarray(12, 16) }), dst: formatIp({ family: 4, bytes: b.subarray(16, 20) }),
  };
}

/** The source address of a received packet (either family), for log lines; null when too short. */
export function packetSource(ipPacket: Uint8Array): string | null {
  return looseHeader(ipPacket)?.src ?? null;
}

/**
 * What was received and what was expected, for the log line of a drop. Reads the packet's
 * fields leniently (it already failed a check); never prints a received password.
 */
export function explainDrop(ipPacket: Uint8Array, reason: DropReason, inst: ReceiveInstance | undefined): string {
  const b = ipPacket;
  const len = b.length;
  const h = looseHeader(b);
  if (!h) return `packet of ${len} bytes, shorter than an IPv4 header`;
  const { v, dst } = h;
  const addrLen = h.family === 4 ? 4 : 16;
  const has = (n: number): boolean => len >= v + n;
  const version = has(1) ? b[v]! >> 4 : null;
  const vrid = has(2) ? b[v + 1]! : null;
  const count = has(4) ? b[v + 3]! : null;
  switch (reason) {
    case 'ip_header_err':
      if (h.family === 6) return inst && (inst.family ?? 4) !== 6 ? 'IPv6, but this instance is IPv4' : `IPv6 next header ${b[6]}, expected 112`;
      if (b[0]! >> 4 === 4 && inst && (inst.family ?? 4) !== 4) return 'IPv4, but this instance is IPv6';
      return `IP version ${b[0]! >> 4}, protocol ${b[9]}, expected IPv4 protocol 112`;
    case 'packet_len_err': {
      if (h.family === 4 && (v < 20 || v > len)) return `IP header length ${v}, packet ${len} bytes`;
      if (count === null || version === null) return `${len - v} bytes after the IP header, shorter than a VRRP header (8)`;
      const want = 8 + addrLen * count + (version === 2 ? V2_AUTH_LEN : 0);
      const what = h.family === 4 ? 'IP total length' : 'IPv6 payload length';
      const claimed = h.family === 4 ? h.totalLen : h.totalLen - 40;
      return `${len} bytes (${what} ${claimed}), expected ${v + want} for VRRPv${version}${h.family === 6 ? ' over IPv6' : ''} with ${count} addresses`;
    }
    case 'version_err':
      if (h.family === 6 && version === 2) return 'VRRP version 2 over IPv6, which only VRRPv3 has (RFC 5798)';
      return inst ? `VRRP version ${version}, ours ${inst.version}` : `VRRP version ${version}, expected 2 or 3`;
    case 'invalid_type':
      return `VRRP type ${has(1) ? b[v]! & 0x0f : '?'}, expected 1 (advertisement)`;
    case 'checksum_err': {
      if (version !== 2 && version !== 3) return `bad checksum`;
      const n = count ?? 0;
      const msgLen = 8 + addrLen * n + (version === 2 ? V2_AUTH_LEN : 0);
      if (!has(msgLen)) return `bad checksum`;
      const msg = b.subarray(v, v + msgLen);
      const got = (msg[6]! << 8) | msg[7]!;
      const [s0, d0] = h.family === 4 ? [12, 16] : [8, 24];
      const want = vrrpChecksum(version, msg, b.subarray(s0, s0 + addrLen), b.subarray(d0, d0 + addrLen));
      return `checksum 0x${hex4(got)}, computed 0x${hex4(want)}`;
    }
    case 'invalid_authtype':
      return `auth type ${has(5) ? b[v + 4] : '?'}, not one of 0 (none), 1 (PASS), 2 (AH)`;
    case 'ip_ttl_err':
      return h.family === 4
        ? `TTL ${h.ttl}, expected 255 (RFC 5798 section 5.1.1.3)`
        : `hop limit ${h.ttl}, expected 255 (RFC 5798 section 5.1.2.3)`;
    case 'vrid_err':
      return `VRID ${vrid ?? '?'}, no instance has it on this interface${h.family === 6 ? ' over IPv6' : ''}`;
    case 'auth_type_mismatch': {
      const got = has(5) ? b[v + 4]! : -1;
      const want = inst?.authType === 'PASS' ? 1 : inst?.authType === 'AH' ? 2 : 0;
      return `auth type ${got} (${AUTH_NAMES[got] ?? '?'}), ours ${want} (${AUTH_NAMES[want]})`;
    }
    case 'auth_failure': {
      // The password itself is never logged, only whether its length matches.
      const o = v + 8 + 4 * (count ?? 0);
      const got = has(8 + 4 * (count ?? 0) + V2_AUTH_LEN) ? Buffer.from(b.subarray(o, o + V2_AUTH_LEN)) : null;
      const want = passBytes(inst?.authPass ?? '');
      const sameLength = got !== null && got.indexOf(0) === want.indexOf(0);
      return `authentication password differs from ours${sameLength ? '' : ' (and has another length)'}`;
    }
    case 'advert_interval_err': {
      const got = has(6) ? b[v + 5]! * 1000 : null;
      return `advert interval ${got ?? '?'} ms, ours ${inst?.advertIntMs ?? '?'} ms (RFC 3768 section 7.1: VRRPv2 routers must agree)`;
    }
    case 'addr_list_err':
      return inst?.unicast
        ? `sent to ${dst}, a multicast group, but this instance uses unicast_peer`
        : `sent to ${dst}, but this instance expects multicast to ${vrrpGroup(h.family)}`;
    case 'ip_src_err':
      return `source ${h.src} is not a link-local address (RFC 5798 section 5.1.2.1: IPv6 adverts to ${vrrpGroup(6)} come from the link-local address)`;
  }
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
