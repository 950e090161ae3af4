// Syntax tree → typed model (model.ts), filling keepalived's defaults (keepalived.conf(5),
// keepalived 2.2.x). Each block has a table keyword → (arity, block or not, setter), so a
// directive we do not know is an error at its line, never silently ignored (DESIGN.md).
import type { Node } from './ast.ts';
import type {
  Authentication, CheckTiming, Checker, Config, Diagnostic, GlobalDefs, HttpCheck, HttpUrl, MiscCheck,
  MqttSettings, Pos, RealServer, Scheduler, SerialConsoleSettings, SyncGroup, TcpCheck, TrackInterface,
  TrackScript, UdpCheck, VirtualIp, VirtualServer, VrrpInstance, VrrpScript,
} from './model.ts';
import { maskToPrefix } from './net.ts';
import { ConfError, arg, bool, command, int, ipv4, oneOf, seconds } from './values.ts';

// ---- positions of individual fields, so the validator can point at the directive's line ----
const fieldPositions = new WeakMap<object, Map<string, Pos>>();

/** Where `field` of a model object built here was set (the directive's keyword), if known. */
export function fieldPos(obj: object, field: string): Pos | undefined {
  return fieldPositions.get(obj)?.get(field);
}

function mark(obj: object, field: string, pos: Pos): void {
  let m = fieldPositions.get(obj);
  if (!m) { m = new Map(); fieldPositions.set(obj, m); }
  m.set(field, pos);
}

// ---- dispatch ----
interface Ctx {
  diags: Diagnostic[];
}

interface Rule<T> {
  min: number;
  max: number;
  block: boolean;
  set: (t: T, node: Node, ctx: Ctx) => void;
}

type Table<T> = Map<string, Rule<T>>;

function r<T>(min: number, max: number, set: (t: T, node: Node, ctx: Ctx) => void): Rule<T> {
  return { min, max, block: false, set };
}
function blk<T>(min: number, max: number, set: (t: T, node: Node, ctx: Ctx) => void): Rule<T> {
  return { min, max, block: true, set };
}

const CHECKERS = 'tandem checks real servers with TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK and UDP_CHECK';

/** keepalived directives tandem refuses, with the reason given to the operator. */
const REFUSED = new Map<string, string>([
  ['SMTP_CHECK', CHECKERS], ['PING_CHECK', CHECKERS], ['ICMP_CHECK', CHECKERS], ['DNS_CHECK', CHECKERS],
  ['BFD_CHECK', CHECKERS], ['FILE_CHECK', CHECKERS],
  ['virtual_routes', 'tandem moves VIPs, not routes'], ['static_routes', 'tandem moves VIPs, not routes'],
  ['virtual_rules', 'tandem moves VIPs, not policy-routing rules'], ['static_rules', 'tandem moves VIPs, not policy-routing rules'],
  ['static_ipaddress', 'tandem only manages the VIPs of its VRRP instances'],
  ['virtual_server_group', 'write one virtual_server per address and port'],
  ['lvs_sync_daemon_interface', 'tandem has no IPVS connection sync daemon'], ['lvs_sync_daemon', 'tandem has no IPVS connection sync daemon'],
  ['use_vmac', 'tandem does not create VRRP MAC interfaces'], ['vmac_xmit_base', 'tandem does not create VRRP MAC interfaces'],
  ['net_namespace', 'run tandem inside the namespace instead'],
  ['bfd_instance', 'BFD is not supported'], ['track_bfd', 'BFD is not supported'],
  ['track_file', 'only track_interface and track_script are supported'], ['vrrp_track_file', 'only vrrp_script tracking is supported'],
  ['track_process', 'only track_interface and track_script are supported'], ['vrrp_track_process', 'only vrrp_script tracking is supported'],
  ['sync_group_tracking_weight', 'sync groups track with track_interface and track_script only'],
  ['global_tracking', 'sync groups track with track_interface and track_script only'],
  ['mcast_src_ip', 'use unicast_src_ip, or let tandem use the interface\'s primary address'],
]);

function unsupported(node: Node, where: string): string {
  const kw = node.keyword.text;
  if (kw.startsWith('@')) return `conditional configuration '${kw}' is not supported`;
  if (kw.startsWith('$')) return `configuration variables ('${kw}') are not supported`;
  if (kw.startsWith('~')) return `configuration sequences ('${kw}') are not supported`;
  const reason = REFUSED.get(kw);
  return `unsupported directive '${kw}' in ${where}${reason ? `: ${reason}` : ''}`;
}

/**
 * Runs each directive's rule. Returns true when some directive was refused as unsupported: the
 * caller then does not also complain that something is missing (it may sit on the refused line,
 * e.g. behind keepalived's `@host` conditionals), so the refusal stays the one message.
 */
function dispatch<T>(nodes: Node[], table: Table<T>, target: T, ctx: Ctx, where: string): boolean {
  let refused = false;
  for (const node of nodes) {
    const rule = table.get(node.keyword.text);
    if (rule === undefined || node.keyword.quoted) {
      ctx.diags.push({ severity: 'error', message: unsupported(node, where), pos: node.pos });
      refused = true;
      continue;
    }
    const kw = node.keyword.text;
    if (node.args.length < rule.min || node.args.length > rule.max) {
      const want = rule.min === rule.max ? `${rule.min}` : rule.max > 99 ? `at least ${rule.min}` : `${rule.min} to ${rule.max}`;
      ctx.diags.push({ severity: 'error', message: `'${kw}' takes ${want} argument(s), got ${node.args.length}`, pos: node.pos });
      continue;
    }
    if (rule.block && node.children === null) {
      ctx.diags.push({ severity: 'error', message: `'${kw}' needs a { } block`, pos: node.pos });
      continue;
    }
    if (!rule.block && node.children !== null) {
      ctx.diags.push({ severity: 'error', message: `'${kw}' takes no { } block`, pos: node.pos });
      continue;
    }
    try {
      rule.set(target, node, ctx);
    } catch (e) {
      if (e instanceof ConfError) ctx.diags.push({ severity: 'error', message: e.message, pos: e.pos });
      else throw e;
    }
  }
  return refused;
}

