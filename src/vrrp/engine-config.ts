// What the VRRP worker needs from the configuration, as plain data that crosses postMessage.
// Built on the main thread from the one configuration model (DESIGN.md: nothing else reads
// configuration text).
import type { Config, IpRoute, IpRule, TrackRef, VrrpInstance, VirtualIp } from '../config/model.ts';
import { vmacAddress, vmacNames } from './vmac.ts';
import type { GarpSettings, MachineParams, RivalSettings } from './machine.ts';

export interface EngineVip {
  address: string;
  prefix: number;
  dev: string;
  label: string | null;
  brd: string | null;
  scope: string | null;
}

/** A route as `ip route` takes it (net/ip-route.ts); no_track changes nothing here (tandem watches no routes). */
export type EngineRoute = Omit<IpRoute, 'pos' | 'noTrack'>;
/** A rule as `ip rule` takes it, its preference always set (keepalived gives one when the file does not). */
export type EngineRule = Omit<IpRule, 'pos' | 'noTrack' | 'priority'> & { priority: number };

/** use_vmac: the macvlan an instance's VIPs live on (RFC 5798 §7.3 virtual MAC). */
export interface EngineVmac {
  name: string;
  /** The instance's own interface, the macvlan's lower device. */
  parent: string;
  mac: string;
  family: 4 | 6;
  /** vmac_xmit_base: adverts go out (and are heard) on the parent, with its MAC. */
  xmitBase: boolean;
}

/** What is set on either board at start and removed at stop (static_ipaddress, static_routes, static_rules). */
export interface EngineStatic {
  ips: EngineVip[];
  routes: EngineRoute[];
  rules: EngineRule[];
}

/**
 * What an instance tracks besides interfaces: vrrp_script results, track_process quorums and
 * track_file numbers, each reported by its tracker on the main thread (src/vrrp/trackers.ts)
 * through one message, and folded into the priority by track.ts.
 */
export type TrackedKind = 'script' | 'process' | 'file';

/** A script or process is up or down; a file holds a number (keepalived track_file.c). */
export type TrackedValue = boolean | number;

export interface EngineTracked {
  kind: TrackedKind;
  name: string;
  weight: number;
  reverse: boolean;
}

/** The key of a tracked thing in the engine's maps and in messages. */
export function trackedKey(kind: TrackedKind, name: string): string {
  return `${kind}:${name}`;
}

/** One vrrp_instance: the machine's parameters (machine.ts) and what the engine needs around it. */
export interface EngineInstance extends Omit<MachineParams, 'primaryIp' | 'sync' | 'garp' | 'rival'> {
  dev: string;
  vrid: number;
  /** The instance's family (keepalived: one instance, one family): IPv6 adverts go to ff02::12
   * from the interface's link-local address (RFC 5798 §5.1.2). */
  family: 4 | 6;
  authType: 'PASS' | 'AH' | null;
  authPass: string | null;
  /** All addresses this instance adds (virtual_ipaddress + _excluded; the excluded ones may be
   * of the other family). */
  vips: EngineVip[];
  /** The addresses carried in the advertisement (virtual_ipaddress only). */
  advertAddresses: string[];
  unicastSrcIp: string | null;
  unicastPeers: string[];
  /** Its own and its sync group's (keepalived applies a group's tracking to every member). */
  trackInterfaces: Array<{ name: string; weight: number }>;
  tracked: EngineTracked[];
  dontTrackPrimary: boolean;
  garp: GarpSettings;
  /** What it does on hearing another MASTER (machine.ts RivalSettings). */
  rival: RivalSettings;
  /** Where multicast adverts go and are heard (global_defs vrrp_mcast_group4 / vrrp_mcast_group6). */
  mcastGroup: string;
  /** use_vmac; null or absent without. */
  vmac?: EngineVmac | null;
  /** virtual_routes and virtual_rules (absent: none): added after the VIPs, removed before them. */
  routes?: EngineRoute[];
  rules?: EngineRule[];
}

/** The interface an instance's adverts leave and arrive on: its VMAC unless vmac_xmit_base, else its own. */
export function advertDev(c: Pick<EngineInstance, 'dev' | 'vmac'>): string {
  return c.vmac && !c.vmac.xmitBase ? c.vmac.name : c.dev;
}

export interface EngineSyncGroup {
  name: string;
  members: string[];
}

/** How the VRRP thread is scheduled (worker/scheduling.ts, docs/realtime.md). */
export interface EngineScheduling {
  /** SCHED_RR priority, 0 = SCHED_OTHER. */
  rtPriority: number;
  nice: number | null;
  /** Raise the realtime priority up to this when a timer fires late (0: never). */
  maxAutoPriority: number;
  /** How late a timer must fire before the priority is raised. */
  autoDelayMs: number;
}

