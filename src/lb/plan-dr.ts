// lb_kind DR as nftables objects (docs/dr.md, src/lb/README.md "Direct routing"). Pure: builds
// NftTransactions, never runs anything. The client's packet is forwarded at netdev ingress,
// before the IP stack and conntrack, unchanged, to the chosen real server's MAC:
//
// table netdev tandem (both families: an IPv6 virtual server's objects have IPv6 keys and values)
//   map services    VIP . proto . port : goto <vs>          one lookup for every DR virtual server
//   map icmp_err    VIP . inner proto . inner source . inner sport : goto <vs>_i
//   maps services6, icmp6_err   the same for IPv6 virtual servers, only while one exists
//   chain in_<hex>  ingress hook on each device a DR VIP arrives on (hex of the device name):
//                     ip daddr . meta l4proto . th dport vmap @services
//                     ICMP errors about our flows: vmap @icmp_err
//   chain <vs>      TCP SYN: fwd ip to jhash … map @<vs>_s device "DEV" (slots 0..M-1); the rest:
//                   the same hash offset by M (existing flows' slots M..2M-1, filled only while a
//                   server is kept), else slots 0..M-1. The rules never change: health edits
//                   refill the map only.
//   chain <vs>_i    ICMP errors: the same hash of the embedded packet's destination (the client)
//   map <vs>_s      slot → real server address
//   map <vs>_sd     slot → device, only when the servers sit behind more than one interface
//                   (else the device is a constant of the rule)
// The maps hold addresses, not jumps to per-server chains: nft resolves a chain named in a
// map element against its cache of every chain, which made one real server's edit of 1,000
// such virtual servers 5 times slower (bench/nft-apply.ts).
//
// table ip tandem, or ip6 for IPv6 (beside NAT's objects, only while a DR virtual server of the family exists)
//   set dr_services + chain raw (prerouting, priority raw): the replies from VIP:port that
//   come back through the board (real servers whose gateway is the board) and any client
//   packet of a DR service that reaches the IP layer are `notrack`: conntrack never saw their
//   start, and untracked packets pass NAT's mid-stream guard (it matches `ct state new`).
import type { VirtualServer } from '../config/model.ts';
import { NftTransaction, checkDevice } from './nft.ts';
import { drSlotTables, type Backend, type Member, type SlotKey } from './sched/index.ts';
import { checkPort, ipHex, rsLive, vsKey, vsObjectName, type RsStateMap } from './keys.ts';
import { AF4, AF6, lbFamily, maskedAddr, rawAddr, rawMask, type LbFamily } from './family.ts';
import { ipv4MaskLength } from '../util/ip.ts';

/** Where DR packets come in and go out, from the configuration and this host's interfaces (dr-topology.ts). */
export interface DrTopology {
  /** VIP → the devices the clients' packets for it arrive on (the vrrp_instance interfaces holding it). */
  ingress: ReadonlyMap<string, readonly string[]>;
  /** Real or sorry server address → the device that reaches it directly; absent: none does. */
  egress: ReadonlyMap<string, string>;
}

export const EMPTY_TOPOLOGY: DrTopology = { ingress: new Map(), egress: new Map() };

/** What differs between the families in the netdev table: the dispatch maps and the ICMP error matches. */
interface DrFamily {
  services: string;
  icmp: string;
  /** Outer destination, then the embedded IP header's protocol and source and its L4 source port. */
  icmpKey: string;
  /** ICMP errors whose embedded header has the fixed layout the offsets assume. */
  icmpMatch: string;
  /** The embedded packet's destination address: our flow's client. */
  icmpClient: string;
}

const DR4: DrFamily = {
  services: 'services',
  icmp: 'icmp_err',
  // RFC 792: the error carries the IP header + 8 bytes.
  icmpKey: 'ip daddr . @th,136,8 . @th,160,32 . @th,224,16',
  // The embedded header is a plain 20-byte IPv4 one (version 4, IHL 5), so the offsets above hold.
  icmpMatch: 'icmp type { destination-unreachable, time-exceeded, parameter-problem } @th,64,8 0x45',
  // Bit 192 = ICMP header 8 + IP daddr offset 16, in bytes.
  icmpClient: '@th,192,32',
};

