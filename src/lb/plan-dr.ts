// lb_kind DR as nftables objects (docs/dr.md, src/lb/README.md "Direct routing"). Pure: builds
// NftTransactions, never runs anything. The client's packet is forwarded at netdev ingress,
// before the IP stack and conntrack, unchanged, to the chosen real server's MAC:
//
// table netdev tandem
//   map services    VIP . proto . port : goto <vs>          one lookup for every DR virtual server
//   map icmp_err    VIP . inner proto . inner source . inner sport : goto <vs>_i
//   chain in_<hex>  ingress hook on each device a DR VIP arrives on (hex of the device name):
//                     ip daddr . meta l4proto . th dport vmap @services
//                     ICMP errors about our flows: vmap @icmp_err
//   chain <vs>      TCP SYN: jhash … vmap @<vs>_s; the rest: jhash … vmap @<vs>_e (or _s alone)
//   chain <vs>_i    ICMP errors: the same hash of the embedded packet's destination (the client)
//   map <vs>_s      slot → goto <vs>_r<j>: where new flows go
//   map <vs>_e      TCP only, filled while a server is kept: where existing flows go
//   chain <vs>_r<j> fwd ip to REAL SERVER j device "DEV" (j = configured index; the sorry server is j = N)
//
// table ip tandem (beside NAT's objects, only while a DR virtual server exists)
//   set dr_services + chain raw (prerouting, priority raw): the replies from VIP:port that
//   come back through the board (real servers whose gateway is the board) and any client
//   packet of a DR service that reaches the IP layer are `notrack`: conntrack never saw their
//   start, and untracked packets pass NAT's mid-stream guard (it matches `ct state new`).
import type { VirtualServer } from '../config/model.ts';
import { NftTransaction, checkDevice } from './nft.ts';
import { drSlotTables, type Backend, type Member, type SlotKey } from './sched/index.ts';
import { formatIpv4 } from '../util/ip.ts';
import { checkPort, ipHex, rsLive, vsKey, vsObjectName, type RsStateMap } from './keys.ts';

/** Where DR packets come in and go out, from the configuration and this host's interfaces (dr-topology.ts). */
export interface DrTopology {
  /** VIP → the devices the clients' packets for it arrive on (the vrrp_instance interfaces holding it). */
  ingress: ReadonlyMap<string, readonly string[]>;
  /** Real or sorry server address → the device that reaches it directly; absent: none does. */
  egress: ReadonlyMap<string, string>;
}

export const EMPTY_TOPOLOGY: DrTopology = { ingress: new Map(), egress: new Map() };

const SERVICES = 'services';
const ICMP = 'icmp_err';
/** Outer destination, then the embedded IP header's protocol and source and its L4 source port (RFC 792: the error carries the IP header + 8 bytes). */
const ICMP_KEY = 'ip daddr . @th,136,8 . @th,160,32 . @th,224,16';
/** The embedded header is a plain 20-byte IPv4 one (version 4, IHL 5), so the offsets above hold. */
const ICMP_MATCH = 'icmp type { destination-unreachable, time-exceeded, parameter-problem } @th,64,8 0x45';
/** The embedded packet's destination address: our flow's client (bit 192 = ICMP header 8 + IP daddr offset 16, in bytes). */
const ICMP_CLIENT = '@th,192,32';
const NOTRACK_SET = 'dr_services';
const NOTRACK_CHAIN = 'raw';
const SYN = 'tcp flags & (syn|ack) == syn';

