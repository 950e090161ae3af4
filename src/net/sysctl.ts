// Kernel settings tandem needs, written through /proc/sys of the network namespace the daemon
// runs in. Asynchronous, and a setting that cannot be written is logged, never fatal: a board
// whose kernel lacks one still does what it can.
import { readFile, writeFile } from 'node:fs/promises';

export type SysctlLog = (level: 'warn', msg: string) => void;

/** Writes each `[path, value]`; a failure is logged with the path and the reason. */
export async function setSysctls(want: ReadonlyArray<readonly [string, string]>, log: SysctlLog): Promise<void> {
  for (const [path, value] of want) {
    try {
      await writeFile(path, value);
    } catch (err) {
      log('warn', `cannot set ${path} to ${value}: ${(err as Error).message}`);
    }
  }
}

/**
 * NAT mode needs forwarding (LVS NAT does too); conntrack's loose TCP pickup must stay on for
 * the mid-stream guard to let clients' packets of an adopted flow through (src/lb/README.md).
 */
export const FORWARDING_SYSCTLS: ReadonlyArray<readonly [string, string]> = [
  ['/proc/sys/net/ipv4/ip_forward', '1'],
  ['/proc/sys/net/netfilter/nf_conntrack_tcp_loose', '1'],
];

/**
 * NAT66 and DR over IPv6 forward IPv6 (the kernel's IPv6 forwarding is off by default and is a
 * separate switch from ip_forward). Held by the load balancer only while an IPv6 virtual server
 * exists, and put back on stop: turning it on makes the kernel ignore router advertisements on
 * interfaces with accept_ra 1 (RFC 4861 §6.3.4 is for hosts), which a board's management
 * interface may rely on when it has no IPv6 service to forward.
 */
export const IPV6_FORWARDING_SYSCTLS: ReadonlyArray<readonly [string, string]> = [['/proc/sys/net/ipv6/conf/all/forwarding', '1']];

/** The userspace forwarder binds VIPs this board does not hold yet (src/lb/forwarder/system.ts). */
export const NONLOCAL_BIND_SYSCTLS: ReadonlyArray<readonly [string, string]> = [['/proc/sys/net/ipv4/ip_nonlocal_bind', '1']];
/** The same for IPv6 VIPs (a separate setting, net.ipv6.ip_nonlocal_bind, per network namespace). */
export const NONLOCAL_BIND6_SYSCTLS: ReadonlyArray<readonly [string, string]> = [['/proc/sys/net/ipv6/ip_nonlocal_bind', '1']];

/** The interface-name part of a /proc/sys path: as the kernel names devices, never `..` or a `/`. */
function devicePath(device: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,14}$/.test(device) || device === '.' || device === '..') throw new Error(`bad interface name ${JSON.stringify(device)}`);
  return device;
}

/**
 * lb_kind DR with real servers whose gateway is the board (docs/dr.md, topology "via the
 * board"): their replies arrive on the interface facing them with the VIP as source. On the
 * MASTER the VIP is a local address, so the kernel drops them as martians unless
 * `accept_local` is on for that interface; and a strict `rp_filter` drops them on either board
 * (the route back to the VIP's source is on the clients' side), so it is loose there (2; the
 * kernel uses the larger of `all` and the interface's value). Only on the interfaces facing DR
 * real servers; restored on stop (SysctlKeeper).
 */
export function drSysctls(devices: Iterable<string>, root = '/proc/sys'): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  for (const d of [...new Set(devices)].sort()) {
    out.push([`${root}/net/ipv4/conf/${devicePath(d)}/accept_local`, '1'], [`${root}/net/ipv4/conf/${devicePath(d)}/rp_filter`, '2']);
  }
  return out;
}

/**
 * Holds settings tandem changed, with the values they had before, so they can be put back:
 * `hold` writes what is wanted now (reading the old value first, once) and restores the held
 * ones no longer wanted; `restore` puts every one back. Failures are logged, never thrown.
 */
export class SysctlKeeper {
  private readonly saved = new Map<string, string>();

  constructor(private readonly log: SysctlLog) {}

  async hold(want: ReadonlyArray<readonly [string, string]>): Promise<void> {
    const wanted = new Set(want.map(([p]) => p));
    for (const [path, old] of [...this.saved]) {
      if (wanted.has(path)) continue;
      await this.put(path, old);
      this.saved.delete(path);
    }
    for (const [path, value] of want) {
      if (!this.saved.has(path)) {
        let old: string;
        try {
          old = (await readFile(path, 'utf8')).trim();
        } catch (err) {
          this.log('warn', `cannot read ${path}: ${(err as Error).message}`);
          continue;
        }
        this.saved.set(path, old);
      }
      await this.put(path, value);
    }
  }

  /** Puts every held setting back as it was. */
  async restore(): Promise<void> {
    for (const [path, old] of this.saved) await this.put(path, old);
    this.saved.clear();
  }

  /** What is held now: path → the value before tandem changed it. */
  held(): ReadonlyMap<string, string> {
    return this.saved;
  }

  private async put(path: string, value: string): Promise<void> {
    try {
      await writeFile(path, value);
    } catch (err) {
      this.log('warn', `cannot set ${path} to ${value}: ${(err as Error).message}`);
    }
  }
}
