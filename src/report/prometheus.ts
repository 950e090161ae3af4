// The Prometheus text exposition of one board (`/metrics`, text format 0.0.4), built from the
// one status model (src/status.ts). Pure: everything comes in as arguments.
//
// Names. Where a keepalived exporter already has a metric for the same thing, ours has its
// name, labels and value, so existing dashboards and alerts keep working; docs/metrics.md maps
// every name. The two exporters disagree with each other: mehdy/keepalived-exporter names its
// counters `keepalived_*_total` with labels iname/intf/vrid and keepalived_vrrp_state as a number
// per VIP (0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT; keepalived's vrrp.h numbers STOP 98);
// gen2brain/keepalived_exporter names them after keepalived's stats fields without `_total`
// (keepalived_vrrp_advert_rcvd), which promtool's lint refuses for counters. We follow mehdy's
// (lint-clean); docs/metrics.md gives recording rules for gen2brain's names. What neither has is
// `tandem_*`; the process and event-loop metrics use the names of the official client libraries
// (process_resident_memory_bytes; prom-client's nodejs_eventloop_lag_*_seconds).
import type { RealServerStatus, VirtualServerStatus, VrrpInstanceStatus, VrrpState, VrrpStatus } from '../status.ts';
import type { CounterName } from '../vrrp/counters.ts';
import { LATENESS_BUCKETS_MS, type LatenessSnapshot } from '../vrrp/lateness.ts';

/** keepalived's numbers for the states (keepalived/include/vrrp.h VRRP_STATE_*). */
export const STATE_NUMBER: Readonly<Record<VrrpState, number>> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOP: 98 };
const STATES: readonly VrrpState[] = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'];

/** Counter of the status model → exposed name and help. */
export const COUNTER_METRICS: Readonly<Record<CounterName, [string, string]>> = {
  advert_rcvd: ['keepalived_advertisements_received_total', 'Advertisements received'],
  advert_sent: ['keepalived_advertisements_sent_total', 'Advertisements sent'],
  become_master: ['keepalived_become_master_total', 'Times the instance became MASTER'],
  release_master: ['keepalived_release_master_total', 'Times the instance left MASTER'],
  packet_len_err: ['keepalived_packet_length_errors_total', 'Advertisements dropped: bad packet or IP header length'],
  advert_interval_err: ['keepalived_advertisements_interval_errors_total', 'Advertisements dropped: advertisement interval differs'],
  ip_ttl_err: ['keepalived_ip_ttl_errors_total', 'Advertisements dropped: TTL or hop limit not 255'],
  invalid_type_rcvd: ['keepalived_invalid_type_received_total', 'Advertisements dropped: not an ADVERTISEMENT'],
  addr_list_err: ['keepalived_address_list_errors_total', 'Advertisements dropped: address list differs'],
  invalid_authtype: ['keepalived_authentication_invalid_total', 'Advertisements dropped: unknown authentication type'],
  authtype_mismatch: ['keepalived_authentication_mismatch_total', 'Advertisements dropped: authentication type differs'],
  auth_failure: ['keepalived_authentication_failure_total', 'Advertisements dropped: authentication failed'],
  pri_zero_rcvd: ['keepalived_priority_zero_received_total', 'Priority 0 advertisements received'],
  pri_zero_sent: ['keepalived_priority_zero_sent_total', 'Priority 0 advertisements sent'],
  chk_err: ['tandem_vrrp_checksum_errors_total', 'Advertisements dropped: bad checksum'],
  vers_err: ['tandem_vrrp_version_errors_total', 'Advertisements dropped: VRRP version differs'],
  vrid_err: ['tandem_vrrp_vrid_errors_total', 'Advertisements dropped: VRID of no instance on the interface'],
  ip_src_err: ['tandem_vrrp_source_address_errors_total', 'Advertisements dropped: source address not allowed (IPv6: not link-local)'],
};

export interface ProcessFigures {
  rssBytes: number;
  /** Seconds since the epoch. */
  startTimeS: number;
  /** Event-loop delay over the last window, seconds; null before the first window closes. */
  eventLoopLag: { min: number; max: number; mean: number; p50: number; p90: number; p99: number } | null;
}

