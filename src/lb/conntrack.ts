// Deleting a failed real server's conntrack entries, so its clients' next packets are
// scheduled afresh instead of following a dead NAT binding (keepalived gets this from IPVS's
// expire_nodest_conn; with nftables NAT we ask conntrack). Entries are matched on the reply
// tuple's source: for DNATed flows that is the real server's own address and port.
import { run } from '../util/spawn.ts';
import { ipFamily } from '../util/ip.ts';

export interface ConntrackOptions {
  timeoutMs?: number;
}

export class ConntrackError extends Error {
  constructor(message: string, readonly stderr: string) {
    super(message);
    this.name = 'ConntrackError';
  }
}

/**
 * `-f ipv6` for an IPv6 address (conntrack lists and deletes IPv4 entries unless told the
 * family), nothing for IPv4 (the command stays what it was); throws on anything but an address.
 */
function familyArgs(address: string): string[] {
  const f = ipFamily(address);
  if (f === 0) throw new Error(`bad IP address ${address}`);
  return f === 6 ? ['-f', 'ipv6'] : [];
}

/** The argument vectors we run: one per protocol. Exported for tests. */
export function conntrackDeleteArgv(address: string, port: number, protocol: 'tcp' | 'udp'): string[] {
  const fam = familyArgs(address);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
  return ['conntrack', '-D', ...fam, '-p', protocol, '--reply-src', address, '--reply-port-src', String(port)];
}

/**
 * Deletes the entries whose reply comes from ADDRESS:PORT, for the given protocols.
 * Returns how many were deleted. conntrack exits 1 with "0 flow entries have been deleted"
 * when nothing matched: that is success here.
 */
export async function deleteRealServerFlows(
  address: string,
  port: number,
  protocols: ReadonlyArray<'tcp' | 'udp'> = ['tcp', 'udp'],
  opts: ConntrackOptions = {},
): Promise<number> {
  let total = 0;
  for (const p of protocols) {
    const r = await run(conntrackDeleteArgv(address, port, p), { timeoutMs: opts.timeoutMs ?? 5000 });
    const m = /(\d+) flow entries have been deleted/.exec(r.stderr + r.stdout);
    if (r.code === 0 || (r.code === 1 && m)) {
      total += m ? Number(m[1]) : 0;
      continue;
    }
    throw new ConntrackError(`conntrack -D for ${address}:${port}/${p} failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${r.stderr.trim()}`, r.stderr);
  }
  return total;
}

/**
 * Deletes every flow addressed to VIP:PORT (the original direction's destination). Run when
 * this board stops being MASTER and when the daemon starts: entries left from an earlier
 * mastership carry stale TCP windows, so when the board becomes MASTER again the clients'
 * packets would be marked invalid, skip the DNAT, reach the board's own VIP and be reset.
 * Without them, conntrack picks the flows up afresh (nf_conntrack_tcp_loose) and the shared
 * hash sends them to the same real server.
 */
export async function deleteVipFlows(vip: string, port: number, protocol: 'tcp' | 'udp', opts: ConntrackOptions = {}): Promise<number> {
  const cmd = ['conntrack', '-D', ...familyArgs(vip), '-p', protocol, '--orig-dst', vip, '--orig-port-dst', String(port)];
  const r = await run(cmd, { timeoutMs: opts.timeoutMs ?? 5000 });
  const m = /(\d+) flow entries have been deleted/.exec(r.stderr + r.stdout);
  if (r.code === 0 || (r.code === 1 && m)) return m ? Number(m[1]) : 0;
  throw new ConntrackError(`conntrack -D for ${vip}:${port}/${protocol} failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${r.stderr.trim()}`, r.stderr);
}

/**
 * Active flows to one real server (what `show virtual-servers` reports as connections, like
 * ipvsadm's ActiveConn): established TCP entries, or every UDP entry, whose reply comes from
 * ADDRESS:PORT.
 */
export async function countRealServerFlows(address: string, port: number, protocol: 'tcp' | 'udp', opts: ConntrackOptions = {}): Promise<number> {
  const cmd = ['conntrack', '-L', ...familyArgs(address), '-p', protocol, '--reply-src', address, '--reply-port-src', String(port)];
  if (protocol === 'tcp') cmd.push('--state', 'ESTABLISHED');
  const r = await run(cmd, { timeoutMs: opts.timeoutMs ?? 5000, maxOutput: 4096 });
  const m = /(\d+) flow entries have been shown/.exec(r.stderr);
  if (m) return Number(m[1]);
  throw new ConntrackError(`conntrack -L for ${address}:${port}/${protocol} failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${r.stderr.trim()}`, r.stderr);
}
