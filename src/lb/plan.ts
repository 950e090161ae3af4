// From configuration + live real-server state to nftables transactions. Pure: builds an
// NftTransaction, never runs anything. Layout of `table ip tandem` (see src/lb/README.md):
//
//   map services    VIP . proto . port : goto <vs chain>      one lookup for all virtual servers
//   chain prerouting  nat hook, dstnat:  ip daddr . meta l4proto . th dport vmap @services
//   chain <vs>        the scheduler rule (dnat via a slot map), or sorry server, or drop
//   map <vs>_s        slot → real server (addr . port), or → goto <vs>_r<j> with persistence
//   chain <vs>_r<j>   persistence only: remember the client, dnat to real server j
//   set <vs>_p<j>     persistence only: masked client addresses stuck to real server j
//   sets rs_tcp/rs_udp + chain forward   the mid-stream guard
// IPv6 virtual servers (NAT66) have the same objects in `table ip6 tandem` (src/lb/family.ts
// says why two tables), which exists only while an IPv6 virtual server does. lb_kind DR
// virtual servers live in `table netdev tandem` (plan-dr.ts), plus a notrack chain in their
// family's table; each render below covers every table it changes, as one transaction.
import type { VirtualServer } from '../config/model.ts';
import { NftTransaction, type NftFamily } from './nft.ts';
import { slotTable, isNftScheduler } from './sched/index.ts';
import { ipv4MaskLength } from '../util/ip.ts';
import { AF4, AF6, granularityOf, lbFamily, maskedAddr, natTarget, ofFamily, type LbFamily } from './family.ts';
import type { Backend, SlotTable } from './sched/index.ts';
import { aliveWeight } from './quorum.ts';
import { checkPort, ipHex, rsLive, vsKey, vsObjectName, type RsStateMap } from './keys.ts';
import {
  EMPTY_TOPOLOGY, addDispatch, addIngress, addNotrack, declareDr, drByName, drTableHead, dropDispatch, dropDr, dropIngress,
  dropNotrack, drKeptMode, editNotrack, fillDr, ingressDevices, refillDr, type DrTopology,
} from './plan-dr.ts';

export { rsKey, rsLive, vsKey, vsObjectName, type RsLive, type RsStateMap } from './keys.ts';
export type { DrTopology } from './plan-dr.ts';
export { drKeptMode } from './plan-dr.ts';

export interface PlanOptions {
  /** Quorum state per vsKey (from QuorumTracker); missing means up. */
  quorumUp?: ReadonlyMap<string, boolean>;
  /** lb_kind DR: where packets come in and go out (none: no DR server is reachable). */
  dr?: DrTopology;
  /** Remove a `table netdev tandem` even when no DR virtual server needs one (left from before). */
  resetNetdev?: boolean;
  /** Remove a `table ip6 tandem` even when no IPv6 virtual server needs one (left from before). */
  resetIp6?: boolean;
  /** The DR virtual servers (vsKey) in kept mode in the kernel now (plan-dr.ts declareDr): a small edit enters or leaves it. */
  drKept?: ReadonlySet<string>;
}

/** The real servers that may receive new flows now (up, weight > 0). */
export function schedulableBackends(vs: VirtualServer, state: RsStateMap): Backend[] {
  const out: Backend[] = [];
  for (const rs of vs.realServers) {
    const l = rsLive(vs, rs, state);
    if (l.up && l.weight > 0) out.push({ key: `${rs.address}:${rs.port}`, address: rs.address, port: rs.port, weight: l.weight });
  }
  return out;
}

/** Alive weight sum for the quorum (keepalived's weigh_live_realservers). */
export function vsAliveWeight(vs: VirtualServer, state: RsStateMap): number {
  return aliveWeight(vs.realServers.map((rs) => rsLive(vs, rs, state)));
}

/** Virtual servers the nftables data plane serves, NAT or DR (the others go to the userspace forwarder). */
export function nftServed(vs: VirtualServer): boolean {
  return vs.forwarder !== 'userspace' && isNftScheduler(vs.scheduler);
}

