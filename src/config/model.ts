// The typed configuration model. One model feeds every part of tandem (DESIGN.md: "nothing reads
// configuration text except src/config/"). The parser fills it with keepalived's defaults
// (keepalived.conf(5), keepalived 2.2.x), which live in the directive tables
// (src/config/directives/, one entry per keyword); the canonical writer turns it back into text.
//
// Times are in milliseconds, whatever unit the file used (keepalived writes seconds, with
// fractions for advert_int). Addresses are strings in canonical text (dotted quads; IPv6 as
// RFC 5952 writes it); prefixes are numbers.

/** Where a piece of configuration came from: for `FILE:LINE:COL: message` diagnostics. */
export interface Pos {
  file: string;
  line: number;
  col: number;
}

export interface Config {
  /** The top-level file the configuration was read from. */
  file: string;
  global: GlobalDefs;
  syncGroups: SyncGroup[];
  instances: VrrpInstance[];
  scripts: VrrpScript[];
  /** track_file (vrrp_track_file) blocks. */
  trackFiles: TrackFile[];
  /** vrrp_track_process blocks. */
  trackProcesses: TrackProcess[];
  virtualServers: VirtualServer[];
  mqtt: MqttSettings | null;
  serialConsole: SerialConsoleSettings | null;
  /** metrics { listen …; allow … }: Prometheus text on /metrics; null when not configured (off). */
  metrics: MetricsSettings | null;
  /** notify_programs { } (tandem's own): how long notify programs may run. */
  notifyPrograms: NotifyProgramSettings | null;
  /** static_ipaddress, static_routes, static_rules: set at start on either board, removed at stop. */
  staticIps: VirtualIp[];
  staticRoutes: IpRoute[];
  staticRules: IpRule[];
}

