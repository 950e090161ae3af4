// What the VRRP worker needs from the configuration, as plain data that crosses postMessage.
// Built on the main thread from the one configuration model (DESIGN.md: nothing else reads
// configuration text).
import type { Config, VrrpInstance, VirtualIp } from '../config/model.ts';
import type { GarpSettings, MachineParams } from './machine.ts';

export interface EngineVip {
  address: string;
  prefix: number;
  dev: string;
  label: string | null;
  brd: string | null;
  scope: string | null;
}

/** One vrrp_instance: the machine's parameters (machine.ts) and what the engine needs around it. */
export interface EngineInstance extends Omit<MachineParams, 'primaryIp' | 'sync' | 'garp'> {
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
  trackInterfaces: Array<{ name: string; weight: number }>;
  trackScripts: Array<{ name: string; weight: number; reverse: boolean }>;
  dontTrackPrimary: boolean;
  garp: GarpSettings;
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

export interface EngineConfig {
  instances: EngineInstance[];
  syncGroups: EngineSyncGroup[];
  scheduling?: EngineScheduling;
}

function vip(v: VirtualIp, inst: VrrpInstance): EngineVip {
  return { address: v.address, prefix: v.prefix, dev: v.dev ?? inst.interface, label: v.label, brd: v.brd, scope: v.scope };
}

export function engineConfigFrom(cfg: Config): EngineConfig {
  const g = cfg.global;
  const scriptWeight = new Map(cfg.scripts.map((s) => [s.name, s]));
  return {
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
      vips: [...i.virtualIps, ...i.virtualIpsExcluded].map((v) => vip(v, i)),
      advertAddresses: i.virtualIps.map((v) => v.address),
      unicastSrcIp: i.unicastSrcIp,
      unicastPeers: [...i.unicastPeers],
      trackInterfaces: i.trackInterfaces.map((t) => ({ name: t.name, weight: t.weight })),
      trackScripts: i.trackScripts.map((t) => {
        const s = scriptWeight.get(t.name);
        return { name: t.name, weight: t.weight ?? s?.weight ?? 0, reverse: s?.weightReverse ?? false };
      }),
      dontTrackPrimary: i.dontTrackPrimary,
      garp: {
        repeat: i.garpMasterRepeat ?? g.garpMasterRepeat,
        delayMs: i.garpMasterDelayMs ?? g.garpMasterDelayMs,
        refreshMs: i.garpMasterRefreshMs ?? g.garpMasterRefreshMs,
        refreshRepeat: i.garpMasterRefreshRepeat ?? g.garpMasterRefreshRepeat,
      },
    })),
    syncGroups: cfg.syncGroups.map((s) => ({ name: s.name, members: [...s.group] })),
    scheduling: {
      rtPriority: g.vrrpRtPriority ?? DEFAULT_RT_PRIORITY,
      nice: g.vrrpPriority,
      maxAutoPriority: Math.max(0, g.maxAutoPriority),
      autoDelayMs: g.minAutoPriorityDelayMs,
    },
  };
}

/**
 * What makes an instance itself: a reload that changes any of it restarts the instance (with a
 * handover first); everything else a reload changes is applied in place (VrrpEngine.reconfigure).
 */
export function instanceIdentity(i: EngineInstance): string {
  return JSON.stringify([i.dev, i.vrid, i.family, i.version, i.unicastSrcIp]);
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
