// The unsolicited neighbour advertisement that announces an IPv6 VIP on its new MASTER, the
// IPv6 counterpart of the gratuitous ARP (RFC 4861 §7.2.6: "a node MAY send up to
// MAX_NEIGHBOR_ADVERTISEMENT unsolicited Neighbor Advertisement messages to the all-nodes
// multicast address"). Pure: builds the whole IPv6 packet; net/host.ts sends it.
//
// As keepalived builds it (vrrp_ndisc.c ndisc_send_unsolicited_na_immediate): from the VIP
// itself to ff02::1 with hop limit 255 (RFC 4861 §7.1.2 makes receivers drop any other), target
// the VIP, the Override flag set so neighbours replace the old MASTER's link-layer address they
// cached (§7.2.5), Solicited clear, Router set when the interface forwards IPv6, and the Target
// Link-Layer Address option carrying the interface's MAC (§4.6.1).
import { inetChecksum, pseudoHeaderSum } from '../vrrp/checksum.ts';

const ICMPV6 = 58;
const NA_TYPE = 136;
const OPT_TARGET_LLADDR = 2;
const IPV6_HDR = 40;
const NA_LEN = 24 + 8; // header and target, then one 8-byte link-layer address option

/** ff02::1 (RFC 4291 §2.7.1). */
export const ALL_NODES = 'ff02::1';
const ALL_NODES_BYTES = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

export interface NeighbourAdvert {
  /** The VIP (16 bytes): source and target. */
  target: Uint8Array;
  /** The interface's MAC (6 bytes). */
  mac: Uint8Array;
  /** The interface forwards IPv6 (net.ipv6.conf.DEV.forwarding): the Router flag. */
  router: boolean;
}

/** The whole IPv6 packet of an unsolicited neighbour advertisement, checksum included. */
export function unsolicitedNeighbourAdvert(na: NeighbourAdvert): Buffer {
  if (na.target.length !== 16) throw new RangeError(`an IPv6 target has 16 bytes, not ${na.target.length}`);
  if (na.mac.length !== 6) throw new RangeError(`a MAC address has 6 bytes, not ${na.mac.length}`);
  const pkt = Buffer.alloc(IPV6_HDR + NA_LEN);
  pkt.writeUInt32BE((6 << 28) >>> 0, 0); // version 6, traffic class 0, flow label 0
  pkt.writeUInt16BE(NA_LEN, 4);
  pkt[6] = ICMPV6;
  pkt[7] = 255; // RFC 4861 §7.1.2
  pkt.set(na.target, 8);
  pkt.set(ALL_NODES_BYTES, 24);
  const icmp = pkt.subarray(IPV6_HDR);
  icmp[0] = NA_TYPE;
  icmp[1] = 0;
  // RFC 4861 §4.4: R, S, O flags; Override set, Solicited clear (unsolicited).
  icmp[4] = (na.router ? 0x80 : 0) | 0x20;
  icmp.set(na.target, 8);
  icmp[24] = OPT_TARGET_LLADDR;
  icmp[25] = 1; // in units of 8 octets
  icmp.set(na.mac, 26);
  // RFC 4443 §2.3: over the IPv6 pseudo-header (next header 58) and the message.
  icmp.writeUInt16BE(inetChecksum(icmp, 0, icmp.length, pseudoHeaderSum(na.target, ALL_NODES_BYTES, icmp.length, ICMPV6)), 2);
  return pkt;
}

/** "aa:bb:cc:dd:ee:ff" as 6 bytes, or null. */
export function parseMac(text: string): Uint8Array | null {
  const parts = text.trim().split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) return null;
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}
