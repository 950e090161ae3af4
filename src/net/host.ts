// Host networking through iproute2 and arping (DESIGN.md: everything that touches the system
// sits behind a small interface in one file). Used from the VRRP worker: every call is async.
//
// IPv6 VIPs are added without duplicate address detection (`nodad`), as keepalived adds them
// (vrrp_ipaddress.c: an address in DAD cannot be used, and one that "fails" DAD during a
// split brain would stay dead); a /128 one is deprecated at once (preferred_lft 0, keepalived's
// default), so the board does not pick it as the source of its own connections. They are
// announced with unsolicited neighbour advertisements (net/ndisc.ts), sent through a raw IPv6
// socket the worker hands in (Ipv6Sender: raw sockets live in vrrp/worker/transport.ts). A raw
// socket rather than ndisc6 or a helper program: an announcement is on the takeover path, and a
// fork per packet costs milliseconds there (measured for arping, below); keepalived too sends
// them from a socket of its own.
import { readFile } from 'node:fs/promises';
import { run } from '../util/spawn.ts';
import { IpBatch } from './ip-batch.ts';
import { canonicalIp, ipFamily, isLinkLocal, parseIp } from '../util/ip.ts';
import { parseMac, unsolicitedNeighbourAdvert } from './ndisc.ts';

export interface Vip {
  address: string;
  prefix: number;
  dev: string;
  label?: string | null;
  brd?: string | null;
  scope?: string | null;
}

export interface IfAddr {
  /** Canonical text. */
  address: string;
  prefix: number;
  secondary: boolean;
  label?: string;
  /** IPv6: duplicate address detection has not finished; the address cannot be used yet. */
  tentative?: boolean;
}

/** Sends a whole IPv6 packet (header included) out of an interface. */
export interface Ipv6Sender {
  send(dev: string, dst: string, packet: Buffer): Promise<void>;
  close(): void;
}

export interface HostNet {
  addVip(v: Vip): Promise<void>;
  delVip(v: Vip): Promise<void>;
  /** The interface's addresses, both families. */
  addresses(dev: string): Promise<IfAddr[]>;
  /**
   * The source of an instance's adverts on the interface: IPv4, its primary address (RFC 5798
   * §5.1.1.1); IPv6, its link-local address (§5.1.2.1), never one of `notThese` (link-local
   * VIPs such as fe80::1 are link-local too).
   */
  primaryAddress(dev: string, family?: 4 | 6, notThese?: ReadonlySet<string>): Promise<string | null>;
  /** Gratuitous ARP for ip on dev, `count` packets. */
  garp(dev: string, ip: string, count: number): Promise<void>;
  /** Unsolicited neighbour advertisements for an IPv6 VIP on dev, `count` packets (RFC 4861 §7.2.6). */
  unsolicitedNa(dev: string, ip: string, count: number): Promise<void>;
  linkUp(dev: string): Promise<boolean>;
  /** Releases what the implementation holds open (the ip batch process). */
  close?(): void;
}

async function ip(args: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  const r = await run(['ip', ...args], { timeoutMs: 5000 });
  return { ok: r.code === 0, out: r.stdout, err: r.stderr.trim() };
}

interface IpJsonAddr {
  family?: string;
  local?: string;
  prefixlen?: number;
  secondary?: boolean;
  label?: string;
  tentative?: boolean;
}

export interface HostNetOptions {
  /** How neighbour advertisements leave (the worker's raw IPv6 socket); without it they are not sent. */
  ipv6?: Ipv6Sender;
}

export class IprouteHostNet implements HostNet {
  private batch = new IpBatch();
  private readonly ipv6: Ipv6Sender | undefined;

  constructor(opts: HostNetOptions = {}) {
    this.ipv6 = opts.ipv6;
  }

  async addVip(v: Vip): Promise<void> {
    const args = ['addr', 'add', `${v.address}/${v.prefix}`, 'dev', v.dev];
    if (ipFamily(v.address) === 6) {
      args.push('nodad');
      if (v.prefix === 128) args.push('preferred_lft', '0');
    }
    if (v.brd) args.push('broadcast', v.brd);
    if (v.scope) args.push('scope', v.scope);
    if (v.label) args.push('label', v.label);
    try {
      await this.batch.run(args);
    } catch (err) {
      // "File exists" / "already assigned": already there (a restart, or a duplicate add): the
      // state we want.
      const msg = (err as Error).message;
      if (!/File exists|already assigned/i.test(msg)) throw new Error(`ip ${args.join(' ')}: ${msg}`);
    }
  }

  async delVip(v: Vip): Promise<void> {
    const args = ['addr', 'del', `${v.address}/${v.prefix}`, 'dev', v.dev];
    try {
      await this.batch.run(args);
    } catch (err) {
      const msg = (err as Error).message;
      if (!/Cannot assign requested address|not found/i.test(msg)) throw new Error(`ip ${args.join(' ')}: ${msg}`);
    }
  }

