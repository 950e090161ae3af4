// The fleet model: every board under one prefix, from the messages a `PREFIX/+/#` subscriber
// receives. Pure: messages and the time come in as arguments.
//
// Pairs. The two boards of a pair run one VRRP instance with the same VRID on the same segment,
// and (by configuration) the same VIP set. VRIDs are reused across segments, so the pair key is
// VRID + the sorted VIP set from the vrrp/INSTANCE payloads. Sites that reuse private addresses
// can repeat even that: when more than two boards share a key, they are split by the boards
// they hear: a BACKUP's masterAddress is one of the MASTER's own addresses (its birth's
// interfaces, or what it reports as MASTER), which links the two boards. Links are remembered,
// so a pair that later splits its brain (each then hears only itself) stays one pair. Boards of
// a crowded key that nothing links yet stay together, and so do sites that repeat the
// addresses too (nothing in the payloads tells them apart: such sites need their own prefixes).
// Flags, counting only boards that are online (a lost board's retained state is history):
// - split brain: two or more MASTERs in one pair (the boards cannot hear each other);
// - no master: members online, none MASTER.
//
// Stale wills. A board's `status` carries the bdSeq of its session (MQTT 5 user property
// "bdSeq", also on the will, src/report/session.ts). A session the broker has not yet noticed
// dead (after a power cut and a reboot, say) publishes its `lost` will late, over the `online`
// of the session that replaced it: a `lost` whose bdSeq is below the board's newest known one
// (its birth's, or an accepted status's) is such a stale will and is ignored (counted).
//
// Drift. `birth` carries the version and the digest of the configuration both boards must share
// (src/report/shared-config.ts); a pair whose boards differ in either is flagged with what differs.
//
// Timeline and history. Every state a board's vrrp/INSTANCE payload enters (with its `since`
// and `reason`) and every status change of a board goes on a bounded timeline; every health
// payload adds a point (CPU, temperature, traffic, conntrack) to the board's last hour.
//
// Bounds. Whoever can publish under the prefix can send anything: payloads over
// MAX_PAYLOAD_BYTES, node names over MAX_NODE_CHARS, boards beyond MAX_BOARDS and entries of one
// board beyond MAX_ENTRIES_PER_BOARD are dropped and counted (`dropped`), never kept.
//
// Everything here is data from the broker; what displays it escapes it (src/report/escape.ts).

import {
  readBirth,
  readRealServer,
  readStatus,
  readVrrp,
  parseJsonObject,
  type BirthPayload,
  type RealServerPayload,
  type StatusValue,
  type VrrpPayload,
} from './payloads.ts';
import { parseTopic, type ParsedTopic } from './topics.ts';
import { escapeTerminal } from './escape.ts';

/** One health sample of a board, for the charts. null: the payload did not say. */
export interface HealthPoint {
  at: number;
  cpu: number | null;
  temp: number | null;
  /** Bytes per second over all NICs (received + sent), from the counters' change since the last sample. */
  traffic: number | null;
  conntrack: number | null;
}

export interface BoardState {
  /** Small number, stable while the viewer runs (the page keys charts by it, never by name). */
  id: number;
  node: string;
  status: StatusValue | null;
  birth: BirthPayload | null;
  health: Record<string, unknown> | null;
  lastHealthAt: number | null;
  /** intervalMs from the last health payload. */
  healthIntervalMs: number | null;
  /** bdSeq of the session that published `status`, when it said (MQTT 5). */
  statusBdSeq: number | null;
  vrrp: Map<string, VrrpPayload>;
  /** "VS/RS" (topic levels) → payload. */
  lb: Map<string, RealServerPayload>;
  lastSeenAt: number;
  /** The last hour of health points, oldest first. */
  history: HealthPoint[];
  /** NIC byte totals and time of the last health payload, for the traffic rate. */
  lastTraffic: { at: number; bytes: number } | null;
}