const DR6: DrFamily = {
  services: 'services6',
  icmp: 'icmp6_err',
  // RFC 4443 §3: an error carries as much of the invoking packet as fits; the embedded IPv6
  // header starts after the 8-byte ICMPv6 header: next header at its byte 6 (bit 112 of th),
  // source at byte 8 (bit 128), destination at byte 24 (bit 256), the L4 header at byte 40
  // (bit 384). Packet Too Big (§3.2) is what path-MTU discovery (RFC 8201) needs.
  icmpKey: 'ip6 daddr . @th,112,8 . @th,128,128 . @th,384,16',
  // The embedded header is IPv6 (version 6); one with extension headers has no TCP/UDP next
  // header at byte 6, so it matches no key.
  icmpMatch: 'icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } @th,64,4 6',
  icmpClient: '@th,256,128',
};

function drFamily(af: LbFamily): DrFamily {
  return af === AF6 ? DR6 : DR4;
}
const NOTRACK_SET = 'dr_services';
const NOTRACK_CHAIN = 'raw';
const SYN = 'tcp flags & (syn|ack) == syn';
/** Connections begun in kept mode are remembered this long after their last packet (TCP's established timeout is 5 days; this bounds the set). */
const KEPT_FLOW_TIMEOUT_S = 900;
/** At most this many of them per virtual server (the set's size; a full set leaves new ones unremembered). */
const KEPT_FLOWS = 65536;

/** lb_kind DR virtual servers, by object name, checked (nft input is built from them). */
export function drByName(vss: readonly VirtualServer[]): Map<string, VirtualServer> {
  const out = new Map<string, VirtualServer>();
  for (const vs of vss) {
    if (vs.method !== 'DR' || vs.forwarder === 'userspace') continue;
    const name = vsObjectName(vs);
    if (out.has(name)) throw new Error(`duplicate virtual server ${vsKey(vs)}`);
    checkPort(vs.port);
    const family = lbFamily(vs).family;
    for (const s of servers(vs)) {
      ipHex(s.address, family);
      checkPort(s.port);
    }
    out.set(name, vs);
  }
  return out;
}

/** The configured real servers, then the sorry server (index N): the `_r<j>` chains. */
function servers(vs: VirtualServer): Array<{ address: string; port: number }> {
  return [...vs.realServers, ...(vs.sorryServer ? [vs.sorryServer] : [])];
}

function l4(vs: VirtualServer): 'tcp' | 'udp' {
  return vs.protocol === 'TCP' ? 'tcp' : 'udp';
}

/** Ingress chain of a device: in_<hex of the name>, so any interface name gives a valid, stable object name. */
export function ingressChain(device: string): string {
  return `in_${Buffer.from(checkDevice(device)).toString('hex')}`;
}

/** Every device a DR VIP arrives on, sorted. */
export function ingressDevices(vss: Iterable<VirtualServer>, topo: DrTopology): string[] {
  const out = new Set<string>();
  for (const vs of vss) for (const d of topo.ingress.get(vs.address) ?? []) out.add(checkDevice(d));
  return [...out].sort();
}

function serviceKey(vs: VirtualServer): string {
  return `${vs.address} . ${l4(vs)} . ${vs.port}`;
}
function icmpKey(vs: VirtualServer): string {
  return `${vs.address} . ${vs.protocol === 'TCP' ? 6 : 17} . ${rawAddr(vs.address)} . ${vs.port}`;
}

/**
 * The netdev table's shared objects: the two dispatch maps and an ingress chain per device;
 * with `v6` (an IPv6 DR virtual server exists) IPv6's two maps and rules too.
 */
export function drTableHead(tx: NftTransaction, devices: readonly string[], v6 = false): void {
  tx.addTable();
  for (const f of v6 ? [DR4, DR6] : [DR4]) {
    tx.addMap(f.services, `type ${f === DR6 ? AF6.addrType : AF4.addrType} . inet_proto . inet_service : verdict;`);
    tx.addMap(f.icmp, `typeof ${f.icmpKey} : verdict;`);
  }
  for (const d of devices) addIngress(tx, d, v6);
}

