// global_defs (keepalived.conf(5) "GLOBAL CONFIGURATION"; keepalived/core/global_parser.c).
// Defaults are keepalived 2.2's.
import { DEFAULT_GARP } from '../../vrrp/machine.ts';
import type { GlobalDefs } from '../model.ts';
import { ConfError } from '../values.ts';
import { quote } from '../words.ts';
import type { Block } from './engine.ts';
import { directivesOf, ignored, refused } from './entries.ts';
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
    E.list('notification_email', 'notificationEmail', {
      example: 'notification_email {\n ops@example.com\n}',
      item: (c) => {
        if (c.args.length > 0 || c.children !== null) throw new ConfError(c.pos, 'notification_email: one address per line');
        return c.keyword.text;
      },
      write: (e) => [quote(e)],
    }),
    E.scalar('notification_email_from', 'notificationEmailFrom', WORD, null, { example: 'notification_email_from lb@example.com' }),
    E.custom({
      names: ['smtp_server'], args: [1, 2], shape: 'none', defaults: { smtpServer: null },
      example: 'smtp_server 192.0.2.25 25',
      read(g, n) { g.smtpServer = n.args.map((a) => a.text).join(' '); },
      write(g, out) {
        if (g.smtpServer === null) return;
        // HOST [PORT] as two words; anything else as the one quoted word it was read as.
        const words = g.smtpServer.split(' ');
        out.line('smtp_server', ...(words.length <= 2 ? words.map((w) => quote(w)) : [quote(g.smtpServer)]));
      },
    }),
    E.scalar('smtp_connect_timeout', 'smtpConnectTimeoutMs', SECONDS, null, { example: 'smtp_connect_timeout 30' }),
    E.scalar('vrrp_garp_master_delay', 'garpMasterDelayMs', SECONDS, GARP_DEFAULTS.delayMs, { example: 'vrrp_garp_master_delay 2' }),
    E.scalar('vrrp_garp_master_repeat', 'garpMasterRepeat', integer(0, 10000), GARP_DEFAULTS.repeat, { example: 'vrrp_garp_master_repeat 3' }),
    E.scalar('vrrp_garp_master_refresh', 'garpMasterRefreshMs', SECONDS, GARP_DEFAULTS.refreshMs, { example: 'vrrp_garp_master_refresh 60' }),
    E.scalar('vrrp_garp_master_refresh_repeat', 'garpMasterRefreshRepeat', integer(0, 10000), GARP_DEFAULTS.refreshRepeat, { example: 'vrrp_garp_master_refresh_repeat 2' }),
    E.scalar('vrrp_garp_interval', 'garpIntervalMs', SECONDS, GARP_DEFAULTS.intervalMs, { example: 'vrrp_garp_interval 0.001' }),
    E.flag('vrrp_skip_check_adv_addr', 'vrrpSkipCheckAdvAddr', { example: 'vrrp_skip_check_adv_addr' }),
    E.flag('vrrp_strict', 'vrrpStrict', { example: 'vrrp_strict' }),
    E.userGroup('script_user', 'scriptUser', 'scriptGroup', 'script_user nobody nogroup'),
    E.flag('enable_script_security', 'enableScriptSecurity', { example: 'enable_script_security' }),
    E.scalar('notify_fifo', 'notifyFifo', WORD, null, { example: 'notify_fifo /run/tandem.fifo' }),
    // Scheduling of the VRRP thread (keepalived's vrrp process): docs/realtime.md.
    E.scalar('vrrp_rt_priority', 'vrrpRtPriority', integer(0, 99), null, { example: 'vrrp_rt_priority 50' }),
    E.scalar('vrrp_priority', 'vrrpPriority', integer(-20, 19), null, { example: 'vrrp_priority -10' }),
    // keepalived: without a value, the highest SCHED_RR priority; -1 (no warning) and 0 are off.
    E.scalar('max_auto_priority', 'maxAutoPriority', integer(-1, 99), 0, { bare: 99, example: 'max_auto_priority 50' }),
    E.scalar('min_auto_priority_delay', 'minAutoPriorityDelayMs', MICROSECONDS, 1000, { example: 'min_auto_priority_delay 5000' }),
    ignored('vrrp_no_swap', [0, 0], 'tandem cannot lock its memory without native code (mlockall); the VRRP thread runs with realtime priority instead (docs/realtime.md)', 'vrrp_no_swap'),
    ignored('checker_no_swap', [0, 0], 'tandem cannot lock its memory without native code (mlockall)', 'checker_no_swap'),
    refused('lvs_sync_daemon', 'tandem has no IPVS connection sync daemon'),
    refused('net_namespace', 'run tandem inside the namespace instead'),
  ],
};
