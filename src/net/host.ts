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
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { run } from '../util/spawn.ts';
import { IpBatch } from './ip-batch.ts';
import { canonicalIp, ipFamily, isLinkLocal, parseIp } from '../util/ip.ts';
import { parseMac, unsolicitedNeighbourAdvert } from './ndisc.ts';
import { routeAddWords, routeDelWords, ruleAddWords, ruleDelWords, vmacAddWords } from './ip-route.ts';
import { SysctlKeeper } from './sysctl.ts';
import { Pacer } from './pacer.ts';
import { CarrierReader } from './carrier.ts';
import { systemClock } from '../util/clock.ts';
import type { EngineRoute, EngineRule, EngineVmac } from '../vrrp/engine-config.ts';

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
  /** Gratuitous ARP for ip on dev, `count` packets, at least `intervalMs` apart on dev (vrrp_garp_interval). */
  garp(dev: string, ip: string, count: number, intervalMs?: number): Promise<void>;
  /** Unsolicited neighbour advertisements for an IPv6 VIP on dev, `count` packets (RFC 4861 §7.2.6), at least `intervalMs` apart on dev (vrrp_gna_interval). */
  unsolicitedNa(dev: string, ip: string, count: number, intervalMs?: number): Promise<void>;
  linkUp(dev: string): Promise<boolean>;
  /** A route or rule of virtual_routes / static_routes, virtual_rules / static_rules. */
  addRoute(r: EngineRoute): Promise<void>;
  delRoute(r: EngineRoute): Promise<void>;
  addRule(r: EngineRule): Promise<void>;
  delRule(r: EngineRule): Promise<void>;
  /** use_vmac: creates (or re-creates) the macvlan, silent until it is MASTER (see below), and up. */
  createVmac(v: EngineVmac): Promise<void>;
  removeVmac(name: string): Promise<void>;
  /** Releases what the implementation holds open (the ip batch process) and puts back the settings it changed. */
  close?(): void | Promise<void>;
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
  /** Where settings it could not make are told. */
  log?: (level: 'warn', msg: string) => void;
}

/** The nftables table that keeps IGMP and MLD reports off the VMAC interfaces (see createVmac). */
export const VMAC_TABLE = 'tandem_vmac';

/**
 * The table's text: locally sent IGMP and MLD reports leaving a VMAC interface are dropped.
 * keepalived does the same (vrrp_if.c if_join_vrrp_group, vrrp_nftables.c): the socket must
 * join the VRRP group on the VMAC to hear adverts sent from the peer's VMAC, and the join's
 * reports would go out from the virtual MAC on the BACKUP too, so a switch would learn the
 * virtual MAC on two ports.
 */
export function vmacTableText(names: readonly string[]): string {
  const head = `table inet ${VMAC_TABLE}\ndelete table inet ${VMAC_TABLE}\n`;
  if (names.length === 0) return head;
  const set = `{ ${names.map((n) => JSON.stringify(n)).join(', ')} }`;
  return head + `table inet ${VMAC_TABLE} {\n chain out {\n  type filter hook output priority 0; policy accept;\n`
    + `  oifname ${set} ip protocol igmp drop\n`
    + `  oifname ${set} icmpv6 type { mld-listener-report, mld-listener-done, mld2-listener-report } drop\n }\n}\n`;
}

export class IprouteHostNet implements HostNet {
  private batch = new IpBatch();
  private readonly ipv6: Ipv6Sender | undefined;
  private readonly log: (level: 'warn', msg: string) => void;
  /** The parents' ARP settings (and rp_filter) changed for VMACs, put back at close. */
  private readonly sysctls: SysctlKeeper;
  /** VMAC interfaces this process created, by name → parent. */
  private readonly vmacs = new Map<string, string>();
  /** vrrp_garp_interval / vrrp_gna_interval spacing, per interface. */
  private readonly pacer = new Pacer(systemClock);
  /** Link state, polled by the link monitor (one kept sysfs descriptor per interface). */
  private readonly carrier = new CarrierReader();

  constructor(opts: HostNetOptions = {}) {
    this.ipv6 = opts.ipv6;
    this.log = opts.log ?? (() => undefined);
    this.sysctls = new SysctlKeeper(this.log);
  }

  async addRoute(r: EngineRoute): Promise<void> {
    await this.ipRun(routeAddWords(r), /File exists/i);
  }

  async delRoute(r: EngineRoute): Promise<void> {
    // Gone already: a route through a VIP goes with the VIP.
    await this.ipRun(routeDelWords(r), /No such process|not found/i);
  }

  async addRule(r: EngineRule): Promise<void> {
    await this.ipRun(ruleAddWords(r), /File exists/i);
  }