export interface TimelineEntry {
  /** Epoch ms: the payload's `since` for VRRP, the arrival for board status. */
  at: number;
  node: string;
  kind: 'vrrp' | 'board';
  /** VRRP instance (kind vrrp). */
  instance: string | null;
  vrid: number | null;
  /** The state before, when the viewer knew it. */
  from: string | null;
  to: string;
  /** keepalived's wording for VRRP; for a board what its status means. */
  reason: string;
}

export interface FleetModel {
  prefix: string;
  startedAt: number;
  boards: Map<string, BoardState>;
  /** Messages the model could not use, by reason. */
  rejected: { topic: number; payload: number };
  /** `lost` wills of sessions older than the board's newest (ignored, see above). */
  staleWills: number;
  lastEvents: Array<{ node: string; at: number; event: Record<string, unknown> }>;
  /** Messages dropped for a bound (see above), by bound. */
  dropped: { oversize: number; boards: number; entries: number; nodeName: number };
  /** Newest last; at most MAX_TIMELINE. */
  timeline: TimelineEntry[];
  /** Board links proven by masterAddress (see Pairs above): "KEY|NODE|NODE", names sorted. */
  links: Set<string>;
  /** +1 per message that changed something: viewers redraw when it moves. */
  version: number;
  nextId: number;
}

export type BoardCondition = 'online' | 'offline' | 'lost' | 'stale' | 'unknown';

/** Health older than this many intervals makes an online board stale. */
export const STALE_INTERVALS = 3;
/** Used when the interval is unknown (no health yet). */
export const DEFAULT_STALE_MS = 30_000;
const MAX_EVENTS = 20;
/** A board's largest payload (birth with its interfaces, health with its NICs) is a few KiB. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_NODE_CHARS = 128;
export const MAX_BOARDS = 2000;
/** VRRP instances or real servers of one board. */
export const MAX_ENTRIES_PER_BOARD = 1024;
export const MAX_TIMELINE = 500;
export const HISTORY_MS = 3600_000;
/** Health points kept per board: one hour at one per 5 s; faster boards are thinned to that. */
export const MAX_HISTORY_POINTS = 720;
const MAX_LINKS = 10_000;

export function newFleet(prefix: string, now: number): FleetModel {
  return {
    prefix, startedAt: now, boards: new Map(), rejected: { topic: 0, payload: 0 }, staleWills: 0, lastEvents: [],
    dropped: { oversize: 0, boards: 0, entries: 0, nodeName: 0 }, timeline: [], links: new Set(), version: 0, nextId: 1,
  };
}

/** The board a message is about; null (counted) when a new one would pass MAX_BOARDS. */
function board(m: FleetModel, node: string, now: number): BoardState | null {
  let b = m.boards.get(node);
  if (!b) {
    if (m.boards.size >= MAX_BOARDS) {
      m.dropped.boards++;
      return null;
    }
    b = {
      id: m.nextId++, node, status: null, statusBdSeq: null, birth: null, health: null, lastHealthAt: null, healthIntervalMs: null,
      vrrp: new Map(), lb: new Map(), lastSeenAt: now, history: [], lastTraffic: null,
    };
    m.boards.set(node, b);
  }
  b.lastSeenAt = now;
  return b;
}

function note(m: FleetModel, e: TimelineEntry): void {
  m.timeline.push(e);
  if (m.timeline.length > MAX_TIMELINE) m.timeline.splice(0, m.timeline.length - MAX_TIMELINE);
}