/** Whether `table netdev tandem` is needed for these virtual servers. */
export function usesNetdev(vss: readonly VirtualServer[]): boolean {
  return drByName(vss).size > 0;
}

/** Whether `table ip6 tandem` is needed for these (nftables-served) virtual servers: an IPv6 one, NAT or DR. */
export function usesIp6(vss: readonly VirtualServer[]): boolean {
  return vss.some((vs) => nftServed(vs) && lbFamily(vs) === AF6);
}

/** rr/wrr with persistence_timeout use the dynamic-set stickiness; hash schedulers are sticky by hash. */
function usesPersistSets(vs: VirtualServer): boolean {
  return vs.persistenceTimeoutMs > 0 && (vs.scheduler === 'rr' || vs.scheduler === 'wrr');
}

const GUARD_TCP = 'rs_tcp';
const GUARD_UDP = 'rs_udp';

/** The whole table, replacing whatever was there, in one transaction (with the ip6 and netdev tables when used). */
export function renderFullTable(vss: readonly VirtualServer[], state: RsStateMap, opts: PlanOptions = {}): NftTransaction {
  const tx = familyTable(AF4, vss, state, opts);
  if (usesIp6(vss)) tx.append(familyTable(AF6, vss, state, opts));
  else if (opts.resetIp6) tx.append(new NftTransaction('ip6').deleteTable());

  const dr = [...drByName(vss).values()];
  const topo = opts.dr ?? EMPTY_TOPOLOGY;
  if (dr.length > 0 || opts.resetNetdev) {
    const n = new NftTransaction('netdev').resetTable();
    if (dr.length > 0) {
      drTableHead(n, ingressDevices(dr, topo), dr.some((vs) => lbFamily(vs) === AF6));
      for (const vs of dr) {
        declareDr(n, vs, topo);
        fillDr(n, vs, state, topo, opts.quorumUp?.get(vsKey(vs)) ?? true);
      }
      addDispatch(n, dr);
    }
    tx.append(n);
  }
  return tx;
}

/** `table ip tandem` or `table ip6 tandem` as a whole: the family's NAT virtual servers and its DR services' notrack. */
function familyTable(af: LbFamily, vss: readonly VirtualServer[], state: RsStateMap, opts: PlanOptions): NftTransaction {
  const tx = new NftTransaction(af.table).resetTable();
  tx.addTable();
  tx.addMap('services', `type ${af.addrType} . inet_proto . inet_service : verdict;`);
  tx.addSet(GUARD_TCP, `type ${af.addrType} . inet_service;`);
  tx.addSet(GUARD_UDP, `type ${af.addrType} . inet_service;`);
  tx.addChain('prerouting', { type: 'nat', hook: 'prerouting', priority: 'dstnat' });
  tx.addRule('prerouting', `${af.l3} daddr . meta l4proto . th dport vmap @services`);
  // The mid-stream guard (README "The mid-stream guard"): a packet from a real server's service
  // port that would start a new conntrack entry is never a new connection of ours: it is a
  // reply for a flow this board does not carry (yet). Dropping it keeps conntrack from creating
  // an un-NATed entry whose tuple then clashes with the client's next packet, which is DNATed
  // by the shared hash to this same real server. TCP SYNs from those ports (real server's own
  // outgoing connections) still pass.
  tx.addChain('forward', { type: 'filter', hook: 'forward', priority: 'filter' });
  tx.addRule('forward', `ct state new ${af.l3} saddr . tcp sport @${GUARD_TCP} tcp flags & (fin|syn|rst|ack) != syn counter drop`);
  tx.addRule('forward', `ct state new ${af.l3} saddr . udp sport @${GUARD_UDP} counter drop`);

  const served = servedByName(vss, af);
  for (const vs of served.values()) {
    declareVs(tx, vs);
    fillVs(tx, vs, state, opts);
  }
  tx.addElements('services', [...served.values()].map(serviceElement));
  const guard = guardEntries(served.values());
  tx.addElements(GUARD_TCP, [...guard.tcp]);
  tx.addElements(GUARD_UDP, [...guard.udp]);
  const dr = ofFamily(drByName(vss).values(), af);
  if (dr.length > 0) addNotrack(tx, dr);
  return tx;
}