const MANY = 1000;

function kids(node: Node): Node[] { return node.children ?? []; }

// ---- global_defs ----
function defaultGlobal(pos: Pos): GlobalDefs {
  return {
    routerId: null, vrrpVersion: 2, notificationEmail: [], notificationEmailFrom: null, smtpServer: null,
    smtpConnectTimeoutMs: null, garpMasterDelayMs: 5000, garpMasterRepeat: 5, garpMasterRefreshMs: 0,
    garpMasterRefreshRepeat: 1, garpIntervalMs: 0, vrrpSkipCheckAdvAddr: false, vrrpStrict: false,
    scriptUser: null, scriptGroup: null, enableScriptSecurity: false, notifyFifo: null, pos,
  };
}

const globalTable: Table<GlobalDefs> = new Map<string, Rule<GlobalDefs>>([
  ['router_id', r(1, 1, (g, n) => { g.routerId = arg(n, 0).text; })],
  ['vrrp_version', r(1, 1, (g, n) => { g.vrrpVersion = oneOf(arg(n, 0), 'vrrp_version', ['2', '3']) === '3' ? 3 : 2; mark(g, 'vrrpVersion', n.pos); })],
  ['notification_email', blk(0, 0, (g, n) => {
    for (const c of kids(n)) {
      if (c.args.length > 0 || c.children !== null) throw new ConfError(c.pos, 'notification_email: one address per line');
      g.notificationEmail.push(c.keyword.text);
    }
  })],
  ['notification_email_from', r(1, 1, (g, n) => { g.notificationEmailFrom = arg(n, 0).text; })],
  ['smtp_server', r(1, 2, (g, n) => { g.smtpServer = n.args.map((a) => a.text).join(' '); })],
  ['smtp_connect_timeout', r(1, 1, (g, n) => { g.smtpConnectTimeoutMs = seconds(arg(n, 0), 'smtp_connect_timeout'); })],
  ['vrrp_garp_master_delay', r(1, 1, (g, n) => { g.garpMasterDelayMs = seconds(arg(n, 0), 'vrrp_garp_master_delay'); })],
  ['vrrp_garp_master_repeat', r(1, 1, (g, n) => { g.garpMasterRepeat = int(arg(n, 0), 'vrrp_garp_master_repeat', 0, 10000); })],
  ['vrrp_garp_master_refresh', r(1, 1, (g, n) => { g.garpMasterRefreshMs = seconds(arg(n, 0), 'vrrp_garp_master_refresh'); })],
  ['vrrp_garp_master_refresh_repeat', r(1, 1, (g, n) => { g.garpMasterRefreshRepeat = int(arg(n, 0), 'vrrp_garp_master_refresh_repeat', 0, 10000); })],
  ['vrrp_garp_interval', r(1, 1, (g, n) => { g.garpIntervalMs = seconds(arg(n, 0), 'vrrp_garp_interval'); })],
  ['vrrp_skip_check_adv_addr', r(0, 0, (g) => { g.vrrpSkipCheckAdvAddr = true; })],
  ['vrrp_strict', r(0, 0, (g) => { g.vrrpStrict = true; })],
  ['script_user', r(1, 2, (g, n) => { g.scriptUser = arg(n, 0).text; g.scriptGroup = n.args[1]?.text ?? null; })],
  ['enable_script_security', r(0, 0, (g) => { g.enableScriptSecurity = true; })],
  ['notify_fifo', r(1, 1, (g, n) => { g.notifyFifo = arg(n, 0).text; })],
]);

// ---- tracking lists shared by instances and sync groups ----
function trackInterfaces(n: Node): TrackInterface[] {
  const out: TrackInterface[] = [];
  for (const c of kids(n)) {
    if (c.children !== null) throw new ConfError(c.pos, 'track_interface: no { } block expected');
    let weight = 0;
    if (c.args.length === 2 && c.args[0]!.text === 'weight') weight = int(c.args[1]!, 'track_interface weight', -254, 254);
    else if (c.args.length > 0) throw new ConfError(c.args[0]!.pos, `track_interface: expected 'NAME [weight N]', got '${c.args[0]!.text}'`);
    out.push({ name: c.keyword.text, weight, pos: c.pos });
  }
  return out;
}

function trackScripts(n: Node): TrackScript[] {
  const out: TrackScript[] = [];
  for (const c of kids(n)) {
    if (c.children !== null) throw new ConfError(c.pos, 'track_script: no { } block expected');
    let weight: number | null = null;
    if (c.args.length === 2 && c.args[0]!.text === 'weight') weight = int(c.args[1]!, 'track_script weight', -254, 254);
    else if (c.args.length > 0) throw new ConfError(c.args[0]!.pos, `track_script: expected 'NAME [weight N]', got '${c.args[0]!.text}'`);
    out.push({ name: c.keyword.text, weight, pos: c.pos });
  }
  return out;
}

