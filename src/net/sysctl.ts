// Kernel settings tandem needs, written through /proc/sys of the network namespace the daemon
// runs in. Asynchronous, and a setting that cannot be written is logged, never fatal: a board
// whose kernel lacks one still does what it can.
import { writeFile } from 'node:fs/promises';

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

/** The userspace forwarder binds VIPs this board does not hold yet (src/lb/forwarder/system.ts). */
export const NONLOCAL_BIND_SYSCTLS: ReadonlyArray<readonly [string, string]> = [['/proc/sys/net/ipv4/ip_nonlocal_bind', '1']];