  close(): void {
    this.batch.close();
    this.ipv6?.close();
  }

  async addresses(dev: string): Promise<IfAddr[]> {
    const r = await ip(['-j', 'addr', 'show', 'dev', dev]);
    if (!r.ok) return [];
    let parsed: Array<{ addr_info?: IpJsonAddr[] }>;
    try {
      parsed = JSON.parse(r.out) as Array<{ addr_info?: IpJsonAddr[] }>;
    } catch {
      return [];
    }
    const out: IfAddr[] = [];
    for (const link of parsed) {
      for (const a of link.addr_info ?? []) {
        if ((a.family !== 'inet' && a.family !== 'inet6') || !a.local) continue;
        const address = canonicalIp(a.local);
        if (address === null) continue;
        const x: IfAddr = { address, prefix: a.prefixlen ?? (a.family === 'inet' ? 32 : 128), secondary: a.secondary === true, label: a.label };
        if (a.tentative === true) x.tentative = true;
        out.push(x);
      }
    }
    return out;
  }

  async primaryAddress(dev: string, family: 4 | 6 = 4, notThese: ReadonlySet<string> = new Set()): Promise<string | null> {
    return primaryOf(await this.addresses(dev), family, notThese);
  }

  async unsolicitedNa(dev: string, address: string, count: number): Promise<void> {
    const target = parseIp(address);
    if (!target || target.family !== 6) throw new Error(`neighbour advertisement for ${address}: not an IPv6 address`);
    if (!this.ipv6) throw new Error(`neighbour advertisement for ${address}: no IPv6 socket`);
    if (!/^[\w.@-]{1,15}$/.test(dev)) throw new Error(`bad interface name ${JSON.stringify(dev)}`);
    const mac = parseMac(await readFile(`/sys/class/net/${dev}/address`, 'utf8'));
    if (!mac) throw new Error(`${dev} has no MAC address to announce ${address} with`);
    // keepalived sets the Router flag when the interface forwards IPv6 (get_ipv6_forwarding).
    const router = (await readFile(`/proc/sys/net/ipv6/conf/${dev}/forwarding`, 'utf8').catch(() => '0')).trim() === '1';
    const pkt = unsolicitedNeighbourAdvert({ target: target.bytes, mac, router });
    // Back to back, as the GARP burst (vrrp_garp_interval 0).
    await Promise.all(Array.from({ length: count }, () => this.ipv6!.send(dev, 'ff02::1', pkt)));
  }

  async garp(dev: string, address: string, count: number): Promise<void> {
    // iputils arping -U: unsolicited ARP (gratuitous, RFC 5227 §3 style announcement), the
    // sender and target IP both the VIP. keepalived sends its burst back to back
    // (vrrp_garp_interval 0), so send `count` single packets without waiting.
    // The first packet is what switches the clients over: start its arping alone and fork the
    // rest a moment later, so their forks do not compete with it for the CPU.
    const argv = ['arping', '-q', '-U', '-c', '1', '-w', '1', '-I', dev, '-s', address, address];
    const sends: Array<Promise<unknown>> = [run(argv, { timeoutMs: 3000 })];
    if (count > 1) await new Promise((r) => setTimeout(r, 3));
    for (let i = 1; i < count; i++) sends.push(run(argv, { timeoutMs: 3000 }));
    await Promise.all(sends);
  }

  async linkUp(dev: string): Promise<boolean> {
    // Read from sysfs rather than spawning `ip` (the link monitor polls this): administratively
    // up (IFF_UP in flags) and carrier present. Reading carrier fails (EINVAL) while the
    // interface is down; a missing interface is down.
    if (!/^[\w.@-]{1,15}$/.test(dev)) return false;
    try {
      const flags = Number.parseInt((await readFile(`/sys/class/net/${dev}/flags`, 'utf8')).trim(), 16);
      if (!(flags & 0x1)) return false;
      return (await readFile(`/sys/class/net/${dev}/carrier`, 'utf8')).trim() === '1';
    } catch {
      return false;
    }
  }
}

/**
 * The source address an instance of `family` advertises from, among an interface's addresses:
 * IPv4, the primary (first non-secondary) one; IPv6, the first link-local one that is not in
 * `notThese` (the VIPs), preferring one whose duplicate address detection is done.
 */
export function primaryOf(addrs: readonly IfAddr[], family: 4 | 6, notThese: ReadonlySet<string> = new Set()): string | null {
  const own = addrs.filter((a) => ipFamily(a.address) === family && !notThese.has(a.address));
  if (family === 4) return own.find((a) => !a.secondary)?.address ?? own[0]?.address ?? null;
  const ll = own.filter((a) => { const p = parseIp(a.address); return p !== null && isLinkLocal(p); });
  return ll.find((a) => !a.tentative)?.address ?? ll[0]?.address ?? null;
}