/** The NAT virtual servers of one family nftables serves, by object name, checked (nft input is built from them). */
function servedByName(vss: Iterable<VirtualServer>, af: LbFamily): Map<string, VirtualServer> {
  const out = new Map<string, VirtualServer>();
  for (const vs of vss) {
    if (!nftServed(vs) || vs.method !== 'NAT' || lbFamily(vs) !== af) continue;
    const name = vsObjectName(vs);
    if (out.has(name)) throw new Error(`duplicate virtual server ${vsKey(vs)}`);
    for (const rs of [...vs.realServers, ...(vs.sorryServer ? [vs.sorryServer] : [])]) {
      // Addresses and ports end up in nft input: checked here even though the parser did.
      ipHex(rs.address, af.family);
      checkPort(rs.port);
    }
    checkPort(vs.port);
    out.set(name, vs);
  }
  return out;
}

function serviceKey(vs: VirtualServer): string {
  return `${vs.address} . ${l4(vs)} . ${vs.port}`;
}

function serviceElement(vs: VirtualServer): string {
  return `${serviceKey(vs)} : goto ${vsObjectName(vs)}`;
}

/** The mid-stream guard's elements: every configured real server and sorry server, by protocol. */
function guardEntries(vss: Iterable<VirtualServer>): { tcp: Set<string>; udp: Set<string> } {
  const out = { tcp: new Set<string>(), udp: new Set<string>() };
  for (const vs of vss) {
    const guard = vs.protocol === 'TCP' ? out.tcp : out.udp;
    for (const rs of [...vs.realServers, ...(vs.sorryServer ? [vs.sorryServer] : [])]) guard.add(`${rs.address} . ${rs.port}`);
  }
  return out;
}

export interface ReloadOptions {
  /** Quorum state per vsKey before the reload (what the kernel's chains were filled with). */
  prevQuorumUp?: ReadonlyMap<string, boolean>;
  /** Quorum state per vsKey after it. */
  quorumUp?: ReadonlyMap<string, boolean>;
  /** lb_kind DR's topology before the reload and after it. */
  prevDr?: DrTopology;
  dr?: DrTopology;
}

/** What a reload edit does, by virtual-server object name (for the log and the tests). */
export interface ReloadPlan {
  tx: NftTransaction;
  added: string[];
  removed: string[];
  /** Declarations changed (real servers, scheduler, persistence…): objects re-created, sets emptied. */
  replaced: string[];
  /** Same objects, other rules or slots (weights, quorum, sorry server): refilled, sets kept. */
  refilled: string[];
  unchanged: string[];
}

/**
 * A reload as one edit of the table the full apply of `prev` built: only the virtual servers
 * that were added, removed or changed are touched, so the dynamic persistence sets (`<vs>_p<j>`,
 * the clients stuck to a real server) of every other virtual server keep their elements, as
 * keepalived's reload removes only the IPVS services the new configuration lacks
 * (check/ipwrapper.c clear_diff_services) and so keeps the others' persistence. A virtual server
 * whose declaration changed (its real servers, scheduler, ports or persistence settings: set
 * j stands for real server j) is re-created, its sets with it; one whose rules or slots alone
 * changed is refilled as after a health change (renderRsChange). Nothing changed: an empty
 * transaction. `state` must cover the real servers of both lists.
 */