export interface GlobalDefs {
  /** router_id; also the MQTT node name when set. */
  routerId: string | null;
  /** vrrp_version: 2 or 3. */
  vrrpVersion: 2 | 3;
  /** Kept so a configuration carried over from keepalived round-trips; tandem does not mail. */
  notificationEmail: string[];
  notificationEmailFrom: string | null;
  smtpServer: string | null;
  smtpConnectTimeoutMs: number | null;
  /** vrrp_garp_master_delay (s → ms). */
  garpMasterDelayMs: number;
  /** vrrp_garp_master_repeat. */
  garpMasterRepeat: number;
  /** vrrp_garp_master_refresh (0 = off). */
  garpMasterRefreshMs: number;
  /** vrrp_garp_master_refresh_repeat. */
  garpMasterRefreshRepeat: number;
  /** vrrp_garp_interval (ms between GARPs of one burst). */
  garpIntervalMs: number;
  /** vrrp_skip_check_adv_addr, vrrp_strict: accepted for compatibility. */
  vrrpSkipCheckAdvAddr: boolean;
  vrrpStrict: boolean;
  /** script_user / enable_script_security. */
  scriptUser: string | null;
  scriptGroup: string | null;
  enableScriptSecurity: boolean;
  /**
   * vrrp_rt_priority: the VRRP thread's realtime (SCHED_RR) priority, 1..99; 0 keeps it
   * SCHED_OTHER. null: tandem's default (docs/realtime.md).
   */
  vrrpRtPriority: number | null;
  /** vrrp_priority: the VRRP thread's nice value, -20..19; null leaves it. */
  vrrpPriority: number | null;
  /** max_auto_priority: raise the realtime priority up to this when timers run late; 0 off. */
  maxAutoPriority: number;
  /** min_auto_priority_delay (µs in the file, ms here): how late a timer must be to raise it. */
  minAutoPriorityDelayMs: number;
  /** notify_fifo: every event (VRRP and LVS lines) in order; notify_fifo_script reads it. */
  notifyFifo: EventFifo | null;
  notifyFifoScript: Command | null;
  /** vrrp_notify_fifo: VRRP events only. */
  vrrpNotifyFifo: EventFifo | null;
  vrrpNotifyFifoScript: Command | null;
  /** lvs_notify_fifo: virtual and real server events only. */
  lvsNotifyFifo: EventFifo | null;
  lvsNotifyFifoScript: Command | null;
  /** vrrp_notify_priority_changes: the default of each instance's notify_priority_changes. */
  vrrpNotifyPriorityChanges: boolean;
  /** fifo_write_vrrp_states_on_reload: after a reload every instance's and group's state goes to the FIFOs. */
  fifoWriteVrrpStatesOnReload: boolean;
  /** vrrp_garp_lower_prio_delay / _repeat: a MASTER hearing a lower priority (keepalived: the garp_master values). */
  garpLowerPrioDelayMs: number;
  garpLowerPrioRepeat: number;
  /** vrrp_lower_prio_no_advert: a MASTER hearing a lower priority does not advertise at once. */
  lowerPrioNoAdvert: boolean;
  /** vrrp_higher_prio_send_advert: a MASTER hearing a higher priority advertises once before it yields. */
  higherPrioSendAdvert: boolean;
  /** vrrp_mcast_group4: where multicast adverts go and are heard. */
  vrrpMcastGroup4: string;
  /** vrrp_mcast_group6: the same for IPv6 instances (default ff02::12, RFC 5798 §5.1.2.2). */
  vrrpMcastGroup6: string;
  /** vrrp_gna_interval (ms between unsolicited neighbour advertisements of one burst). */
  gnaIntervalMs: number;
  /** vrrp_min_garp: one gratuitous ARP on becoming MASTER and no more, where not set otherwise. */
  vrrpMinGarp: boolean;
  /** dynamic_interfaces: an instance whose interface is missing waits in FAULT for it. */
  dynamicInterfaces: boolean;
  /** vrrp_startup_delay: instances wait this long after start before electing. */
  vrrpStartupDelayMs: number;
  /** vrrp_delay_after_boot: …and at least until the system has been up this long. */
  vrrpDelayAfterBootMs: number;
  /** umask: the process umask (files, the FIFOs tandem creates, and programs it runs); null leaves it. */
  umask: number | null;
  pos: Pos;
}

/** notify_fifo / vrrp_notify_fifo / lvs_notify_fifo FIFO_NAME [username [groupname]]. */
export interface EventFifo {
  path: string;
  /** Who owns the FIFO when tandem creates it; null: the default script user (script_user). */
  user: string | null;
  group: string | null;
  pos: Pos;
}

export type VrrpStateName = 'MASTER' | 'BACKUP';

export interface SyncGroup {
  name: string;
  /** Names of vrrp_instance blocks. */
  group: string[];
  notifyMaster: Command | null;
  notifyBackup: Command | null;
  notifyFault: Command | null;
  notifyStop: Command | null;
  notify: Command | null;
  trackScripts: TrackScript[];
  trackInterfaces: TrackInterface[];
  trackFiles: TrackRef[];
  trackProcesses: TrackRef[];
  /** notify_priority_changes: the members' default (null: global_defs' vrrp_notify_priority_changes). */
  notifyPriorityChanges: boolean | null;
  pos: Pos;
}

/** A program and its arguments, split as keepalived does (quotes group words); never a shell. */
export interface Command {
  argv: string[];
  pos: Pos;
}

export interface VirtualIp {
  address: string;
  prefix: number;
  /** dev NAME: the interface; null: the instance's interface. */
  dev: string | null;
  label: string | null;
  brd: string | null;
  scope: string | null;
  pos: Pos;
}

/** A route type of `ip route` other than a plain unicast route (keepalived find_rttables_rtntype). */
export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';

/**
 * One line of virtual_routes or static_routes (keepalived vrrp_iproute.c): the options of
 * `ip route` that tandem passes on. Addresses in canonical text; `to` as ADDRESS/PREFIX.
 */