// ---- vrrp_sync_group ----
const syncTable: Table<SyncGroup> = new Map<string, Rule<SyncGroup>>([
  ['group', blk(0, 0, (g, n) => {
    for (const c of kids(n)) {
      if (c.args.length > 0 || c.children !== null) throw new ConfError(c.pos, 'group: one vrrp_instance name per line');
      g.group.push(c.keyword.text);
      mark(c, 'name', c.pos);
    }
    mark(g, 'group', n.pos);
  })],
  ['notify_master', r(1, MANY, (g, n) => { g.notifyMaster = command(n); })],
  ['notify_backup', r(1, MANY, (g, n) => { g.notifyBackup = command(n); })],
  ['notify_fault', r(1, MANY, (g, n) => { g.notifyFault = command(n); })],
  ['notify_stop', r(1, MANY, (g, n) => { g.notifyStop = command(n); })],
  ['notify', r(1, MANY, (g, n) => { g.notify = command(n); })],
  ['track_script', blk(0, 0, (g, n) => { g.trackScripts.push(...trackScripts(n)); })],
  ['track_interface', blk(0, 0, (g, n) => { g.trackInterfaces.push(...trackInterfaces(n)); })],
  ['smtp_alert', r(0, 1, () => { /* accepted for compatibility: tandem sends no mail */ })],
]);

// ---- vrrp_instance ----
function virtualIps(n: Node): VirtualIp[] {
  const out: VirtualIp[] = [];
  for (const c of kids(n)) {
    if (c.children !== null) throw new ConfError(c.pos, `${n.keyword.text}: no { } block expected`);
    const [addrText, prefixText] = c.keyword.text.split('/', 2) as [string, string | undefined];
    const address = ipv4({ ...c.keyword, text: addrText }, 'virtual_ipaddress');
    let prefix = 32; // keepalived: an address without a prefix is a /32
    if (prefixText !== undefined) {
      if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) throw new ConfError(c.pos, `virtual_ipaddress: bad prefix length '/${prefixText}'`);
      prefix = Number(prefixText);
    }
    const vip: VirtualIp = { address, prefix, dev: null, label: null, brd: null, scope: null, pos: c.pos };
    for (let k = 0; k < c.args.length; k++) {
      const opt = c.args[k]!;
      const val = c.args[k + 1];
      if (val === undefined) throw new ConfError(opt.pos, `virtual_ipaddress: '${opt.text}' needs a value`);
      switch (opt.text) {
        case 'dev': vip.dev = val.text; break;
        case 'label': vip.label = val.text; break;
        case 'brd': case 'broadcast': vip.brd = ipv4(val, 'virtual_ipaddress brd'); break;
        case 'scope': vip.scope = oneOf(val, 'virtual_ipaddress scope', ['global', 'site', 'link', 'host', 'nowhere']); break;
        default: throw new ConfError(opt.pos, `virtual_ipaddress option '${opt.text}' is not supported (dev, label, brd, scope are)`);
      }
      k++;
    }
    out.push(vip);
  }
  return out;
}

function authentication(n: Node): Authentication {
  let type: 'PASS' | 'AH' | null = null;
  let pass: string | null = null;
  let typePos: Pos = n.pos;
  for (const c of kids(n)) {
    if (c.keyword.text === 'auth_type' && c.args.length === 1 && c.children === null) {
      type = oneOf<'PASS' | 'AH'>(c.args[0]!, 'auth_type', ['PASS', 'AH']);
      typePos = c.pos;
    } else if (c.keyword.text === 'auth_pass' && c.args.length === 1 && c.children === null) {
      pass = c.args[0]!.text;
    } else {
      throw new ConfError(c.pos, c.keyword.text === 'auth_type' || c.keyword.text === 'auth_pass'
        ? `'${c.keyword.text}' takes one argument` : unsupported(c, 'authentication'));
    }
  }
  if (type === null) throw new ConfError(n.pos, 'authentication needs auth_type PASS');
  if (pass === null) throw new ConfError(n.pos, 'authentication needs auth_pass');
  const auth: Authentication = { type, pass, pos: n.pos };
  mark(auth, 'type', typePos);
  return auth;
}

type InstanceDraft = VrrpInstance & { versionSet: boolean; acceptSet: boolean };

function cmd(set: (i: VrrpInstance, c: ReturnType<typeof command>) => void): Rule<InstanceDraft> {
  return r(1, MANY, (i, n) => set(i, command(n)));
}

