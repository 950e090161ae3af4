// global_defs (keepalived.conf(5) "GLOBAL CONFIGURATION"; keepalived/core/global_parser.c).
// Defaults are keepalived 2.2's.
import { DEFAULT_GARP } from '../../vrrp/machine.ts';
import type { Node, Token } from '../ast.ts';
import type { EventFifo, GlobalDefs } from '../model.ts';
import { mark } from '../positions.ts';
import { ConfError, ipAddress, ipv4, shown } from '../values.ts';
import { ipFamily } from '../../util/ip.ts';
import { quote } from '../words.ts';
import type { Block } from './engine.ts';
import { directivesOf, ignored, refused, warned } from './entries.ts';
import * as R from './reasons.ts';
import { BOOL, integer, MICROSECONDS, numbered, SECONDS, WORD, type Value } from './kinds.ts';

const E = directivesOf<GlobalDefs>();

/** keepalived's default multicast group for IPv4 adverts (RFC 5798 section 5.1.1.2). */
export const VRRP_MCAST_GROUP4 = '224.0.0.18';
/** …and for IPv6 adverts (section 5.1.2.2). */
export const VRRP_MCAST_GROUP6 = 'ff02::12';

type FifoField = 'notifyFifo' | 'vrrpNotifyFifo' | 'lvsNotifyFifo';

/** `notify_fifo FIFO_NAME [username [groupname]]` (keepalived global_parser.c notify_fifo()). */
function fifo(kw: string, field: FifoField, example: string) {
  return E.custom({
    names: [kw], args: [1, 3], shape: 'none', defaults: { [field]: null },
    example,
    read(g, n) {
      const [path, user, group] = n.args as [Token, Token | undefined, Token | undefined];
      if (!path.text.startsWith('/')) throw new ConfError(path.pos, `${kw}: '${shown(path.text)}' is not an absolute path`);
      const f: EventFifo = { path: path.text, user: user?.text ?? null, group: group?.text ?? null, pos: n.pos };
      g[field] = f;
      mark(g, field, n.pos);
    },
    write(g, out) {
      const f = g[field];
      if (f) out.line(kw, quote(f.path), ...(f.user !== null ? [quote(f.user)] : []), ...(f.group !== null ? [quote(f.group)] : []));
    },
  });
}

const UMASK_BITS: Readonly<Record<string, number>> = {
  IRUSR: 0o400, IWUSR: 0o200, IXUSR: 0o100, IRWXU: 0o700,
  IRGRP: 0o040, IWGRP: 0o020, IXGRP: 0o010, IRWXG: 0o070,
  IROTH: 0o004, IWOTH: 0o002, IXOTH: 0o001, IRWXO: 0o007,
};

/** `umask NUMBER` (strtol base 0: 022 octal, 0x12 hex) or `umask IWGRP|IWOTH` (keepalived umask_handler). */
function readUmask(n: Node): number {
  const first = n.args[0]!;
  if (/^\d/.test(first.text)) {
    if (n.args.length !== 1) throw new ConfError(n.args[1]!.pos, 'umask: one number, or bits joined by |');
    const t = first.text;
    const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t.slice(2), 16) : /^0[0-7]*$/.test(t) ? parseInt(t, 8) : /^[1-9]\d*$/.test(t) ? parseInt(t, 10) : NaN;
    if (!Number.isInteger(v) || v < 0 || v > 0o777) throw new ConfError(first.pos, `umask: '${shown(t)}' is not a mode between 0 and 0777`);
    return v;
  }
  const text = n.args.map((a) => a.text).join('');
  let bits = 0;
  for (const part of text.split('|')) {
    const b = UMASK_BITS[part];
    if (b === undefined) throw new ConfError(first.pos, `umask: '${shown(part)}' is not one of ${Object.keys(UMASK_BITS).join(', ')}`);
    bits |= b;
  }
  return bits;
}

const MCAST4: Value<string> = {
  read: (t, what) => {
    const a = ipv4(t, what);
    const first = Number(a.split('.')[0]);
    if (first < 224 || first > 239) throw new ConfError(t.pos, `${what}: ${a} is not a multicast address (224.0.0.0/4)`);
    return a;
  },
  write: (s) => s,
};