export function renderReload(prev: readonly VirtualServer[], next: readonly VirtualServer[], state: RsStateMap, opts: ReloadOptions = {}): ReloadPlan {
  const plan: ReloadPlan = { tx: new NftTransaction(), added: [], removed: [], replaced: [], refilled: [], unchanged: [] };
  reloadNat(plan, plan.tx, AF4, prev, next, state, opts);
  // table ip6 tandem exists while an IPv6 virtual server does: the first one creates it whole,
  // the last one's removal deletes it, and between them it is edited as the IPv4 table is.
  const had6 = usesIp6(prev);
  const has6 = usesIp6(next);
  const tx6 = new NftTransaction('ip6');
  const whole6 = had6 !== has6;
  if (!had6 && has6) {
    tx6.append(familyTable(AF6, next, state, { quorumUp: opts.quorumUp }));
    plan.added.push(...servedByName(next, AF6).keys());
  } else if (had6 && !has6) {
    tx6.deleteTable();
    plan.removed.push(...servedByName(prev, AF6).keys());
  } else if (had6) {
    reloadNat(plan, tx6, AF6, prev, next, state, opts);
  }
  const n = reloadDr(plan, prev, next, state, opts, whole6 ? [AF4] : [AF4, AF6], tx6);
  plan.tx.append(tx6).append(n);
  return plan;
}

/**
 * Sorts a reload's virtual servers into the plan's lists by comparing what they render: a new
 * declaration (chains, sets, maps) means replaced, only new contents (elements) refilled, the
 * same text unchanged. Returns the ones to delete and to create, and the names to refill.
 */
function classifyReload(
  plan: ReloadPlan, before: Map<string, VirtualServer>, after: Map<string, VirtualServer>, table: NftFamily,
  declare: (tx: NftTransaction, vs: VirtualServer, side: 'before' | 'after') => void,
  fill: (tx: NftTransaction, vs: VirtualServer, side: 'before' | 'after') => void,
): { gone: VirtualServer[]; fresh: VirtualServer[]; refilled: string[] } {
  const render = (f: (tx: NftTransaction) => void): string => {
    const tx = new NftTransaction(table);
    f(tx);
    return tx.render();
  };
  const added: string[] = [];
  const replaced: string[] = [];
  const refilled: string[] = [];
  for (const [name, vs] of after) {
    const old = before.get(name);
    if (!old) added.push(name);
    else if (render((tx) => declare(tx, old, 'before')) !== render((tx) => declare(tx, vs, 'after'))) replaced.push(name);
    else if (render((tx) => fill(tx, old, 'before')) !== render((tx) => fill(tx, vs, 'after'))) refilled.push(name);
    else plan.unchanged.push(name);
  }
  const removed = [...before.keys()].filter((name) => !after.has(name));
  plan.added.push(...added);
  plan.removed.push(...removed);
  plan.replaced.push(...replaced);
  plan.refilled.push(...refilled);
  return {
    gone: [...removed, ...replaced].map((x) => before.get(x)!),
    fresh: [...added, ...replaced].map((x) => after.get(x)!),
    refilled,
  };
}

/** renderReload's NAT part for one family's table, edited in `tx`. */
function reloadNat(plan: ReloadPlan, tx: NftTransaction, af: LbFamily, prev: readonly VirtualServer[], next: readonly VirtualServer[], state: RsStateMap, opts: ReloadOptions): void {
  const before = servedByName(prev, af);
  const after = servedByName(next, af);
  const { gone, fresh, refilled } = classifyReload(plan, before, after, af.table,
    (t, vs) => declareVs(t, vs),
    (t, vs, side) => fillVs(t, vs, state, { quorumUp: side === 'before' ? opts.prevQuorumUp : opts.quorumUp }));
  // References first: the service element jumps to the VS chain, whose rules use the sets and
  // the slot map, whose elements jump to the persistence chains.
  if (gone.length) tx.deleteElements('services', gone.map(serviceKey));
  for (const vs of gone) dropVs(tx, vs);
  for (const vs of fresh) {
    declareVs(tx, vs);
    fillVs(tx, vs, state, { quorumUp: opts.quorumUp });
  }
  if (fresh.length) tx.addElements('services', fresh.map(serviceElement));
  for (const name of refilled) refillVs(tx, after.get(name)!, state, { quorumUp: opts.quorumUp });
  const g0 = guardEntries(before.values());
  const g1 = guardEntries(after.values());
  for (const [set, a, b] of [[GUARD_TCP, g0.tcp, g1.tcp], [GUARD_UDP, g0.udp, g1.udp]] as const) {
    const del = [...a].filter((e) => !b.has(e));
    const add = [...b].filter((e) => !a.has(e));
    if (del.length) tx.deleteElements(set, del);
    if (add.length) tx.addElements(set, add);
  }
}

