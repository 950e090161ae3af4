// vrrp_instance NAME { … } (keepalived.conf(5) "VRRP instance(s)"; keepalived/vrrp/vrrp_parser.c).
// Defaults are keepalived 2.2's; version and accept follow global_defs when not given.
import type { Node } from '../ast.ts';
import type { Authentication, VirtualIp, Vmac, VrrpInstance } from '../model.ts';
import { fieldPos, mark } from '../positions.ts';
import { ifnameProblem } from '../ifname.ts';
import { ConfError, controlCharacter, ipAddress, ipv4, oneOf, shown } from '../values.ts';
import { ipFamily, isLinkLocal, parseIp } from '../../util/ip.ts';
import { quote } from '../words.ts';
import { create, type Block } from './engine.ts';
import { directivesOf, refused, warned, type Finding } from './entries.ts';
import * as R from './reasons.ts';
import { BOOL, IP, IPV4, integer, oneOfWords, SECONDS, WORD } from './kinds.ts';
import { VRRP_VERSION } from './global.ts';
import { routeLine, ruleLine, writeRoute, writeRule } from './routes.ts';
import { REFUSED_TRACKING, trackFile, trackInterface, trackProcess, trackScript } from './tracking.ts';

// ---- authentication { auth_type PASS; auth_pass … } ----
// Read as one unit, as keepalived does: the first bad line fails the whole block.
const A = directivesOf<Authentication>();

function authValue(kw: 'auth_type' | 'auth_pass'): Parameters<typeof A.custom>[0] {
  return {
    names: [kw], args: null, shape: 'any',
    // Placeholders: authentication has no default; its closer says what is missing.
    defaults: kw === 'auth_type' ? { type: 'PASS' } : { pass: '' },
    example: kw === 'auth_type' ? 'auth_type PASS' : 'auth_pass s3cret',
    read(a, n) {
      if (n.args.length !== 1 || n.children !== null) throw new ConfError(n.pos, `'${kw}' takes one argument`);
      if (kw === 'auth_type') a.type = oneOf<'PASS' | 'AH'>(n.args[0]!, 'auth_type', ['PASS', 'AH']);
      else a.pass = n.args[0]!.text;
      mark(a, kw === 'auth_type' ? 'type' : 'pass', n.pos);
    },
    write(a, out) {
      if (kw === 'auth_type') out.line('auth_type', a.type);
      else out.line('auth_pass', quote(a.pass));
    },
  };
}

export const AUTHENTICATION: Block<Authentication> = {
  name: 'authentication',
  where: () => 'authentication',
  onError: 'stop',
  entries: [A.custom(authValue('auth_type')), A.custom(authValue('auth_pass'))],
};

// ---- virtual_ipaddress lines: ADDRESS[/PREFIX] [dev D] [label L] [brd B] [scope S] ----
// IPv6 VIPs take dev only: Linux keeps no label on an IPv6 address, brd is IPv4's, and the scope
// of an IPv6 address follows from the address (keepalived ignores label and scope on them, with
// an error; here they are the error). They are added without duplicate address detection, as
// keepalived adds them (net/host.ts).
const IPV4_ONLY_VIP_OPTION: Readonly<Record<string, string>> = {
  label: 'Linux keeps no labels on IPv6 addresses',
  brd: 'a broadcast address is IPv4\'s',
  broadcast: 'a broadcast address is IPv4\'s',
  scope: 'the scope of an IPv6 address follows from the address (fe80::/10 is link scope)',
};

