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
//   chain <vs>      TCP SYN: fwd ip to jhash … map @<vs>_s device "DEV"; the rest: … map @<vs>_e
//                   (or _s alone while every server may take new flows)
//   chain <vs>_i    ICMP errors: the same hash of the embedded packet's destination (the client)
//   map <vs>_s      slot → real server address: where new flows go
//   map <vs>_e      TCP only, filled while a server is kept: where existing flows go
//   maps <vs>_sd/_ed  slot → device, only when the servers sit behind more than one interface
//                   (else the device is a constant of the rule)
// The maps hold addresses, not jumps to per-server chains: nft resolves a chain named in a
// map element against its cache of every chain, which made one real server's edit of 1,000
// such virtual servers 5 times slower (bench/nft-apply.ts).
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
  // Only frames addressed to this board's MAC: ingress sees what the IP stack would drop as
  // another host's (a switch flooding a frame for the peer board's MAC, or for a client's
  // stale entry of it), and forwarding those too would send the real servers each packet twice.
  tx.addRule(chain, `meta pkttype host ip daddr . meta l4proto . th dport vmap @${SERVICES}`);
  tx.addRule(chain, `meta pkttype host ${ICMP_MATCH} ${ICMP_KEY} vmap @${ICMP}`);
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

/** The slot maps of a DR virtual server: new flows, (TCP) existing flows, and their device maps when needed. */
function slotMaps(vs: VirtualServer, topo: DrTopology): string[] {
  const name = vsObjectName(vs);
  const maps = vs.protocol === 'TCP' ? [`${name}_s`, `${name}_e`] : [`${name}_s`];
  return egressOf(vs, topo) === null ? [...maps, ...maps.map((m) => `${m}d`)] : maps;
}

/** Objects of one DR virtual server whose shape does not depend on health. */
export function declareDr(tx: NftTransaction, vs: VirtualServer, topo: DrTopology): void {
  const name = vsObjectName(vs);
  tx.addChain(name).addChain(`${name}_i`);
  // The key type only: jhash and numgen both give a 32-bit host-order integer, and nft 1.0.6
  // cannot list a map declared `typeof jhash …` (it crashes), while `typeof numgen …` lists.
  // A device map's value is an interface index, resolved from the name when filled.
  for (const m of slotMaps(vs, topo)) tx.addMap(m, `typeof numgen inc mod 2 : ${m.endsWith('d') ? 'meta oif' : 'ip daddr'};`);
}

/** Removes a DR virtual server's objects (dispatch elements first: dropDispatch). */
export function dropDr(tx: NftTransaction, vs: VirtualServer, topo: DrTopology): void {
  const name = vsObjectName(vs);
  tx.flushChain(name).flushChain(`${name}_i`).deleteChain(name).deleteChain(`${name}_i`);
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

/** The VS chains' rules and slot maps for the current state (chains and maps are empty). */
export function fillDr(tx: NftTransaction, vs: VirtualServer, state: RsStateMap, topo: DrTopology, quorumUp: boolean): void {
  const name = vsObjectName(vs);
  const icmp = `${name}_i`;
  const both = (rule: string): void => { tx.addRule(name, rule).addRule(icmp, rule); };
  // keepalived: quorum lost with a sorry server → the sorry server alone serves the VS.
  if (!quorumUp && vs.sorryServer) {
    const dev = topo.egress.get(vs.sorryServer.address);
    both(dev === undefined ? 'counter drop' : `fwd ip to ${vs.sorryServer.address} device "${checkDevice(dev)}"`);
    return;
  }
  const t = drSlotTables(vs, drMembers(vs, state, topo));
  const hash = hashExpr(t.key, t.size, 'ip saddr');
  const icmpHash = hashExpr(t.key, t.size, ICMP_CLIENT);
  if (t.fresh.length === 0 && t.established.length === 0) {
    // No backend: drop rather than let the packet reach the board's own stack (the MASTER owns the VIP).
    both('counter drop');
    return;
  }
  const egress = egressOf(vs, topo);
  /** `fwd` to the address slot map `m` (and its device map, when the servers span interfaces). */
  const fwd = (key: string, m: string): string => `fwd ip to ${key} map @${m} device ${egress ? `"${egress}"` : `${key} map @${m}d`}`;
  const fill = (m: string, slots: Backend[]): void => {
    tx.addElements(m, slots.map((b, i) => `${i} : ${b.address}`));
    if (egress === null) tx.addElements(`${m}d`, slots.map((b, i) => `${i} : "${checkDevice(topo.egress.get(b.address)!)}"`));
  };
  const same = t.fresh.length === t.established.length && t.fresh.every((b, i) => b.key === t.established[i]!.key);
  if (vs.protocol === 'UDP' || same) {
    // UDP has no connection start to tell new flows from old: new-flow slots while any server
    // takes new flows, else the existing ones' (kept servers keep them).
    tx.addRule(name, fwd(hash, `${name}_s`)).addRule(icmp, fwd(icmpHash, `${name}_s`));
    fill(`${name}_s`, t.fresh.length > 0 ? t.fresh : t.established);
    return;
  }
  // TCP with a kept server: a connection's first packet (SYN without ACK) is scheduled on the
  // new-flow slots; every other packet follows the existing flows' slots.
  if (t.fresh.length > 0) {
    tx.addRule(name, `${SYN} ${fwd(hash, `${name}_s`)}`);
    fill(`${name}_s`, t.fresh);
  } else {
    tx.addRule(name, `${SYN} counter drop`);
  }
  tx.addRule(name, fwd(hash, `${name}_e`)).addRule(icmp, fwd(icmpHash, `${name}_e`));
  fill(`${name}_e`, t.established);
}

/** The small edit after a state change: this DR virtual server's chains and maps, refilled. */
export function refillDr(tx: NftTransaction, vs: VirtualServer, state: RsStateMap, topo: DrTopology, quorumUp: boolean): void {
  const name = vsObjectName(vs);
  tx.flushChain(name).flushChain(`${name}_i`);
  for (const m of slotMaps(vs, topo)) tx.flushMap(m);
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