/** The notrack objects of one family's table from one set of DR virtual servers to another. */
function reloadNotrack(tx: NftTransaction, before: readonly VirtualServer[], after: readonly VirtualServer[]): void {
  if (before.length === 0 && after.length === 0) return;
  if (before.length === 0) addNotrack(tx, after);
  else if (after.length === 0) dropNotrack(tx);
  else editNotrack(tx, before, after);
}

/**
 * renderReload's lb_kind DR part: the netdev table (returned) and the notrack sets of the
 * families in `notrack` (IPv4's in plan.tx, IPv6's in tx6; a family whose table is re-created
 * or deleted whole has its notrack with it), edited the same way.
 */
function reloadDr(plan: ReloadPlan, prev: readonly VirtualServer[], next: readonly VirtualServer[], state: RsStateMap, opts: ReloadOptions,
  notrack: readonly LbFamily[], tx6: NftTransaction): NftTransaction {
  const before = drByName(prev);
  const after = drByName(next);
  const t0 = opts.prevDr ?? EMPTY_TOPOLOGY;
  const t1 = opts.dr ?? EMPTY_TOPOLOGY;
  const q0 = (vs: VirtualServer): boolean => opts.prevQuorumUp?.get(vsKey(vs)) ?? true;
  const q1 = (vs: VirtualServer): boolean => opts.quorumUp?.get(vsKey(vs)) ?? true;
  const n = new NftTransaction('netdev');
  if (before.size === 0 && after.size === 0) return n;
  for (const af of notrack) reloadNotrack(af === AF4 ? plan.tx : tx6, ofFamily(before.values(), af), ofFamily(after.values(), af));
  const v6 = (m: Map<string, VirtualServer>): boolean => [...m.values()].some((vs) => lbFamily(vs) === AF6);
  if (before.size === 0 || after.size === 0 || v6(before) !== v6(after)) {
    // The first DR virtual server creates the netdev table, the last removes it; the first or
    // last IPv6 one changes its head (the IPv6 dispatch maps and ingress rules): the table is
    // then built afresh (kept mode's remembered connections start over, docs/dr.md).
    if (after.size === 0) {
      n.deleteTable();
      plan.removed.push(...before.keys());
    } else {
      const vss = [...after.values()];
      n.resetTable();
      drTableHead(n, ingressDevices(vss, t1), v6(after));
      for (const vs of vss) { declareDr(n, vs, t1); fillDr(n, vs, state, t1, q1(vs)); }
      addDispatch(n, vss);
      for (const name of after.keys()) (before.has(name) ? plan.replaced : plan.added).push(name);
      plan.removed.push(...[...before.keys()].filter((name) => !after.has(name)));
    }
    return n;
  }
  const { gone, fresh, refilled } = classifyReload(plan, before, after, 'netdev',
    (tx, vs, side) => declareDr(tx, vs, side === 'before' ? t0 : t1),
    (tx, vs, side) => (side === 'before' ? fillDr(tx, vs, state, t0, q0(vs)) : fillDr(tx, vs, state, t1, q1(vs))));
  const has6 = v6(after);
  const d0 = new Set(ingressDevices(before.values(), t0));
  const d1 = new Set(ingressDevices(after.values(), t1));
  dropDispatch(n, gone);
  for (const vs of gone) dropDr(n, vs, t0, drKeptMode(vs, state, t0, q0(vs)));
  for (const d of d0) if (!d1.has(d)) dropIngress(n, d);
  for (const d of d1) if (!d0.has(d)) addIngress(n, d, has6);
  for (const vs of fresh) { declareDr(n, vs, t1); fillDr(n, vs, state, t1, q1(vs)); }
  addDispatch(n, fresh);
  for (const name of refilled) {
    const [old, vs] = [before.get(name)!, after.get(name)!];
    refillDr(n, vs, state, t1, q1(vs), drKeptMode(old, state, t0, q0(old)));
  }
  return n;
}

