// Why tandem refuses or only warns about a group of keepalived keywords: one home for each reason,
// so every block that has such a keyword says the same, and docs/compatibility.md (generated
// from the tables, compatibility.ts) groups the keywords by it.
//
// "not yet": a feature that is planned (DESIGN.md's open issues); the rest are choices.

/** Warned: accepted, nothing done; tandem's own reporting takes their place. */
export const EMAIL = 'tandem sends no mail; it reports events (transitions, real servers up and down) over MQTT instead (the mqtt { } block)';
export const SNMP = 'tandem has no SNMP agent; it reports state, counters and health over MQTT instead (the mqtt { } block)';

export const IP_FAMILY = "ip_family gives the family of a fwmark virtual server or a virtual_server_group, which tandem does not take: an ADDRESS PORT virtual server's family is its address's";
export const VMAC = 'one VMAC per instance, on its own interface (use_vmac [NAME]); VMACs for other interfaces (use_vmac_addr), ipvlan interfaces and a prefix for VMAC names are not supported';
export const BFD = 'BFD is not supported yet (tandem has no BFD sessions): track the peer with track_interface, track_script or track_process';
export const GARP_TUNING = 'not supported yet: gratuitous ARPs go out on the VIPs\' own interfaces only (vrrp_garp_master_refresh repeats them)';
export const MCAST_GROUP = 'per-instance multicast groups are not supported: adverts go to global_defs vrrp_mcast_group4 (224.0.0.18 by default, RFC 5798 section 5.1.1.2) or, over IPv6, ff02::12 (section 5.1.2.2), or to unicast_peer';
export const SCHEDULING = "keepalived's per-process scheduling of its checker and BFD processes, CPU affinity and rlimits: tandem's checkers run on the main thread; only the VRRP thread's scheduling is configurable (vrrp_rt_priority, vrrp_priority, max_auto_priority; docs/realtime.md)";
export const PROCESSES = "keepalived's process layout: tandem is one process on each board";
export const IPVS = "IPVS settings: tandem's data plane is nftables and conntrack, not IPVS";
export const IPVS_SYNC = 'tandem has no IPVS connection sync daemon: both boards hash flows alike (DESIGN.md "Data plane")';
export const FIREWALL = "tandem owns its nftables tables (table ip tandem); keepalived's iptables/nftables rules are not made";
export const NAMESPACE = 'network namespaces: run tandem inside the namespace instead';
export const BUFFERS = 'kernel socket buffer sizes are not configurable';
export const DUMPS = "keepalived's dump and reload files: tandem has show status / show statistics, SIGUSR2 (STATE_DIR/vrrp.stats) and MQTT";
export const DBUS = 'no D-Bus interface: the control socket (tandem ctl) and MQTT take its place';
export const HOOK_SCRIPTS = 'start-up and shutdown scripts are not supported: use the init system';
export const LINKS = 'tandem watches links with netlink; polling, link groups and debouncing are not supported';
export const TRACK_GROUP = 'static track groups: track in each vrrp_instance or vrrp_sync_group';
export const GARP_GROUP = "gratuitous ARP groups: each instance sends its own bursts (vrrp_garp_* / garp_master_*)";
export const CHECKSUM = 'VRRP checksums follow RFC 5798 section 5.2.8 (v3) and RFC 3768 (v2) only';
export const MASTER_DOWN = 'the master down interval is RFC 5798 section 6.1\'s (3 advertisements and the skew time)';
export const TIMERS = "keepalived's timer internals";
export const UNICAST_TUNING = 'not supported: unicast adverts go to each unicast_peer with TTL 255 (RFC 5798 section 5.1.1.3); one from a source that is no peer is accepted and logged, as keepalived does without vrrp_check_unicast_src';
export const VRF = 'VRFs are not supported';
export const GLOBAL_ONLY = 'set it in global_defs (vrrp_skip_check_adv_addr, vrrp_strict)';
export const LOG_LEVEL = 'use tandem run --log-level';
export const NOT_SUPPORTED = 'not supported';
export const AUTH_HMAC = "keepalived's HMAC authentication extension is not supported: use authentication { auth_type PASS } or none";
export const IPVS_SCHED_FLAGS = 'IPVS scheduler flags: the nftables schedulers take none';
export const PERSISTENCE_ENGINE = 'IPVS persistence engines (SIP) are not supported';
export const CHECKER_TIMING = 'give it in each checker (TCP_CHECK { … }, HTTP_GET { … }): tandem takes checker timing from the checker';
export const CHECKER_SOURCE = 'checkers set their source address with bindto only (no source port, interface or mark)';
export const CHECKER_LOG = "tandem logs each real server's state changes; logging every failure is not configurable";
export const ALPHA_PLACE = 'set alpha on the virtual_server';
export const HTTP_EXTRAS = 'not supported by tandem\'s HTTP checker (SNI is the virtualhost, see enable_sni)';
export const REGEX = 'response body regular expressions are not supported: check with digest or status_code';
export const UDP_LENGTH = 'reply lengths are not checked: require_reply checks the reply';
export const THRESHOLDS = 'connection thresholds (uthreshold, lthreshold) are not supported';
export const ONE_METHOD = 'one forwarding method per virtual_server: lb_kind';
export const SCRIPT_GROUPS = "programs run with their user's own groups (script_user, user)";
export const CHECKERS = 'tandem checks real servers with TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK and UDP_CHECK';
export const SSL_CLIENT = 'SSL_GET checks without a client certificate or CA file';
export const RANDOM_SEED = '${_RANDOM} is seeded by tandem';
export const INCLUDE_CHECK = "tandem checks every include: a file or glob that matches nothing is an error (includer, includem and includeb let a wildcard match nothing)";
export const IPROUTE = 'tandem names nothing from iproute2 files';
export const VS_GROUPS = 'virtual_server_group is not supported: write one virtual_server per address and port';
