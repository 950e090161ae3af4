// Host networking through iproute2 and arping (DESIGN.md: everything that touches the system
// sits behind a small interface in one file). Used from the VRRP worker: every call is async.
import { run } from '../util/exec.ts';

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
  async addVip(v: Vip): Promise<void> {
    const args = ['addr', 'add', `${v.address}/${v.prefix}`, 'dev', v.dev];
    if (v.brd) args.push('broadcast', v.brd);
    if (v.scope) args.push('scope', v.scope);
    if (v.label) args.push('label', v.label);
    const r = await ip(args);
    // "File exists": already there (a restart, or a duplicate add): the state we want.
    if (!r.ok && !/File exists/.test(r.err)) throw new Error(`ip ${args.join(' ')}: ${r.err}`);
  }

  async delVip(v: Vip): Promise<void> {
    const args = ['addr', 'del', `${v.address}/${v.prefix}`, 'dev', v.dev];
    const r = await ip(args);
    if (!r.ok && !/Cannot assign requested address|not found/i.test(r.err)) throw new Error(`ip ${args.join(' ')}: ${r.err}`);
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
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < count; i++) {
      sends.push(run(['arping', '-q', '-U', '-c', '1', '-w', '1', '-I', dev, '-s', address, address], { timeoutMs: 3000 }));
    }
    await Promise.all(sends);
  }

  async linkUp(dev: string): Promise<boolean> {
    const r = await ip(['-j', 'link', 'show', 'dev', dev]);
    if (!r.ok) return false;
    try {
      const links = JSON.parse(r.out) as Array<{ flags?: string[]; operstate?: string }>;
      const l = links[0];
      if (!l) return false;
      // LOWER_UP is the carrier; operstate UNKNOWN is what some drivers (and dummy) report.
      return (l.flags ?? []).includes('UP') && (l.flags ?? []).includes('LOWER_UP');
    } catch {
      return false;
    }
  }
}
