// This host's interfaces and their IPv4 addresses ("a.b.c.d/prefix"), as the configuration
// checks (src/config/validate.ts: VIP subnets, lb_kind DR reachability) and the DR data plane
// (which interface reaches a real server directly) need them. os.networkInterfaces() reads the
// kernel's address list in one getifaddrs(3) call: no child process, and cheap enough for
// start-up and reloads. Interfaces without an IPv4 address are left out.
import { networkInterfaces } from 'node:os';

export type InterfaceAddresses = Map<string, string[]>;

export function hostInterfaceAddresses(): InterfaceAddresses {
  const out: InterfaceAddresses = new Map();
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const v4 = (addrs ?? []).filter((a) => a.family === 'IPv4').map((a) => a.cidr ?? `${a.address}/32`);
    if (v4.length > 0) out.set(name, v4);
  }
  return out;
}
