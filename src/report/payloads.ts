// JSON payloads of DESIGN.md's "MQTT" table. Builders take plain data (nothing from the VRRP or
// LB internals) and produce the exact JSON a subscriber sees; readers (for the fleet view) check
// the shape and return null for anything else, so a stray publisher cannot crash the viewer.
// Times are ISO 8601 strings in UTC: readable in `mosquitto_sub` and parseable everywhere.

import type { RealServerStatus, VirtualServerStatus, VrrpInstanceStatus, VrrpState } from '../status.ts';

export const STATUS_ONLINE = 'online';
/** Published by us on a clean stop, before DISCONNECT. */
export const STATUS_OFFLINE = 'offline';
/** The will: the broker publishes it when the connection dies without DISCONNECT (MQTT 5 §3.1.2.5). */
export const STATUS_LOST = 'lost';
export type StatusValue = 'online' | 'offline' | 'lost';

export type VrrpStateValue = VrrpState;
const VRRP_STATES: readonly string[] = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'];

export interface BirthInterface {
  name: string;
  mac: string | null;
  addresses: string[];
}

export interface BirthPayload {
  version: string;
  board: string;
  /** When the board booted. */
  bootTime: string;
  /** +1 per MQTT connection, kept across restarts in the state directory (Sparkplug B's idea). */
  bdSeq: number;
  interfaces: BirthInterface[];
}

/**
 * What a `vrrp/INSTANCE` payload carries: the fields of the one status model (src/status.ts)
 * that DESIGN.md's MQTT table publishes. VIPs are "ADDRESS/PREFIX"; since is epoch ms here and
 * ISO 8601 on the wire.
 */
export type VrrpReport = Pick<VrrpInstanceStatus, 'state' | 'priority' | 'effectivePriority' | 'vips' | 'masterAddress' | 'since' | 'vrid' | 'interface'>;

export interface VrrpPayload extends Omit<VrrpReport, 'since'> {
  since: string;
}

/**
 * What an `lb/VS/RS` payload carries, from the one status model; lastCheck is epoch ms here.
 * `method` is the virtual server's forwarding method (NAT or DR), carried when given.
 */
export type RealServerReport = Pick<RealServerStatus, 'up' | 'weight' | 'lastCheck' | 'failures' | 'latencyMs'> & Partial<Pick<VirtualServerStatus, 'method'>>;

export interface RealServerPayload extends Omit<RealServerReport, 'lastCheck'> {
  lastCheck: string | null;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : new Date(0).toISOString();
}

export function birthPayload(b: { version: string; board: string; bootTimeMs: number; bdSeq: number; interfaces: BirthInterface[] }): string {
  const p: BirthPayload = {
    version: b.version,
    board: b.board,
    bootTime: iso(b.bootTimeMs),
    bdSeq: b.bdSeq,
    interfaces: b.interfaces.map((i) => ({ name: i.name, mac: i.mac, addresses: [...i.addresses] })),
  };
  return JSON.stringify(p);
}

export function vrrpPayload(r: VrrpReport): string {
  const p: VrrpPayload = {
    state: r.state,
    priority: r.priority,
    effectivePriority: r.effectivePriority,
    vips: [...r.vips],
    masterAddress: r.masterAddress,
    since: iso(r.since),
    vrid: r.vrid,
    interface: r.interface,
  };
  return JSON.stringify(p);
}

export function realServerPayload(r: RealServerReport): string {
  const p: RealServerPayload = {
    up: r.up,
    weight: r.weight,
    lastCheck: r.lastCheck === null ? null : iso(r.lastCheck),
    failures: r.failures,
    latencyMs: r.latencyMs,
    ...(r.method !== undefined ? { method: r.method } : {}),
  };
  return JSON.stringify(p);
}

/** Events: `{ type, time, ...fields }`; type e.g. "vrrp-transition", "rs-down", "reload", "login". */
export interface EventInput {
  type: string;
  [field: string]: unknown;
}

export function eventPayload(e: EventInput, nowMs: number): string {
  // `time` from the caller wins (it may know when the thing happened); otherwise now.
  return JSON.stringify({ time: iso(nowMs), ...e });
}

// ---- readers (fleet view) -------------------------------------------------------------------

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseJsonObject(payload: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(payload);
    return isObj(v) ? v : null;
  } catch {
    return null;
  }
}

export function readStatus(payload: string): StatusValue | null {
  return payload === 'online' || payload === 'offline' || payload === 'lost' ? payload : null;
}

export function readVrrp(payload: string): VrrpPayload | null {
  const o = parseJsonObject(payload);
  if (!o) return null;
  if (typeof o.state !== 'string' || !VRRP_STATES.includes(o.state)) return null;
  if (typeof o.vrid !== 'number' || !Array.isArray(o.vips)) return null;
  return {
    state: o.state as VrrpStateValue,
    priority: typeof o.priority === 'number' ? o.priority : 0,
    effectivePriority: typeof o.effectivePriority === 'number' ? o.effectivePriority : 0,
    vips: o.vips.filter((v): v is string => typeof v === 'string'),
    masterAddress: typeof o.masterAddress === 'string' ? o.masterAddress : null,
    since: typeof o.since === 'string' ? o.since : '',
    vrid: o.vrid,
    interface: typeof o.interface === 'string' ? o.interface : '',
  };
}

export function readRealServer(payload: string): RealServerPayload | null {
  const o = parseJsonObject(payload);
  if (!o || typeof o.up !== 'boolean') return null;
  return {
    up: o.up,
    weight: typeof o.weight === 'number' ? o.weight : 0,
    lastCheck: typeof o.lastCheck === 'string' ? o.lastCheck : null,
    failures: typeof o.failures === 'number' ? o.failures : 0,
    latencyMs: typeof o.latencyMs === 'number' ? o.latencyMs : null,
    ...(o.method === 'NAT' || o.method === 'DR' ? { method: o.method } : {}),
  };
}

export function readBirth(payload: string): BirthPayload | null {
  const o = parseJsonObject(payload);
  if (!o || typeof o.bdSeq !== 'number') return null;
  return {
    version: typeof o.version === 'string' ? o.version : '?',
    board: typeof o.board === 'string' ? o.board : '?',
    bootTime: typeof o.bootTime === 'string' ? o.bootTime : '',
    bdSeq: o.bdSeq,
    interfaces: Array.isArray(o.interfaces) ? (o.interfaces.filter(isObj) as unknown as BirthInterface[]) : [],
  };
}