/**
 * tandem gives the VRRP thread the lowest realtime priority unless told otherwise (keepalived
 * leaves its VRRP process SCHED_OTHER unless vrrp_rt_priority is set): the thread sleeps between
 * timers and packets, and CPU-bound neighbours then cannot delay its adverts (docs/realtime.md).
 */
export const DEFAULT_RT_PRIORITY = 1;

/** vrrp_startup_delay / vrrp_delay_after_boot: instances wait the longer of the two at start. */
export interface EngineStartup {
  delayMs: number;
  /** Until the system has been up this long (0: no such wait). */
  afterBootMs: number;
}

export interface EngineConfig {
  instances: EngineInstance[];
  syncGroups: EngineSyncGroup[];
  scheduling?: EngineScheduling;
  startup?: EngineStartup;
  /** dynamic_interfaces: an instance whose interface is missing waits for it in FAULT. */
  dynamicInterfaces?: boolean;
  static?: EngineStatic;
  /** vrrp_garp_interval / vrrp_gna_interval: least time between two GARPs (NAs) on one interface. */
  announce?: { garpIntervalMs: number; gnaIntervalMs: number };
}

/** How long instances wait at start, given the system's uptime (keepalived uses the longer delay). */
export function startupDelayMs(s: EngineStartup | undefined, uptimeMs: number | null): number {
  if (!s) return 0;
  const afterBoot = s.afterBootMs > 0 && uptimeMs !== null ? Math.max(0, s.afterBootMs - uptimeMs) : 0;
  return Math.max(s.delayMs, afterBoot);
}

/**
 * keepalived.conf(5) use_vmac: the VIPs and eVIPs of the instance's family that name no other
 * interface (none, or the instance's own) live on the VMAC. An eVIP of the other family stays
 * on the instance's interface (keepalived would put it on the VMAC, whose MAC is the other
 * family's).
 */
function vip(v: VirtualIp, inst: VrrpInstance, vmac: string | undefined): EngineVip {
  const onVmac = vmac !== undefined && (v.address.includes(':') ? 6 : 4) === inst.family && (v.dev === null || v.dev === inst.interface);
  return { address: v.address, prefix: v.prefix, dev: onVmac ? vmac : v.dev ?? inst.interface, label: v.label, brd: v.brd, scope: v.scope };
}

function staticVip(v: VirtualIp): EngineVip {
  return { address: v.address, prefix: v.prefix, dev: v.dev ?? '', label: v.label, brd: v.brd, scope: v.scope };
}

function engineRoute(r: IpRoute): EngineRoute {
  const { pos: _pos, noTrack: _noTrack, ...rest } = r;
  return rest;
}

/**
 * Rules without a preference get one as keepalived gives it (vrrp_iprule.c): counting down from
 * 16384 per family, in the order read (here: static_rules, then each instance's virtual_rules).
 */
function ruleNumbering(): (r: IpRule) => EngineRule {
  const next = { 4: 16384, 6: 16384 };
  return (r) => {
    const { pos: _pos, noTrack: _noTrack, priority, ...rest } = r;
    return { ...rest, priority: priority ?? next[r.family]-- };
  };
}