export interface IpRoute {
  family: 4 | 6;
  type: RouteType;
  to: string;
  /** src: the preferred source address (ip route's `src`). */
  src: string | null;
  /** via / gw. */
  via: string | null;
  /** via A or B: a second next hop (the route is multipath). */
  or: string | null;
  /** dev / oif. */
  dev: string | null;
  scope: 'global' | 'site' | 'link' | 'host' | 'nowhere' | null;
  /** A table number, or main / local / default (tandem reads no rt_tables file). */
  table: string | null;
  /** metric / priority / preference. */
  metric: number | null;
  /** tos / dsfield. */
  tos: number | null;
  mtu: number | null;
  onlink: boolean;
  /** ip route add (fails if a matching route exists), prepend (keepalived's default) or append. */
  how: 'prepend' | 'add' | 'append';
  /** keepalived: a deleted route does not take the instance out of MASTER (tandem watches none). */
  noTrack: boolean;
  pos: Pos;
}

/** What a rule does: look up a table, or blackhole / unreachable / prohibit, or nop. */
export type RuleAction = 'table' | 'blackhole' | 'unreachable' | 'prohibit' | 'nop' | 'goto';

/** One line of virtual_rules or static_rules (keepalived vrrp_iprule.c), as `ip rule` takes it. */
export interface IpRule {
  family: 4 | 6;
  /** Prefixes as ADDRESS/PREFIX. */
  from: string | null;
  to: string | null;
  action: RuleAction;
  /** With action 'table': a number, or main / local / default. */
  table: string | null;
  /** With action 'goto': the preference jumped to. */
  gotoTarget: number | null;
  /** preference / priority / order; null: one counting down from 16384, as keepalived gives (engine-config.ts). */
  priority: number | null;
  tos: number | null;
  /** fwmark N[/MASK], as written (numbers). */
  fwmark: string | null;
  /** iif / dev. */
  iif: string | null;
  oif: string | null;
  suppressPrefixLength: number | null;
  noTrack: boolean;
  pos: Pos;
}

/** use_vmac [NAME]: the instance's VRRP virtual MAC interface (a private-mode macvlan, RFC 5798 §7.3). */
export interface Vmac {
  /** The name given, or null: keepalived's (vrrp.VRID, the next free vrrpN.VRID). */
  name: string | null;
  pos: Pos;
}

export interface TrackInterface {
  name: string;
  /** weight: 0 means a link down puts the instance in FAULT; otherwise added to the priority. */
  weight: number;
  pos: Pos;
}

export interface TrackScript {
  name: string;
  /** weight override; null uses the vrrp_script's own weight. */
  weight: number | null;
  pos: Pos;
}

/** A track_file or track_process line of an instance or sync group: NAME [weight N [reverse|noreverse]]. */
export interface TrackRef {
  name: string;
  /** null: the tracked block's own weight. */
  weight: number | null;
  /** null: the tracked block's own reverse. */
  reverse: boolean | null;
  pos: Pos;
}

export interface Authentication {
  /** PASS is carried in the v2 advertisement; AH is refused by the validator (not supported). */
  type: 'PASS' | 'AH';
  /** keepalived truncates the password to 8 bytes. */
  pass: string;
  pos: Pos;
}