export function virtualIp(c: Node, block: Node): VirtualIp {
  if (c.children !== null) throw new ConfError(c.pos, `${block.keyword.text}: no { } block expected`);
  const [addrText, prefixText] = c.keyword.text.split('/', 2) as [string, string | undefined];
  const address = ipAddress({ ...c.keyword, text: addrText }, 'virtual_ipaddress');
  const family = ipFamily(address) === 6 ? 6 : 4;
  const max = family === 4 ? 32 : 128;
  let prefix = max; // keepalived: an address without a prefix is a /32 (IPv6: /128)
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw new ConfError(c.pos, `virtual_ipaddress: bad prefix length '/${shown(prefixText)}'${family === 6 ? ' (0-128 for IPv6)' : ''}`);
    }
    prefix = Number(prefixText);
  }
  const vip: VirtualIp = { address, prefix, dev: null, label: null, brd: null, scope: null, pos: c.pos };
  for (let k = 0; k < c.args.length; k++) {
    const opt = c.args[k]!;
    const val = c.args[k + 1];
    if (val === undefined) throw new ConfError(opt.pos, `virtual_ipaddress: '${shown(opt.text)}' needs a value`);
    const v4only = family === 6 ? IPV4_ONLY_VIP_OPTION[opt.text] : undefined;
    if (v4only !== undefined) throw new ConfError(opt.pos, `virtual_ipaddress ${address}: '${opt.text}' is for IPv4 addresses only (${v4only}); an IPv6 VIP takes dev`);
    switch (opt.text) {
      case 'dev': vip.dev = val.text; break;
      case 'label': vip.label = val.text; break;
      case 'brd': case 'broadcast': vip.brd = ipv4(val, 'virtual_ipaddress brd'); break;
      case 'scope': vip.scope = oneOf(val, 'virtual_ipaddress scope', ['global', 'site', 'link', 'host', 'nowhere']); break;
      default: throw new ConfError(opt.pos, `virtual_ipaddress option '${shown(opt.text)}' is not supported (dev, label, brd, scope are)`);
    }
    k++;
  }
  return vip;
}

/**
 * An instance's address family, and what decided it. keepalived (vrrp_parser.c, vrrp_data.c)
 * takes it from whichever of these comes first in the file and refuses the others that differ;
 * tandem, whose model keeps no order across keywords, takes it from native_ipv6, else the first
 * virtual_ipaddress, else unicast_src_ip, else the first unicast_peer, else IPv4, and reports
 * every address of the other family (validate.ts). virtual_ipaddress_excluded does not count:
 * keepalived lets it hold the other family.
 */
export function familyOf(i: Pick<VrrpInstance, 'nativeIpv6' | 'virtualIps' | 'unicastSrcIp' | 'unicastPeers'>): { family: 4 | 6; from: string } {
  if (i.nativeIpv6) return { family: 6, from: 'native_ipv6' };
  const first = i.virtualIps[0];
  if (first) return { family: ipFamily(first.address) === 6 ? 6 : 4, from: `its first virtual_ipaddress ${first.address}` };
  if (i.unicastSrcIp !== null) return { family: ipFamily(i.unicastSrcIp) === 6 ? 6 : 4, from: `unicast_src_ip ${i.unicastSrcIp}` };
  const peer = i.unicastPeers[0];
  if (peer !== undefined) return { family: ipFamily(peer) === 6 ? 6 : 4, from: `unicast_peer ${peer}` };
  return { family: 4, from: 'no address says otherwise' };
}

/** fe80::/10: the same prefix on every link, so the address means nothing without its interface. */
export function isLinkLocalText(address: string): boolean {
  const a = parseIp(address);
  return a !== null && isLinkLocal(a);
}

export function writeVirtualIp(v: VirtualIp): string[] {
  const w = [`${v.address}/${v.prefix}`];
  if (v.dev !== null) w.push('dev', quote(v.dev));
  if (v.label !== null) w.push('label', quote(v.label));
  if (v.brd !== null) w.push('brd', v.brd);
  if (v.scope !== null) w.push('scope', v.scope);
  return w;
}

// ---- ranges that belong to the keywords ----
/** RFC 5798 section 5.2.3: the VRID is 1-255. */
export function validVrid(v: number): boolean {
  return Number.isInteger(v) && v >= 1 && v <= 255;
}

function advertIntProblems(adv: number, i: VrrpInstance): Finding[] {
  if (!(adv > 0)) return [{ severity: 'error', message: 'advert_int must be greater than 0' }];
  if (i.version === 2) {
    // RFC 3768 section 5.3.7: Adver Int is an 8-bit count of whole seconds.
    if (adv % 1000 !== 0 || adv < 1000 || adv > 255000) {
      return [{ severity: 'error', message: `advert_int ${adv / 1000} s is not valid for VRRP v2: whole seconds 1-255 (RFC 3768 section 5.3.7); use vrrp_version 3 for fractions` }];
    }
  } else if (adv % 10 !== 0 || adv < 10 || adv > 40950) {
    // RFC 5798 section 5.2.7: 12-bit Max Adver Int in centiseconds.
    return [{ severity: 'error', message: `advert_int ${adv / 1000} s is not valid for VRRP v3: 0.01-40.95 s in hundredths (RFC 5798 section 5.2.7)` }];
  }
  return [];
}

