// The fleet model: every board under one prefix, from the messages a `PREFIX/+/#` subscriber
// receives. Pure: messages and the time come in as arguments.
//
// Pairs. The two boards of a pair run one VRRP instance with the same VRID on the same segment,
// and (by configuration) the same VIP set. VRIDs are reused across segments, so the pair key is
// VRID + the sorted VIP set from the vrrp/INSTANCE payloads.
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
import { parseTopic } from './topics.ts';
import { escapeTerminal } from './escape.ts';

export interface BoardState {
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
}

export type BoardCondition = 'online' | 'offline' | 'lost' | 'stale' | 'unknown';

/** Health older than this many intervals makes an online board stale. */
export const STALE_INTERVALS = 3;
/** Used when the interval is unknown (no health yet). */
export const DEFAULT_STALE_MS = 30_000;
const MAX_EVENTS = 20;

export function newFleet(prefix: string, now: number): FleetModel {
  return { prefix, startedAt: now, boards: new Map(), rejected: { topic: 0, payload: 0 }, staleWills: 0, lastEvents: [] };
}

function board(m: FleetModel, node: string, now: number): BoardState {
  let b = m.boards.get(node);
  if (!b) {
    b = { node, status: null, statusBdSeq: null, birth: null, health: null, lastHealthAt: null, healthIntervalMs: null, vrrp: new Map(), lb: new Map(), lastSeenAt: now };
    m.boards.set(node, b);
  }
  b.lastSeenAt = now;
  return b;
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
  const t = parseTopic(m.prefix, topic);
  if (!t) {
    m.rejected.topic++;
    return false;
  }
  const reject = (): false => {
    m.rejected.payload++;
    return false;
  };
  switch (t.kind) {
    case 'status': {
      const s = readStatus(payload);
      if (!s) return reject();
      const b = board(m, t.node, now);
      const seq = typeof meta.bdSeq === 'number' && Number.isSafeInteger(meta.bdSeq) ? meta.bdSeq : null;
      const newest = newestSeq(b);
      if (s === 'lost' && seq !== null && newest !== null && seq < newest) {
        m.staleWills++;
        // Keep what the newer session said; with nothing yet, keep the will: boardCondition
        // sees the newer birth and does not believe it.
        if (b.status !== null) return true;
      }
      b.status = s;
      b.statusBdSeq = seq;
      return true;
    }
    case 'birth': {
      const b = readBirth(payload);
      if (!b) return reject();
      board(m, t.node, now).birth = b;
      return true;
    }
    case 'health': {
      const h = parseJsonObject(payload);
      if (!h) return reject();
      const b = board(m, t.node, now);
      b.health = h;
      b.lastHealthAt = now;
      b.healthIntervalMs = typeof h.intervalMs === 'number' && h.intervalMs > 0 ? h.intervalMs : null;
      return true;
    }
    case 'events': {
      const e = parseJsonObject(payload);
      if (!e) return reject();
      m.lastEvents.push({ node: t.node, at: now, event: e });
      if (m.lastEvents.length > MAX_EVENTS) m.lastEvents.shift();
      return true;
    }
    case 'vrrp': {
      // Empty retained payload = the board removed the instance.
      if (payload === '') {
        board(m, t.node, now).vrrp.delete(t.instance);
        return true;
      }
      const v = readVrrp(payload);
      if (!v) return reject();
      board(m, t.node, now).vrrp.set(t.instance, v);
      return true;
    }
    case 'lb': {
      const key = `${t.vs}/${t.rs}`;
      if (payload === '') {
        board(m, t.node, now).lb.delete(key);
        return true;
      }
      const r = readRealServer(payload);
      if (!r) return reject();
      board(m, t.node, now).lb.set(key, r);
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
}

export interface Pair {
  vrid: number;
  vips: string[];
  members: PairMember[];
  splitBrain: boolean;
  noMaster: boolean;
}

/** Boards whose retained state counts for the flags: online or stale (still connected). */
function counts(c: BoardCondition): boolean {
  return c === 'online' || c === 'stale';
}

export function pairs(m: FleetModel, now: number): Pair[] {
  const groups = new Map<string, Pair>();
  for (const b of m.boards.values()) {
    const cond = boardCondition(b, m, now);
    for (const [instance, v] of b.vrrp) {
      const vips = [...v.vips].sort();
      const key = `${v.vrid}|${vips.join(',')}`;
      let g = groups.get(key);
      if (!g) {
        g = { vrid: v.vrid, vips, members: [], splitBrain: false, noMaster: false };
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
      });
    }
  }
  const out = [...groups.values()];
  for (const g of out) {
    g.members.sort((a, b) => a.node.localeCompare(b.node) || a.instance.localeCompare(b.instance));
    const live = g.members.filter((x) => counts(x.condition));
    const masters = live.filter((x) => x.state === 'MASTER').length;
    g.splitBrain = masters >= 2;
    g.noMaster = live.length > 0 && masters === 0;
  }
  return out.sort((a, b) => a.vrid - b.vrid || a.vips.join().localeCompare(b.vips.join()));
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
    alerts: [
      ...ps.filter((p) => p.splitBrain).map((p) => ({ kind: 'split-brain', vrid: p.vrid, vips: p.vips })),
      ...ps.filter((p) => p.noMaster).map((p) => ({ kind: 'no-master', vrid: p.vrid, vips: p.vips })),
      ...boards.filter((b) => b.condition === 'lost' || b.condition === 'stale').map((b) => ({ kind: b.condition, node: b.node })),
    ],
    rejected: { ...m.rejected },
    staleWills: m.staleWills,
  };
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
      ['BOARD', 'STATE', 'TYPE', 'VERSION', 'CPU', 'MEM', 'TEMP', 'UPTIME', 'HEALTH AGE'],
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
        [p.splitBrain ? 'SPLIT-BRAIN' : '', p.noMaster ? 'NO-MASTER' : ''].filter(Boolean).join(' ') || 'ok',
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
  const alerts = ps.filter((p) => p.splitBrain || p.noMaster).length;
  const lost = boards.filter((b) => boardCondition(b, m, now) === 'lost').length;
  out.push('');
  out.push(`${boards.length} boards, ${ps.length} pairs, ${alerts} pair alerts, ${lost} lost  (${new Date(now).toISOString()})`);
  return out.join('\n') + '\n';
}