export interface VrrpInstance {
  name: string;
  /** state MASTER|BACKUP: the initial state wish (keepalived: only a hint). */
  initialState: VrrpStateName;
  interface: string;
  virtualRouterId: number;
  /** 1..255; 255 is the address owner. */
  priority: number;
  /** advert_int in ms. v2 needs whole seconds; v3 centiseconds. */
  advertIntMs: number;
  /** vrrp_version per instance, else global_defs. */
  version: 2 | 3;
  nopreempt: boolean;
  /** preempt_delay in ms. */
  preemptDelayMs: number;
  authentication: Authentication | null;
  virtualIps: VirtualIp[];
  /** virtual_ipaddress_excluded: added with the others but not carried in the advertisement. */
  virtualIpsExcluded: VirtualIp[];
  unicastSrcIp: string | null;
  unicastPeers: string[];
  trackInterfaces: TrackInterface[];
  trackScripts: TrackScript[];
  trackFiles: TrackRef[];
  trackProcesses: TrackRef[];
  /** dont_track_primary: link state of `interface` does not cause FAULT. */
  dontTrackPrimary: boolean;
  notify: Command | null;
  notifyMaster: Command | null;
  notifyBackup: Command | null;
  notifyFault: Command | null;
  notifyStop: Command | null;
  /** notify_master_rx_lower_pri: run when, MASTER, it hears a lower priority (another MASTER). */
  notifyMasterRxLowerPri: Command | null;
  /** notify_priority_changes: effective priority changes go to the FIFOs (null: the sync group's, else global_defs'). */
  notifyPriorityChanges: boolean | null;
  /** garp_master_delay etc. per instance; null falls back to global_defs. */
  garpMasterDelayMs: number | null;
  garpMasterRepeat: number | null;
  garpMasterRefreshMs: number | null;
  garpMasterRefreshRepeat: number | null;
  /** garp_lower_prio_delay / _repeat; null falls back to global_defs. */
  garpLowerPrioDelayMs: number | null;
  garpLowerPrioRepeat: number | null;
  /** lower_prio_no_advert / higher_prio_send_advert; null: global_defs'. */
  lowerPrioNoAdvert: boolean | null;
  higherPrioSendAdvert: boolean | null;
  /** smtp_alert: accepted for compatibility. */
  smtpAlert: boolean;
  /** accept / no_accept (v3: whether the master accepts packets to the VIP). */
  accept: boolean;
  /** use_vmac: adverts, VIPs and routes on a macvlan with the virtual MAC; null without it. */
  vmac: Vmac | null;
  /** vmac_xmit_base: adverts go out (and are heard) on the parent interface with its own MAC. */
  vmacXmitBase: boolean;
  /** virtual_routes / virtual_rules: added with the VIPs on becoming MASTER, removed with them. */
  virtualRoutes: IpRoute[];
  virtualRules: IpRule[];
  /** native_ipv6: the instance is IPv6 whatever its addresses say (keepalived). */
  nativeIpv6: boolean;
  /**
   * The instance's address family (keepalived: one instance, one family), derived once the
   * configuration is read (directives/instance.ts familyOf): native_ipv6, else its
   * virtual_ipaddress, else unicast_src_ip, else unicast_peer; IPv4 when nothing says.
   * virtual_ipaddress_excluded may hold either family.
   */
  family: 4 | 6;
  pos: Pos;
}

export interface VrrpScript {
  name: string;
  script: Command;
  /** interval in ms. */
  intervalMs: number;
  /** timeout in ms (when not given: the interval). */
  timeoutMs: number;
  /** weight (0: failure means FAULT). */
  weight: number;
  /** weight reverse. */
  weightReverse: boolean;
  /** rise and fall. */
  rise: number;
  fall: number;
  user: string | null;
  group: string | null;
  /** init_fail: start in the failed state. */
  initFail: boolean;
  pos: Pos;
}

/** track_file NAME { file …; weight …; init_file … } (vrrp_track_file is keepalived's old name). */
export interface TrackFile {
  name: string;
  /** The file whose number is read. */
  file: string;
  /** weight (default 1): the number is multiplied by it; 0: non-zero means FAULT. */
  weight: number;
  weightReverse: boolean;
  /** init_file [VALUE] [overwrite]: write VALUE at start when the file is missing (or always). */
  initFile: { value: number; overwrite: boolean } | null;
  pos: Pos;
}