/**
 * The small edit after a real server's state (or the quorum) changed: this virtual server's
 * chain and slot map only, in one transaction. Persistence sets of real servers that went
 * down are flushed (not with inhibit_on_failure, which keeps its clients' stickiness).
 */
export function renderRsChange(vs: VirtualServer, state: RsStateMap, opts: PlanOptions = {}): NftTransaction {
  if (vs.method === 'DR') {
    const tx = new NftTransaction('netdev');
    if (nftServed(vs)) refillDr(tx, vs, state, opts.dr ?? EMPTY_TOPOLOGY, opts.quorumUp?.get(vsKey(vs)) ?? true, opts.drKept?.has(vsKey(vs)) ?? false);
    return tx;
  }
  const tx = new NftTransaction(lbFamily(vs).table);
  if (nftServed(vs)) refillVs(tx, vs, state, opts);
  return tx;
}

function refillVs(tx: NftTransaction, vs: VirtualServer, state: RsStateMap, opts: PlanOptions): void {
  const name = vsObjectName(vs);
  tx.flushChain(name).flushMap(`${name}_s`);
  if (usesPersistSets(vs)) {
    vs.realServers.forEach((rs, j) => {
      if (!rsLive(vs, rs, state).up && !rs.inhibitOnFailure) tx.flushSet(`${name}_p${j}`);
    });
  }
  fillVs(tx, vs, state, opts);
}

/** Removes a virtual server's objects (those declareVs made), emptying what refers to what first. */
function dropVs(tx: NftTransaction, vs: VirtualServer): void {
  const name = vsObjectName(vs);
  const persist = usesPersistSets(vs);
  tx.flushChain(name).flushMap(`${name}_s`);
  if (persist) vs.realServers.forEach((_rs, j) => tx.flushChain(`${name}_r${j}`));
  tx.deleteChain(name).deleteMap(`${name}_s`);
  if (persist) vs.realServers.forEach((_rs, j) => tx.deleteChain(`${name}_r${j}`).deleteSet(`${name}_p${j}`));
}

/** Removes the table (on stop), the ip6 one when IPv6 virtual servers used it, the netdev one when lb_kind DR did. */
export function renderStop(opts: { netdev?: boolean; ip6?: boolean } = {}): NftTransaction {
  const tx = new NftTransaction().deleteTable();
  if (opts.ip6) tx.append(new NftTransaction('ip6').deleteTable());
  if (opts.netdev) tx.append(new NftTransaction('netdev').deleteTable());
  return tx;
}

function l4(vs: VirtualServer): string {
  return vs.protocol === 'TCP' ? 'tcp' : 'udp';
}

/** Objects of one VS whose shape does not depend on health (created by the full apply only). */
function declareVs(tx: NftTransaction, vs: VirtualServer): void {
  const name = vsObjectName(vs);
  const af = lbFamily(vs);
  tx.addChain(name);
  if (usesPersistSets(vs)) {
    tx.addMap(`${name}_s`, 'typeof numgen inc mod 2 : verdict;');
    const client = maskedAddr(af, 'saddr', granularityOf(vs));
    const timeout = Math.max(1, Math.ceil(vs.persistenceTimeoutMs / 1000));
    vs.realServers.forEach((rs, j) => {
      tx.addSet(`${name}_p${j}`, `type ${af.addrType}; flags dynamic,timeout; timeout ${timeout}s; size 65535;`);
      tx.addChain(`${name}_r${j}`);
      tx.addRule(`${name}_r${j}`, `update @${name}_p${j} { ${client} }`);
      tx.addRule(`${name}_r${j}`, `meta l4proto ${l4(vs)} dnat ${af.l3} to ${natTarget(rs.address, rs.port)}`);
    });
  } else {
    const keyExpr = vs.scheduler === 'rr' || vs.scheduler === 'wrr' ? 'numgen inc mod 2' : `jhash ${af.l3} saddr mod 2 seed 0x0`;
    // One shared port: the map holds addresses only and the rule adds the port. nft parses a
    // plain address element about a third faster than an `addr . port` concatenation, which
    // matters for mh's 1,000 × M elements (bench/nft-apply.ts).
    const value = sharedPort(vs) === null ? `${af.l3} daddr . ${l4(vs)} dport` : `${af.l3} daddr`;
    tx.addMap(`${name}_s`, `typeof ${keyExpr} : ${value};`);
  }
}

