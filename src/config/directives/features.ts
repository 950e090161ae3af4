// What the compatibility table (docs/compatibility.md, compatibility.ts) lists besides keywords:
// values of a keyword that tandem treats differently from the keyword itself (`lb_kind TUN`,
// an IPv6 address), and keepalived's configuration language. The keywords themselves are the
// directive tables' entries; this is the rest, one entry per feature, with the block it is
// written in.
//
// A refused feature names how its error starts (`message`), so a test can tell that a
// configuration is refused for this feature and no other (test/unit/config/conformance.test.ts).
import { VS_GROUPS } from './reasons.ts';

export interface Feature {
  /** As the table shows it. */
  readonly name: string;
  /** The block it is written in ('' for the top level, 'language' for the configuration language). */
  readonly block: string;
  readonly status: 'supported' | 'warned' | 'refused';
  /** Why (refused, warned), or what to know (supported). */
  readonly reason: string;
  /** Refused: the start of its error message. */
  readonly message?: RegExp;
}

export const FEATURES: readonly Feature[] = [
  // ---- keepalived's configuration language (language.ts) ----
  { name: '@ID line, @^ID line', block: 'language', status: 'supported', reason: 'tandem run --config-id ID, else STATE_DIR/config-id, else the host name up to its first dot; tandem check without --config-id checks every id the file names' },
  { name: '$NAME=value, $NAME, ${NAME}', block: 'language', status: 'supported', reason: 'replaced at use, recursively; an undefined $NAME stays as it is' },
  { name: 'multi-line $NAME= \\ definitions', block: 'language', status: 'supported', reason: 'a blank line ends one too; the use must end its line' },
  { name: '~SEQ(…), ~SEQx(…), ~LST(…)', block: 'language', status: 'supported', reason: 'several on one line nest' },
  { name: '${_PWD} ${_INSTANCE} ${_RANDOM} ${_ENV} ${_HASH} ${_BANG}', block: 'language', status: 'supported', reason: '' },
  { name: 'include, includer, includem, includew, includeb, includea', block: 'language', status: 'supported', reason: 'globs and {a,b}; after @ID and $NAME are applied; a file or glob matching nothing is an error (includer/m/b: a wildcard may match nothing)' },
  { name: "'\\' at the end of a line outside a $ definition", block: 'language', status: 'refused', reason: 'keepalived continues only multi-line definitions; it would read the \\ as part of the word', message: /^a line ends with '\\' outside a \$NAME= definition/ },
  { name: 'commit from the console', block: 'language', status: 'supported', reason: "rewrites only the lines it changes; refuses, naming FILE:LINE, a change to a line other boards read (no @ID prefix, @^ID), an included file, text from $ parameters, a multi-line definition or a ~SEQ" },

  // ---- values ----
  { name: 'IPv6 addresses', block: 'vrrp_instance', status: 'supported', reason: 'VRRPv3 over IPv6 (RFC 5798): virtual_ipaddress, unicast_src_ip, unicast_peer; one instance is one family (virtual_ipaddress_excluded may hold the other), a sync group may mix them; IPv6 VIPs take dev (a link-local one must) and are added without DAD' },
  { name: 'IPv6 checker addresses (connect_ip, bindto)', block: 'real_server', status: 'supported', reason: '' },
  { name: 'IPv6 virtual_server, real_server and sorry_server addresses', block: '', status: 'supported', reason: 'NAT66 in table ip6 tandem beside table ip tandem, DR over IPv6 (fwd ip6) in table netdev tandem; the same schedulers, seed, mid-stream guard and conntrack clean-ups as IPv4; persistence_granularity is a prefix length 1-128 there, as keepalived reads it' },
  { name: 'real_server or sorry_server of another family than its virtual_server', block: 'virtual_server', status: 'refused', reason: 'NAT and DR keep the packet\'s family (no NAT46 or NAT64, as IPVS for NAT and DR): give the IPv6 servers an IPv6 virtual_server of their own', message: /^(real_server|sorry_server) \S+ is IPv[46] but virtual_server/ },
  { name: 'authentication { auth_type AH }', block: 'vrrp_instance', status: 'refused', reason: 'IPsec AH authentication is not supported: use auth_type PASS or none', message: /^authentication AH is not supported/ },
  { name: 'virtual_ipaddress options other than dev, label, brd, scope', block: 'vrrp_instance', status: 'refused', reason: 'peer, home, -nodad, noprefixroute, autojoin, track, no_track, preferred_lft are not supported (IPv6 VIPs are added without DAD, as keepalived adds them)', message: /^virtual_ipaddress option '[^']*' is not supported/ },
  { name: 'vrrp_sync_group with bare instance names (keepalived 1.x)', block: 'vrrp_sync_group', status: 'refused', reason: "keepalived 2 does not read it either (Unknown keyword): list the instances in group { }", message: /^'[^']*' in vrrp_sync_group [^:]*: a sync group lists its instances in group \{ \}/ },
  { name: 'use_vmac [NAME]', block: 'vrrp_instance', status: 'supported', reason: "a private-mode macvlan with the virtual MAC 00:00:5e:00:01:VRID (IPv6 00:00:5e:00:02:VRID, RFC 5798 section 7.3), named as keepalived names it (vrrp.VRID, then vrrp6.VRID / vrrp1.VRID…); created at start, removed at stop; the instance's VIPs (those without dev) live on it; adverts go out on it only while MASTER (vmac_xmit_base: from the parent with its own MAC); IGMP and MLD reports never leave it" },
  { name: 'use_vmac MAC, group, netlink_notify_msg', block: 'vrrp_instance', status: 'refused', reason: 'the virtual MAC is RFC 5798\'s, in the parent\'s link group', message: /^use_vmac: '[^']*' is not supported/ },
  { name: 'virtual_routes / static_routes options', block: 'vrrp_instance', status: 'supported', reason: 'blackhole, unreachable, prohibit, throw; to, src, via/gw (or), dev/oif, scope, table (a number, main, local, default), metric, tos, mtu, onlink, add/prepend/append, no_track; tandem does not watch routes, so every one behaves as no_track' },
  { name: 'route options nexthop, protocol, realms, vrf, track_group and the metrics (advmss, rtt, cwnd…)', block: 'vrrp_instance', status: 'refused', reason: 'not passed on by tandem', message: /^(virtual|static)_routes: '[^']*' is not supported by tandem/ },
  { name: 'virtual_rules / static_rules options', block: 'vrrp_instance', status: 'supported', reason: 'from, to, table/lookup, blackhole, unreachable, prohibit, nop, goto, preference, tos, fwmark, iif/dev, oif, suppress_prefixlength, inet6, no_track; a rule without preference gets one counting down from 16384, as in keepalived' },
  { name: 'rule options uidrange, ipproto, sport, dport, l3mdev, protocol, realms, suppress_ifgroup, track_group', block: 'vrrp_instance', status: 'refused', reason: 'not passed on by tandem', message: /^(virtual|static)_rules: '[^']*' is not supported by tandem/ },
  { name: 'a route or rule with an address keepalived cannot read either (its own sample writes 192.168.100./24)', block: 'vrrp_instance', status: 'refused', reason: 'keepalived logs the line and skips it; tandem refuses the file, so both boards do not silently run without the route', message: /^(virtual|static)_(routes|rules)[ \w]*: '[^']*' is not a valid IPv[46] address/ },
  { name: 'virtual_server ADDRESS PORT', block: '', status: 'supported', reason: '' },
  { name: 'virtual_server fwmark N', block: '', status: 'refused', reason: 'tandem balances ADDRESS PORT services only', message: /^virtual_server fwmark is not supported/ },
  { name: 'virtual_server group NAME', block: '', status: 'refused', reason: VS_GROUPS, message: /^virtual_server group is not supported/ },
  { name: 'lb_kind NAT', block: 'virtual_server', status: 'supported', reason: 'nftables DNAT with conntrack' },
  { name: 'lb_kind DR', block: 'virtual_server', status: 'supported', reason: 'on nftables netdev ingress; stateless, so hash schedulers only (sh, mh)' },
  { name: 'lb_kind TUN', block: 'virtual_server', status: 'refused', reason: 'the kernels tandem runs on have no IPIP tunnels (docs/tun.md)', message: /^(lb_kind|lvs_method) TUN is not supported/ },
  { name: 'lb_algo rr, wrr, sh, dh, mh', block: 'virtual_server', status: 'supported', reason: 'hash schedulers seeded from the configuration, so both boards pick alike' },
  { name: 'lb_algo lc, wlc', block: 'virtual_server', status: 'supported', reason: "with forwarder userspace only (connection counts); wlc is keepalived's default" },
  { name: 'lb_algo sed, nq, fo, ovf, lblc, lblcr', block: 'virtual_server', status: 'refused', reason: 'IPVS schedulers tandem does not have', message: /^(lb_algo|lvs_sched) \S+ is not supported/ },
  { name: 'protocol SCTP', block: 'virtual_server', status: 'refused', reason: 'tandem balances TCP and UDP', message: /^protocol SCTP is not supported/ },
];

/** The refused feature an error message is about, if any. */
export function refusedFeature(message: string): Feature | undefined {
  return FEATURES.find((f) => f.status === 'refused' && f.message !== undefined && f.message.test(message));
}