  async delRule(r: EngineRule): Promise<void> {
    await this.ipRun(ruleDelWords(r), /No such file|not found/i);
  }

  /** One ip command through the batch; an error matching `fine` is the state we want. */
  private async ipRun(words: string[], fine: RegExp): Promise<void> {
    try {
      await this.batch.run(words);
    } catch (err) {
      const msg = (err as Error).message;
      if (!fine.test(msg)) throw new Error(`ip ${words.join(' ')}: ${msg}`);
    }
  }

  /**
   * The VMAC as keepalived makes it (vrrp_vmac.c netlink_link_add_vmac, vrrp_if_config.c): a
   * private-mode macvlan on the instance's interface with the virtual MAC; no IPv6 link-local
   * address of its own (addrgenmode none, RFC 5798 §7.4), and for an IPv4 instance no IPv6 at
   * all; arp_ignore 1 (it answers ARP only for its own addresses, the VIPs while MASTER),
   * accept_local 1 and rp_filter 0 (it hears adverts while it has no address); the parent gets
   * arp_ignore 1 and arp_filter 1 (it must not answer for the VIPs on the VMAC) and arp_announce
   * 2 (holdParents), and, as in
   * keepalived, a non-zero all.rp_filter is moved onto each interface and set to 0, since the
   * kernel uses the larger of `all` and the interface's. tandem's VMAC never holds an address
   * while BACKUP (keepalived puts the parent's link-local address on an IPv6 one; tandem builds
   * the IPv6 header itself and sends from the parent's link-local address with none there), and
   * its IGMP/MLD reports are dropped (vmacTableText), so a BACKUP sends nothing from the
   * virtual MAC. A left-over interface of that name that is a macvlan is replaced; any other
   * kind is an error.
   */
  async createVmac(v: EngineVmac): Promise<void> {
    const dev = safeDev(v.name);
    safeDev(v.parent);
    const kind = await linkKind(dev);
    if (kind !== null && kind !== 'macvlan') throw new Error(`use_vmac ${dev}: an interface of that name exists and is not a macvlan (${kind || 'a physical interface'})`);
    if (kind === 'macvlan') await this.ipRun(['link', 'del', 'dev', dev], /Cannot find device/i);
    await this.batch.run(vmacAddWords(v));
    this.vmacs.set(dev, v.parent);
    await this.batch.run(['link', 'set', 'dev', dev, 'addrgenmode', 'none']);
    const conf = (d: string, key: string, value: string): readonly [string, string] => [`/proc/sys/net/ipv4/conf/${d}/${key}`, value];
    const own: Array<readonly [string, string]> = [conf(dev, 'arp_ignore', '1')];
    if (v.family === 4) {
      own.push(conf(dev, 'accept_local', '1'), conf(dev, 'rp_filter', '0'), conf(dev, 'promote_secondaries', '1'), [`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, '1']);
    }
    for (const [path, value] of own) await writeFile(path, value).catch((err: Error) => this.log('warn', `cannot set ${path} to ${value}: ${err.message}`));
    await this.holdParents();
    await this.silenceVmacs();
    await this.batch.run(['link', 'set', 'dev', dev, 'up']);
  }

  async removeVmac(name: string): Promise<void> {
    const dev = safeDev(name);
    if (!this.vmacs.delete(dev)) return;
    await this.ipRun(['link', 'del', 'dev', dev], /Cannot find device/i);
    await this.silenceVmacs();
    await this.holdParents();
  }

  /** The parents' settings while they have VMACs (keepalived's set_interface_parameters). */
  private async holdParents(): Promise<void> {
    const want: Array<readonly [string, string]> = [];
    if (this.vmacs.size > 0) {
      for (const p of new Set(this.vmacs.values())) {
        want.push([`/proc/sys/net/ipv4/conf/${p}/arp_ignore`, '1'], [`/proc/sys/net/ipv4/conf/${p}/arp_filter`, '1']);
        // Not keepalived's: the MASTER's replies from a VIP leave by the parent (its connected
        // route is the older one), and its ARP requests for the client would carry the VIP as
        // sender with the parent's MAC, which the client takes into its entry for the VIP (seen
        // in the lab). arp_announce 2 makes them carry the parent's own address.
        want.push([`/proc/sys/net/ipv4/conf/${p}/arp_announce`, '2']);
      }
      const all = (await readFile('/proc/sys/net/ipv4/conf/all/rp_filter', 'utf8').catch(() => '0')).trim();
      const held = this.sysctls.held().get('/proc/sys/net/ipv4/conf/all/rp_filter') ?? all;
      if (held !== '0') {
        for (const d of await readdir('/proc/sys/net/ipv4/conf').catch(() => [] as string[])) {
          if (d === 'all' || this.vmacs.has(d)) continue;
          const path = `/proc/sys/net/ipv4/conf/${d}/rp_filter`;
          const mine = this.sysctls.held().get(path) ?? (await readFile(path, 'utf8').catch(() => '0')).trim();
          want.push([path, String(Math.max(Number(mine) || 0, Number(held) || 0))]);
        }
        want.push(['/proc/sys/net/ipv4/conf/all/rp_filter', '0']);
      }
    }
    await this.sysctls.hold(want);
  }

  private async silenceVmacs(): Promise<void> {
    const r = await run(['nft', '-f', '-'], { input: vmacTableText([...this.vmacs.keys()].sort()), timeoutMs: 5000 });
    if (r.code !== 0) this.log('warn', `nftables: cannot keep IGMP/MLD reports off the VMAC interfaces (the BACKUP sends them from the virtual MAC): ${r.stderr.trim() || `exit ${r.code}`}`);
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

  async close(): Promise<void> {
    for (const name of [...this.vmacs.keys()]) await this.removeVmac(name).catch((err: Error) => this.log('warn', err.message));
    await this.sysctls.restore();
    this.batch.close();
    this.ipv6?.close();
    this.carrier.close();
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

  async unsolicitedNa(dev: string, address: string, count: number, intervalMs = 0): Promise<void> {
    const target = parseIp(address);
    if (!target || target.family !== 6) throw new Error(`neighbour advertisement for ${address}: not an IPv6 address`);
    if (!this.ipv6) throw new Error(`neighbour advertisement for ${address}: no IPv6 socket`);
    if (!/^[\w.@-]{1,15}$/.test(dev)) throw new Error(`bad interface name ${JSON.stringify(dev)}`);
    const mac = parseMac(await readFile(`/sys/class/net/${dev}/address`, 'utf8'));
    if (!mac) throw new Error(`${dev} has no MAC address to announce ${address} with`);
    // keepalived sets the Router flag when the interface forwards IPv6 (get_ipv6_forwarding).
    const router = (await readFile(`/proc/sys/net/ipv6/conf/${dev}/forwarding`, 'utf8').catch(() => '0')).trim() === '1';
    const pkt = unsolicitedNeighbourAdvert({ target: target.bytes, mac, router });
    // Back to back (vrrp_gna_interval 0, the default), or spaced on the interface.
    const ipv6 = this.ipv6;
    if (intervalMs <= 0) {
      await Promise.all(Array.from({ length: count }, () => ipv6.send(dev, 'ff02::1', pkt)));
      return;
    }
    for (let i = 0; i < count; i++) await this.pacer.send(`6/${dev}`, intervalMs, () => ipv6.send(dev, 'ff02::1', pkt));
  }

  async garp(dev: string, address: string, count: number, intervalMs = 0): Promise<void> {
    // iputils arping -U: unsolicited ARP (gratuitous, RFC 5227 §3 style announcement), the
    // sender and target IP both the VIP. keepalived sends its burst back to back
    // (vrrp_garp_interval 0), so send `count` single packets without waiting.
    // The first packet is what switches the clients over: start its arping alone and fork the
    // rest a moment later, so their forks do not compete with it for the CPU.
    const argv = ['arping', '-q', '-U', '-c', '1', '-w', '1', '-I', dev, '-s', address, address];
    if (intervalMs > 0) {
      // vrrp_garp_interval: one at a time, spaced on the interface across VIPs and instances.
      for (let i = 0; i < count; i++) await this.pacer.send(`4/${dev}`, intervalMs, () => run(argv, { timeoutMs: 3000 }));
      return;
    }
    const sends: Array<Promise<unknown>> = [run(argv, { timeoutMs: 3000 })];
    if (count > 1) await new Promise((r) => setTimeout(r, 3));
    for (let i = 1; i < count; i++) sends.push(run(argv, { timeoutMs: 3000 }));
    await Promise.all(sends);
  }

  async linkUp(dev: string): Promise<boolean> {
    return this.carrier.up(dev);
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

/** An interface name as the kernel takes it, never a path (it goes into /proc/sys paths). */
function safeDev(dev: string): string {
  if (!/^[\w.@-]{1,15}$/.test(dev) || dev === '.' || dev === '..') throw new Error(`bad interface name ${JSON.stringify(dev)}`);
  return dev;
}

/** The link's kind ('' for a device without one, e.g. a physical NIC), or null when it does not exist. */
async function linkKind(dev: string): Promise<string | null> {
  const r = await ip(['-d', '-j', 'link', 'show', 'dev', dev]);
  if (!r.ok) return null;
  try {
    const links = JSON.parse(r.out) as Array<{ linkinfo?: { info_kind?: string } }>;
    return links[0]?.linkinfo?.info_kind ?? '';
  } catch {
    return '';
  }
}