/** The VS chain's rules and slot map elements for the current state (chain and map are empty). */
function fillVs(tx: NftTransaction, vs: VirtualServer, state: RsStateMap, opts: PlanOptions): void {
  const name = vsObjectName(vs);
  const af = lbFamily(vs);
  const proto = `meta l4proto ${l4(vs)}`;
  const quorumUp = opts.quorumUp?.get(vsKey(vs)) ?? true;
  // keepalived: quorum lost with a sorry server → the sorry server alone serves the VS.
  if (!quorumUp && vs.sorryServer) {
    tx.addRule(name, `${proto} dnat ${af.l3} to ${natTarget(vs.sorryServer.address, vs.sorryServer.port)}`);
    return;
  }
  const table = slotTable(vs, schedulableBackends(vs, state));
  if (table.slots.length === 0) {
    // No backend: drop rather than deliver to the board itself (the VIP is local on MASTER).
    tx.addRule(name, `${proto} counter drop`);
    return;
  }
  const expr = slotExpr(table);
  if (usesPersistSets(vs)) {
    const client = maskedAddr(af, 'saddr', granularityOf(vs));
    const index = new Map(vs.realServers.map((rs, j) => [`${rs.address}:${rs.port}`, j]));
    // Clients already stuck to a real server that is up go back to it (and refresh the timeout).
    vs.realServers.forEach((rs, j) => {
      if (rsLive(vs, rs, state).up) tx.addRule(name, `${client} @${name}_p${j} goto ${name}_r${j}`);
    });
    tx.addRule(name, `${expr} vmap @${name}_s`);
    tx.addElements(`${name}_s`, table.slots.map((b, i) => `${i} : goto ${name}_r${index.get(b.key)}`));
  } else {
    const port = sharedPort(vs);
    if (port === null) {
      tx.addRule(name, `${proto} dnat ${af.l3} to ${expr} map @${name}_s`);
      tx.addElements(`${name}_s`, table.slots.map((b, i) => `${i} : ${b.address} . ${b.port}`));
    } else {
      tx.addRule(name, `${proto} dnat ${af.l3} to ${expr} map @${name}_s : ${port}`);
      tx.addElements(`${name}_s`, table.slots.map((b, i) => `${i} : ${b.address}`));
    }
  }
}

/**
 * The port every configured real server of `vs` listens on, or null when they differ. Decided
 * from the configuration, not from health, so the slot map's type never changes in a small edit.
 */
function sharedPort(vs: VirtualServer): number | null {
  const first = vs.realServers[0]?.port;
  if (first === undefined) return null;
  return vs.realServers.every((rs) => rs.port === first) ? first : null;
}

/** The kernel expression that indexes the slot table. */
export function slotExpr(t: SlotTable): string {
  const n = t.slots.length;
  if (t.key.kind === 'numgen') return `numgen inc mod ${n}`;
  const keyed = t.key.prefix6 !== undefined
    ? maskedAddr(AF6, t.key.field, t.key.prefix6)
    : maskedAddr(AF4, t.key.field, ipv4MaskLength(t.key.mask) ?? 32);
  return `jhash ${keyed} mod ${n} seed 0x${t.key.seed.toString(16).padStart(8, '0')}`;
}
