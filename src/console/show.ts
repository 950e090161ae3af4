// The console's `show` commands, each as a data form and a text form: `data` gathers what the
// command shows (plain JSON-able values from the ConsoleHost, the one status model), `text`
// renders exactly that for the terminal. `tandem ctl --json show …` prints the data form, so
// the JSON cannot drift from what the console shows. Pure apart from the host.
import { serverEndpoint } from '../util/ip.ts';
import type { VrrpStatus } from '../status.ts';
import { formatVrrpStatistics } from '../vrrp/counters.ts';
import { formatFifoStats, type FifoStats } from '../util/event-fifo.ts';
import type { ConsoleHost, HealthInfo, InterfaceInfo, MqttInfo, StatusInfo, VersionInfo, VirtualServerStatus, VrrpInstanceStatus, RealServerStatus } from './host.ts';
import { bytes, duration, opt, table } from './format.ts';

export interface ShowContext {
  host: ConsoleHost;
  /** The clock's now (epoch ms). */
  now: number;
  /** What the operator must know about a pending or rolled-back commit (engine.ts). */
  commitNotes: string[];
}

export interface ShowForm<D> {
  data(ctx: ShowContext, args: readonly string[]): D | Promise<D>;
  text(data: D, ctx: ShowContext): string;
}

/** Where a board's config id came from, as `show status` says it. */
const CONFIG_ID_SOURCE: Record<'option' | 'state' | 'hostname', string> = {
  option: '--config-id',
  state: 'state directory',
  hostname: 'host name',
};

const lines = (xs: string[]): string => (xs.length ? xs.join('\n') + '\n' : '');
/** "ADDRESS PORT" as ADDRESS:PORT, an IPv6 address in brackets ([2001:db8::1]:80). */
const endpoint = (name: string): string => serverEndpoint(name);

/** Erases a form's data type so forms of different types sit in one table. */
function form<D>(f: ShowForm<D>): ShowForm<unknown> {
  return f as unknown as ShowForm<unknown>;
}

export interface StatusData extends StatusInfo {
  commit: string[];
  vrrp: Array<Pick<VrrpInstanceStatus, 'name' | 'state' | 'effectivePriority'>>;
  virtualServers: Array<{ name: string; serving: number; realServers: number; quorumUp: boolean }>;
  mqtt: Pick<MqttInfo, 'enabled' | 'connected'>;
}

const status = form<StatusData>({
  data: ({ host, commitNotes }) => {
    const m = host.mqtt();
    return {
      ...host.status(),
      commit: commitNotes,
      vrrp: host.vrrp().map((v) => ({ name: v.name, state: v.state, effectivePriority: v.effectivePriority })),
      virtualServers: host.virtualServers().map((vs) => ({
        name: vs.name, serving: vs.realServers.filter((r) => r.up && !r.drained).length, realServers: vs.realServers.length, quorumUp: vs.quorumUp,
      })),
      mqtt: { enabled: m.enabled, connected: m.connected },
    };
  },
  text: (s, { now }) => {
    const out: string[] = [
      `node         ${s.node}${s.board ? ` (${s.board})` : ''}`,
      `uptime       ${duration(s.uptimeS * 1000)}`,
      `maintenance  ${s.maintenance ? 'ON (peer holds mastership)' : 'off'}`,
      `config       ${s.configPath}`,
    ];
    if (s.configId) out.push(`config-id    ${s.configId.id} (${CONFIG_ID_SOURCE[s.configId.source]})`);
    if (s.lastReload) {
      out.push(`last reload  ${s.lastReload.ok ? 'ok' : 'FAILED'} ${duration(now - s.lastReload.at)} ago${s.lastReload.message ? ': ' + s.lastReload.message : ''}`);
    }
    for (const n of s.commit) out.push(`commit       ${n}`);
    for (const v of s.vrrp) out.push(`vrrp         ${v.name} ${v.state} prio ${v.effectivePriority}`);
    for (const vs of s.virtualServers) out.push(`lb           ${vs.name} ${vs.serving}/${vs.realServers} real servers serving${vs.quorumUp ? '' : ', QUORUM LOST'}`);
    out.push(`mqtt         ${!s.mqtt.enabled ? 'off' : s.mqtt.connected ? 'connected' : 'DISCONNECTED'}`);
    return lines(out);
  },
});

const vrrp = form<VrrpInstanceStatus[]>({
  data: ({ host }) => host.vrrp(),
  text: (vs, { now }) => {
    if (vs.length === 0) return 'no VRRP instances\n';
    return table(['INSTANCE', 'STATE', 'VRID', 'IF', 'VER', 'PRIO', 'EFF', 'MASTER', 'SINCE', 'VIPS'], vs.map((v) => [
      v.name, v.state, v.vrid, v.interface, `v${v.version}`, v.priority, v.effectivePriority,
      v.masterAddress ?? '-', duration(now - v.since), v.vips.join(',') || '-',
    ]));
  },
});

const virtualServers = form<VirtualServerStatus[]>({
  data: async ({ host }) => {
    await host.refreshConnections?.();
    return host.virtualServers();
  },
  text: (vss) => {
    if (vss.length === 0) return 'no virtual servers\n';
    const rows: Array<Array<string | number>> = [];
    for (const v of vss) {
      rows.push([
        endpoint(v.name), v.protocol, v.scheduler, v.method, v.forwarder, v.quorumUp ? 'quorum up' : 'QUORUM LOST',
        `${v.realServers.filter((r) => r.up && !r.drained).length}/${v.realServers.length} serving`, '',
      ]);
      for (const r of v.realServers) {
        rows.push([`  -> ${endpoint(r.name)}`, r.up ? 'up' : 'DOWN', `weight ${r.weight}`, '', r.drained ? 'drained' : '', '', '', r.connections === null ? '-' : r.connections]);
      }
    }
    return table(['VIRTUAL-SERVER', 'PROTO/STATE', 'SCHED/WEIGHT', 'METHOD', 'FORWARDER', 'QUORUM', 'SERVING', 'CONNS'], rows);
  },
});

