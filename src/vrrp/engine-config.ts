// What the VRRP worker needs from the configuration, as plain data that crosses postMessage.
// Built on the main thread from the one configuration model (DESIGN.md: nothing else reads
// configuration text).
import type { Config, VrrpInstance, VirtualIp, Command } from '../config/model.ts';
import type { GarpSettings } from './machine.ts';

export interface EngineVip {
  address: string;
  prefix: number;
  dev: string;
  label: string | null;
  brd: string | null;
  scope: string | null;
}

export interface EngineInstance {
  name: string;
  dev: string;
  vrid: number;
  version: 2 | 3;
  priority: number;
  advertIntMs: number;
  nopreempt: boolean;
  preemptDelayMs: number;
  initialState: 'MASTER' | 'BACKUP';
  authType: 'PASS' | 'AH' | null;
  authPass: string | null;
  /** All addresses this instance adds (virtual_ipaddress + _excluded). */
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

export interface EngineConfig {
  instances: EngineInstance[];
  syncGroups: EngineSyncGroup[];
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
  };
}

/** Notify programs of an instance (run on the main thread: they are not timing-critical). */
export interface NotifyCommands {
  notify: Command | null;
  master: Command | null;
  backup: Command | null;
  fault: Command | null;
  stop: Command | null;
}