const E = directivesOf<VrrpInstance>();

/**
 * use_vmac [[name] NAME] (keepalived vrrp_parser.c vrrp_vmac_handler): the name only; a MAC of
 * one's own, `group` and `netlink_notify_msg` are refused (the virtual MAC is RFC 5798 §7.3's).
 */
const USE_VMAC = E.custom({
  names: ['use_vmac'], args: [0, 2], shape: 'none', defaults: { vmac: null },
  example: 'use_vmac vrrp.52',
  read(i, n) {
    const named = n.args[0]?.text === 'name';
    const first = named ? n.args[1] : n.args[0];
    const second = named ? undefined : n.args[1];
    if (second !== undefined) throw new ConfError(second.pos, `use_vmac: one interface name expected, got '${shown(second.text)}' too`);
    if (first !== undefined && (/^([0-9a-f]{2}:){4,5}[0-9a-f]{2}$/i.test(first.text) || first.text === 'group' || first.text === 'netlink_notify_msg')) {
      throw new ConfError(first.pos, `use_vmac: '${shown(first.text)}' is not supported: the virtual MAC is 00:00:5e:00:01:VRID (IPv6 00:00:5e:00:02:VRID, RFC 5798 section 7.3) in the parent's link group; give an interface name or nothing`);
    }
    const v: Vmac = { name: first?.text ?? null, pos: n.pos };
    if (v.name !== null) {
      const why = controlCharacter(v.name) === null ? ifnameProblem(v.name) : null;
      if (why !== null) throw new ConfError(first!.pos, `use_vmac: '${shown(v.name)}' is not a valid interface name: ${why}`);
    }
    i.vmac = v;
    mark(i, 'vmac', n.pos);
  },
  write(i, out) { if (i.vmac) out.line('use_vmac', ...(i.vmac.name !== null ? [quote(i.vmac.name)] : [])); },
});