export type RealServerRow = RealServerStatus & { virtualServer: string };

const realServers = form<RealServerRow[]>({
  data: async ({ host }) => {
    await host.refreshConnections?.();
    return host.virtualServers().flatMap((v) => v.realServers.map((r) => ({ virtualServer: v.name, ...r })));
  },
  text: (rs, { now }) => {
    if (rs.length === 0) return 'no real servers\n';
    return table(['VIRTUAL-SERVER', 'REAL-SERVER', 'HEALTH', 'WEIGHT', 'ADMIN', 'CONNS', 'FAILURES', 'LATENCY', 'CHECKED'], rs.map((r) => [
      endpoint(r.virtualServer), endpoint(r.name), r.up ? 'up' : 'DOWN', r.weight, r.drained ? 'drained' : '-',
      r.connections === null ? '-' : r.connections,
      r.failures, opt(r.latencyMs, ' ms'), r.lastCheck === null ? '-' : duration(now - r.lastCheck) + ' ago',
    ]));
  },
});

/** The VRRP status with the event FIFOs' counters beside it. */
export type StatisticsData = VrrpStatus & { eventFifos: FifoStats[] };

const statistics = form<StatisticsData | null>({
  data: async ({ host }) => (host.vrrpStatus ? { ...(await host.vrrpStatus()), eventFifos: host.eventFifos?.() ?? [] } : null),
  text: (q) => (q === null ? 'no statistics available\n' : formatVrrpStatistics(q) + formatFifoStats(q.eventFifos)),
});

const interfaces = form<InterfaceInfo[]>({
  data: ({ host }) => host.interfaces(),
  text: (ifs) => table(['IF', 'LINK', 'MAC', 'ADDRESSES', 'RX', 'TX', 'ERR(RX/TX)'], ifs.map((i) => [
    i.name, i.up ? 'up' : 'DOWN', i.mac ?? '-', i.addresses.join(',') || '-', bytes(i.rxBytes), bytes(i.txBytes), `${i.rxErrors}/${i.txErrors}`,
  ])),
});

const health = form<HealthInfo>({
  data: ({ host }) => host.health(),
  text: (h) => lines([
    `cpu          ${opt(h.cpuPct, ' %')}`,
    `memory       ${opt(h.memUsedPct, ' % used')}`,
    `temperature  ${opt(h.temperatureC, ' °C')}`,
    `load         ${h.loadAvg.map((x) => x.toFixed(2)).join(' ')}`,
    `uptime       ${duration(h.uptimeS * 1000)}`,
    `process rss  ${bytes(h.rssBytes)}`,
    `loop lag     ${opt(h.eventLoopLagMs, ' ms')}`,
    `conntrack    ${opt(h.conntrackCount)}`,
    ...(h.console?.controlSocket ? [`control      ${h.console.controlSocket.connections} open, ${h.console.controlSocket.refused} refused (too many at once)`] : []),
    ...(h.console?.serial ? [`serial       dropped ${h.console.serial.droppedInputBytes} B in, ${h.console.serial.droppedLines} lines, ${h.console.serial.droppedOutputBytes} B out`] : []),
  ]),
});

const mqtt = form<MqttInfo>({
  data: ({ host }) => host.mqtt(),
  text: (m) => (!m.enabled ? 'mqtt reporting is off\n' : lines([
    `broker     ${m.url ?? '-'}`,
    `session    ${m.connected ? 'connected' : 'DISCONNECTED'}`,
    `topics     ${m.prefix}/${m.node}/…`,
    `queued     ${m.queued}`,
    `last error ${m.lastError ?? '-'}`,
  ])),
});

const runningConfig = form<{ path: string; text: string }>({
  data: ({ host }) => ({ path: host.configPath, text: host.runningConfigText() }),
  text: (c) => c.text,
});

const version = form<VersionInfo>({
  data: ({ host }) => host.version(),
  text: (v) => `tandem ${v.version} (${v.commit})\nnode ${v.node}\nboard ${v.board ?? '-'}\nNode.js ${v.nodeVersion}\n`,
});

export const MAX_LOG_LINES = 1000;

/** `show log [LINES]`: args[0] is the count when given. */
export const LOG = form<{ lines: string[] }>({
  data: ({ host }, args) => ({ lines: host.log(Math.min(args[0] === undefined ? 20 : Number(args[0]), MAX_LOG_LINES)) }),
  text: (l) => lines(l.lines),
});

/** The operational show commands: word, help, form (engine.ts makes the commands of them). */
export const SHOWS: ReadonlyArray<[string, string, ShowForm<unknown>]> = [
  ['status', 'board, mastership and health at a glance', status],
  ['vrrp', 'VRRP instances: state, priority, master', vrrp],
  ['virtual-servers', 'virtual servers, quorum, and each real server with state, weight, connections', virtualServers],
  ['real-servers', 'real servers: health, weight, drained, connections', realServers],
  ['statistics', 'VRRP counters per instance (keepalived stats layout)', statistics],
  ['interfaces', 'links, addresses and counters', interfaces],
  ['health', 'CPU, memory, temperature, conntrack', health],
  ['mqtt', 'MQTT reporting session', mqtt],
  ['running-config', 'the configuration running now', runningConfig],
  ['version', 'software version', version],
];
