// This host's interfaces and their addresses ("a.b.c.d/prefix", "2001:db8::1/64"), as the configuration
// checks (src/config/validate.ts: interface names, VIP subnets, lb_kind DR reachability) and
// the DR data plane (which interface reaches a real server directly) need them.
//
// From `ip -j addr show`, not os.networkInterfaces(): libuv leaves out every interface that is
// down or has no carrier (uv_interface_addresses skips those without IFF_UP and IFF_RUNNING),
// so a board started with a cable unplugged would have "no" interface on that segment and
// refuse or mis-plan its configuration. Every interface is listed, with [] when it has no
// address. IPv6 link-local addresses are left out: every interface has fe80::/64, so as a
// "segment" it would say every interface reaches every link-local neighbour. Spawned with an
// argument vector (src/util/spawn.ts), at start-up, reloads and `tandem check --local` only.
import { networkInterfaces } from 'node:os';
import { run } from '../util/spawn.ts';
import { isLinkLocal, parseIp } from '../util/ip.ts';

const linkLocal = (a: string): boolean => {
  const p = parseIp(a);
  return p !== null && isLinkLocal(p);
};

export type InterfaceAddresses = Map<string, string[]>;

/** Parses `ip -j addr show` output (external data: shaped by hand, anything unexpected skipped). */
export function parseIpAddrJson(text: string): InterfaceAddresses {
  const out: InterfaceAddresses = new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return out;
  }
  if (!Array.isArray(parsed)) return out;
  for (const l of parsed as unknown[]) {
    if (typeof l !== 'object' || l === null) continue;
    const { ifname, addr_info: info } = l as { ifname?: unknown; addr_info?: unknown };
    if (typeof ifname !== 'string') continue;
    const addrs: string[] = [];
    for (const a of Array.isArray(info) ? (info as unknown[]) : []) {
      if (typeof a !== 'object' || a === null) continue;
      const { family, local, prefixlen } = a as { family?: unknown; local?: unknown; prefixlen?: unknown };
      if (typeof local !== 'string' || typeof prefixlen !== 'number') continue;
      if (family === 'inet' || (family === 'inet6' && !linkLocal(local))) addrs.push(`${local}/${prefixlen}`);
    }
    out.set(ifname, addrs);
  }
  return out;
}

/** Every interface of this host (network namespace) with its IPv4 and IPv6 (not link-local) addresses. */
export async function hostInterfaceAddresses(): Promise<InterfaceAddresses> {
  try {
    const r = await run(['ip', '-j', 'addr', 'show'], { timeoutMs: 5_000, maxOutput: 8 << 20 });
    if (r.code === 0) return parseIpAddrJson(r.stdout);
  } catch {
    // no `ip`: fall back below
  }
  // Without iproute2: what libuv lists (interfaces with carrier only).
  const out: InterfaceAddresses = new Map();
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    out.set(name, (addrs ?? []).filter((a) => a.family === 'IPv4' || !linkLocal(a.address)).map((a) => a.cidr ?? `${a.address}/${a.family === 'IPv4' ? 32 : 128}`));
  }
  return out;
}