const instanceTable: Table<InstanceDraft> = new Map<string, Rule<InstanceDraft>>([
  ['state', r(1, 1, (i, n) => { i.initialState = oneOf(arg(n, 0), 'state', ['MASTER', 'BACKUP']); })],
  ['interface', r(1, 1, (i, n) => { i.interface = arg(n, 0).text; mark(i, 'interface', n.pos); })],
  ['virtual_router_id', r(1, 1, (i, n) => { i.virtualRouterId = int(arg(n, 0), 'virtual_router_id'); mark(i, 'virtualRouterId', n.pos); })],
  ['priority', r(1, 1, (i, n) => { i.priority = int(arg(n, 0), 'priority'); mark(i, 'priority', n.pos); })],
  ['advert_int', r(1, 1, (i, n) => { i.advertIntMs = seconds(arg(n, 0), 'advert_int'); mark(i, 'advertIntMs', n.pos); })],
  ['version', r(1, 1, (i, n) => { i.version = oneOf(arg(n, 0), 'version', ['2', '3']) === '3' ? 3 : 2; i.versionSet = true; mark(i, 'version', n.pos); })],
  ['vrrp_version', r(1, 1, (i, n) => { i.version = oneOf(arg(n, 0), 'vrrp_version', ['2', '3']) === '3' ? 3 : 2; i.versionSet = true; mark(i, 'version', n.pos); })],
  ['nopreempt', r(0, 0, (i) => { i.nopreempt = true; })],
  ['preempt', r(0, 0, (i) => { i.nopreempt = false; })],
  ['preempt_delay', r(1, 1, (i, n) => { i.preemptDelayMs = seconds(arg(n, 0), 'preempt_delay'); mark(i, 'preemptDelayMs', n.pos); })],
  ['authentication', blk(0, 0, (i, n) => { i.authentication = authentication(n); })],
  ['virtual_ipaddress', blk(0, 0, (i, n) => { i.virtualIps.push(...virtualIps(n)); })],
  ['virtual_ipaddress_excluded', blk(0, 0, (i, n) => { i.virtualIpsExcluded.push(...virtualIps(n)); })],
  ['unicast_src_ip', r(1, 1, (i, n) => { i.unicastSrcIp = ipv4(arg(n, 0), 'unicast_src_ip'); })],
  ['unicast_peer', blk(0, 0, (i, n) => {
    for (const c of kids(n)) {
      if (c.args.length > 0 || c.children !== null) throw new ConfError(c.pos, 'unicast_peer: one address per line (peer options are not supported)');
      i.unicastPeers.push(ipv4(c.keyword, 'unicast_peer'));
    }
  })],
  ['track_interface', blk(0, 0, (i, n) => { i.trackInterfaces.push(...trackInterfaces(n)); })],
  ['track_script', blk(0, 0, (i, n) => { i.trackScripts.push(...trackScripts(n)); })],
  ['dont_track_primary', r(0, 0, (i) => { i.dontTrackPrimary = true; })],
  ['notify', cmd((i, c) => { i.notify = c; })],
  ['notify_master', cmd((i, c) => { i.notifyMaster = c; })],
  ['notify_backup', cmd((i, c) => { i.notifyBackup = c; })],
  ['notify_fault', cmd((i, c) => { i.notifyFault = c; })],
  ['notify_stop', cmd((i, c) => { i.notifyStop = c; })],
  ['garp_master_delay', r(1, 1, (i, n) => { i.garpMasterDelayMs = seconds(arg(n, 0), 'garp_master_delay'); })],
  ['garp_master_repeat', r(1, 1, (i, n) => { i.garpMasterRepeat = int(arg(n, 0), 'garp_master_repeat', 0, 10000); })],
  ['garp_master_refresh', r(1, 1, (i, n) => { i.garpMasterRefreshMs = seconds(arg(n, 0), 'garp_master_refresh'); })],
  ['garp_master_refresh_repeat', r(1, 1, (i, n) => { i.garpMasterRefreshRepeat = int(arg(n, 0), 'garp_master_refresh_repeat', 0, 10000); })],
  ['smtp_alert', r(0, 1, (i, n) => { i.smtpAlert = bool(n.args[0], 'smtp_alert'); })],
  ['accept', r(0, 0, (i) => { i.accept = true; i.acceptSet = true; })],
  ['no_accept', r(0, 0, (i) => { i.accept = false; i.acceptSet = true; })],
]);

// ---- vrrp_script ----
type ScriptDraft = VrrpScript & { timeoutSet: boolean; scriptSet: boolean };
const scriptTable: Table<ScriptDraft> = new Map<string, Rule<ScriptDraft>>([
  ['script', r(1, MANY, (s, n) => { s.script = command(n); s.scriptSet = true; })],
  ['interval', r(1, 1, (s, n) => { s.intervalMs = seconds(arg(n, 0), 'interval'); mark(s, 'intervalMs', n.pos); })],
  ['timeout', r(1, 1, (s, n) => { s.timeoutMs = seconds(arg(n, 0), 'timeout'); s.timeoutSet = true; mark(s, 'timeoutMs', n.pos); })],
  ['weight', r(1, 2, (s, n) => {
    s.weight = int(arg(n, 0), 'weight', -254, 254);
    if (n.args[1] !== undefined) { oneOf(n.args[1], 'weight', ['reverse']); s.weightReverse = true; }
  })],
  ['rise', r(1, 1, (s, n) => { s.rise = int(arg(n, 0), 'rise', 1, 1000000); })],
  ['fall', r(1, 1, (s, n) => { s.fall = int(arg(n, 0), 'fall', 1, 1000000); })],
  ['user', r(1, 2, (s, n) => { s.user = arg(n, 0).text; s.group = n.args[1]?.text ?? null; })],
  ['init_fail', r(0, 0, (s) => { s.initFail = true; })],
]);

// ---- checkers ----
const timingTable: Array<[string, Rule<CheckTiming>]> = [
  ['connect_timeout', r(1, 1, (c, n) => { c.connectTimeoutMs = seconds(arg(n, 0), 'connect_timeout'); })],
  ['retry', r(1, 1, (c, n) => { c.retry = int(arg(n, 0), 'retry', 0, 1000000); })],
  ['nb_get_retry', r(1, 1, (c, n) => { c.retry = int(arg(n, 0), 'nb_get_retry', 0, 1000000); })],
  ['delay_before_retry', r(1, 1, (c, n) => { c.delayBeforeRetryMs = seconds(arg(n, 0), 'delay_before_retry'); })],
  ['delay_loop', r(1, 1, (c, n) => { c.delayLoopMs = seconds(arg(n, 0), 'delay_loop'); })],
  ['warmup', r(1, 1, (c, n) => { c.warmupMs = seconds(arg(n, 0), 'warmup'); })],
  ['connect_ip', r(1, 1, (c, n) => { c.connectIp = ipv4(arg(n, 0), 'connect_ip'); })],
  ['connect_port', r(1, 1, (c, n) => { c.connectPort = int(arg(n, 0), 'connect_port'); mark(c, 'connectPort', n.pos); })],
  ['bindto', r(1, 1, (c, n) => { c.bindTo = ipv4(arg(n, 0), 'bindto'); })],
];

function timingDefaults(): CheckTiming {
  // keepalived 2.2 defaults: connect_timeout 5 s, retry 1, delay_before_retry 1 s.
  return { connectTimeoutMs: 5000, retry: 1, delayBeforeRetryMs: 1000, delayLoopMs: null, warmupMs: null, connectIp: null, connectPort: null, bindTo: null };
}

const tcpTable: Table<TcpCheck> = new Map<string, Rule<TcpCheck>>(timingTable);