/** vrrp_track_process NAME { … } (keepalived.conf(5) "VRRP track processes"). */
export interface TrackProcess {
  name: string;
  /** process NAME [PARAM…]: the name (or argv[0] with full_command), then parameters to match. */
  process: string[];
  /** param_match: how parameters match; 'none': they are not looked at (no parameters given). */
  paramMatch: 'none' | 'exact' | 'initial' | 'partial';
  weight: number;
  weightReverse: boolean;
  /** quorum (default 1) and quorum_max (null: unlimited) matching processes mean up. */
  quorum: number;
  quorumMax: number | null;
  /** fork_delay / terminate_delay (delay sets both), in ms. */
  forkDelayMs: number;
  terminateDelayMs: number;
  /** full_command: match argv[0] of /proc/PID/cmdline instead of the name in /proc/PID/comm. */
  fullCommand: boolean;
  pos: Pos;
}

/** notify_programs { timeout … } (tandem's own). */
export interface NotifyProgramSettings {
  /** A notify program still running after this is killed (and logged). */
  timeoutMs: number;
  pos: Pos;
}

export type Scheduler = 'rr' | 'wrr' | 'lc' | 'wlc' | 'sh' | 'dh' | 'mh';
export type Protocol = 'TCP' | 'UDP';
/**
 * lb_kind / lvs_method: NAT rewrites the destination (DNAT, conntrack); DR hands the client's
 * packet unchanged to the real server's MAC (netdev ingress `fwd`, stateless: docs/dr.md). TUN
 * is refused by name (these kernels have no IPIP: docs/tun.md).
 */
export type ForwardingMethod = 'NAT' | 'DR';

export interface VirtualServer {
  /** "ADDRESS PORT" as written, used as the VS key in topics and the console. */
  name: string;
  address: string;
  port: number;
  protocol: Protocol;
  /** delay_loop in ms. */
  delayLoopMs: number;
  /** lb_algo / lvs_sched (lc/wlc only on the userspace forwarder). */
  scheduler: Scheduler;
  /** lb_kind / lvs_method (TUN is refused by name). */
  method: ForwardingMethod;
  /** persistence_timeout in ms (0 = off). */
  persistenceTimeoutMs: number;
  /** persistence_granularity as a prefix length. */
  persistenceGranularity: number;
  /** quorum, hysteresis. */
  quorum: number;
  hysteresis: number;
  quorumUp: Command | null;
  quorumDown: Command | null;
  sorryServer: { address: string; port: number; pos: Pos } | null;
  /** sorry_server_inhibit. */
  sorryServerInhibit: boolean;
  /** alpha: real servers start down until their first successful check. */
  alpha: boolean;
  /** omega: run notify_down/quorum_down on removal. */
  omega: boolean;
  /** inhibit_on_failure at the virtual-server level: the default for its real servers. */
  inhibitOnFailure: boolean;
  /** ha_suspend: only active on the MASTER (accepted; tandem checks on both boards anyway). */
  haSuspend: boolean;
  /** virtualhost for HTTP checks. */
  virtualhost: string | null;
  /** tandem: which data plane serves this VS. 'auto' picks nftables when available. */
  forwarder: 'auto' | 'nftables' | 'userspace';
  realServers: RealServer[];
  pos: Pos;
}

export interface RealServer {
  /** "ADDRESS PORT". */
  name: string;
  address: string;
  port: number;
  /** weight. */
  weight: number;
  inhibitOnFailure: boolean;
  notifyUp: Command | null;
  notifyDown: Command | null;
  /** Zero or more checkers; with none the real server is always up. */
  checkers: Checker[];
  pos: Pos;
}

/** Timing common to every checker (keepalived: check_api.c). */
export interface CheckTiming {
  /** connect_timeout in ms. */
  connectTimeoutMs: number;
  /** retry (alias nb_get_retry). */
  retry: number;
  /** delay_before_retry in ms. */
  delayBeforeRetryMs: number;
  /** delay_loop per checker; null uses the virtual server's. */
  delayLoopMs: number | null;
  /** warmup (max random delay before the first check); null uses delay_loop. */
  warmupMs: number | null;
  /** connect_ip / connect_port / bindto: where to connect; null: the real server. */
  connectIp: string | null;
  connectPort: number | null;
  bindTo: string | null;
}

