// Raw IP protocol-112 sockets for VRRP, one per interface (DESIGN.md "VRRP on the wire").
//
// This is the only file that touches raw-socket; it is loaded in the VRRP worker thread only.
// Like keepalived (vrrp.c open_vrrp_send_socket / open_vrrp_read_socket) we build the IPv4
// header ourselves (IP_HDRINCL), so the TTL is 255 (RFC 5798 §5.1.1.3) and the source address
// is exactly the one the RFC wants (the interface's primary address, or unicast_src_ip), bind
// the socket to its interface (SO_BINDTODEVICE) so sends leave by it and receives come only from
// it, and join the VRRP group on that interface (224.0.0.18, or global_defs vrrp_mcast_group4)
// so the kernel delivers the group's packets to us.
//
// IPv6 (RFC 5798 §5.1.2) the same way, on a socket of its own per interface: we build the IPv6
// header too (IPV6_HDRINCL), so the source is the interface's link-local address and the hop
// limit 255 whatever the kernel would choose (an IPv6 raw socket has no other way to set the
// source: raw-socket has no bind, and Linux ignores a sticky IPV6_PKTINFO source on raw sockets,
// tried here), and join ff02::12 or vrrp_mcast_group6 (IPV6_JOIN_GROUP). An IPv6 raw socket delivers the packet
// without its header; the hop limit and destination come as ancillary data (IPV6_RECVHOPLIMIT,
// IPV6_RECVPKTINFO), which raw-socket hands on thanks to our patch, and the header is rebuilt
// from them so the one receive path (receive.ts) reads both families alike. The kernel computes
// no VRRP checksum on either (IPV6_CHECKSUM stays off: a bad one must reach us to be counted).
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { ipFamily, ipv4Bytes, ipv4ToUint32, parseIpv6 } from '../../util/ip.ts';
import { inetChecksum } from '../checksum.ts';
import { VRRP_MCAST_GROUP6 } from '../codec.ts';

export const VRRP_PROTO = 112;
export const VRRP_GROUP = '224.0.0.18';

// Linux socket constants (include/uapi/linux/in.h, asm-generic/socket.h).
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const SO_RCVBUF = 8;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
// include/uapi/linux/in6.h, ipv6.h.
const IPPROTO_IPV6 = 41;
const IPPROTO_RAW = 255;
const IPV6_MULTICAST_LOOP = 19;
const IPV6_JOIN_GROUP = 20;
const IPV6_HDRINCL = 36;
const IPV6_RECVPKTINFO = 49;
const IPV6_RECVHOPLIMIT = 51;

/** The slice of raw-socket's API we use (it ships no types). IPv6 messages carry the hop limit
 * (-1: unknown) and destination ('' unknown) from ancillary data (patches/raw-socket). */