function statusCodes(n: Node): Array<[number, number]> {
  return n.args.map((t) => {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(t.text);
    if (!m) throw new ConfError(t.pos, `status_code: '${t.text}' is not a code (200) or a range (200-299)`);
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (lo < 100 || hi > 599 || hi < lo) throw new ConfError(t.pos, `status_code: '${t.text}' is not within 100-599`);
    return [lo, hi] as [number, number];
  });
}

const urlTable: Table<HttpUrl> = new Map<string, Rule<HttpUrl>>([
  ['path', r(1, 1, (u, n) => { u.path = arg(n, 0).text; })],
  ['digest', r(1, 1, (u, n) => {
    const d = arg(n, 0);
    if (!/^[0-9a-fA-F]{32}$/.test(d.text)) throw new ConfError(d.pos, `digest: '${d.text}' is not an MD5 hex digest`);
    u.digest = d.text.toLowerCase();
  })],
  ['status_code', r(1, MANY, (u, n) => { u.statusCodes.push(...statusCodes(n)); })],
  ['virtualhost', r(1, 1, (u, n) => { u.virtualhost = arg(n, 0).text; })],
]);

const httpTable: Table<HttpCheck> = new Map<string, Rule<HttpCheck>>([
  ...timingTable,
  ['url', blk(0, 0, (h, n, ctx) => {
    const u: HttpUrl = { path: '', digest: null, statusCodes: [], virtualhost: null, pos: n.pos };
    dispatch(kids(n), urlTable, u, ctx, 'url');
    if (u.path === '') throw new ConfError(n.pos, 'url needs a path');
    h.urls.push(u);
  })],
  ['virtualhost', r(1, 1, (h, n) => { h.virtualhost = arg(n, 0).text; })],
  ['enable_sni', r(0, 1, (h, n) => { h.enableSni = bool(n.args[0], 'enable_sni'); })],
  ['http_protocol', r(1, 1, (h, n) => { h.httpProtocol = oneOf(arg(n, 0), 'http_protocol', ['1.0', '1.0C', '1.1']); })],
]);

function hexBytes(t: { text: string; pos: Pos }, what: string): string {
  const h = t.text.replace(/^0x/i, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(h)) throw new ConfError(t.pos, `${what}: '${t.text}' is not hex bytes`);
  return h.toLowerCase();
}

const udpTable: Table<UdpCheck> = new Map<string, Rule<UdpCheck>>([
  ...timingTable,
  ['payload', r(1, 1, (u, n) => { u.payload = Buffer.from(hexBytes(arg(n, 0), 'payload'), 'hex'); })],
  // require_reply without a value: any reply will do (stored as '').
  ['require_reply', r(0, 1, (u, n) => { u.requireReply = n.args[0] ? hexBytes(n.args[0], 'require_reply') : ''; })],
]);

const miscTable: Table<MiscCheck> = new Map<string, Rule<MiscCheck>>([
  ['misc_path', r(1, MANY, (m, n) => { m.path = command(n); })],
  ['misc_timeout', r(1, 1, (m, n) => { m.miscTimeoutMs = seconds(arg(n, 0), 'misc_timeout'); })],
  ['misc_dynamic', r(0, 0, (m) => { m.miscDynamic = true; })],
  ['user', r(1, 2, (m, n) => { m.user = arg(n, 0).text; m.group = n.args[1]?.text ?? null; })],
  ['delay_loop', r(1, 1, (m, n) => { m.delayLoopMs = seconds(arg(n, 0), 'delay_loop'); })],
  ['warmup', r(1, 1, (m, n) => { m.warmupMs = seconds(arg(n, 0), 'warmup'); })],
  ['retry', r(1, 1, (m, n) => { m.retry = int(arg(n, 0), 'retry', 0, 1000000); })],
  ['nb_get_retry', r(1, 1, (m, n) => { m.retry = int(arg(n, 0), 'nb_get_retry', 0, 1000000); })],
  ['delay_before_retry', r(1, 1, (m, n) => { m.delayBeforeRetryMs = seconds(arg(n, 0), 'delay_before_retry'); })],
]);

function buildChecker(n: Node, ctx: Ctx): Checker | null {
  const kw = n.keyword.text;
  switch (kw) {
    case 'TCP_CHECK': {
      const c: TcpCheck = { kind: 'TCP_CHECK', ...timingDefaults(), pos: n.pos };
      dispatch(kids(n), tcpTable, c, ctx, 'TCP_CHECK');
      return c;
    }
    case 'HTTP_GET': case 'SSL_GET': {
      // keepalived check_http.c: HTTP_GET/SSL_GET default delay_before_retry is 3 s.
      const c: HttpCheck = { kind: kw, ...timingDefaults(), delayBeforeRetryMs: 3000, urls: [], virtualhost: null, enableSni: false, httpProtocol: '1.0', pos: n.pos };
      dispatch(kids(n), httpTable, c, ctx, kw);
      if (c.urls.length === 0) throw new ConfError(n.pos, `${kw} needs at least one url { path … }`);
      return c;
    }
    case 'UDP_CHECK': {
      const c: UdpCheck = { kind: 'UDP_CHECK', ...timingDefaults(), payload: null, requireReply: null, pos: n.pos };
      dispatch(kids(n), udpTable, c, ctx, 'UDP_CHECK');
      return c;
    }
    case 'MISC_CHECK': {
      const c: MiscCheck = { kind: 'MISC_CHECK', path: { argv: [], pos: n.pos }, miscTimeoutMs: null, miscDynamic: false,
        // keepalived check_misc.c: MISC_CHECK does not retry unless told to.
        user: null, group: null, delayLoopMs: null, warmupMs: null, retry: 0, delayBeforeRetryMs: 1000, pos: n.pos };
      dispatch(kids(n), miscTable, c, ctx, 'MISC_CHECK');
      if (c.path.argv.length === 0) throw new ConfError(n.pos, 'MISC_CHECK needs misc_path');
      return c;
    }
    default:
      return null;
  }
}

