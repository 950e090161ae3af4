// The fleet page's content, rendered from the fleet model (src/report/fleet.ts) on the server:
// HTML fragments, one per section, that the page puts in place as they change, and the chart
// series as numbers. Pure: the model and the time come in as arguments.
//
// Every string in these fragments that came from MQTT (node names from topics, every payload
// field) goes through escapeHtml (src/report/escape.ts) and nowhere else; everything else is
// our own markup and numbers we formatted. The series carry only finite numbers and the
// boards' numeric ids, so the page's script never handles a string from the broker.
import { escapeHtml } from './escape.ts';
import {
  alerts, boardCondition, pairs, realServers, TIMELINE_SHOWN,
  type Alert, type BoardCondition, type BoardState, type FleetModel, type HealthPoint, type Pair,
} from './fleet.ts';

/** The page's sections, in the order they appear; the page has an element with each id. */
export const SECTIONS = ['summary', 'boards', 'pairs', 'servers', 'timeline', 'charts'] as const;
export type SectionId = (typeof SECTIONS)[number];
export type Sections = Record<SectionId, string>;

const h = escapeHtml;

function n(v: unknown, digits = 0, unit = ''): string {
  return typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(digits)}${unit}` : '–';
}

function time(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString().slice(11, 23) : '–';
}

function day(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString().slice(0, 10) : '';
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function uptime(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return '–';
  const d = Math.floor(v / 86400);
  const hh = Math.floor((v % 86400) / 3600);
  const mm = Math.floor((v % 3600) / 60);
  return d > 0 ? `${d}d ${hh}h` : `${hh}h ${mm}m`;
}

function badge(cond: BoardCondition): string {
  return `<span class="badge ${cond}">${cond.toUpperCase()}</span>`;
}

function alertText(a: Alert): string {
  switch (a.kind) {
    case 'split-brain':
      return `SPLIT BRAIN: VRID ${a.vrid} (${h((a.vips ?? []).join(', '))}) has more than one MASTER`;
    case 'no-master':
      return `NO MASTER: VRID ${a.vrid} (${h((a.vips ?? []).join(', '))})`;
    case 'lost':
      return `LOST: ${h(a.node ?? '')} (the broker published its will)`;
    case 'stale':
      return `STALE: ${h(a.node ?? '')} sends no health`;
    case 'drift':
      return `DRIFT: ${h((a.boards ?? []).join(' and '))} differ: ${h((a.differs ?? []).join('; '))}`;
  }
}

function summary(m: FleetModel, boards: BoardState[], ps: Pair[], now: number): string {
  const conds = boards.map((b) => boardCondition(b, m, now));
  const count = (c: BoardCondition): number => conds.filter((x) => x === c).length;
  const al = alerts(ps, boards.map((b, i) => ({ node: b.node, condition: conds[i]! })));
  const dropped = m.dropped.oversize + m.dropped.boards + m.dropped.entries + m.dropped.nodeName + m.rejected.payload + m.rejected.topic;
  return [
    '<div class="counts">',
    `<span class="count" data-count="boards">${boards.length} boards</span>`,
    `<span class="count online">${count('online')} online</span>`,
    `<span class="count lost">${count('lost')} lost</span>`,
    `<span class="count offline">${count('offline')} offline</span>`,
    `<span class="count">${ps.length} pairs</span>`,
    `<span class="count muted" title="messages the view could not use or dropped for a bound">${dropped} dropped</span>`,
    '</div>',
    al.length === 0
      ? '<p class="all-ok">No alerts.</p>'
      : `<ul class="alerts">${al.map((a) => `<li class="alert ${a.kind}" data-kind="${a.kind}">${alertText(a)}</li>`).join('')}</ul>`,
  ].join('');
}

function boardsTable(m: FleetModel, boards: BoardState[], now: number): string {
  if (boards.length === 0) return '<p class="muted">No board has reported yet.</p>';
  const rows = boards.map((b) => {
    const c = boardCondition(b, m, now);
    const hh = b.health ?? {};
    const mem = (hh.memory ?? null) as { usedPercent?: unknown } | null;
    const masterOf = [...b.vrrp.entries()].filter(([, v]) => v.state === 'MASTER').map(([i]) => i);
    return `<tr data-node="${h(b.node)}" data-condition="${c}">` +
      `<td class="node">${h(b.node)}</td><td>${badge(c)}</td>` +
      `<td>${h(b.birth?.board ?? '–')}</td><td>${h(b.birth?.version ?? '–')}</td>` +
      `<td class="num">${uptime(hh.uptimeS)}</td><td class="num cpu">${n(hh.cpuPercent, 0, ' %')}</td>` +
      `<td class="num">${n(mem?.usedPercent, 0, ' %')}</td><td class="num">${n(hh.temperatureC, 1, ' °C')}</td>` +
      `<td class="num">${n(hh.conntrackCount)}</td>` +
      `<td class="num">${b.lastHealthAt === null ? '–' : age(now - b.lastHealthAt)}</td>` +
      `<td class="master-of">${masterOf.length === 0 ? '–' : c === 'online' || c === 'stale' ? h(masterOf.join(', ')) : `<span class="muted" title="last reported, before the board went ${c}">${h(masterOf.join(', '))}</span>`}</td></tr>`;
  });
  return '<table><thead><tr><th>Board</th><th>State</th><th>Type</th><th>Version</th><th>Uptime</th><th>CPU</th><th>Memory</th>' +
    '<th>Temp</th><th>Conntrack</th><th>Health age</th><th>MASTER of</th></tr></thead><tbody>' + rows.join('') + '</tbody></table>';
}

function pairsTable(ps: Pair[]): string {
  if (ps.length === 0) return '<p class="muted">No VRRP instance reported.</p>';
  const rows = ps.map((p) => {
    const backups = [...new Set(p.members.filter((x) => x.state !== 'MASTER').map((x) => `${x.node} ${x.state}`))];
    const mastersAll = [...new Set(p.members.filter((x) => x.state === 'MASTER').map((x) => x.node))];
    const masterCell = mastersAll.map((node) => {
      const x = p.members.find((y) => y.node === node && y.state === 'MASTER')!;
      const live = p.masters.includes(node);
      return `<span class="who${live ? '' : ' historic'}" title="since ${h(x.since)}: ${h(x.reason)}">${h(node)}</span>`;
    }).join(' ');
    const flags = [
      p.splitBrain ? '<span class="flag split-brain">SPLIT BRAIN</span>' : '',
      p.noMaster ? '<span class="flag no-master">NO MASTER</span>' : '',
      ...p.lost.map((x) => `<span class="flag lost">LOST ${h(x)}</span>`),
      p.drift.length ? `<span class="flag drift" title="${h(p.drift.join('; '))}">DRIFT</span>` : '',
    ].filter(Boolean);
    const reason = p.members.filter((x) => x.state === 'MASTER' && p.masters.includes(x.node)).map((x) => x.reason).filter(Boolean);
    return `<tr data-pair="${h(p.id)}" data-vrid="${p.vrid}" data-split-brain="${p.splitBrain}">` +
      `<td class="num">${p.vrid}</td><td>${h(p.vips.join(', '))}</td><td>${h(p.boards.join(', '))}</td>` +
      `<td class="master">${masterCell || '–'}</td><td class="backup">${h(backups.join(', ')) || '–'}</td>` +
      `<td class="why">${h(reason.join('; ')) || '–'}</td><td class="flags">${flags.join(' ') || '<span class="flag ok">ok</span>'}</td></tr>`;
  });
  return '<table><thead><tr><th>VRID</th><th>VIPs</th><th>Boards</th><th>MASTER</th><th>BACKUP</th><th>Why MASTER</th><th>Flags</th></tr></thead><tbody>' +
    rows.join('') + '</tbody></table>';
}

function serversTable(m: FleetModel): string {
  const rows = realServers(m);
  if (rows.length === 0) return '<p class="muted">No real server reported.</p>';
  let lastVs = '';
  const out = rows.map((r) => {
    const vsCell = r.vs === lastVs ? '' : h(r.vs);
    lastVs = r.vs;
    const health = Object.entries(r.byNode).sort(([a], [b]) => a.localeCompare(b)).map(([node, x]) =>
      `<span class="rs ${x.up ? 'up' : 'down'}" data-node="${h(node)}">${h(node)} ${x.up ? 'UP' : 'DOWN'}${x.latencyMs !== null ? ` ${n(x.latencyMs, 1)} ms` : ''}${x.failures > 0 ? ` (${x.failures} failed)` : ''}</span>`).join(' ');
    return `<tr data-vs="${h(r.vs)}" data-rs="${h(r.rs)}"><td>${vsCell}</td><td>${h(r.rs)}</td><td>${health}</td></tr>`;
  });
  return '<table><thead><tr><th>Virtual server</th><th>Real server</th><th>Health, per board</th></tr></thead><tbody>' + out.join('') + '</tbody></table>';
}

function timeline(m: FleetModel): string {
  const entries = [...m.timeline].sort((a, b) => b.at - a.at).slice(0, TIMELINE_SHOWN);
  if (entries.length === 0) return '<p class="muted">Nothing happened yet.</p>';
  return '<ol class="timeline">' + entries.map((e) => {
    const what = e.kind === 'vrrp'
      ? `${h(e.instance ?? '')} (VRID ${e.vrid ?? '?'}) ${e.from ? `${h(e.from)} → ` : ''}${h(e.to)}`
      : `${e.from ? `${h(e.from)} → ` : ''}${h(e.to)}`;
    return `<li class="${e.kind} to-${h(e.to)}" data-node="${h(e.node)}" data-kind="${e.kind}" data-to="${h(e.to)}">` +
      `<time title="${day(e.at)}">${time(e.at)}</time> <b>${h(e.node)}</b> ${what}` +
      `${e.reason ? ` <span class="reason">${h(e.reason)}</span>` : ''}</li>`;
  }).join('') + '</ol>';
}

const CHARTS: ReadonlyArray<[keyof Omit<HealthPoint, 'at'>, string]> = [['cpu', 'CPU %'], ['temp', 'Temperature °C'], ['traffic', 'Traffic B/s'], ['conntrack', 'Conntrack']];

function charts(boards: BoardState[]): string {
  if (boards.length === 0) return '';
  return boards.map((b) => `<div class="board-charts" data-board-id="${b.id}"><h3>${h(b.node)}</h3>` +
    CHARTS.map(([k, label]) => `<figure data-series="${k}"><figcaption>${label} <span class="value"></span></figcaption>` +
      '<svg viewBox="0 0 360 60" preserveAspectRatio="none" role="img"><polyline points=""></polyline></svg></figure>').join('') +
    '</div>').join('');
}

/** Every section's HTML. */
export function renderSections(m: FleetModel, now: number): Sections {
  const boards = [...m.boards.values()].sort((a, b) => a.node.localeCompare(b.node));
  const ps = pairs(m, now);
  return {
    summary: summary(m, boards, ps, now),
    boards: boardsTable(m, boards, now),
    pairs: pairsTable(ps),
    servers: serversTable(m),
    timeline: timeline(m),
    charts: charts(boards),
  };
}

/** Chart points of one board: parallel arrays of finite numbers (null where a sample said nothing). */
export interface Series {
  t: number[];
  cpu: Array<number | null>;
  temp: Array<number | null>;
  traffic: Array<number | null>;
  conntrack: Array<number | null>;
}

/** The series of every board, keyed by board id, with the points after `since` (ms). */
export function seriesSince(m: FleetModel, since: number): Record<string, Series> {
  const out: Record<string, Series> = {};
  for (const b of m.boards.values()) {
    const pts = b.history.filter((p) => p.at > since);
    if (pts.length === 0) continue;
    out[String(b.id)] = {
      t: pts.map((p) => p.at),
      cpu: pts.map((p) => p.cpu),
      temp: pts.map((p) => p.temp),
      traffic: pts.map((p) => p.traffic),
      conntrack: pts.map((p) => p.conntrack),
    };
  }
  return out;
}