interface RawSocket {
  on(ev: 'message', fn: (buf: Buffer, source: string, hopLimit?: number, destination?: string) => void): void;
  on(ev: 'error', fn: (err: Error) => void): void;
  on(ev: 'close', fn: () => void): void;
  send(buf: Buffer, offset: number, length: number, address: string, after: (err: Error | null, bytes?: number) => void): void;
  setOption(level: number, option: number, value: Buffer | number, length?: number): void;
  close(): void;
}
interface RawModule {
  createSocket(opts: { protocol: number; addressFamily?: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

let rawModule: RawModule | null = null;
function loadRaw(): RawModule {
  // raw-socket is CommonJS with a native addon; it is resolved beside the bundle
  // (dist/node_modules) or from the project's node_modules when running from source.
  if (!rawModule) rawModule = createRequire(import.meta.url)('raw-socket') as RawModule;
  return rawModule;
}

export async function ifIndex(dev: string): Promise<number> {
  const text = await readFile(`/sys/class/net/${dev}/ifindex`, 'utf8');
  const n = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(n)) throw new Error(`cannot read ifindex of ${dev}`);
  return n;
}

/** Build the 20-byte IPv4 header for an advertisement (RFC 5798 §5.1.1). */
export function ipv4Header(src: string, dst: string, payloadLen: number, id: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45; // version 4, IHL 5
  h[1] = 0xc0; // TOS: internetwork control, as keepalived sets (IPTOS_PREC_INTERNETCONTROL)
  h.writeUInt16BE(20 + payloadLen, 2);
  h.writeUInt16BE(id & 0xffff, 4);
  h.writeUInt16BE(0, 6); // no fragmentation flags
  h[8] = 255; // TTL 255: RFC 5798 §5.1.1.3
  h[9] = VRRP_PROTO;
  h.writeUInt32BE(ipv4ToUint32(src), 12);
  h.writeUInt32BE(ipv4ToUint32(dst), 16);
  // RFC 791 header checksum: RFC 1071's sum over the header with the field zero (it is, here).
  h.writeUInt16BE(inetChecksum(h), 10);
  return h;
}

/** RFC 8200 §3: the fixed header of an advertisement, traffic class 0xc0 as keepalived sends. */
export function ipv6Header(src: string, dst: string, payloadLen: number, hopLimit = 255): Buffer {
  const s = parseIpv6(src);
  const d = parseIpv6(dst);
  if (!s || !d) throw new RangeError(`IPv6 header needs IPv6 addresses, got ${JSON.stringify(src)} → ${JSON.stringify(dst)}`);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | (0xc0 << 20)) >>> 0, 0); // version 6, traffic class 0xc0, flow label 0
  h.writeUInt16BE(payloadLen, 4);
  h[6] = VRRP_PROTO;
  h[7] = hopLimit; // 255: RFC 5798 §5.1.2.3
  h.set(s, 8);
  h.set(d, 24);
  return h;
}

/**
 * The IPv6 packet as it was on the wire, from what an IPv6 raw socket reports: the message, its
 * source, and the hop limit and destination from ancillary data. Unknown ones stand in as
 * keepalived takes them: no hop limit means it is not checked (255), no destination means not
 * multicast (::), which a multicast instance then drops as addr_list_err.
 */
export function rebuildIpv6Packet(payload: Buffer, source: string, hopLimit: number | undefined, destination: string | undefined): Buffer | null {
  const src = source.split('%')[0]!;
  const dst = destination && parseIpv6(destination) ? destination : '::';
  if (!parseIpv6(src) || payload.length > 0xffff) return null;
  const hl = hopLimit !== undefined && hopLimit >= 0 && hopLimit <= 255 ? hopLimit : 255;
  return Buffer.concat([ipv6Header(src, dst, payload.length, hl), payload]);
}

export interface ReceivedPacket {
  dev: string;
  /** The whole IPv4 packet, header included; IPv6: the packet with its header rebuilt. */
  packet: Buffer;
}

/** What the engine needs from the wire; the lab tests use the real one, unit tests a fake. */
export interface VrrpTransport {
  /** Open (or reuse) the socket of an interface for a family (default 4); joins the VRRP group
   * `group` there (default 224.0.0.18, IPv6 ff02::12; global_defs vrrp_mcast_group4/6). */
  open(dev: string, family?: 4 | 6, group?: string): Promise<void>;
  /** The family is the destination's. */
  send(dev: string, src: string, dst: string, payload: Buffer): Promise<void>;
  onPacket(fn: (p: ReceivedPacket) => void): void;
  onError(fn: (dev: string, err: Error) => void): void;
  /** Packets the kernel dropped because our receive queues were full (a flood), if known. */
  kernelDrops?(): Promise<number | null>;
  close(): void;
}

/**
 * Sums the `drops` column of /proc/net/raw for the raw sockets of one IP protocol (the
 * local_address port field holds the protocol number, in hex). /proc/net/raw is per network
 * namespace; in a board's namespace the protocol-112 sockets are ours.
 */
export function rawSocketDrops(procNetRaw: string, protocol = 112): number {
  const port = protocol.toString(16).toUpperCase().padStart(4, '0');
  let total = 0;
  for (const line of procNetRaw.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || !f[1]?.toUpperCase().endsWith(`:${port}`)) continue;
    const drops = Number(f[f.length - 1]);
    if (Number.isFinite(drops)) total += drops;
  }
  return total;
}