// ---- real_server / virtual_server ----
type RealDraft = RealServer & { inhibitSet: boolean };

const realTable: Table<RealDraft> = new Map<string, Rule<RealDraft>>([
  ['weight', r(1, 1, (s, n) => { s.weight = int(arg(n, 0), 'weight'); mark(s, 'weight', n.pos); })],
  ['inhibit_on_failure', r(0, 1, (s, n) => { s.inhibitOnFailure = bool(n.args[0], 'inhibit_on_failure'); s.inhibitSet = true; })],
  ['notify_up', r(1, MANY, (s, n) => { s.notifyUp = command(n); })],
  ['notify_down', r(1, MANY, (s, n) => { s.notifyDown = command(n); })],
  ...['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'UDP_CHECK'].map((k): [string, Rule<RealDraft>] =>
    [k, blk(0, 0, (s, n, ctx) => { const c = buildChecker(n, ctx); if (c) s.checkers.push(c); })]),
]);

const SCHEDULERS: readonly Scheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'mh'];

function scheduler(n: Node): Scheduler {
  const t = arg(n, 0);
  const s = SCHEDULERS.find((x) => x === t.text);
  if (s === undefined) {
    throw new ConfError(t.pos, `${n.keyword.text} ${t.text} is not supported: tandem schedules with ${SCHEDULERS.join(', ')}`);
  }
  return s;
}

function method(n: Node): 'NAT' {
  const t = arg(n, 0);
  if (t.text === 'NAT') return 'NAT';
  if (t.text === 'DR' || t.text === 'TUN') throw new ConfError(t.pos, `${n.keyword.text} ${t.text} is not supported: tandem does NAT only`);
  throw new ConfError(t.pos, `${n.keyword.text}: '${t.text}' is not a forwarding method (tandem does NAT only)`);
}

type VsDraft = VirtualServer & { inhibitRs: RealDraft[] };

function addressPort(n: Node, what: string, defaultPort: number | null): { address: string; port: number } {
  const address = ipv4(arg(n, 0), what);
  const p = n.args[1];
  if (p === undefined) {
    if (defaultPort === null) throw new ConfError(n.pos, `${what} needs ADDRESS PORT`);
    return { address, port: defaultPort };
  }
  return { address, port: int(p, `${what} port`) };
}

const vsTable: Table<VsDraft> = new Map<string, Rule<VsDraft>>([
  ['delay_loop', r(1, 1, (v, n) => { v.delayLoopMs = seconds(arg(n, 0), 'delay_loop'); })],
  ['lb_algo', r(1, 1, (v, n) => { v.scheduler = scheduler(n); mark(v, 'scheduler', n.pos); })],
  ['lvs_sched', r(1, 1, (v, n) => { v.scheduler = scheduler(n); mark(v, 'scheduler', n.pos); })],
  ['lb_kind', r(1, 1, (v, n) => { v.method = method(n); })],
  ['lvs_method', r(1, 1, (v, n) => { v.method = method(n); })],
  // keepalived: persistence_timeout without a value means 360 s.
  ['persistence_timeout', r(0, 1, (v, n) => { v.persistenceTimeoutMs = n.args[0] ? seconds(n.args[0], 'persistence_timeout') : 360000; })],
  ['persistence_granularity', r(1, 1, (v, n) => {
    const t = arg(n, 0);
    const p = /^\d{1,2}$/.test(t.text) ? Number(t.text) : maskToPrefix(t.text);
    if (p === null || p > 32) throw new ConfError(t.pos, `persistence_granularity: '${t.text}' is not a netmask or prefix length`);
    v.persistenceGranularity = p;
  })],
  ['protocol', r(1, 1, (v, n) => {
    const t = arg(n, 0);
    if (t.text === 'SCTP') throw new ConfError(t.pos, 'protocol SCTP is not supported: tandem balances TCP and UDP');
    v.protocol = oneOf(t, 'protocol', ['TCP', 'UDP']);
  })],
  ['quorum', r(1, 1, (v, n) => { v.quorum = int(arg(n, 0), 'quorum', 0); mark(v, 'quorum', n.pos); })],
  ['hysteresis', r(1, 1, (v, n) => { v.hysteresis = int(arg(n, 0), 'hysteresis', 0); })],
  ['quorum_up', r(1, MANY, (v, n) => { v.quorumUp = command(n); })],
  ['quorum_down', r(1, MANY, (v, n) => { v.quorumDown = command(n); })],
  ['sorry_server', r(1, 2, (v, n) => { v.sorryServer = { ...addressPort(n, 'sorry_server', v.port), pos: n.pos }; })],
  ['sorry_server_inhibit', r(0, 1, (v, n) => { v.sorryServerInhibit = bool(n.args[0], 'sorry_server_inhibit'); })],
  ['alpha', r(0, 1, (v, n) => { v.alpha = bool(n.args[0], 'alpha'); })],
  ['omega', r(0, 1, (v, n) => { v.omega = bool(n.args[0], 'omega'); })],
  ['inhibit_on_failure', r(0, 1, (v, n) => { v.inhibitOnFailure = bool(n.args[0], 'inhibit_on_failure'); })],
  ['ha_suspend', r(0, 1, (v, n) => { v.haSuspend = bool(n.args[0], 'ha_suspend'); })],
  ['virtualhost', r(1, 1, (v, n) => { v.virtualhost = arg(n, 0).text; })],
  ['forwarder', r(1, 1, (v, n) => { v.forwarder = oneOf(arg(n, 0), 'forwarder', ['auto', 'nftables', 'userspace']); mark(v, 'forwarder', n.pos); })],
  ['real_server', blk(1, 2, (v, n, ctx) => {
    const { address, port } = addressPort(n, 'real_server', v.port);
    const rs: RealDraft = { name: `${address} ${port}`, address, port, weight: 1, inhibitOnFailure: false, inhibitSet: false,
      notifyUp: null, notifyDown: null, checkers: [], pos: n.pos };
    if (n.args[1]) mark(rs, 'port', n.args[1].pos);
    dispatch(kids(n), realTable, rs, ctx, `real_server ${rs.name}`);
    v.inhibitRs.push(rs);
  })],
]);

