// Host networking through iproute2 and arping (DESIGN.md: everything that touches the system
// sits behind a small interface in one file). Used from the VRRP worker: every call is async.
import { readFile } from 'node:fs/promises';
import { run } from '../util/spawn.ts';
import { IpBatch } from './ip-batch.ts';

export interface Vip {
  address: string;
  prefix: number;
  dev: string;
  label?: string | null;
  brd?: string | null;
  scope?: string | null;
}

export interface IfAddr {
  address: string;
  prefix: number;
  secondary: boolean;
  label?: string;
}

export interface HostNet {
  addVip(v: Vip): Promise<void>;
  delVip(v: Vip): Promise<void>;
  addresses(dev: string): Promise<IfAddr[]>;
  /** The interface's primary IPv4 address (RFC 5798 §5.1.1.1 source address). */
  primaryAddress(dev: string): Promise<string | null>;
  /** Gratuitous ARP for ip on dev, `count` packets. */
  garp(dev: string, ip: string, count: number): Promise<void>;
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
}

export class IprouteHostNet implements HostNet {
  private batch = new IpBatch();

  async addVip(v: Vip): Promise<void> {
    const args = ['addr', 'add', `${v.address}/${v.prefix}`, 'dev', v.dev];
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
        if (a.family !== 'inet' || !a.local) continue;
        out.push({ address: a.local, prefix: a.prefixlen ?? 32, secondary: a.secondary === true, label: a.label });
      }
    }
    return out;
  }

  async primaryAddress(dev: string): Promise<string | null> {
    const addrs = await this.addresses(dev);
    return addrs.find((a) => !a.secondary)?.address ?? addrs[0]?.address ?? null;
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