export interface ExpositionInput {
  info: { version: string; commit: string; node: string; board: string };
  /** null when no VRRP instance is configured. */
  vrrp: VrrpStatus | null;
  /** State changes per instance since the daemon started (src/report/transitions.ts). */
  transitions: (instance: string) => number;
  virtualServers: readonly VirtualServerStatus[];
  process: ProcessFigures;
  /** Requests the metrics server refused, by reason. */
  refused: Readonly<Record<string, number>>;
}

type Labels = Readonly<Record<string, string>>;

/** Label values: backslash, double quote and line feed are escaped (exposition format). */
export function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${labelValue(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** One metric family: HELP and TYPE once, then its samples (a family without samples is left out). */
class Family {
  readonly samples: string[] = [];
  constructor(readonly name: string, readonly type: 'gauge' | 'counter' | 'histogram', readonly help: string) {}

  add(labels: Labels, value: number, suffix = ''): void {
    this.samples.push(`${this.name}${suffix}${labelText(labels)} ${num(value)}`);
  }

  text(): string {
    if (this.samples.length === 0) return '';
    return `# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${this.name} ${this.type}\n${this.samples.join('\n')}\n`;
  }
}

class Families {
  private readonly all = new Map<string, Family>();

  get(name: string, type: Family['type'], help: string): Family {
    let f = this.all.get(name);
    if (!f) {
      f = new Family(name, type, help);
      this.all.set(name, f);
    }
    return f;
  }

  text(): string {
    return [...this.all.values()].map((f) => f.text()).join('');
  }
}

function instanceLabels(i: VrrpInstanceStatus): Labels {
  return { iname: i.name, intf: i.interface, vrid: String(i.vrid) };
}

/** A VIP of the status model without its prefix ("203.0.113.1/24" → "203.0.113.1"). */
function vipAddress(vip: string): string {
  const slash = vip.indexOf('/');
  return slash < 0 ? vip : vip.slice(0, slash);
}

/** "ADDRESS PORT" → "ADDRESS:PORT" ("[ADDRESS]:PORT" for IPv6), as the topics write servers. */
function endpoint(name: string): string {
  const m = /^(\S+)\s+(\d+)$/.exec(name);
  if (!m) return name;
  return m[1]!.includes(':') ? `[${m[1]}]:${m[2]}` : `${m[1]}:${m[2]}`;
}

function lateness(fs: Families, timer: string, l: LatenessSnapshot): void {
  const h = fs.get('tandem_vrrp_timer_lateness_seconds', 'histogram', 'How late the VRRP thread\'s timers fired');
  LATENESS_BUCKETS_MS.forEach((b, i) => h.add({ timer, le: num(b / 1000) }, l.buckets[i] ?? 0, '_bucket'));
  h.add({ timer, le: '+Inf' }, l.buckets[LATENESS_BUCKETS_MS.length] ?? l.count, '_bucket');
  h.add({ timer }, l.sumMs / 1000, '_sum');
  h.add({ timer }, l.count, '_count');
  fs.get('tandem_vrrp_timer_lateness_recent_max_seconds', 'gauge', 'The latest timer firing in the last minute or more').add({ timer }, l.recentMaxMs / 1000);
}

function realServer(fs: Families, vs: VirtualServerStatus, rs: RealServerStatus): void {
  const l: Labels = { virtual_server: endpoint(vs.name), real_server: endpoint(rs.name), proto: vs.protocol };
  fs.get('tandem_real_server_up', 'gauge', 'Whether the real server passes its health checks (1) or not (0)').add(l, rs.up ? 1 : 0);
  fs.get('tandem_real_server_weight', 'gauge', 'Effective weight: configured, 0 when drained, or set by misc_dynamic').add(l, rs.weight);
  fs.get('tandem_real_server_drained', 'gauge', 'Drained from the console (no new connections)').add(l, rs.drained ? 1 : 0);
  fs.get('tandem_real_server_check_failures', 'gauge', 'Consecutive failed checks').add(l, rs.failures);
  if (rs.latencyMs !== null) fs.get('tandem_real_server_check_latency_seconds', 'gauge', 'Latency of the last completed check').add(l, rs.latencyMs / 1000);
  if (rs.lastCheck !== null) fs.get('tandem_real_server_last_check_timestamp_seconds', 'gauge', 'When the last check completed').add(l, rs.lastCheck / 1000);
  if (rs.connections !== null) {
    // gen2brain's keepalived_lvs_rs_conn counts IPVS connections; ours are conntrack's (or the
    // userspace forwarder's) current connections, so a gauge under our own name.
    fs.get('tandem_real_server_connections', 'gauge', 'Current connections to the real server').add(l, rs.connections);
  }
}

/** The whole exposition. */
export function exposition(input: ExpositionInput): string {
  const fs = new Families();
  const { info } = input;
  // Both exporters' "is keepalived running": we are.
  fs.get('keepalived_up', 'gauge', 'Status of the VRRP service (1 up)').add({}, 1);
  fs.get('tandem_build_info', 'gauge', 'tandem version, commit, node and board').add({ version: info.version, commit: info.commit, node: info.node, board: info.board }, 1);

  for (const i of input.vrrp?.instances ?? []) {
    const l = instanceLabels(i);
    const stateFam = fs.get('keepalived_vrrp_state', 'gauge', 'VRRP state per VIP: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 98 STOP (keepalived\'s numbers)');
    const vips = i.vips.length ? i.vips.map(vipAddress) : [''];
    for (const vip of vips) stateFam.add({ ...l, ip_address: vip }, STATE_NUMBER[i.state]);
    const set = fs.get('tandem_vrrp_instance_state', 'gauge', 'VRRP state as a state set: 1 for the current state, 0 for the others');
    for (const s of STATES) set.add({ ...l, state: s }, s === i.state ? 1 : 0);
    fs.get('tandem_vrrp_priority', 'gauge', 'Priority in use before tracking (configured, or 1 in maintenance)').add(l, i.priority);
    fs.get('tandem_vrrp_effective_priority', 'gauge', 'Priority after tracked interfaces and scripts').add(l, i.effectivePriority);
    fs.get('tandem_vrrp_fault', 'gauge', 'Whether the instance is in FAULT (1) or not (0)').add(l, i.fault === null ? 0 : 1);
    fs.get('tandem_vrrp_transitions_total', 'counter', 'State changes since the daemon started').add(l, input.transitions(i.name));
    fs.get('tandem_vrrp_last_transition_timestamp_seconds', 'gauge', 'When the instance entered its state').add(l, i.since / 1000);
    for (const [k, [name, help]] of Object.entries(COUNTER_METRICS) as Array<[CounterName, [string, string]]>) {
      fs.get(name, 'counter', help).add(l, i.counters[k] ?? 0);
    }
  }
  const q = input.vrrp;
  if (q) {
    const un = fs.get('tandem_vrrp_unattributed_drops_total', 'counter', 'Advertisements dropped that belong to no instance, by reason');
    for (const [reason, n] of Object.entries(q.unattributed)) un.add({ reason }, n);
    if (q.socketDrops !== undefined && q.socketDrops !== null) {
      fs.get('tandem_vrrp_socket_drops_total', 'counter', 'Packets the kernel dropped on the VRRP raw sockets before we read them').add({}, q.socketDrops);
    }
    if (q.timers) {
      lateness(fs, 'advert', q.timers.advert);
      lateness(fs, 'master_down', q.timers.masterDown);
    }
    if (q.thread) {
      fs.get('tandem_vrrp_thread_realtime_priority', 'gauge', 'SCHED_RR priority of the VRRP thread (0: SCHED_OTHER)').add({ policy: q.thread.policy }, q.thread.priority);
    }
  }

  for (const vs of input.virtualServers) {
    fs.get('tandem_virtual_server_quorum_up', 'gauge', 'Whether enough real servers are up for the quorum').add({ virtual_server: endpoint(vs.name), proto: vs.protocol }, vs.quorumUp ? 1 : 0);
    for (const rs of vs.realServers) realServer(fs, vs, rs);
  }

  const p = input.process;
  fs.get('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes').add({}, p.rssBytes);
  fs.get('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds').add({}, p.startTimeS);
  if (p.eventLoopLag) {
    const lag = p.eventLoopLag;
    for (const [k, v] of [['min', lag.min], ['max', lag.max], ['mean', lag.mean], ['p50', lag.p50], ['p90', lag.p90], ['p99', lag.p99]] as const) {
      fs.get(`nodejs_eventloop_lag_${k}_seconds`, 'gauge', `The ${k} of the main thread's event-loop delay over the last window`).add({}, v);
    }
  }
  const refused = fs.get('tandem_metrics_refused_requests_total', 'counter', 'Requests the metrics server refused, by reason');
  for (const [reason, n] of Object.entries(input.refused)) refused.add({ reason }, n);
  return fs.text();
}