/** lb_kind DR virtual servers, by object name, checked (nft input is built from them). */
export function drByName(vss: readonly VirtualServer[]): Map<string, VirtualServer> {
  const out = new Map<string, VirtualServer>();
  for (const vs of vss) {
    if (vs.method !== 'DR' || vs.forwarder === 'userspace') continue;
    const name = vsObjectName(vs);
    if (out.has(name)) throw new Error(`duplicate virtual server ${vsKey(vs)}`);
    checkPort(vs.port);
    for (const s of servers(vs)) {
      ipHex(s.address);
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
  return `${vs.address} . ${vs.protocol === 'TCP' ? 6 : 17} . 0x${ipHex(vs.address)} . ${vs.port}`;
}

/** The netdev table's shared objects: the two dispatch maps and an ingress chain per device. */
export function drTableHead(tx: NftTransaction, devices: readonly string[]): void {
  tx.addTable();
  tx.addMap(SERVICES, 'type ipv4_addr . inet_proto . inet_service : verdict;');
  tx.addMap(ICMP, `typeof ${ICMP_KEY} : verdict;`);
  for (const d of devices) addIngress(tx, d);
}

export function addIngress(tx: NftTransaction, device: string): void {
  const chain = ingressChain(device);
  tx.addChain(chain, { type: 'filter', hook: 'ingress', device, priority: 'filter' });
  tx.addRule(chain, `ip daddr . meta l4proto . th dport vmap @${SERVICES}`);
  tx.addRule(chain, `${ICMP_MATCH} ${ICMP_KEY} vmap @${ICMP}`);
}

export function dropIngress(tx: NftTransaction, device: string): void {
  const chain = ingressChain(device);
  tx.flushChain(chain).deleteChain(chain);
}

/** The dispatch elements of some DR virtual servers (added after their chains exist). */
export function addDispatch(tx: NftTransaction, vss: readonly VirtualServer[]): void {
  if (vss.length === 0) return;
  tx.addElements(SERVICES, vss.map((vs) => `${serviceKey(vs)} : goto ${vsObjectName(vs)}`));
  tx.addElements(ICMP, vss.map((vs) => `${icmpKey(vs)} : goto ${vsObjectName(vs)}_i`));
}

/** Removes their dispatch elements (before their chains go). */
export function dropDispatch(tx: NftTransaction, vss: readonly VirtualServer[]): void {
  if (vss.length === 0) return;
  tx.deleteElements(SERVICES, vss.map(serviceKey));
  tx.deleteElements(ICMP, vss.map(icmpKey));
}

/** Objects of one DR virtual server whose shape does not depend on health. */
export function declareDr(tx: NftTransaction, vs: VirtualServer, topo: DrTopology): void {
  const name = vsObjectName(vs);
  tx.addChain(name).addChain(`${name}_i`);
  // The key type only: jhash and numgen both give a 32-bit host-order integer, and nft 1.0.6
  // cannot list a map declared `typeof jhash …` (it crashes), while `typeof numgen …` lists.
  tx.addMap(`${name}_s`, 'typeof numgen inc mod 2 : verdict;');
  if (vs.protocol === 'TCP') tx.addMap(`${name}_e`, 'typeof numgen inc mod 2 : verdict;');
  servers(vs).forEach((s, j) => {
    const dev = topo.egress.get(s.address);
    // No interface reaches it (the configuration check says so at start): nothing goes there.
    tx.addChain(`${name}_r${j}`).addRule(`${name}_r${j}`, dev === undefined ? 'counter drop' : `fwd ip to ${s.address} device "${checkDevice(dev)}"`);
  });
}

/** Removes a DR virtual server's objects (dispatch elements first: dropDispatch). */
export function dropDr(tx: NftTransaction, vs: VirtualServer): void {
  const name = vsObjectName(vs);
  tx.flushChain(name).flushChain(`${name}_i`).flushMap(`${name}_s`);
  if (vs.protocol === 'TCP') tx.flushMap(`${name}_e`);
  tx.deleteChain(name).deleteChain(`${name}_i`).deleteMap(`${name}_s`);
  if (vs.protocol === 'TCP') tx.deleteMap(`${name}_e`);
  servers(vs).forEach((_s, j) => tx.flushChain(`${name}_r${j}`).deleteChain(`${name}_r${j}`));
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

/** The VS chains' rules and slot maps for the current state (chains and maps are empty). */
export function fillDr(tx: NftTransaction, vs: VirtualServer, state: RsStateMap, topo: DrTopology, quorumUp: boolean): void {
  const name = vsObjectName(vs);
  const icmp = `${name}_i`;
  // keepalived: quorum lost with a sorry server → the sorry server alone serves the VS.
  if (!quorumUp && vs.sorryServer) {
    const sorry = `${name}_r${vs.realServers.length}`;
    tx.addRule(name, `goto ${sorry}`).addRule(icmp, `goto ${sorry}`);
    return;
  }
  const t = drSlotTables(vs, drMembers(vs, state, topo));
  const index = new Map(vs.realServers.map((rs, j) => [`${rs.address}:${rs.port}`, j]));
  const elements = (slots: Backend[]): string[] => slots.map((b, i) => `${i} : goto ${name}_r${index.get(b.key)!}`);
  const hash = hashExpr(t.key, t.size, 'ip saddr');
  const icmpHash = hashExpr(t.key, t.size, ICMP_CLIENT);
  if (t.fresh.length === 0 && t.established.length === 0) {
    // No backend: drop rather than let the packet reach the board's own stack (the MASTER owns the VIP).
    tx.addRule(name, 'counter drop').addRule(icmp, 'counter drop');
    return;
  }
  const same = t.fresh.length === t.established.length && t.fresh.every((b, i) => b.key === t.established[i]!.key);
  if (vs.protocol === 'UDP' || same) {
    // UDP has no connection start to tell new flows from old: new-flow slots while any server
    // takes new flows, else the existing ones' (kept servers keep them).
    const slots = t.fresh.length > 0 ? t.fresh : t.established;
    tx.addRule(name, `${hash} vmap @${name}_s`).addRule(icmp, `${icmpHash} vmap @${name}_s`);
    tx.addElements(`${name}_s`, elements(slots));
    return;
  }
  // TCP with a kept server: a connection's first packet (SYN without ACK) is scheduled on the
  // new-flow slots; every other packet follows the existing flows' slots.
  if (t.fresh.length > 0) {
    tx.addRule(name, `${SYN} ${hash} vmap @${name}_s`);
    tx.addElements(`${name}_s`, elements(t.fresh));
  } else {
    tx.addRule(name, `${SYN} counter drop`);
  }
  tx.addRule(name, `${hash} vmap @${name}_e`).addRule(icmp, `${icmpHash} vmap @${name}_e`);
  tx.addElements(`${name}_e`, elements(t.established));
}

/** The small edit after a state change: this DR virtual server's chains and maps, refilled. */
export function refillDr(tx: NftTransaction, vs: VirtualServer, state: RsStateMap, topo: DrTopology, quorumUp: boolean): void {
  const name = vsObjectName(vs);
  tx.flushChain(name).flushChain(`${name}_i`).flushMap(`${name}_s`);
  if (vs.protocol === 'TCP') tx.flushMap(`${name}_e`);
  fillDr(tx, vs, state, topo, quorumUp);
}

function hashExpr(key: SlotKey, size: number, field: string): string {
  if (key.kind !== 'jhash') throw new Error('lb_kind DR hashes the client address');
  const masked = key.mask === 0xffffffff
    ? field
    : `${field} & ${field === 'ip saddr' ? formatIpv4(key.mask) : `0x${(key.mask >>> 0).toString(16).padStart(8, '0')}`}`;
  return `jhash ${masked} mod ${size} seed 0x${key.seed.toString(16).padStart(8, '0')}`;
}

// ---- table ip tandem: the notrack of DR flows ----

function notrackElement(vs: VirtualServer): string {
  return serviceKey(vs);
}

/** The notrack set and chain in `table ip tandem`, with the given DR services. */
export function addNotrack(tx: NftTransaction, vss: readonly VirtualServer[]): void {
  tx.addSet(NOTRACK_SET, 'type ipv4_addr . inet_proto . inet_service;');
  tx.addChain(NOTRACK_CHAIN, { type: 'filter', hook: 'prerouting', priority: 'raw' });
  // Replies of real servers whose gateway is the board (source VIP:port), and client packets
  // that reach the IP layer instead of the ingress hook. Counted: the first counter tells the
  // two reply topologies apart (docs/dr.md).
  tx.addRule(NOTRACK_CHAIN, `ip saddr . meta l4proto . th sport @${NOTRACK_SET} counter notrack`);
  tx.addRule(NOTRACK_CHAIN, `ip daddr . meta l4proto . th dport @${NOTRACK_SET} counter notrack`);
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