export function engineConfigFrom(cfg: Config): EngineConfig {
  const g = cfg.global;
  const scripts = new Map(cfg.scripts.map((s) => [s.name, s]));
  const files = new Map(cfg.trackFiles.map((f) => [f.name, f]));
  const processes = new Map(cfg.trackProcesses.map((p) => [p.name, p]));
  const groupOf = (name: string) => cfg.syncGroups.find((s) => s.group.includes(name)) ?? null;
  // A line's own weight (and reverse), else the tracked block's (keepalived vrrp_track.c and
  // track_file.c: the instance's `weight` overrides the block's; `reverse` only with a weight).
  const ref = (kind: 'file' | 'process', t: TrackRef, own: { weight: number; weightReverse: boolean } | undefined): EngineTracked => ({
    kind, name: t.name, weight: t.weight ?? own?.weight ?? 0, reverse: t.weight !== null ? t.reverse ?? false : own?.weightReverse ?? false,
  });
  const tracked = (o: Pick<VrrpInstance, 'trackScripts' | 'trackFiles' | 'trackProcesses'>): EngineTracked[] => [
    ...o.trackScripts.map((t): EngineTracked => {
      const s = scripts.get(t.name);
      return { kind: 'script', name: t.name, weight: t.weight ?? s?.weight ?? 0, reverse: s?.weightReverse ?? false };
    }),
    ...o.trackFiles.map((t) => ref('file', t, files.get(t.name))),
    ...o.trackProcesses.map((t) => ref('process', t, processes.get(t.name))),
  ];
  /** An instance's tracking, then its sync group's; a thing both track counts once (the instance's line). */
  const merged = <T extends { name: string; kind?: string }>(own: T[], group: T[]): T[] => [
    ...own, ...group.filter((x) => !own.some((o) => o.name === x.name && o.kind === x.kind)),
  ];
  const vmacs = vmacNames(cfg.instances);
  const rule = ruleNumbering();
  const statics: EngineStatic = { ips: cfg.staticIps.map(staticVip), routes: cfg.staticRoutes.map(engineRoute), rules: cfg.staticRules.map(rule) };
  return {
    static: statics,
    instances: cfg.instances.map((i) => ({
      name: i.name,
      dev: i.interface,
      vrid: i.virtualRouterId,
      family: i.family,
      version: i.version,
      priority: i.priority,
      advertIntMs: i.advertIntMs,
      nopreempt: i.nopreempt,
      preemptDelayMs: i.preemptDelayMs,
      initialState: i.initialState,
      authType: i.authentication?.type ?? null,
      authPass: i.authentication?.pass ?? null,
      vips: [...i.virtualIps, ...i.virtualIpsExcluded].map((v) => vip(v, i, vmacs.get(i.name))),
      advertAddresses: i.virtualIps.map((v) => v.address),
      unicastSrcIp: i.unicastSrcIp,
      unicastPeers: [...i.unicastPeers],
      trackInterfaces: merged(
        i.trackInterfaces.map((t) => ({ name: t.name, weight: t.weight })),
        (groupOf(i.name)?.trackInterfaces ?? []).map((t) => ({ name: t.name, weight: t.weight })),
      ),
      tracked: merged(tracked(i), tracked(groupOf(i.name) ?? { trackScripts: [], trackFiles: [], trackProcesses: [] })),
      dontTrackPrimary: i.dontTrackPrimary,
      garp: {
        repeat: i.garpMasterRepeat ?? g.garpMasterRepeat,
        delayMs: i.garpMasterDelayMs ?? g.garpMasterDelayMs,
        refreshMs: i.garpMasterRefreshMs ?? g.garpMasterRefreshMs,
        refreshRepeat: i.garpMasterRefreshRepeat ?? g.garpMasterRefreshRepeat,
      },
      rival: {
        garpRepeat: i.garpLowerPrioRepeat ?? g.garpLowerPrioRepeat,
        garpDelayMs: i.garpLowerPrioDelayMs ?? g.garpLowerPrioDelayMs,
        noAdvert: i.lowerPrioNoAdvert ?? g.lowerPrioNoAdvert,
        advertBeforeYielding: i.higherPrioSendAdvert ?? g.higherPrioSendAdvert,
      },
      // vrrp_mcast_group4 / vrrp_mcast_group6 (RFC 5798 §5.1.1.2 and §5.1.2.2 by default).
      mcastGroup: i.family === 6 ? g.vrrpMcastGroup6 : g.vrrpMcastGroup4,
      vmac: vmacs.has(i.name)
        ? { name: vmacs.get(i.name)!, parent: i.interface, mac: vmacAddress(i.virtualRouterId, i.family), family: i.family, xmitBase: i.vmacXmitBase && !g.vrrpStrict }
        : null,
      routes: i.virtualRoutes.map(engineRoute),
      rules: i.virtualRules.map(rule),
    })),
    syncGroups: cfg.syncGroups.map((s) => ({ name: s.name, members: [...s.group] })),
    scheduling: {
      rtPriority: g.vrrpRtPriority ?? DEFAULT_RT_PRIORITY,
      nice: g.vrrpPriority,
      maxAutoPriority: Math.max(0, g.maxAutoPriority),
      autoDelayMs: g.minAutoPriorityDelayMs,
    },
    startup: { delayMs: g.vrrpStartupDelayMs, afterBootMs: g.vrrpDelayAfterBootMs },
    dynamicInterfaces: g.dynamicInterfaces,
    announce: { garpIntervalMs: g.garpIntervalMs, gnaIntervalMs: g.gnaIntervalMs },
  };
}

/**
 * What makes an instance itself: a reload that changes any of it restarts the instance (with a
 * handover first); everything else a reload changes is applied in place (VrrpEngine.reconfigure).
 */
export function instanceIdentity(i: EngineInstance): string {
  // The multicast group too: the socket joins it when the instance is created; and the VMAC,
  // which is created with the instance and carries its sockets and VIPs.
  return JSON.stringify([i.dev, i.vrid, i.family, i.version, i.unicastSrcIp, i.mcastGroup, i.vmac ?? null]);
}

/** Interfaces whose link state the engine needs: the instances', tracked ones and the VIPs'. */
export function engineDevices(c: EngineConfig): string[] {
  const devs = new Set<string>();
  for (const i of c.instances) {
    devs.add(i.dev);
    for (const t of i.trackInterfaces) devs.add(t.name);
    for (const v of i.vips) devs.add(v.dev);
  }
  return [...devs];
}