export function addIngress(tx: NftTransaction, device: string, v6 = false): void {
  const chain = ingressChain(device);
  tx.addChain(chain, { type: 'filter', hook: 'ingress', device, priority: 'filter' });
  // Only frames addressed to this board's MAC: ingress sees what the IP stack would drop as
  // another host's (a switch flooding a frame for the peer board's MAC, or for a client's
  // stale entry of it), and forwarding those too would send the real servers each packet twice.
  // Neighbour solicitations for an IPv6 VIP are ICMPv6 to a multicast address: they pass.
  for (const [f, af] of v6 ? [[DR4, AF4], [DR6, AF6]] as const : [[DR4, AF4]] as const) {
    tx.addRule(chain, `meta pkttype host ${af.l3} daddr . meta l4proto . th dport vmap @${f.services}`);
    tx.addRule(chain, `meta pkttype host ${f.icmpMatch} ${f.icmpKey} vmap @${f.icmp}`);
  }
}

export function dropIngress(tx: NftTransaction, device: string): void {
  const chain = ingressChain(device);
  tx.flushChain(chain).deleteChain(chain);
}

/** The dispatch elements of some DR virtual servers (added after their chains exist). */
export function addDispatch(tx: NftTransaction, vss: readonly VirtualServer[]): void {
  for (const af of [AF4, AF6]) {
    const f = drFamily(af);
    const mine = vss.filter((vs) => lbFamily(vs) === af);
    if (mine.length === 0) continue;
    tx.addElements(f.services, mine.map((vs) => `${serviceKey(vs)} : goto ${vsObjectName(vs)}`));
    tx.addElements(f.icmp, mine.map((vs) => `${icmpKey(vs)} : goto ${vsObjectName(vs)}_i`));
  }
}

/** Removes their dispatch elements (before their chains go). */
export function dropDispatch(tx: NftTransaction, vss: readonly VirtualServer[]): void {
  for (const af of [AF4, AF6]) {
    const f = drFamily(af);
    const mine = vss.filter((vs) => lbFamily(vs) === af);
    if (mine.length === 0) continue;
    tx.deleteElements(f.services, mine.map(serviceKey));
    tx.deleteElements(f.icmp, mine.map(icmpKey));
  }
}

/**
 * The one interface every reachable server of `vs` sits behind, or null when they span several
 * (then per-slot device maps); undefined when none is reachable.
 */
function egressOf(vs: VirtualServer, topo: DrTopology): string | null | undefined {
  const devs = new Set<string>();
  for (const s of servers(vs)) {
    const d = topo.egress.get(s.address);
    if (d !== undefined) devs.add(checkDevice(d));
  }
  return devs.size === 0 ? undefined : devs.size === 1 ? [...devs][0]! : null;
}

/**
 * The slot maps of a DR virtual server: the addresses, and the devices when needed. One map
 * for new and existing flows alike (the existing flows' slots offset by M). nft reads the whole
 * ruleset (every set and every rule) into its cache for an edit, so what each virtual server
 * holds is kept small: a second map per virtual server made one real server's edit of 1,000 of
 * them twice as slow, and kept mode's objects, if always there, three times (bench/nft-apply.ts).
 */
function slotMaps(vs: VirtualServer, topo: DrTopology): string[] {
  const name = vsObjectName(vs);
  return egressOf(vs, topo) === null ? [`${name}_s`, `${name}_sd`] : [`${name}_s`];
}

/** The kernel's key of a DR virtual server: its hash of the (masked) client, the table size and seed. */
function keyOf(vs: VirtualServer): { key: SlotKey; size: number } {
  const t = drSlotTables(vs, []);
  return { key: t.key, size: t.size };
}

/**
 * Objects of one DR virtual server whose shape does not depend on health: its chain, its ICMP
 * chain and its slot map. The chains' rules come with fillDr (h is the client hash mod M; a
 * slot the map does not hold makes its rule not match):
 *
 *   chain <vs>      fwd to slot h; counter drop (no server: never the board's own stack)
 *   chain <vs>_i    the same for ICMP errors, h from the embedded packet's destination
 *
 * They do not change with health either, so a health change refills the map only (refillDr),
 * as small an edit as NAT's, except in and out of kept mode (TCP, while a server is kept:
 * drained, weight 0, inhibited), when the kept server's existing connections keep reaching it
 * and new ones go elsewhere. Without conntrack a packet's slot alone cannot tell an old
 * connection from a new one of the same client, so the connections begun meanwhile are
 * remembered (set <vs>_n of client address . port, refreshed by their packets):
 *
 *   chain <vs>      goto <vs>_k                      chain <vs>_i   goto <vs>_ki
 *   chain <vs>_k    SYN: remember it; fwd to slot h (new flows' table); else drop
 *                   a remembered flow: fwd to slot h
 *                   any other packet: fwd to slot M + h (the existing flows' table)
 *   chain <vs>_ki   fwd to slot M + h, else h
 *
 * Those objects exist only in kept mode (nft's cache, above).
 */