// ---- tandem blocks ----
const mqttTable: Table<MqttSettings> = new Map<string, Rule<MqttSettings>>([
  ['url', r(1, 1, (m, n) => { m.url = arg(n, 0).text; mark(m, 'url', n.pos); })],
  ['prefix', r(1, 1, (m, n) => { m.prefix = arg(n, 0).text; })],
  ['node', r(1, 1, (m, n) => { m.node = arg(n, 0).text; })],
  ['username', r(1, 1, (m, n) => { m.username = arg(n, 0).text; })],
  ['password_file', r(1, 1, (m, n) => { m.passwordFile = arg(n, 0).text; })],
  ['ca_file', r(1, 1, (m, n) => { m.caFile = arg(n, 0).text; })],
  ['cert_file', r(1, 1, (m, n) => { m.certFile = arg(n, 0).text; })],
  ['key_file', r(1, 1, (m, n) => { m.keyFile = arg(n, 0).text; })],
  ['keepalive', r(1, 1, (m, n) => { m.keepaliveS = int(arg(n, 0), 'keepalive', 0, 65535); })],
  ['health_interval', r(1, 1, (m, n) => { m.healthIntervalMs = seconds(arg(n, 0), 'health_interval'); mark(m, 'healthIntervalMs', n.pos); })],
  ['protocol_version', r(1, 1, (m, n) => { m.protocolVersion = oneOf(arg(n, 0), 'protocol_version', ['4', '5']) === '4' ? 4 : 5; })],
  ['offline_queue', r(1, 1, (m, n) => { m.offlineQueue = int(arg(n, 0), 'offline_queue', 0, 10000000); })],
  ['enabled', r(1, 1, (m, n) => { m.enabled = bool(arg(n, 0), 'enabled'); })],
]);

const serialTable: Table<SerialConsoleSettings> = new Map<string, Rule<SerialConsoleSettings>>([
  ['device', r(1, 1, (s, n) => { s.device = arg(n, 0).text; })],
  ['baud', r(1, 1, (s, n) => { s.baud = int(arg(n, 0), 'baud', 50, 4000000); })],
  ['idle_timeout', r(1, 1, (s, n) => { s.idleTimeoutMs = seconds(arg(n, 0), 'idle_timeout'); })],
  ['enabled', r(1, 1, (s, n) => { s.enabled = bool(arg(n, 0), 'enabled'); })],
]);

// ---- top level ----
interface Drafts {
  config: Config;
  instances: InstanceDraft[];
  scripts: ScriptDraft[];
  vss: VsDraft[];
  globalSeen: boolean;
}

function name(n: Node, what: string): string {
  if (n.args.length !== 1) throw new ConfError(n.pos, `${what} needs exactly one name (got ${n.args.length} arguments)`);
  return n.args[0]!.text;
}

