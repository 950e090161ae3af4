// Fakes of the VRRP engine's two system boundaries (src/vrrp/worker/transport.ts VrrpTransport and
// src/net/host.ts HostNet), so test/unit/vrrp/engine.test.ts drives the real engine, the real
// state machines and the real receive path in milliseconds under the fake clock.
import { decodeAdvert, type Advert } from '../../../src/vrrp/codec.ts';
import type { ReceivedPacket, VrrpTransport } from '../../../src/vrrp/worker/transport.ts';
import { primaryOf, type HostNet, type IfAddr, type Vip } from '../../../src/net/host.ts';
import { ipWrap, ipWrap6 } from './helpers.ts';
import type { FakeClock } from '../fake-clock.ts';

import { ipFamily } from '../../../src/util/ip.ts';
import { routeAddWords, routeDelWords, ruleAddWords, ruleDelWords } from '../../../src/net/ip-route.ts';
import type { EngineRoute, EngineRule, EngineVmac } from '../../../src/vrrp/engine-config.ts';

export interface SentAdvert {
  at: number;
  dev: string;
  src: string;
  dst: string;
  advert: Advert;
}

/** Records what the engine sends (decoded, as a peer would see it) and lets a test deliver packets. */
export class FakeTransport implements VrrpTransport {
  readonly sent: SentAdvert[] = [];
  /** "dev" for IPv4 sockets, "dev/6" for IPv6 ones. */
  readonly opened: string[] = [];
  closed = false;
  private packetFns: Array<(p: ReceivedPacket) => void> = [];

  constructor(private readonly clock: FakeClock) {}

  async open(dev: string, family: 4 | 6 = 4, _group?: string): Promise<void> {
    this.opened.push(family === 6 ? `${dev}/6` : dev);
  }

  async send(dev: string, src: string, dst: string, payload: Buffer): Promise<void> {
    const r = decodeAdvert(ipFamily(dst) === 6 ? ipWrap6(payload, { src, dst }) : ipWrap(payload, { src, dst }));
    if (!r.ok) throw new Error(`the engine sent an advert that does not decode: ${r.reason}`);
    this.sent.push({ at: this.clock.monotonic(), dev, src, dst, advert: r.advert });
  }

  onPacket(fn: (p: ReceivedPacket) => void): void {
    this.packetFns.push(fn);
  }

  onError(): void {}

  close(): void {
    this.closed = true;
  }

  /** A packet arrives on `dev` (a whole IPv4 packet as the raw socket delivers it, or an IPv6 one as the transport rebuilds it). */
  deliver(dev: string, packet: Buffer): void {
    for (const fn of this.packetFns) fn({ dev, packet });
  }

  /** Priorities of the adverts sent so far (or since index `from`). */
  priorities(from = 0): number[] {
    return this.sent.slice(from).map((s) => s.advert.priority);
  }
}

/** Interfaces with addresses; VIP changes are recorded in order. */
export class FakeHostNet implements HostNet {
  readonly log: string[] = [];
  readonly addrs = new Map<string, IfAddr[]>();
  /** VIP address → the error its add fails with. */
  readonly failAdd = new Map<string, string>();
  closed = false;

  /** Each interface's address; a list gives several (e.g. an IPv4 one and a link-local IPv6 one). */
  constructor(ifs: Record<string, string | string[]>) {
    for (const [dev, a] of Object.entries(ifs)) {
      this.addrs.set(dev, (typeof a === 'string' ? [a] : a).map((address) => ({ address, prefix: ipFamily(address) === 6 ? 64 : 24, secondary: false })));
    }
  }

  async addVip(v: Vip): Promise<void> {
    const fail = this.failAdd.get(v.address);
    if (fail) {
      this.log.push(`add-failed ${v.address} ${v.dev}`);
      throw new Error(fail);
    }
    this.log.push(`add ${v.address} ${v.dev}`);
    const list = this.addrs.get(v.dev) ?? [];
    if (!list.some((a) => a.address === v.address)) list.push({ address: v.address, prefix: v.prefix, secondary: true });
    this.addrs.set(v.dev, list);
  }

  async delVip(v: Vip): Promise<void> {
    this.log.push(`del ${v.address} ${v.dev}`);
    this.addrs.set(v.dev, (this.addrs.get(v.dev) ?? []).filter((a) => a.address !== v.address));
  }

  async addresses(dev: string): Promise<IfAddr[]> {
    return [...(this.addrs.get(dev) ?? [])];
  }

  async primaryAddress(dev: string, family: 4 | 6 = 4, notThese: ReadonlySet<string> = new Set()): Promise<string | null> {
    return primaryOf(this.addrs.get(dev) ?? [], family, notThese);
  }

  async garp(dev: string, ip: string, count: number, intervalMs = 0): Promise<void> {
    this.log.push(`garp ${ip} ${dev} x${count}${intervalMs > 0 ? ` every ${intervalMs} ms` : ''}`);
  }

  async unsolicitedNa(dev: string, ip: string, count: number, intervalMs = 0): Promise<void> {
    this.log.push(`na ${ip} ${dev} x${count}${intervalMs > 0 ? ` every ${intervalMs} ms` : ''}`);
  }

  async linkUp(): Promise<boolean> {
    return true;
  }

  /** Routes and rules present, by their words (net/ip-route.ts), in the order added. */
  readonly routes: string[] = [];
  readonly rules: string[] = [];
  /** VMAC interfaces present: name → parent. */
  readonly vmacs = new Map<string, string>();

  async addRoute(r: EngineRoute): Promise<void> {
    const w = routeAddWords(r).join(' ');
    this.log.push(w);
    this.routes.push(w);
  }

  async delRoute(r: EngineRoute): Promise<void> {
    const w = routeAddWords(r).join(' ');
    this.log.push(routeDelWords(r).join(' '));
    const k = this.routes.indexOf(w);
    if (k >= 0) this.routes.splice(k, 1);
  }

  async addRule(r: EngineRule): Promise<void> {
    const w = ruleAddWords(r).join(' ');
    this.log.push(w);
    this.rules.push(w);
  }

  async delRule(r: EngineRule): Promise<void> {
    const w = ruleAddWords(r).join(' ');
    this.log.push(ruleDelWords(r).join(' '));
    const k = this.rules.indexOf(w);
    if (k >= 0) this.rules.splice(k, 1);
  }

  async createVmac(v: EngineVmac): Promise<void> {
    this.log.push(`vmac ${v.name} ${v.parent} ${v.mac}`);
    this.vmacs.set(v.name, v.parent);
    if (!this.addrs.has(v.name)) this.addrs.set(v.name, []);
  }

  async removeVmac(name: string): Promise<void> {
    this.log.push(`vmac-del ${name}`);
    this.vmacs.delete(name);
    this.addrs.delete(name);
  }

  close(): void {
    this.closed = true;
  }

  has(dev: string, address: string): boolean {
    return (this.addrs.get(dev) ?? []).some((a) => a.address === address);
  }
}
