// JSON payloads of DESIGN.md's "MQTT" table. Builders take plain data (nothing from the VRRP or
// LB internals) and produce the exact JSON a subscriber sees; readers (for the fleet view) check
// the shape and return null for anything else, so a stray publisher cannot crash the viewer.
// Times are ISO 8601 strings in UTC: readable in `mosquitto_sub` and parseable everywhere.

import type { RealServerStatus, VirtualServerStatus, VrrpInstanceStatus, VrrpState } from '../status.ts';
import type { SharedConfigDigest } from './shared-config.ts';

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
  /** The digest of what both boards of a pair must share (src/report/shared-config.ts); null unknown. */
  config: SharedConfigDigest | null;
}

/**
 * What a `vrrp/INSTANCE` payload carries: the fields of the one status model (src/status.ts)
 * that DESIGN.md's MQTT table publishes. VIPs are "ADDRESS/PREFIX"; since is epoch ms here and
 * ISO 8601 on the wire.
 */
export type VrrpReport = Pick<VrrpInstanceStatus, 'state' | 'priority' | 'effectivePriority' | 'vips' | 'masterAddress' | 'since' | 'vrid' | 'interface' | 'reason'>;

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

export function birthPayload(b: { version: string; board: string; bootTimeMs: number; bdSeq: number; interfaces: BirthInterface[]; config?: SharedConfigDigest | null }): string {
  const p: BirthPayload = {
    version: b.version,
    board: b.board,
    bootTime: iso(b.bootTimeMs),
    bdSeq: b.bdSeq,
    interfaces: b.interfaces.map((i) => ({ name: i.name, mac: i.mac, addresses: [...i.addresses] })),
    config: b.config ? { hash: b.config.hash, parts: { ...b.config.parts } } : null,
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
    reason: r.reason,
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
// Whoever may publish under the prefix chooses these values: strings are cut to MAX_TEXT and
// lists to MAX_ITEMS, so one payload cannot make a view's row a megabyte long.

/** Longest string a reader keeps (longer ones are cut, with an ellipsis). */
export const MAX_TEXT = 200;
/** Most list items a reader keeps (VIPs, interfaces, addresses, config parts). */
export const MAX_ITEMS = 64;

function text(v: unknown, fallback: string): string {
  if (typeof v !== 'string') return fallback;
  return v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, MAX_ITEMS).map((x) => text(x, '')) : [];
}

function finite(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

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
  if (!Number.isInteger(o.vrid)) return null;
  return {
    state: o.state as VrrpStateValue,
    priority: finite(o.priority, 0),
    effectivePriority: finite(o.effectivePriority, 0),
    vips: strings(o.vips),
    masterAddress: typeof o.masterAddress === 'string' ? text(o.masterAddress, '') : null,
    since: text(o.since, ''),
    vrid: o.vrid as number,
    interface: text(o.interface, ''),
    // Boards before this field existed send none.
    reason: text(o.reason, ''),
  };
}

export function readRealServer(payload: string): RealServerPayload | null {
  const o = parseJsonObject(payload);
  if (!o || typeof o.up !== 'boolean') return null;
  return {
    up: o.up,
    weight: finite(o.weight, 0),
    lastCheck: typeof o.lastCheck === 'string' ? text(o.lastCheck, '') : null,
    failures: finite(o.failures, 0),
    latencyMs: typeof o.latencyMs === 'number' && Number.isFinite(o.latencyMs) ? o.latencyMs : null,
    ...(o.method === 'NAT' || o.method === 'DR' ? { method: o.method } : {}),
  };
}

export function readBirth(payload: string): BirthPayload | null {
  const o = parseJsonObject(payload);
  if (!o || typeof o.bdSeq !== 'number' || !Number.isSafeInteger(o.bdSeq)) return null;
  const interfaces = Array.isArray(o.interfaces)
    ? o.interfaces.filter(isObj).slice(0, MAX_ITEMS).map((i) => ({ name: text(i.name, '?'), mac: typeof i.mac === 'string' ? text(i.mac, '') : null, addresses: strings(i.addresses) }))
    : [];
  return {
    version: text(o.version, '?'),
    board: text(o.board, '?'),
    bootTime: text(o.bootTime, ''),
    bdSeq: o.bdSeq,
    interfaces,
    config: readDigest(o.config),
  };
}

function readDigest(v: unknown): SharedConfigDigest | null {
  if (!isObj(v) || typeof v.hash !== 'string' || !isObj(v.parts)) return null;
  const parts: Record<string, string> = {};
  for (const [k, d] of Object.entries(v.parts).slice(0, 4 * MAX_ITEMS)) if (typeof d === 'string') parts[text(k, '')] = text(d, '');
  return { hash: text(v.hash, ''), parts };
}