const topTable: Table<Drafts> = new Map<string, Rule<Drafts>>([
  ['global_defs', blk(0, 0, (d, n, ctx) => {
    if (!d.globalSeen) { d.config.global.pos = n.pos; d.globalSeen = true; }
    dispatch(kids(n), globalTable, d.config.global, ctx, 'global_defs');
  })],
  ['vrrp_sync_group', blk(0, 1, (d, n, ctx) => {
    const g: SyncGroup = { name: name(n, 'vrrp_sync_group'), group: [], notifyMaster: null, notifyBackup: null, notifyFault: null,
      notifyStop: null, notify: null, trackScripts: [], trackInterfaces: [], pos: n.pos };
    const refused = dispatch(kids(n), syncTable, g, ctx, `vrrp_sync_group ${g.name}`);
    if (g.group.length === 0 && !refused) ctx.diags.push({ severity: 'error', message: `vrrp_sync_group ${g.name} needs a group { } of vrrp_instance names`, pos: n.pos });
    d.config.syncGroups.push(g);
  })],
  ['vrrp_instance', blk(0, 1, (d, n, ctx) => {
    const i: InstanceDraft = {
      name: name(n, 'vrrp_instance'), initialState: 'BACKUP', interface: '', virtualRouterId: 0, priority: 100,
      advertIntMs: 1000, version: 2, versionSet: false, nopreempt: false, preemptDelayMs: 0, authentication: null,
      virtualIps: [], virtualIpsExcluded: [], unicastSrcIp: null, unicastPeers: [], trackInterfaces: [], trackScripts: [],
      dontTrackPrimary: false, notify: null, notifyMaster: null, notifyBackup: null, notifyFault: null, notifyStop: null,
      garpMasterDelayMs: null, garpMasterRepeat: null, garpMasterRefreshMs: null, garpMasterRefreshRepeat: null,
      smtpAlert: false, accept: true, acceptSet: false, pos: n.pos,
    };
    const refused = dispatch(kids(n), instanceTable, i, ctx, `vrrp_instance ${i.name}`);
    let ok = true;
    for (const [field, kw] of [['interface', 'interface'], ['virtualRouterId', 'virtual_router_id']] as const) {
      if (fieldPos(i, field) !== undefined) continue;
      ok = false;
      // A refused line may have held it (keepalived `@host` conditionals): the refusal says enough.
      if (!refused) ctx.diags.push({ severity: 'error', message: `vrrp_instance ${i.name} needs '${kw}'`, pos: n.pos });
    }
    if (ok) d.instances.push(i);
  })],
  ['vrrp_script', blk(0, 1, (d, n, ctx) => {
    const s: ScriptDraft = { name: name(n, 'vrrp_script'), script: { argv: [], pos: n.pos }, scriptSet: false, intervalMs: 1000,
      timeoutMs: 1000, timeoutSet: false, weight: 0, weightReverse: false, rise: 1, fall: 1, user: null, group: null, initFail: false, pos: n.pos };
    const refused = dispatch(kids(n), scriptTable, s, ctx, `vrrp_script ${s.name}`);
    // Kept (without a program) when refused lines may have held it, so track_script still resolves.
    if (!s.scriptSet && refused) { d.scripts.push(s); return; }
    if (!s.scriptSet) { ctx.diags.push({ severity: 'error', message: `vrrp_script ${s.name} needs 'script'`, pos: n.pos }); return; }
    d.scripts.push(s);
  })],
  ['virtual_server', blk(1, 2, (d, n, ctx) => {
    const first = arg(n, 0);
    if (first.text === 'fwmark') throw new ConfError(first.pos, 'virtual_server fwmark is not supported: tandem balances ADDRESS PORT services only');
    if (first.text === 'group') throw new ConfError(first.pos, 'virtual_server group is not supported (virtual_server_group): write one virtual_server per address and port');
    const { address, port } = addressPort(n, 'virtual_server', null);
    const v: VsDraft = {
      name: `${address} ${port}`, address, port, protocol: 'TCP', delayLoopMs: 60000, scheduler: 'wlc', method: 'NAT',
      persistenceTimeoutMs: 0, persistenceGranularity: 32, quorum: 1, hysteresis: 0, quorumUp: null, quorumDown: null,
      sorryServer: null, sorryServerInhibit: false, alpha: false, omega: false, inhibitOnFailure: false, haSuspend: false,
      virtualhost: null, forwarder: 'auto', realServers: [], inhibitRs: [], pos: n.pos,
    };
    if (n.args[1]) mark(v, 'port', n.args[1].pos);
    dispatch(kids(n), vsTable, v, ctx, `virtual_server ${v.name}`);
    d.vss.push(v);
  })],
  ['mqtt', blk(0, 0, (d, n, ctx) => {
    if (d.config.mqtt !== null) throw new ConfError(n.pos, `mqtt block given twice (first at line ${d.config.mqtt.pos.line})`);
    const m: MqttSettings = { url: '', prefix: 'tandem', node: null, username: null, passwordFile: null, caFile: null, certFile: null,
      keyFile: null, keepaliveS: 30, healthIntervalMs: 10000, protocolVersion: 5, offlineQueue: 1000, enabled: true, pos: n.pos };
    dispatch(kids(n), mqttTable, m, ctx, 'mqtt');
    if (m.url === '') throw new ConfError(n.pos, 'mqtt needs url');
    d.config.mqtt = m;
  })],
  ['serial_console', blk(0, 0, (d, n, ctx) => {
    if (d.config.serialConsole !== null) throw new ConfError(n.pos, `serial_console block given twice (first at line ${d.config.serialConsole.pos.line})`);
    const s: SerialConsoleSettings = { device: null, baud: 115200, idleTimeoutMs: 15 * 60 * 1000, enabled: true, pos: n.pos };
    dispatch(kids(n), serialTable, s, ctx, 'serial_console');
    d.config.serialConsole = s;
  })],
]);

/** Copies own fields except the draft-only ones, keeping field positions on the new object. */
function strip<T extends object>(draft: T, extra: readonly string[]): T {
  const out = { ...draft } as Record<string, unknown>;
  for (const k of extra) delete out[k];
  const m = fieldPositions.get(draft);
  if (m) fieldPositions.set(out, m);
  return out as T;
}

/**
 * Builds the model from a tree. Returns the model even when there are errors (partial, for
 * the validator to look at more); callers treat any error as "no configuration".
 */
export function buildModel(nodes: Node[], file: string): { config: Config; diagnostics: Diagnostic[] } {
  const ctx: Ctx = { diags: [] };
  const config: Config = {
    file, global: defaultGlobal({ file, line: 1, col: 1 }), syncGroups: [], instances: [], scripts: [], virtualServers: [],
    mqtt: null, serialConsole: null,
  };
  const d: Drafts = { config, instances: [], scripts: [], vss: [], globalSeen: false };
  // global_defs first: instances take their VRRP version and accept default from it, wherever it is.
  dispatch(nodes.filter((n) => n.keyword.text === 'global_defs' && !n.keyword.quoted), topTable, d, ctx, 'the top level');
  dispatch(nodes.filter((n) => n.keyword.text !== 'global_defs' || n.keyword.quoted), topTable, d, ctx, 'the top level');

  for (const i of d.instances) {
    if (!i.versionSet) i.version = config.global.vrrpVersion;
    // keepalived: accept mode is on unless vrrp_strict (RFC 5798 section 6.1 default is off).
    if (!i.acceptSet) i.accept = !config.global.vrrpStrict;
    config.instances.push(strip(i, ['versionSet', 'acceptSet']));
  }
  for (const s of d.scripts) {
    // keepalived: timeout defaults to the interval.
    if (!s.timeoutSet) s.timeoutMs = s.intervalMs;
    config.scripts.push(strip(s, ['timeoutSet', 'scriptSet']));
  }
  for (const v of d.vss) {
    const rss = v.inhibitRs.map((rs) => {
      // inhibit_on_failure on the virtual server is the default for its real servers.
      if (!rs.inhibitSet) rs.inhibitOnFailure = v.inhibitOnFailure;
      return strip(rs, ['inhibitSet']);
    });
    const plain = strip(v, ['inhibitRs']);
    plain.realServers = rss;
    config.virtualServers.push(plain);
  }
  return { config, diagnostics: ctx.diags };
}