const STATUS_MEANS: Record<StatusValue, string> = {
  online: 'connected to the broker',
  offline: 'stopped cleanly',
  lost: 'connection lost: the broker published its will',
};

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A health payload as a chart point (traffic from the NIC byte counters' change). */
function healthPoint(b: BoardState, h: Record<string, unknown>, now: number): HealthPoint {
  let bytes: number | null = null;
  if (Array.isArray(h.nics)) {
    bytes = 0;
    for (const n of h.nics.slice(0, 64)) {
      const o = (typeof n === 'object' && n !== null ? n : {}) as Record<string, unknown>;
      bytes += (finiteOrNull(o.rxBytes) ?? 0) + (finiteOrNull(o.txBytes) ?? 0);
    }
  }
  let traffic: number | null = null;
  if (bytes !== null && b.lastTraffic && now > b.lastTraffic.at && bytes >= b.lastTraffic.bytes) {
    traffic = Math.round(((bytes - b.lastTraffic.bytes) * 1000) / (now - b.lastTraffic.at));
  }
  b.lastTraffic = bytes === null ? null : { at: now, bytes };
  return { at: now, cpu: finiteOrNull(h.cpuPercent), temp: finiteOrNull(h.temperatureC), traffic, conntrack: finiteOrNull(h.conntrackCount) };
}

function addPoint(b: BoardState, p: HealthPoint): void {
  const hist = b.history;
  // Thinned to one point per HISTORY_MS / MAX_HISTORY_POINTS: a board reporting every second
  // replaces its last point until that much time has passed.
  const step = HISTORY_MS / MAX_HISTORY_POINTS;
  if (hist.length >= 2 && p.at - hist[hist.length - 2]!.at < step) hist[hist.length - 1] = p;
  else hist.push(p);
  while (hist.length > 0 && (hist[0]!.at < p.at - HISTORY_MS || hist.length > MAX_HISTORY_POINTS)) hist.shift();
}

/** What the message's MQTT 5 properties say (user property "bdSeq"). */
export interface MessageMeta {
  bdSeq?: number | null;
}

/** The newest session of the board we know of: its birth's bdSeq or the last accepted status's. */
function newestSeq(b: BoardState): number | null {
  const seqs = [b.birth?.bdSeq, b.statusBdSeq].filter((x): x is number => typeof x === 'number');
  return seqs.length ? Math.max(...seqs) : null;
}

/** Folds one message into the model. Returns false (and counts it) when it was not usable. */
export function applyMessage(m: FleetModel, topic: string, payload: string, now: number, meta: MessageMeta = {}): boolean {
  if (payload.length > MAX_PAYLOAD_BYTES) {
    m.dropped.oversize++;
    return false;
  }
  const t = parseTopic(m.prefix, topic);
  if (!t) {
    m.rejected.topic++;
    return false;
  }
  if (t.node.length > MAX_NODE_CHARS) {
    m.dropped.nodeName++;
    return false;
  }
  const ok = applyParsed(m, t, payload, now, meta);
  if (ok) m.version++;
  return ok;
}

function applyParsed(m: FleetModel, t: ParsedTopic, payload: string, now: number, meta: MessageMeta): boolean {
  const reject = (): false => {
    m.rejected.payload++;
    return false;
  };
  switch (t.kind) {
    case 'status': {
      const s = readStatus(payload);
      if (!s) return reject();
      const b = board(m, t.node, now);
      if (!b) return false;
      const seq = typeof meta.bdSeq === 'number' && Number.isSafeInteger(meta.bdSeq) ? meta.bdSeq : null;
      const newest = newestSeq(b);
      if (s === 'lost' && seq !== null && newest !== null && seq < newest) {
        m.staleWills++;
        // Keep what the newer session said; with nothing yet, keep the will: boardCondition
        // sees the newer birth and does not believe it.
        if (b.status !== null) return true;
      }
      if (b.status !== null && b.status !== s) note(m, { at: now, node: t.node, kind: 'board', instance: null, vrid: null, from: b.status, to: s, reason: STATUS_MEANS[s] });
      b.status = s;
      b.statusBdSeq = seq;
      return true;
    }
    case 'birth': {
      const bp = readBirth(payload);
      if (!bp) return reject();
      const b = board(m, t.node, now);
      if (!b) return false;
      b.birth = bp;
      return true;
    }
    case 'health': {
      const h = parseJsonObject(payload);
      if (!h) return reject();
      const b = board(m, t.node, now);
      if (!b) return false;
      b.health = h;
      b.lastHealthAt = now;
      b.healthIntervalMs = typeof h.intervalMs === 'number' && Number.isFinite(h.intervalMs) && h.intervalMs > 0 ? h.intervalMs : null;
      addPoint(b, healthPoint(b, h, now));
      return true;
    }
    case 'events': {
      const e = parseJsonObject(payload);
      if (!e) return reject();
      if (!board(m, t.node, now)) return false;
      m.lastEvents.push({ node: t.node, at: now, event: e });
      if (m.lastEvents.length > MAX_EVENTS) m.lastEvents.shift();
      return true;
    }
    case 'vrrp': {
      // Empty retained payload = the board removed the instance.
      if (payload === '') {
        m.boards.get(t.node)?.vrrp.delete(t.instance);
        return true;
      }
      const v = readVrrp(payload);
      if (!v) return reject();
      const b = board(m, t.node, now);
      if (!b) return false;
      const prev = b.vrrp.get(t.instance);
      if (!prev && b.vrrp.size >= MAX_ENTRIES_PER_BOARD) {
        m.dropped.entries++;
        return false;
      }
      b.vrrp.set(t.instance, v);
      if (!prev || prev.state !== v.state || prev.since !== v.since) {
        const at = Date.parse(v.since);
        note(m, { at: Number.isFinite(at) ? at : now, node: t.node, kind: 'vrrp', instance: t.instance, vrid: v.vrid, from: prev?.state ?? null, to: v.state, reason: v.reason });
      }
      return true;
    }
    case 'lb': {
      const key = `${t.vs}/${t.rs}`;
      if (payload === '') {
        m.boards.get(t.node)?.lb.delete(key);
        return true;
      }
      const r = readRealServer(payload);
      if (!r) return reject();
      const b = board(m, t.node, now);
      if (!b) return false;
      if (!b.lb.has(key) && b.lb.size >= MAX_ENTRIES_PER_BOARD) {
        m.dropped.entries++;
        return false;
      }
      b.lb.set(key, r);
      return true;
    }
    case 'cmd/rebirth':
      return true; // someone asked for a rebirth; nothing to show
  }
}

/** A `lost` from a session older than the board's birth (the birth came after it). */
function staleLost(b: BoardState): boolean {
  return b.status === 'lost' && b.statusBdSeq !== null && b.birth !== null && b.birth.bdSeq > b.statusBdSeq;
}

export function boardCondition(b: BoardState, m: FleetModel, now: number): BoardCondition {
  // A newer session was born after the one whose will this is, and has said nothing since:
  // as far as anyone knows, it is online.
  if (b.status === 'lost' && !staleLost(b)) return 'lost';
  if (b.status === 'offline') return 'offline';
  if (b.status !== 'online' && !staleLost(b)) return 'unknown';
  const staleMs = b.healthIntervalMs ? STALE_INTERVALS * b.healthIntervalMs : DEFAULT_STALE_MS;
  const since = b.lastHealthAt ?? m.startedAt; // health is not retained: count from when we started listening
  return now - since > staleMs ? 'stale' : 'online';
}

export interface PairMember {
  node: string;
  instance: string;
  condition: BoardCondition;
  state: VrrpPayload['state'];
  priority: number;
  effectivePriority: number;
  interface: string;
  masterAddress: string | null;
  since: string;
  reason: string;
}

export interface Pair {
  /** Stable while the same boards share the VRID and VIPs: "VRID|VIPS|NODES". */
  id: string;
  vrid: number;
  vips: string[];
  /** The boards of the pair, sorted. */
  boards: string[];
  members: PairMember[];
  splitBrain: boolean;
  noMaster: boolean;
  /** Online (or stale) members that are MASTER. */
  masters: string[];
  /** Members whose board is lost. */
  lost: string[];
  /** What the boards disagree on (versions, shared configuration parts); empty when they agree. */
  drift: string[];
}

/** Boards whose retained state counts for the flags: online or stale (still connected). */
function counts(c: BoardCondition): boolean {
  return c === 'online' || c === 'stale';
}

/** The addresses a board owns: its birth's interfaces, and its own address when it reports MASTER. */
function ownAddresses(b: BoardState): Set<string> {
  const out = new Set<string>();
  for (const i of b.birth?.interfaces ?? []) for (const a of i.addresses) out.add(a.split('/')[0]!);
  for (const v of b.vrrp.values()) if (v.state === 'MASTER' && v.masterAddress) out.add(v.masterAddress);
  return out;
}

/** Splits the members of one crowded key into pairs by the boards they hear (see Pairs above). */
function splitByLinks(m: FleetModel, key: string, members: PairMember[]): PairMember[][] {
  const nodes = [...new Set(members.map((x) => x.node))].sort();
  if (nodes.length <= 2) return [members];
  const parent = new Map(nodes.map((n) => [n, n]));
  const find = (n: string): string => {
    let r = n;
    while (parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  const join = (a: string, b: string): void => {
    parent.set(find(a), find(b));
  };
  const owned = new Map(nodes.map((n) => [n, ownAddresses(m.boards.get(n)!)]));
  for (const x of members) {
    if (x.state !== 'BACKUP' || !x.masterAddress) continue;
    for (const y of nodes) {
      if (y === x.node || !owned.get(y)!.has(x.masterAddress)) continue;
      if (m.links.size < MAX_LINKS) m.links.add(`${key}|${[x.node, y].sort().join('|')}`);
    }
  }
  for (const l of m.links) {
    if (!l.startsWith(`${key}|`)) continue;
    const [a, b] = l.slice(key.length + 1).split('|');
    if (a && b && parent.has(a) && parent.has(b)) join(a, b);
  }
  const groups = new Map<string, PairMember[]>();
  const alone: PairMember[] = [];
  const size = new Map<string, number>();
  for (const n of nodes) size.set(find(n), (size.get(find(n)) ?? 0) + 1);
  for (const x of members) {
    const r = find(x.node);
    if ((size.get(r) ?? 0) < 2) {
      alone.push(x);
      continue;
    }
    let g = groups.get(r);
    if (!g) groups.set(r, (g = []));
    g.push(x);
  }
  const out = [...groups.values()];
  if (alone.length > 0) out.push(alone);
  return out;
}

/** What the boards of a pair disagree on, from their births. */
export function driftOf(m: FleetModel, nodes: readonly string[]): string[] {
  const births = nodes.map((n) => ({ node: n, birth: m.boards.get(n)?.birth ?? null })).filter((x) => x.birth !== null);
  if (births.length < 2) return [];
  const out: string[] = [];
  const versions = new Set(births.map((x) => x.birth!.version));
  if (versions.size > 1) out.push(`version: ${births.map((x) => `${x.node} ${x.birth!.version}`).join(', ')}`);
  const withConfig = births.filter((x) => x.birth!.config !== null);
  if (withConfig.length >= 2 && new Set(withConfig.map((x) => x.birth!.config!.hash)).size > 1) {
    const keys = [...new Set(withConfig.flatMap((x) => Object.keys(x.birth!.config!.parts)))].sort();
    for (const k of keys) {
      const have = withConfig.filter((x) => k in x.birth!.config!.parts);
      if (have.length < withConfig.length) out.push(`${k}: only on ${have.map((x) => x.node).join(', ')}`);
      else if (new Set(have.map((x) => x.birth!.config!.parts[k])).size > 1) out.push(`${k} differs`);
    }
    if (out.length === (versions.size > 1 ? 1 : 0)) out.push('shared configuration differs');
  }
  return out;
}

export function pairs(m: FleetModel, now: number): Pair[] {
  const groups = new Map<string, { vrid: number; vips: string[]; members: PairMember[] }>();
  for (const b of m.boards.values()) {
    const cond = boardCondition(b, m, now);
    for (const [instance, v] of b.vrrp) {
      const vips = [...v.vips].sort();
      const key = `${v.vrid}|${vips.join(',')}`;
      let g = groups.get(key);
      if (!g) {
        g = { vrid: v.vrid, vips, members: [] };
        groups.set(key, g);
      }
      g.members.push({
        node: b.node,
        instance,
        condition: cond,
        state: v.state,
        priority: v.priority,
        effectivePriority: v.effectivePriority,
        interface: v.interface,
        masterAddress: v.masterAddress,
        since: v.since,
        reason: v.reason,
      });
    }
  }
  const out: Pair[] = [];
  for (const [key, g] of groups) {
    for (const members of splitByLinks(m, key, g.members)) {
      members.sort((a, b) => a.node.localeCompare(b.node) || a.instance.localeCompare(b.instance));
      const boards = [...new Set(members.map((x) => x.node))].sort();
      const live = members.filter((x) => counts(x.condition));
      const masters = live.filter((x) => x.state === 'MASTER');
      out.push({
        id: `${key}|${boards.join(',')}`,
        vrid: g.vrid,
        vips: g.vips,
        boards,
        members,
        splitBrain: masters.length >= 2,
        noMaster: live.length > 0 && masters.length === 0,
        masters: [...new Set(masters.map((x) => x.node))],
        lost: [...new Set(members.filter((x) => x.condition === 'lost').map((x) => x.node))],
        drift: driftOf(m, boards),
      });
    }
  }
  return out.sort((a, b) => a.vrid - b.vrid || a.vips.join().localeCompare(b.vips.join()) || a.boards.join().localeCompare(b.boards.join()));
}

export interface RealServerRow {
  vs: string;
  rs: string;
  byNode: Record<string, RealServerPayload>;
}

export function realServers(m: FleetModel): RealServerRow[] {
  const rows = new Map<string, RealServerRow>();
  for (const b of m.boards.values()) {
    for (const [key, r] of b.lb) {
      const i = key.indexOf('/');
      const vs = key.slice(0, i);
      const rs = key.slice(i + 1);
      let row = rows.get(key);
      if (!row) {
        row = { vs, rs, byNode: {} };
        rows.set(key, row);
      }
      row.byNode[b.node] = r;
    }
  }
  return [...rows.values()].sort((a, b) => a.vs.localeCompare(b.vs) || a.rs.localeCompare(b.rs));
}

/** Plain JSON for `tandem fleet --json`. */
export function fleetSnapshot(m: FleetModel, now: number): object {
  const ps = pairs(m, now);
  const boards = [...m.boards.values()]
    .sort((a, b) => a.node.localeCompare(b.node))
    .map((b) => ({
      node: b.node,
      condition: boardCondition(b, m, now),
      status: b.status,
      board: b.birth?.board ?? null,
      version: b.birth?.version ?? null,
      bdSeq: b.birth?.bdSeq ?? null,
      lastHealthAgeMs: b.lastHealthAt === null ? null : now - b.lastHealthAt,
      health: b.health,
    }));
  return {
    time: new Date(now).toISOString(),
    prefix: m.prefix,
    boards,
    pairs: ps,
    realServers: realServers(m),
    alerts: alerts(ps, boards),
    timeline: m.timeline.slice(-TIMELINE_SHOWN).reverse(),
    rejected: { ...m.rejected },
    dropped: { ...m.dropped },
    staleWills: m.staleWills,
  };
}

/** Entries of the timeline a view shows, newest first. */
export const TIMELINE_SHOWN = 50;

export interface Alert {
  kind: 'split-brain' | 'no-master' | 'lost' | 'stale' | 'drift';
  vrid?: number;
  vips?: string[];
  node?: string;
  boards?: string[];
  differs?: string[];
}

/** What needs an operator: per pair (split brain, no master), per board (lost, stale), per pair of boards (drift). */
export function alerts(ps: readonly Pair[], boards: ReadonlyArray<{ node: string; condition: BoardCondition }>): Alert[] {
  const drift = new Map<string, Alert>();
  for (const p of ps) if (p.drift.length > 0) drift.set(p.boards.join(','), { kind: 'drift', boards: p.boards, differs: p.drift });
  return [
    ...ps.filter((p) => p.splitBrain).map((p): Alert => ({ kind: 'split-brain', vrid: p.vrid, vips: p.vips })),
    ...ps.filter((p) => p.noMaster).map((p): Alert => ({ kind: 'no-master', vrid: p.vrid, vips: p.vips })),
    ...boards.filter((b) => b.condition === 'lost' || b.condition === 'stale').map((b): Alert => ({ kind: b.condition as 'lost' | 'stale', node: b.node })),
    ...drift.values(),
  ];
}

function num(v: unknown, digits = 0, unit = ''): string {
  return typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(digits)}${unit}` : '-';
}

/** A table for the terminal; every cell is escaped (they hold names and fields from MQTT). */
function table(head: string[], rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map(escapeTerminal));
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(w[i] ?? 0)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** The terminal table of `tandem fleet`. */
export function renderFleetTable(m: FleetModel, now: number): string {
  const out: string[] = [];
  const boards = [...m.boards.values()].sort((a, b) => a.node.localeCompare(b.node));
  out.push(
    table(
      ['BOARD', 'STATE', 'TYPE', 'VERSION', 'CPU', 'MEM', 'TEMP', 'CONNTRACK', 'UPTIME', 'HEALTH AGE'],
      boards.map((b) => {
        const h = b.health ?? {};
        const mem = (h.memory ?? null) as { usedPercent?: unknown } | null;
        const up = typeof h.uptimeS === 'number' ? `${Math.floor(h.uptimeS / 3600)}h${Math.floor((h.uptimeS % 3600) / 60)}m` : '-';
        return [
          b.node,
          boardCondition(b, m, now).toUpperCase(),
          b.birth?.board ?? '-',
          b.birth?.version ?? '-',
          num(h.cpuPercent, 0, '%'),
          num(mem?.usedPercent, 0, '%'),
          num(h.temperatureC, 1, 'C'),
          num(h.conntrackCount),
          up,
          b.lastHealthAt === null ? '-' : `${Math.round((now - b.lastHealthAt) / 1000)}s`,
        ];
      }),
    ),
  );
  const ps = pairs(m, now);
  out.push('');
  out.push(
    table(
      ['VRID', 'VIPS', 'MEMBERS', 'FLAGS'],
      ps.map((p) => [
        String(p.vrid),
        p.vips.join(','),
        p.members.map((x) => `${x.node}:${x.state}(${x.effectivePriority})${counts(x.condition) ? '' : `[${x.condition}]`}`).join(' '),
        [p.splitBrain ? 'SPLIT-BRAIN' : '', p.noMaster ? 'NO-MASTER' : '', p.drift.length ? 'DRIFT' : ''].filter(Boolean).join(' ') || 'ok',
      ]),
    ),
  );
  const rs = realServers(m);
  if (rs.length > 0) {
    out.push('');
    out.push(
      table(
        ['VIRTUAL SERVER', 'REAL SERVER', 'HEALTH'],
        rs.map((r) => [
          r.vs,
          r.rs,
          Object.entries(r.byNode)
            .map(([n, x]) => `${n}:${x.up ? 'UP' : 'DOWN'}${x.latencyMs !== null ? `(${x.latencyMs}ms)` : ''}`)
            .join(' '),
        ]),
      ),
    );
  }
  const drifting = ps.filter((p) => p.drift.length > 0);
  if (drifting.length > 0) {
    out.push('');
    const seen = new Set<string>();
    for (const p of drifting) {
      if (seen.has(p.boards.join())) continue;
      seen.add(p.boards.join());
      out.push(escapeTerminal(`DRIFT ${p.boards.join(' ')}: ${p.drift.join('; ')}`));
    }
  }
  const pairAlerts = ps.filter((p) => p.splitBrain || p.noMaster).length;
  const lost = boards.filter((b) => boardCondition(b, m, now) === 'lost').length;
  out.push('');
  out.push(`${boards.length} boards, ${ps.length} pairs, ${pairAlerts} pair alerts, ${lost} lost  (${new Date(now).toISOString()})`);
  return out.join('\n') + '\n';
}