export function declareDr(tx: NftTransaction, vs: VirtualServer, topo: DrTopology): void {
  const name = vsObjectName(vs);
  tx.addChain(name).addChain(`${name}_i`);
  // The key type only: jhash and numgen both give a 32-bit host-order integer, and nft 1.0.6
  // cannot list a map declared `typeof jhash …` (it crashes), while `typeof numgen …` lists.
  // A device map's value is an interface index, resolved from the name when filled.
  const daddr = `${lbFamily(vs).l3} daddr`;
  for (const m of slotMaps(vs, topo)) tx.addMap(m, `typeof numgen inc mod 2 : ${m.endsWith('d') ? 'meta oif' : daddr};`);
}

/** `fwd` through the slot map, at offset 0 (h) or M (M + h), keyed on `field`; null when no server is reachable. */
function fwdRule(vs: VirtualServer, topo: DrTopology, field: string, offsetM: boolean): string | null {
  const egress = egressOf(vs, topo);
  if (egress === undefined) return null;
  const name = vsObjectName(vs);
  const { key, size } = keyOf(vs);
  const h = hashExpr(vs, key, size, field, offsetM ? size : 0);
  return `fwd ${lbFamily(vs).l3} to ${h} map @${name}_s device ${egress === null ? `${h} map @${name}_sd` : `"${egress}"`}`;
}

/** The rules of the VS chain and the ICMP chain out of kept mode (they exist and are empty). */
function normalRules(tx: NftTransaction, vs: VirtualServer, topo: DrTopology): void {
  const name = vsObjectName(vs);
  const af = lbFamily(vs);
  const main = fwdRule(vs, topo, `${af.l3} saddr`, false);
  const icmp = fwdRule(vs, topo, drFamily(af).icmpClient, false);
  if (main && icmp) tx.addRule(name, main).addRule(`${name}_i`, icmp);
  // No backend (or no slot): drop rather than let the packet reach the board's own stack (the
  // MASTER owns the VIP and would answer with a reset).
  tx.addRule(name, 'counter drop').addRule(`${name}_i`, 'counter drop');
}

/** Kept mode's objects and the jumps to them (the VS and ICMP chains exist and are empty). */
function keptObjects(tx: NftTransaction, vs: VirtualServer, topo: DrTopology): void {
  const name = vsObjectName(vs);
  const [k, ki, n] = [`${name}_k`, `${name}_ki`, `${name}_n`];
  const af = lbFamily(vs);
  const saddr = `${af.l3} saddr`;
  const client = drFamily(af).icmpClient;
  const flow = `${saddr} . tcp sport`;
  tx.addSet(n, `typeof ${flow}; flags dynamic,timeout; timeout ${KEPT_FLOW_TIMEOUT_S}s; size ${KEPT_FLOWS};`);
  tx.addChain(k).addChain(ki);
  const h = fwdRule(vs, topo, saddr, false);
  const hm = fwdRule(vs, topo, saddr, true);
  const ih = fwdRule(vs, topo, client, false);
  const ihm = fwdRule(vs, topo, client, true);
  if (h && hm && ih && ihm) {
    // A full set refuses the update: that SYN still goes on (the next rule), only unremembered.
    tx.addRule(k, `${SYN} update @${n} { ${flow} }`);
    tx.addRule(k, `${SYN} ${h}`);
    // A new connection never goes to a kept server, even when no server takes new ones.
    tx.addRule(k, `${SYN} counter drop`);
    tx.addRule(k, `${flow} @${n} update @${n} { ${flow} } ${h}`);
    tx.addRule(k, hm);
    tx.addRule(ki, ihm).addRule(ki, ih);
  }
  tx.addRule(k, 'counter drop').addRule(ki, 'counter drop');
  tx.addRule(name, `goto ${k}`).addRule(`${name}_i`, `goto ${ki}`);
}