/**
 * Sends whole IPv6 packets out of an interface (the neighbour advertisements of net/host.ts):
 * an IPPROTO_RAW socket per interface, which Linux gives IPV6_HDRINCL by itself and never
 * delivers anything to.
 */
export class RawIpv6Sender {
  private sockets = new Map<string, RawSocket>();

  send(dev: string, dst: string, packet: Buffer): Promise<void> {
    let sock = this.sockets.get(dev);
    try {
      if (!sock) {
        const raw = loadRaw();
        const s = raw.createSocket({ protocol: IPPROTO_RAW, addressFamily: raw.AddressFamily.IPv6, bufferSize: 64 });
        try {
          const name = Buffer.from(dev + '\0', 'ascii');
          s.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
        } catch (err) {
          s.close();
          throw err;
        }
        s.on('error', () => undefined); // a send's own error reaches its callback
        this.sockets.set(dev, s);
        sock = s;
      }
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const s = sock;
    return new Promise((resolve, reject) => {
      s.send(packet, 0, packet.length, dst, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): void {
    for (const s of this.sockets.values()) {
      try {
        s.close();
      } catch {
        /* already closed */
      }
    }
    this.sockets.clear();
  }
}

export class RawVrrpTransport implements VrrpTransport {
  /** By `${family}/${dev}`. */
  private sockets = new Map<string, RawSocket>();
  /** The groups each socket joined. */
  private joined = new Map<string, Set<string>>();
  private packetFns: Array<(p: ReceivedPacket) => void> = [];
  private errorFns: Array<(dev: string, err: Error) => void> = [];
  private ipId = 0;

  async open(dev: string, family: 4 | 6 = 4, group = family === 6 ? VRRP_MCAST_GROUP6 : VRRP_GROUP): Promise<void> {
    const key = `${family}/${dev}`;
    const f = FAMILY[family];
    const open = this.sockets.get(key);
    if (open) {
      const joined = this.joined.get(key)!;
      if (!joined.has(group)) {
        f.join(open, group, await ifIndex(dev));
        joined.add(group);
      }
      return;
    }
    const raw = loadRaw();
    const index = await ifIndex(dev);
    const sock = raw.createSocket({ protocol: VRRP_PROTO, addressFamily: family === 6 ? raw.AddressFamily.IPv6 : raw.AddressFamily.IPv4, bufferSize: 65536 });
    try {
      const name = Buffer.from(dev + '\0', 'ascii');
      sock.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
      for (const [level, option, value] of f.options) sock.setOption(level, option, value);
      // A burst of adverts from many instances must not overflow the queue.
      sock.setOption(SOL_SOCKET, SO_RCVBUF, 256 * 1024);
      f.join(sock, group, index);
    } catch (err) {
      // A socket left open keeps a poll handle in the worker's loop: Node 24 then aborts the
      // whole process when the worker exits ("uv_loop_close() while having open handles").
      sock.close();
      throw err;
    }
    sock.on('message', (buf, source, hopLimit, destination) => {
      // raw-socket reuses its receive buffer: the packet must be a copy (received() makes one).
      const packet = f.received(buf, source, hopLimit, destination);
      if (!packet) return;
      for (const fn of this.packetFns) fn({ dev, packet });
    });
    sock.on('error', (err) => {
      for (const fn of this.errorFns) fn(dev, err);
    });
    this.sockets.set(key, sock);
    this.joined.set(key, new Set([group]));
  }

  send(dev: string, src: string, dst: string, payload: Buffer): Promise<void> {
    const family = ipFamily(dst) === 6 ? 6 : 4;
    const sock = this.sockets.get(`${family}/${dev}`);
    if (!sock) return Promise.reject(new Error(`no IPv${family} VRRP socket on ${dev}`));
    let pkt: Buffer;
    try {
      if (family === 6) {
        pkt = Buffer.concat([ipv6Header(src, dst, payload.length), payload]);
      } else {
        this.ipId = (this.ipId + 1) & 0xffff;
        pkt = Buffer.concat([ipv4Header(src, dst, payload.length, this.ipId), payload]);
      }
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise((resolve, reject) => {
      sock.send(pkt, 0, pkt.length, dst, (err) => (err ? reject(err) : resolve()));
    });
  }

  onPacket(fn: (p: ReceivedPacket) => void): void {
    this.packetFns.push(fn);
  }

  onError(fn: (dev: string, err: Error) => void): void {
    this.errorFns.push(fn);
  }

  async kernelDrops(): Promise<number | null> {
    try {
      const v4 = rawSocketDrops(await readFile('/proc/net/raw', 'utf8'));
      // /proc/net/raw6 has the same columns; it is absent when the kernel has no IPv6.
      const v6 = await readFile('/proc/net/raw6', 'utf8').then((t) => rawSocketDrops(t), () => 0);
      return v4 + v6;
    } catch {
      return null;
    }
  }

  close(): void {
    for (const s of this.sockets.values()) {
      try {
        s.close();
      } catch {
        /* already closed */
      }
    }
    this.sockets.clear();
    this.joined.clear();
  }
}

/** IP_ADD_MEMBERSHIP of `group` on the interface `index`. */
function join(sock: RawSocket, group: string, index: number): void {
  // struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; } is 12 bytes; we pass
  // it zero-padded to 16. Linux copies sizeof(ip_mreqn) whenever optlen is at least that
  // (net/ipv4/ip_sockglue.c, IP_ADD_MEMBERSHIP), so the padding changes nothing on a board.
  // qemu-user (7.2, linux-user/syscall.c) declares the target's imr_ifindex as abi_long, 8
  // bytes on arm64: it converts the ifindex only when optlen is 16, and with 12 passes an
  // uninitialised index, so the join failed with ENODEV when the arm64 image ran under
  // qemu-aarch64 (test/lab/firmware-board.test.ts).
  const mreq = Buffer.alloc(16);
  mreq.set(ipv4Bytes(ipv4ToUint32(group)), 0);
  mreq.writeInt32LE(index, 8);
  sock.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq, mreq.length);
}

/** IPV6_JOIN_GROUP of `group` (ff02::12, or global_defs vrrp_mcast_group6) on the interface `index`. */
function join6(sock: RawSocket, group: string, index: number): void {
  const g = parseIpv6(group);
  if (!g) throw new Error(`not an IPv6 group: ${group}`);
  // struct ipv6_mreq { struct in6_addr ipv6mr_multiaddr; int ipv6mr_interface; }: 20 bytes.
  const mreq = Buffer.alloc(20);
  mreq.set(g, 0);
  mreq.writeInt32LE(index, 16);
  sock.setOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq, mreq.length);
}

/**
 * What differs between the families' sockets: the options after SO_BINDTODEVICE (IPv4 builds its
 * header, IP_HDRINCL; IPv6 too, IPV6_HDRINCL, and asks for the hop limit and destination as
 * ancillary data), the group join, and what a received buffer becomes (IPv4: a copy of the whole
 * packet; IPv6: the packet with its header rebuilt from the ancillary data, null if unusable).
 */
const FAMILY: Record<4 | 6, {
  options: ReadonlyArray<[number, number, number]>;
  join: (sock: RawSocket, group: string, index: number) => void;
  received: (buf: Buffer, source: string, hopLimit?: number, destination?: string) => Buffer | null;
}> = {
  4: {
    options: [[IPPROTO_IP, IP_HDRINCL, 1], [IPPROTO_IP, IP_MULTICAST_LOOP, 0]],
    join,
    received: (buf) => Buffer.from(buf),
  },
  6: {
    options: [[IPPROTO_IPV6, IPV6_HDRINCL, 1], [IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0], [IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1], [IPPROTO_IPV6, IPV6_RECVPKTINFO, 1]],
    join: join6,
    received: rebuildIpv6Packet,
  },
};