/** An IPv6 multicast group (ff00::/8); VRRP's own is link-scoped ff02::12 (RFC 5798 section 5.1.2.2). */
const MCAST6: Value<string> = {
  read: (t, what) => {
    const a = ipAddress(t, what);
    if (ipFamily(a) !== 6 || !a.startsWith('ff')) throw new ConfError(t.pos, `${what}: ${a} is not an IPv6 multicast address (ff00::/8)`);
    return a;
  },
  write: (s) => s,
};

/** Gratuitous ARP after becoming MASTER (keepalived: vrrp_garp_master_*). keepalived's gratuitous ARP defaults are the state machine's (src/vrrp/machine.ts DEFAULT_GARP,
 * the protocol part, which the VRRP worker loads without the configuration); the burst spacing
 * vrrp_garp_interval is the sender's. */
export const GARP_DEFAULTS = Object.freeze({ ...DEFAULT_GARP, intervalMs: 0 });

/** The VRRP version keyword's words (global_defs vrrp_version, vrrp_instance version). */
export const VRRP_VERSION = numbered<2 | 3>({ '2': 2, '3': 3 });

export const GLOBAL: Block<GlobalDefs> = {
  name: 'global_defs',
  where: () => 'global_defs',
  entries: [
    E.scalar('router_id', 'routerId', WORD, null, { example: 'router_id lb-a' }),
    E.scalar('vrrp_version', 'vrrpVersion', VRRP_VERSION, 2, { example: 'vrrp_version 3' }),
    warned(E.list('notification_email', 'notificationEmail', {
      example: 'notification_email {\n ops@example.com\n}',
      item: (c) => {
        if (c.args.length > 0 || c.children !== null) throw new ConfError(c.pos, 'notification_email: one address per line');
        return c.keyword.text;
      },
      write: (e) => [quote(e)],
    }), R.EMAIL),
    warned(E.scalar('notification_email_from', 'notificationEmailFrom', WORD, null, { example: 'notification_email_from lb@example.com' }), R.EMAIL),
    warned(E.custom({
      names: ['smtp_server'], args: [1, 2], shape: 'none', defaults: { smtpServer: null },
      example: 'smtp_server 192.0.2.25 25',
      read(g, n) { g.smtpServer = n.args.map((a) => a.text).join(' '); },
      write(g, out) {
        if (g.smtpServer === null) return;
        // HOST [PORT] as two words; anything else as the one quoted word it was read as.
        const words = g.smtpServer.split(' ');
        out.line('smtp_server', ...(words.length <= 2 ? words.map((w) => quote(w)) : [quote(g.smtpServer)]));
      },
    }), R.EMAIL),
    warned(E.scalar('smtp_connect_timeout', 'smtpConnectTimeoutMs', SECONDS, null, { example: 'smtp_connect_timeout 30' }), R.EMAIL),
    ignored(['smtp_helo_name', 'smtp_alert', 'smtp_alert_vrrp', 'smtp_alert_checker', 'no_email_faults', 'no_checker_emails'], R.EMAIL),
    ignored(['snmp_socket', 'enable_traps', 'enable_snmp_vrrp', 'enable_snmp_keepalived', 'enable_snmp_rfc', 'enable_snmp_rfcv2',
      'enable_snmp_rfcv3', 'enable_snmp_checker', 'snmp_vs_stats_update_interval', 'snmp_rs_stats_update_interval'], R.SNMP),
    // vrrp_min_garp: one GARP on becoming MASTER and nothing more, for the values not set
    // (keepalived vrrp_min_garp_handler leaves those given explicitly). Before the values it
    // changes, so their inherited defaults see it.
    E.scalar('vrrp_min_garp', 'vrrpMinGarp', BOOL, false, { bare: true, example: 'vrrp_min_garp' }),
    E.scalar('vrrp_garp_master_delay', 'garpMasterDelayMs', SECONDS, GARP_DEFAULTS.delayMs, {
      example: 'vrrp_garp_master_delay 2', inherit: (g) => (g.vrrpMinGarp ? 0 : GARP_DEFAULTS.delayMs),
    }),
    E.scalar('vrrp_garp_master_repeat', 'garpMasterRepeat', integer(0, 10000), GARP_DEFAULTS.repeat, {
      example: 'vrrp_garp_master_repeat 3', inherit: (g) => (g.vrrpMinGarp ? 1 : GARP_DEFAULTS.repeat),
    }),
    E.scalar('vrrp_garp_master_refresh', 'garpMasterRefreshMs', SECONDS, GARP_DEFAULTS.refreshMs, {
      example: 'vrrp_garp_master_refresh 60', inherit: (g) => (g.vrrpMinGarp ? 0 : GARP_DEFAULTS.refreshMs),
    }),
    E.scalar('vrrp_garp_master_refresh_repeat', 'garpMasterRefreshRepeat', integer(0, 10000), GARP_DEFAULTS.refreshRepeat, {
      example: 'vrrp_garp_master_refresh_repeat 2', inherit: (g) => (g.vrrpMinGarp ? 0 : GARP_DEFAULTS.refreshRepeat),
    }),
    E.scalar('vrrp_garp_interval', 'garpIntervalMs', SECONDS, GARP_DEFAULTS.intervalMs, { example: 'vrrp_garp_interval 0.001' }),
    E.flag('vrrp_skip_check_adv_addr', 'vrrpSkipCheckAdvAddr', { example: 'vrrp_skip_check_adv_addr' }),
    E.flag('vrrp_strict', 'vrrpStrict', { example: 'vrrp_strict' }),
    E.userGroup('script_user', 'scriptUser', 'scriptGroup', 'script_user nobody nogroup'),
    E.flag('enable_script_security', 'enableScriptSecurity', { example: 'enable_script_security' }),
    // Scheduling of the VRRP thread (keepalived's vrrp process): docs/realtime.md.
    E.scalar('vrrp_rt_priority', 'vrrpRtPriority', integer(0, 99), null, { example: 'vrrp_rt_priority 50' }),
    E.scalar('vrrp_priority', 'vrrpPriority', integer(-20, 19), null, { example: 'vrrp_priority -10' }),
    // keepalived: without a value, the highest SCHED_RR priority; -1 (no warning) and 0 are off.
    E.scalar('max_auto_priority', 'maxAutoPriority', integer(-1, 99), 0, { bare: 99, example: 'max_auto_priority 50' }),
    E.scalar('min_auto_priority_delay', 'minAutoPriorityDelayMs', MICROSECONDS, 1000, { example: 'min_auto_priority_delay 5000' }),
    ignored('vrrp_no_swap', 'tandem cannot lock its memory without native code (mlockall); the VRRP thread runs with realtime priority instead (docs/realtime.md)', 'vrrp_no_swap'),
    ignored('checker_no_swap', 'tandem cannot lock its memory without native code (mlockall)', 'checker_no_swap'),
    // Ordered events (keepalived.conf(5) "notify_fifo"; vrrp_notify.c, check/ipwrapper.c): one
    // line per event, in order, on FIFOs tandem opens without blocking (src/util/event-fifo.ts).
    fifo('notify_fifo', 'notifyFifo', 'notify_fifo /run/tandem/events.fifo'),
    E.command('notify_fifo_script', 'notifyFifoScript', 'notify_fifo_script /usr/local/bin/read-events'),
    fifo('vrrp_notify_fifo', 'vrrpNotifyFifo', 'vrrp_notify_fifo /run/tandem/vrrp.fifo nobody nogroup'),
    E.command('vrrp_notify_fifo_script', 'vrrpNotifyFifoScript', 'vrrp_notify_fifo_script "/usr/local/bin/read-vrrp --log"'),
    fifo('lvs_notify_fifo', 'lvsNotifyFifo', 'lvs_notify_fifo /run/tandem/lvs.fifo root'),
    E.command('lvs_notify_fifo_script', 'lvsNotifyFifoScript', 'lvs_notify_fifo_script /usr/local/bin/read-lvs'),
    E.scalar('vrrp_notify_priority_changes', 'vrrpNotifyPriorityChanges', BOOL, false, { bare: true, example: 'vrrp_notify_priority_changes true' }),
    E.flag('fifo_write_vrrp_states_on_reload', 'fifoWriteVrrpStatesOnReload', { example: 'fifo_write_vrrp_states_on_reload' }),
    // A MASTER hearing a lower priority (keepalived vrrp.c vrrp_state_master_rx, and RFC 9568
    // section 6.4.3, which lets it advertise at once): keepalived's defaults are the
    // vrrp_garp_master_* values (vrrp.c, after the configuration is read) and nothing under vrrp_strict.
    E.scalar('vrrp_garp_lower_prio_delay', 'garpLowerPrioDelayMs', SECONDS, GARP_DEFAULTS.delayMs, {
      example: 'vrrp_garp_lower_prio_delay 3', inherit: (g) => (g.vrrpStrict ? 0 : g.garpMasterDelayMs),
    }),
    E.scalar('vrrp_garp_lower_prio_repeat', 'garpLowerPrioRepeat', integer(0, 10000), GARP_DEFAULTS.repeat, {
      example: 'vrrp_garp_lower_prio_repeat 2', inherit: (g) => (g.vrrpStrict ? 0 : g.garpMasterRepeat),
    }),
    E.scalar('vrrp_lower_prio_no_advert', 'lowerPrioNoAdvert', BOOL, false, { bare: true, example: 'vrrp_lower_prio_no_advert', inherit: (g) => g.vrrpStrict }),
    // tandem's default differs from keepalived's (false): the MASTER that yields to a higher
    // priority after a split brain advertises once more, at its own lower priority, so the other
    // MASTER hears it and sends its gratuitous ARPs, and clients the yielding board had do not
    // wait for their ARP entries to expire. keepalived.conf(5) describes it as the fix for "two
    // simultaneous masters, and the last GARP messages seen were from us"; vrrp_strict forbids it.
    E.scalar('vrrp_higher_prio_send_advert', 'higherPrioSendAdvert', BOOL, true, {
      bare: true, example: 'vrrp_higher_prio_send_advert false', inherit: (g) => !g.vrrpStrict,
    }),
    E.scalar('vrrp_mcast_group4', 'vrrpMcastGroup4', MCAST4, VRRP_MCAST_GROUP4, { example: 'vrrp_mcast_group4 224.0.0.19' }),
    E.scalar('vrrp_mcast_group6', 'vrrpMcastGroup6', MCAST6, VRRP_MCAST_GROUP6, { example: 'vrrp_mcast_group6 ff02::112' }),
    // The spacing of IPv6 unsolicited neighbour advertisements: kept for when tandem sends them.
    E.scalar('vrrp_gna_interval', 'gnaIntervalMs', SECONDS, 0, { example: 'vrrp_gna_interval 0.001' }),
    E.scalar('vrrp_startup_delay', 'vrrpStartupDelayMs', SECONDS, 0, { example: 'vrrp_startup_delay 5.5' }),
    E.scalar('vrrp_delay_after_boot', 'vrrpDelayAfterBootMs', SECONDS, 0, { example: 'vrrp_delay_after_boot 15.23' }),
    E.custom({
      names: ['dynamic_interfaces'], args: [0, 1], shape: 'none', defaults: { dynamicInterfaces: false },
      example: 'dynamic_interfaces',
      read(g, n) {
        // allow_if_changes: keepalived re-learns an interface deleted and created again with
        // another type; tandem always looks an interface up again when it comes back.
        if (n.args[0] !== undefined && n.args[0].text !== 'allow_if_changes') throw new ConfError(n.args[0].pos, `dynamic_interfaces: '${shown(n.args[0].text)}' is not allow_if_changes`);
        g.dynamicInterfaces = true;
        mark(g, 'dynamicInterfaces', n.pos);
      },
      write(g, out) { if (g.dynamicInterfaces) out.line('dynamic_interfaces'); },
    }),
    E.custom({
      names: ['umask'], args: [1, 100], shape: 'none', defaults: { umask: null },
      example: 'umask IWGRP|IWOTH',
      read(g, n) { g.umask = readUmask(n); mark(g, 'umask', n.pos); },
      write(g, out) { if (g.umask !== null) out.line('umask', '0' + g.umask.toString(8)); },
    }),
    refused('lvs_sync_daemon', R.IPVS_SYNC),
    refused(['net_namespace', 'net_namespace_ipvs', 'namespace_with_ipsets'], R.NAMESPACE),
    refused(['process_names', 'process_name', 'vrrp_process_name', 'checker_process_name', 'lvs_process_name', 'bfd_process_name', 'use_symlink_paths'], R.PROCESSES),
    refused(['vrrp_cpu_affinity', 'vrrp_rlimit_rttime', 'vrrp_rlimit_rtime',
      'checker_priority', 'checker_rt_priority', 'checker_cpu_affinity', 'checker_rlimit_rttime', 'checker_rlimit_rtime',
      'bfd_priority', 'bfd_no_swap', 'bfd_rt_priority', 'bfd_cpu_affinity', 'bfd_rlimit_rttime', 'bfd_rlimit_rtime'], R.SCHEDULING),
    refused(['startup_script', 'startup_script_timeout', 'shutdown_script', 'shutdown_script_timeout'], R.HOOK_SCRIPTS),
    refused('set_supplementary_groups', R.SCRIPT_GROUPS),
    refused('checker_log_all_failures', R.CHECKER_LOG),
    refused('default_interface', 'name the interface in each vrrp_instance'),
    refused('disable_local_igmp', R.NOT_SUPPORTED),
    refused('v3_checksum_as_v2', R.CHECKSUM),
    refused(['lvs_timeouts', 'lvs_flush', 'lvs_flush_on_stop', 'lvs_flush_onstop'], R.IPVS),
    refused('vrrp_down_timer_adverts', R.MASTER_DOWN),
    refused(['vrrp_garp_extra_if', 'vrrp_vmac_garp_intvl'], R.GARP_TUNING),
    refused(['vrrp_iptables', 'vrrp_ipsets', 'nftables', 'nftables_priority', 'nftables_ifindex', 'nftables_counters',
      'nftables_ipvs', 'nftables_ipvs_priority', 'nftables_ipvs_start_fwmark'], R.FIREWALL),
    refused('vrrp_check_unicast_src', R.UNICAST_TUNING),
    refused(['enable_dbus', 'dbus_service_name', 'dbus_no_interface_name'], R.DBUS),
    refused(['vrrp_netlink_cmd_rcv_bufs', 'vrrp_netlink_cmd_rcv_bufs_force', 'vrrp_netlink_monitor_rcv_bufs', 'vrrp_netlink_monitor_rcv_bufs_force',
      'process_monitor_rcv_bufs', 'process_monitor_rcv_bufs_force', 'lvs_netlink_cmd_rcv_bufs', 'lvs_netlink_cmd_rcv_bufs_force',
      'lvs_netlink_monitor_rcv_bufs', 'lvs_netlink_monitor_rcv_bufs_force', 'vrrp_rx_bufs_policy', 'vrrp_rx_bufs_multiplier'], R.BUFFERS),
    refused('rs_init_notifies', 'notify_up and notify_down run on changes only'),
    refused(['log_unknown_vrids', 'vrrp_owner_ignore_adverts'], R.NOT_SUPPORTED),
    refused(['vmac_prefix', 'vmac_addr_prefix'], R.VMAC),
    refused('random_seed', R.RANDOM_SEED),
    refused(['reload_check_config', 'reload_time_file', 'reload_repeat', 'reload_file', 'config_save_dir', 'tmp_config_directory',
      'data_use_instance', 'json_version', 'state_dump_file', 'stats_dump_file', 'json_dump_file'], R.DUMPS),
    refused('include_check', R.INCLUDE_CHECK),
    refused(['iproute_usr_dir', 'iproute_etc_dir'], R.IPROUTE),
  ],
};