/** Removes kept mode's objects (after the VS and ICMP chains were flushed). */
function dropKept(tx: NftTransaction, vs: VirtualServer): void {
  const name = vsObjectName(vs);
  tx.flushChain(`${name}_k`).flushChain(`${name}_ki`).deleteChain(`${name}_k`).deleteChain(`${name}_ki`).deleteSet(`${name}_n`);
}

/** Removes a DR virtual server's objects (dispatch elements first: dropDispatch); `kept`: it is in kept mode now. */
export function dropDr(tx: NftTransaction, vs: VirtualServer, topo: DrTopology, kept: boolean): void {
  const name = vsObjectName(vs);
  tx.flushChain(name).flushChain(`${name}_i`);
  if (kept) dropKept(tx, vs);
  tx.deleteChain(name).deleteChain(`${name}_i`);
  for (const m of slotMaps(vs, topo)) tx.deleteMap(m);
}

/** What the DR tables see of each configured real server (src/lb/sched/resilient.ts Member). */
export function drMembers(vs: VirtualServer, state: RsStateMap, topo: DrTopology): Member[] {
  return vs.realServers.map((rs) => {
    const l = rsLive(vs, rs, state);
    const reachable = topo.egress.has(rs.address);
    // keepalived leaves an inhibited server in IPVS at weight 0: its connections live on. A
    // drained server (weight 0 from the console) and misc_dynamic's weight 0 are the same.
    const state_: Member['state'] = !reachable ? 'gone' : l.up && l.weight > 0 ? 'up' : l.up || rs.inhibitOnFailure ? 'kept' : 'gone';
    return { key: `${rs.address}:${rs.port}`, address: rs.address, port: rs.port, weight: l.weight > 0 ? l.weight : rs.weight, state: state_ };
  });
}

/** The slot map's elements for the current state, and whether that is kept mode. */
function slotElements(vs: VirtualServer, state: RsStateMap, topo: DrTopology, quorumUp: boolean): { addr: string[]; dev: string[]; kept: boolean } {
  const multi = egressOf(vs, topo) === null;
  const addr: string[] = [];
  const dev: string[] = [];
  const fill = (slots: ReadonlyArray<{ address: string }>, offset: number): void => {
    slots.forEach((b, i) => {
      addr.push(`${offset + i} : ${b.address}`);
      if (multi) dev.push(`${offset + i} : "${checkDevice(topo.egress.get(b.address)!)}"`);
    });
  };
  const t = drSlotTables(vs, drMembers(vs, state, topo));
  if (!quorumUp && vs.sorryServer) {
    // keepalived: quorum lost with a sorry server → the sorry server alone serves the VS.
    const sorry = vs.sorryServer;
    if (topo.egress.has(sorry.address)) fill(Array.from({ length: t.size }, () => sorry), 0);
    return { addr, dev, kept: false };
  }
  const same = t.fresh.length === t.established.length && t.fresh.every((b, i) => b.key === t.established[i]!.key);
  if (vs.protocol === 'UDP' || same) {
    // UDP has no connection start to tell new flows from old: new-flow slots while any server
    // takes new flows, else the existing ones' (kept servers keep them).
    fill(t.fresh.length > 0 ? t.fresh : t.established, 0);
    return { addr, dev, kept: false };
  }
  // TCP with a kept server: kept mode. New flows' slots at h (none: SYNs drop), the existing
  // flows' at M + h.
  fill(t.fresh, 0);
  fill(t.established, t.size);
  return { addr, dev, kept: true };
}

/** Whether the state puts a DR virtual server in kept mode (declareDr); the controller remembers it for the next edit. */
export function drKeptMode(vs: VirtualServer, state: RsStateMap, topo: DrTopology, quorumUp: boolean): boolean {
  return vs.method === 'DR' && slotElements(vs, state, topo, quorumUp).kept;
}

function addSlots(tx: NftTransaction, vs: VirtualServer, e: { addr: string[]; dev: string[] }): void {
  const name = vsObjectName(vs);
  if (e.addr.length) tx.addElements(`${name}_s`, e.addr);
  if (e.dev.length) tx.addElements(`${name}_sd`, e.dev);
}