export const INSTANCE: Block<VrrpInstance> = {
  name: 'vrrp_instance',
  where: (i) => `vrrp_instance ${shown(i.name)}`,
  entries: [
    E.scalar('state', 'initialState', oneOfWords(['MASTER', 'BACKUP'] as const), 'BACKUP', { example: 'state MASTER', always: true }),
    E.scalar('interface', 'interface', WORD, '', {
      example: 'interface eth1', always: true,
      check: (name) => {
        const why = controlCharacter(name) === null ? ifnameProblem(name) : null;
        return why === null ? [] : [{ severity: 'error', message: `interface: '${shown(name)}' is not a valid interface name: ${why}` }];
      },
    }),
    E.scalar('virtual_router_id', 'virtualRouterId', integer(), 0, {
      example: 'virtual_router_id 52', always: true,
      check: (v) => (validVrid(v) ? [] : [{ severity: 'error', message: `virtual_router_id ${v} is out of range 1-255 (RFC 5798 section 5.2.3)` }]),
    }),
    E.scalar('priority', 'priority', integer(), 100, {
      example: 'priority 150', always: true,
      check: (v) => {
        if (!Number.isInteger(v) || v < 1 || v > 255) return [{ severity: 'error', message: `priority ${v} is out of range 1-255 (0 is reserved for resigning, RFC 5798 section 5.2.4)` }];
        if (v === 255) return [{ severity: 'warning', message: 'priority 255 claims to own the virtual addresses (RFC 5798 section 5.2.4); keepalived reserves it for the address owner' }];
        return [];
      },
    }),
    E.scalar('advert_int', 'advertIntMs', SECONDS, 1000, { example: 'advert_int 2', always: true, check: advertIntProblems }),
    // keepalived (vrrp.c vrrp_complete_instance): an IPv6 instance is VRRPv3 whatever
    // global_defs says; VRRPv2 is IPv4 only (RFC 3768). An explicit version 2 there is an error.
    E.scalar('version', 'version', VRRP_VERSION, 2, {
      aliases: ['vrrp_version'], example: 'version 3',
      inherit: (i, scope) => (familyOf(i).family === 6 ? 3 : scope.config.global.vrrpVersion),
    }),
    E.flag('nopreempt', 'nopreempt', { off: 'preempt', example: 'nopreempt' }),
    E.scalar('preempt_delay', 'preemptDelayMs', SECONDS, 0, {
      example: 'preempt_delay 5',
      check: (v) => (v < 0 || v > 1000000 ? [{ severity: 'error', message: 'preempt_delay is out of range 0-1000 s' }] : []),
    }),
    // keepalived: accept mode is on unless vrrp_strict (RFC 5798 section 6.1 default is off).
    E.flag('accept', 'accept', { off: 'no_accept', default: true, inherit: (_i, scope) => !scope.config.global.vrrpStrict, example: 'no_accept' }),
    E.flag('dont_track_primary', 'dontTrackPrimary', { example: 'dont_track_primary' }),
    warned(E.optBool('smtp_alert', 'smtpAlert', { example: 'smtp_alert' }), R.EMAIL),
    E.sub<Authentication>({
      names: ['authentication'], args: [0, 0], arity: 0, block: AUTHENTICATION,
      example: 'authentication {\n auth_type PASS\n auth_pass s3cret\n}',
      defaults: { authentication: null },
      open: (_i, n) => create(AUTHENTICATION, { pos: n.pos }),
      close: (i, a, n) => {
        if (fieldPos(a, 'type') === undefined) throw new ConfError(n.pos, 'authentication needs auth_type PASS');
        if (fieldPos(a, 'pass') === undefined) throw new ConfError(n.pos, 'authentication needs auth_pass');
        i.authentication = a;
      },
      children: (i) => (i.authentication ? [i.authentication] : []),
      head: () => ['authentication'],
    }),
    E.scalar('unicast_src_ip', 'unicastSrcIp', IP, null, { example: 'unicast_src_ip 192.0.2.1' }),
    E.list('unicast_peer', 'unicastPeers', {
      example: 'unicast_peer {\n 192.0.2.2\n}',
      item: (c) => {
        if (c.args.length > 0 || c.children !== null) throw new ConfError(c.pos, 'unicast_peer: one address per line (peer options are not supported)');
        return ipAddress(c.keyword, 'unicast_peer');
      },
      write: (p) => [p],
    }),
    // keepalived: the instance is IPv6 (and VRRPv3) without any IPv6 address to say so.
    E.custom({
      names: ['native_ipv6'], args: [0, 0], shape: 'none', defaults: { nativeIpv6: false, family: 4 },
      example: 'native_ipv6',
      read(i, n) { i.nativeIpv6 = true; mark(i, 'nativeIpv6', n.pos); },
      write(i, out) { if (i.nativeIpv6) out.line('native_ipv6'); },
      inherit(i) { i.family = familyOf(i).family; },
    }),
    E.list('virtual_ipaddress', 'virtualIps', {
      example: 'virtual_ipaddress {\n 192.0.2.100/24 dev eth0 label eth0:vip brd 192.0.2.255 scope global\n}',
      atomic: true, item: virtualIp, write: writeVirtualIp,
    }),
    E.list('virtual_ipaddress_excluded', 'virtualIpsExcluded', {
      example: 'virtual_ipaddress_excluded {\n 192.0.2.200/32\n}',
      atomic: true, item: virtualIp, write: writeVirtualIp,
    }),
    trackInterface<VrrpInstance>(),
    trackScript<VrrpInstance>(),
    trackFile<VrrpInstance>(),
    trackProcess<VrrpInstance>(),
    // null: global_defs' vrrp_garp_master_* apply.
    E.scalar('garp_master_delay', 'garpMasterDelayMs', SECONDS, null, { example: 'garp_master_delay 1' }),
    E.scalar('garp_master_repeat', 'garpMasterRepeat', integer(0, 10000), null, { example: 'garp_master_repeat 2' }),
    E.scalar('garp_master_refresh', 'garpMasterRefreshMs', SECONDS, null, { example: 'garp_master_refresh 30' }),
    E.scalar('garp_master_refresh_repeat', 'garpMasterRefreshRepeat', integer(0, 10000), null, { example: 'garp_master_refresh_repeat 3' }),
    E.command('notify', 'notify', 'notify "/etc/tandem/n.sh"'),
    E.command('notify_master', 'notifyMaster', 'notify_master /etc/tandem/n.sh master'),
    E.command('notify_backup', 'notifyBackup', 'notify_backup /etc/tandem/n.sh backup'),
    E.command('notify_fault', 'notifyFault', 'notify_fault /etc/tandem/n.sh fault'),
    E.command('notify_stop', 'notifyStop', 'notify_stop /etc/tandem/n.sh stop'),
    E.command('notify_master_rx_lower_pri', 'notifyMasterRxLowerPri', 'notify_master_rx_lower_pri /etc/tandem/reclaim.sh'),
    // null: the sync group's, else global_defs' vrrp_notify_priority_changes (keepalived vrrp.c).
    E.scalar('notify_priority_changes', 'notifyPriorityChanges', BOOL, null, { bare: true, example: 'notify_priority_changes' }),
    // null: global_defs' vrrp_garp_lower_prio_* / vrrp_lower_prio_no_advert / vrrp_higher_prio_send_advert.
    E.scalar('garp_lower_prio_delay', 'garpLowerPrioDelayMs', SECONDS, null, { example: 'garp_lower_prio_delay 2' }),
    E.scalar('garp_lower_prio_repeat', 'garpLowerPrioRepeat', integer(0, 10000), null, { example: 'garp_lower_prio_repeat 3' }),
    E.scalar('lower_prio_no_advert', 'lowerPrioNoAdvert', BOOL, null, { bare: true, example: 'lower_prio_no_advert' }),
    E.scalar('higher_prio_send_advert', 'higherPrioSendAdvert', BOOL, null, { bare: true, example: 'higher_prio_send_advert false' }),
    ...REFUSED_TRACKING,
    USE_VMAC,
    E.flag('vmac_xmit_base', 'vmacXmitBase', { example: 'vmac_xmit_base' }),
    E.list('virtual_routes', 'virtualRoutes', {
      example: 'virtual_routes {\n src 192.0.2.100 to 198.51.100.0/24 via 192.0.2.254 dev eth0 table 100\n blackhole 203.0.113.0/24\n}',
      atomic: true, item: routeLine, write: writeRoute,
    }),
    E.list('virtual_rules', 'virtualRules', {
      example: 'virtual_rules {\n from 192.0.2.0/24 table 100 preference 100\n}',
      atomic: true, item: ruleLine, write: writeRule,
    }),
    refused('lvs_sync_daemon_interface', R.IPVS_SYNC),
    refused(['use_vmac_addr', 'use_ipvlan'], R.VMAC),
    refused('mcast_src_ip', 'use unicast_src_ip, or let tandem use the interface\'s primary address (IPv6: its link-local address, RFC 5798 section 5.1.2.1)'),
    refused('mcast_dst_ip', R.MCAST_GROUP),
    refused('vrf', R.VRF),
    refused(['unicast_fault_no_peer', 'check_unicast_src', 'unicast_ttl', 'track_src_ip'], R.UNICAST_TUNING),
    refused(['old_unicast_checksum', 'v3_checksum_as_v2'], R.CHECKSUM),
    refused(['no_virtual_ipaddress', 'promote_secondaries', 'owner_ignore_adverts', 'notify_deleted'], R.NOT_SUPPORTED),
    refused('linkbeat_use_polling', R.LINKS),
    refused(['skip_check_adv_addr', 'strict_mode'], R.GLOBAL_ONLY),
    refused('debug', R.LOG_LEVEL),
    refused('down_timer_adverts', R.MASTER_DOWN),
    refused(['timer_expired_backup', 'thread_timer_expired'], R.TIMERS),
    refused(['garp_extra_if', 'vmac_garp_intvl'], R.GARP_TUNING),
    refused('kernel_rx_buf_size', R.BUFFERS),
    refused('auth_hmac', R.AUTH_HMAC, { block: 0 }),
  ],
};