export interface TcpCheck extends CheckTiming {
  kind: 'TCP_CHECK';
  pos: Pos;
}

export interface HttpUrl {
  path: string;
  /** digest (MD5 hex of the body) or null. */
  digest: string | null;
  /** status_code ranges; empty means 200-299 (keepalived). */
  statusCodes: Array<[number, number]>;
  /** virtualhost per url. */
  virtualhost: string | null;
  pos: Pos;
}

export interface HttpCheck extends CheckTiming {
  kind: 'HTTP_GET' | 'SSL_GET';
  urls: HttpUrl[];
  virtualhost: string | null;
  /** enable_sni (SSL_GET). */
  enableSni: boolean;
  /** http_protocol: 1.0, 1.0C, 1.1. */
  httpProtocol: '1.0' | '1.0C' | '1.1';
  pos: Pos;
}

export interface MiscCheck {
  kind: 'MISC_CHECK';
  /** misc_path: the program and its arguments. */
  path: Command;
  /** misc_timeout in ms; null: the virtual server's delay_loop (keepalived check_misc.c). */
  miscTimeoutMs: number | null;
  /** misc_dynamic: exit codes 2..255 set weight = code - 2. */
  miscDynamic: boolean;
  user: string | null;
  group: string | null;
  delayLoopMs: number | null;
  warmupMs: number | null;
  retry: number;
  delayBeforeRetryMs: number;
  pos: Pos;
}

export interface UdpCheck extends CheckTiming {
  kind: 'UDP_CHECK';
  /** payload to send (hex in the file) and whether a reply is needed. */
  payload: Buffer | null;
  requireReply: string | null;
  pos: Pos;
}

export type Checker = TcpCheck | HttpCheck | MiscCheck | UdpCheck;

export interface MqttSettings {
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  /** topic prefix. */
  prefix: string;
  /** node name; null: router_id, else the host name. */
  node: string | null;
  username: string | null;
  /** The password is read from this file at start (never written in the configuration). */
  passwordFile: string | null;
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
  /** keepalive in s. */
  keepaliveS: number;
  /** health interval in ms. */
  healthIntervalMs: number;
  /** 5 or 4 (3.1.1); 5 falls back to 4 when the broker refuses it. */
  protocolVersion: 4 | 5;
  /** offline buffer bound in messages. */
  offlineQueue: number;
  enabled: boolean;
  /** homeassistant on: Home Assistant MQTT discovery (each board a device). Off by default. */
  homeassistant: boolean;
  /** The discovery prefix Home Assistant listens on (its own default: homeassistant). */
  homeassistantPrefix: string;
  pos: Pos;
}

/** An address and port to listen on; IPv6 addresses without brackets. */
export interface ListenAddress {
  address: string;
  port: number;
}

/** A network allowed to scrape: "ADDRESS/LENGTH" in canonical form. */
export interface AllowedNet {
  address: string;
  prefix: number;
}

export interface MetricsSettings {
  /** listen ADDR:PORT / [ADDR6]:PORT, one line each; at least one. */
  listen: ListenAddress[];
  /** allow CIDR…: who may scrape; empty allows everyone who can reach a listen address. */
  allow: AllowedNet[];
  pos: Pos;
}

export interface SerialConsoleSettings {
  /** device path; null: the board profile's. */
  device: string | null;
  /** baud rate. */
  baud: number;
  /** idle logout in ms. */
  idleTimeoutMs: number;
  enabled: boolean;
  pos: Pos;
}

/** A problem found while reading or validating a configuration. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  message: string;
  pos: Pos;
}