/** The chains' rules, kept mode's objects when in it, and the slot map's elements (all empty before). */
export function fillDr(tx: NftTransaction, vs: VirtualServer, state: RsStateMap, topo: DrTopology, quorumUp: boolean): void {
  const e = slotElements(vs, state, topo, quorumUp);
  if (e.kept) keptObjects(tx, vs, topo);
  else normalRules(tx, vs, topo);
  addSlots(tx, vs, e);
}

/**
 * The small edit after a state change: this DR virtual server's slot map refilled, and kept
 * mode entered or left (`keptBefore`: whether it was in it). Leaving kept mode forgets the
 * remembered connections: their real server takes its slots back, as after a return from
 * failure (docs/dr.md); staying in it keeps them across edits.
 */
export function refillDr(tx: NftTransaction, vs: VirtualServer, state: RsStateMap, topo: DrTopology, quorumUp: boolean, keptBefore: boolean): void {
  const name = vsObjectName(vs);
  const e = slotElements(vs, state, topo, quorumUp);
  if (e.kept !== keptBefore) {
    tx.flushChain(name).flushChain(`${name}_i`);
    if (keptBefore) {
      dropKept(tx, vs);
      normalRules(tx, vs, topo);
    } else {
      keptObjects(tx, vs, topo);
    }
  }
  for (const m of slotMaps(vs, topo)) tx.flushMap(m);
  addSlots(tx, vs, e);
}

function hashExpr(vs: VirtualServer, key: SlotKey, size: number, field: string, offset = 0): string {
  if (key.kind !== 'jhash') throw new Error('lb_kind DR hashes the client address');
  const af = lbFamily(vs);
  const prefix = key.prefix6 ?? ipv4MaskLength(key.mask) ?? 32;
  // The packet's address field takes the address mask; the ICMP error's raw bits a raw one.
  const masked = prefix >= af.bits ? field : field.startsWith('@') ? `${field} & ${rawMask(af, prefix)}` : maskedAddr(af, 'saddr', prefix);
  return `jhash ${masked} mod ${size} seed 0x${key.seed.toString(16).padStart(8, '0')}${offset ? ` offset ${offset}` : ''}`;
}

// ---- table ip tandem: the notrack of DR flows ----

function notrackElement(vs: VirtualServer): string {
  return serviceKey(vs);
}

/** The notrack set and chain in `table ip tandem` (or ip6: `tx`'s family, that of `vss`), with the given DR services. */
export function addNotrack(tx: NftTransaction, vss: readonly VirtualServer[]): void {
  const af = vss[0] ? lbFamily(vss[0]) : AF4;
  tx.addSet(NOTRACK_SET, `type ${af.addrType} . inet_proto . inet_service;`);
  tx.addChain(NOTRACK_CHAIN, { type: 'filter', hook: 'prerouting', priority: 'raw' });
  // Replies of real servers whose gateway is the board (source VIP:port), and client packets
  // that reach the IP layer instead of the ingress hook. Counted: the first counter tells the
  // two reply topologies apart (docs/dr.md).
  tx.addRule(NOTRACK_CHAIN, `${af.l3} saddr . meta l4proto . th sport @${NOTRACK_SET} counter notrack`);
  tx.addRule(NOTRACK_CHAIN, `${af.l3} daddr . meta l4proto . th dport @${NOTRACK_SET} counter notrack`);
  if (vss.length) tx.addElements(NOTRACK_SET, vss.map(notrackElement));
}

export function dropNotrack(tx: NftTransaction): void {
  tx.flushChain(NOTRACK_CHAIN).deleteChain(NOTRACK_CHAIN).deleteSet(NOTRACK_SET);
}

/** The notrack set's difference between two sets of DR virtual servers. */
export function editNotrack(tx: NftTransaction, before: Iterable<VirtualServer>, after: Iterable<VirtualServer>): void {
  const a = new Set([...before].map(notrackElement));
  const b = new Set([...after].map(notrackElement));
  const del = [...a].filter((e) => !b.has(e));
  const add = [...b].filter((e) => !a.has(e));
  if (del.length) tx.deleteElements(NOTRACK_SET, del);
  if (add.length) tx.addElements(NOTRACK_SET, add);
}
