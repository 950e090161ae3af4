// The lab's fixed addressing plan and its naming scheme. Addresses come only from the
// documentation ranges of RFC 5737 (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24), and only
// inside namespaces the lab creates.
//
//   client (203.0.113.10) ──┐ public switch  ┌── a.eth0 203.0.113.2   b.eth0 203.0.113.3
//                           └── br (ns "public") ──┘        public VIP 203.0.113.1
//   rs1..rsN (192.0.2.11…) ─┐ private switch ┌── a.eth1 192.0.2.2     b.eth1 192.0.2.3
//                           └── br (ns "private") ─┘        private VIP 192.0.2.1
//
// 198.51.100.0/24 is kept free for tests that need a third network (a second client, an MQTT
// broker's own segment, …); the lab itself does not use it, except with the `router` option:
//
//   router: eth0 203.0.113.254 (public), eth1 192.0.2.254 (private), eth2 198.51.100.1 ── far
//   (198.51.100.10, a client behind it; the router's eth2 may have a smaller MTU, so replies
//   to far need path-MTU discovery). With realServerGateway 'router' the real servers' default
//   route is the router (classic direct routing: replies never cross the boards).
//
// With `ipv6: true` both segments also carry IPv6 from the documentation prefix 2001:db8::/32
// (RFC 3849), and every interface has its kernel-made link-local address (fe80::/64):
//
//   public  2001:db8:0:1::/64  client ::10, a.eth0 ::2, b.eth0 ::3, public VIP ::1
//   private 2001:db8:0:2::/64  rs1.. ::11…, a.eth1 ::2, b.eth1 ::3, private VIP ::1, and the
//                              link-local VIP fe80::1 on eth1: the real servers' IPv6 gateway

export const PREFIX_LEN = 24;

export const LAB_ADDR = {
  publicNet: '203.0.113.0/24',
  privateNet: '192.0.2.0/24',
  spareNet: '198.51.100.0/24',
  /** Public VIP: clients connect to it; added by the VRRP daemon, never by the lab. */
  publicVip: '203.0.113.1',
  /** Private VIP: the real servers' default gateway; added by the VRRP daemon, never by the lab. */
  privateVip: '192.0.2.1',
  client: '203.0.113.10',
  board: {
    a: { eth0: '203.0.113.2', eth1: '192.0.2.2' },
    b: { eth0: '203.0.113.3', eth1: '192.0.2.3' },
  },
  /** Address of real server `i` (1-based: rs1 = 192.0.2.11). */
  realServer: (i: number): string => `192.0.2.${10 + i}`,
  /** The `router` option's host. */
  router: { eth0: '203.0.113.254', eth1: '192.0.2.254', eth2: '198.51.100.1' },
  /** The client behind the router. */
  far: '198.51.100.10',
} as const;

/** The IPv6 plan of a lab built with `ipv6: true` (see the top of this file). */
export const PREFIX_LEN6 = 64;

export const LAB_ADDR6 = {
  publicNet: '2001:db8:0:1::/64',
  privateNet: '2001:db8:0:2::/64',
  /** Added by the VRRP daemon, never by the lab. */
  publicVip: '2001:db8:0:1::1',
  privateVip: '2001:db8:0:2::1',
  /** The real servers' default gateway (`via fe80::1 dev eth0`): a link-local VIP with its dev. */
  gatewayVip: 'fe80::1',
  client: '2001:db8:0:1::10',
  board: {
    a: { eth0: '2001:db8:0:1::2', eth1: '2001:db8:0:2::2' },
    b: { eth0: '2001:db8:0:1::3', eth1: '2001:db8:0:2::3' },
  },
  realServer: (i: number): string => `2001:db8:0:2::${10 + i}`,
} as const;

export const MAX_REAL_SERVERS = 9;

/** Every lab namespace starts with this; scripts/lab-cleanup.ts removes only names matching NS_RE. */
export const NS_PREFIX = 'tdmlab-';
/** `tdmlab-<6-char tag>-<host>`. */
export const NS_RE = /^tdmlab-([a-z0-9]{6})-([a-z0-9]+)$/;

export type Board = 'a' | 'b';
export type BoardLink = 'eth0' | 'eth1';
/** `rs1`…`rs9`. */
export type RealServerHost = `rs${number}`;
/** Every namespace of a lab: the hosts, and the two switches that hold the bridges. */
export type Host = Board | 'client' | RealServerHost | 'public' | 'private' | 'router' | 'far';

export function nsName(tag: string, host: Host): string {
  return `${NS_PREFIX}${tag}-${host}`;
}

/** Switch-side veth name for a host's link. Interface names are at most 15 characters. */
export function portName(tag: string, host: Host, link: string): string {
  const short = host === 'client' ? 'cl' : host === 'router' ? 'ro' : host === 'far' ? 'fa' : host.startsWith('rs') ? `r${host.slice(2)}` : host;
  const name = `${tag}-${short}${link.replace(/^eth/, '')}`;
  if (name.length > 15) throw new Error(`interface name too long: ${name}`);
  return name;
}

export function bridgeName(tag: string): string {
  return `br-${tag}`;
}
