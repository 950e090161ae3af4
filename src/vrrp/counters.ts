// Per-instance VRRP counters, named as keepalived's stats file names them (vrrp_print_stats,
// struct _vrrp_stats in keepalived/include/vrrp.h), plus keepalived's SNMP-only counters
// chk_err, vers_err and vrid_err, which tandem always keeps, and tandem's own ip_src_err: IPv6
// multicast adverts from a source that is not link-local (RFC 5798 §5.1.2.1), which keepalived
// does not check.

import type { DropReason } from './codec.ts';
import type { VrrpStatus } from '../status.ts';
import type { LatenessSnapshot } from './lateness.ts';

export const COUNTER_NAMES = [
  'advert_rcvd',
  'advert_sent',
  'become_master',
  'release_master',
  'packet_len_err',
  'advert_interval_err',
  'ip_ttl_err',
  'invalid_type_rcvd',
  'addr_list_err',
  'invalid_authtype',
  'authtype_mismatch',
  'auth_failure',
  'pri_zero_rcvd',
  'pri_zero_sent',
  'chk_err',
  'vers_err',
  'vrid_err',
  'ip_src_err',
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Record<CounterName, number>;

export function createCounters(): Counters {
  const c = {} as Counters;
  for (const n of COUNTER_NAMES) c[n] = 0;
  return c;
}

/** Which counter a dropped advertisement is counted in. */
export function counterForDrop(reason: DropReason): CounterName {
  switch (reason) {
    case 'packet_len_err':
    case 'ip_header_err':
      return 'packet_len_err';
    case 'version_err':
      return 'vers_err';
    case 'invalid_type':
      return 'invalid_type_rcvd';
    case 'checksum_err':
      return 'chk_err';
    case 'invalid_authtype':
      return 'invalid_authtype';
    case 'ip_ttl_err':
      return 'ip_ttl_err';
    case 'vrid_err':
      return 'vrid_err';
    case 'auth_type_mismatch':
      return 'authtype_mismatch';
    case 'auth_failure':
      return 'auth_failure';
    case 'advert_interval_err':
      return 'advert_interval_err';
    case 'addr_list_err':
      return 'addr_list_err';
    case 'ip_src_err':
      return 'ip_src_err';
  }
}

export function bump(c: Counters, name: CounterName, by = 1): void {
  c[name] += by;
}

/** keepalived's stats-file layout for one instance (`keepalived --signum=STATS` output). */
export function formatStats(instance: string, c: Counters): string {
  return [
    `VRRP Instance: ${instance}`,
    '  Advertisements:',
    `    Received: ${c.advert_rcvd}`,
    `    Sent: ${c.advert_sent}`,
    `  Became master: ${c.become_master}`,
    `  Released master: ${c.release_master}`,
    '  Packet Errors:',
    `    Length: ${c.packet_len_err}`,
    `    TTL: ${c.ip_ttl_err}`,
    `    Invalid Type: ${c.invalid_type_rcvd}`,
    `    Advertisement Interval: ${c.advert_interval_err}`,
    `    Address List: ${c.addr_list_err}`,
    '  Authentication Errors:',
    `    Invalid Type: ${c.invalid_authtype}`,
    `    Type Mismatch: ${c.authtype_mismatch}`,
    `    Failure: ${c.auth_failure}`,
    '  Priority Zero:',
    `    Received: ${c.pri_zero_rcvd}`,
    `    Sent: ${c.pri_zero_sent}`,
    // keepalived has these only over SNMP (vrrpStatsChecksumErrors, …); the fuzz tests read them here.
    '  Other Errors:',
    `    Checksum: ${c.chk_err}`,
    `    Version: ${c.vers_err}`,
    `    VRID: ${c.vrid_err}`,
    `    Source address: ${c.ip_src_err}`,
    '',
  ].join('\n');
}

/**
 * Everything `show statistics` and SIGUSR2's vrrp.stats show: keepalived's per-instance layout,
 * then what keepalived has no place for: drops that belong to no instance, the kernel's drops on
 * our sockets, how late the timers fire, and how the VRRP thread is scheduled.
 */
export function formatVrrpStatistics(q: VrrpStatus): string {
  const parts = q.instances.map((s) => formatStats(s.name, s.counters));
  const drops = Object.entries(q.unattributed).map(([k, v]) => `  ${k}: ${v}`);
  parts.push(['Unattributed drops:', ...(drops.length ? drops : ['  none'])].join('\n'));
  parts.push(`Socket receive queue drops (kernel): ${q.socketDrops ?? 'unknown'}`);
  if (q.timers) {
    const t = (name: string, l: LatenessSnapshot): string =>
      `  ${name}: ${l.count} fired, last ${l.lastMs} ms late, worst ${l.maxMs} ms (${l.recentMaxMs} ms in the last minute)`;
    parts.push(['Timer lateness:', t('Advertisement', q.timers.advert), t('Master down', q.timers.masterDown)].join('\n'));
  }
  if (q.thread) {
    const th = q.thread;
    parts.push(`VRRP thread: ${th.policy}${th.priority ? ` priority ${th.priority}` : ''}${th.nice !== null ? `, nice ${th.nice}` : ''}${th.error ? ` (${th.error})` : ''}`);
  }
  return parts.join('\n') + '\n';
}
