// global_defs (keepalived.conf(5) "GLOBAL CONFIGURATION"; keepalived/core/global_parser.c).
// Defaults are keepalived 2.2's.
import { DEFAULT_GARP } from '../../vrrp/machine.ts';
import type { GlobalDefs } from '../model.ts';
import { ConfError } from '../values.ts';
import { quote } from '../words.ts';
import type { Block } from './engine.ts';
import { directivesOf, ignored, refused, warned } from './entries.ts';
import * as R from './reasons.ts';
import { integer, MICROSECONDS, numbered, SECONDS, WORD } from './kinds.ts';

const E = directivesOf<GlobalDefs>();

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
    E.scalar('vrrp_garp_master_delay', 'garpMasterDelayMs', SECONDS, GARP_DEFAULTS.delayMs, { example: 'vrrp_garp_master_delay 2' }),
    E.scalar('vrrp_garp_master_repeat', 'garpMasterRepeat', integer(0, 10000), GARP_DEFAULTS.repeat, { example: 'vrrp_garp_master_repeat 3' }),
    E.scalar('vrrp_garp_master_refresh', 'garpMasterRefreshMs', SECONDS, GARP_DEFAULTS.refreshMs, { example: 'vrrp_garp_master_refresh 60' }),
    E.scalar('vrrp_garp_master_refresh_repeat', 'garpMasterRefreshRepeat', integer(0, 10000), GARP_DEFAULTS.refreshRepeat, { example: 'vrrp_garp_master_refresh_repeat 2' }),
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
    refused(['notify_fifo', 'notify_fifo_script', 'vrrp_notify_fifo', 'vrrp_notify_fifo_script', 'vrrp_notify_priority_changes',
      'fifo_write_vrrp_states_on_reload', 'lvs_notify_fifo', 'lvs_notify_fifo_script'], R.EVENTS),
    refused('lvs_sync_daemon', R.IPVS_SYNC),
    refused(['net_namespace', 'net_namespace_ipvs', 'namespace_with_ipsets'], R.NAMESPACE),
    refused(['process_names', 'process_name', 'vrrp_process_name', 'checker_process_name', 'lvs_process_name', 'bfd_process_name', 'use_symlink_paths'], R.PROCESSES),
    refused(['vrrp_cpu_affinity', 'vrrp_rlimit_rttime', 'vrrp_rlimit_rtime',
      'checker_priority', 'checker_rt_priority', 'checker_cpu_affinity', 'checker_rlimit_rttime', 'checker_rlimit_rtime',
      'bfd_priority', 'bfd_no_swap', 'bfd_rt_priority', 'bfd_cpu_affinity', 'bfd_rlimit_rttime', 'bfd_rlimit_rtime'], R.SCHEDULING),
    refused(['startup_script', 'startup_script_timeout', 'shutdown_script', 'shutdown_script_timeout'], R.HOOK_SCRIPTS),
    refused('set_supplementary_groups', R.SCRIPT_GROUPS),
    refused('checker_log_all_failures', R.CHECKER_LOG),
    refused('dynamic_interfaces', R.DYNAMIC_INTERFACES),
    refused('default_interface', 'name the interface in each vrrp_instance'),
    refused('disable_local_igmp', R.NOT_SUPPORTED),
    refused('v3_checksum_as_v2', R.CHECKSUM),
    refused(['lvs_timeouts', 'lvs_flush', 'lvs_flush_on_stop', 'lvs_flush_onstop'], R.IPVS),
    refused(['vrrp_mcast_group4', 'vrrp_mcast_group6'], R.MCAST_GROUP),
    refused(['vrrp_garp_lower_prio_delay', 'vrrp_garp_lower_prio_repeat', 'vrrp_lower_prio_no_advert', 'vrrp_higher_prio_send_advert'], R.SPLIT_BRAIN),
    refused('vrrp_down_timer_adverts', R.MASTER_DOWN),
    refused(['vrrp_gna_interval', 'vrrp_min_garp', 'vrrp_garp_extra_if', 'vrrp_vmac_garp_intvl'], R.GARP_TUNING),
    refused(['vrrp_iptables', 'vrrp_ipsets', 'nftables', 'nftables_priority', 'nftables_ifindex', 'nftables_counters',
      'nftables_ipvs', 'nftables_ipvs_priority', 'nftables_ipvs_start_fwmark'], R.FIREWALL),
    refused('vrrp_check_unicast_src', R.UNICAST_TUNING),
    refused(['enable_dbus', 'dbus_service_name', 'dbus_no_interface_name'], R.DBUS),
    refused(['vrrp_netlink_cmd_rcv_bufs', 'vrrp_netlink_cmd_rcv_bufs_force', 'vrrp_netlink_monitor_rcv_bufs', 'vrrp_netlink_monitor_rcv_bufs_force',
      'process_monitor_rcv_bufs', 'process_monitor_rcv_bufs_force', 'lvs_netlink_cmd_rcv_bufs', 'lvs_netlink_cmd_rcv_bufs_force',
      'lvs_netlink_monitor_rcv_bufs', 'lvs_netlink_monitor_rcv_bufs_force', 'vrrp_rx_bufs_policy', 'vrrp_rx_bufs_multiplier'], R.BUFFERS),
    refused('rs_init_notifies', 'notify_up and notify_down run on changes only'),
    refused(['vrrp_startup_delay', 'vrrp_delay_after_boot'], R.STARTUP_DELAY),
    refused(['log_unknown_vrids', 'vrrp_owner_ignore_adverts'], R.NOT_SUPPORTED),
    refused(['vmac_prefix', 'vmac_addr_prefix'], R.VMAC),
    refused('umask', R.UMASK),
    refused('random_seed', R.RANDOM_SEED),
    refused(['reload_check_config', 'reload_time_file', 'reload_repeat', 'reload_file', 'config_save_dir', 'tmp_config_directory',
      'data_use_instance', 'json_version', 'state_dump_file', 'stats_dump_file', 'json_dump_file'], R.DUMPS),
    refused('include_check', R.INCLUDE_CHECK),
    refused(['iproute_usr_dir', 'iproute_etc_dir'], R.IPROUTE),
  ],
};
