// Where lb_kind DR packets come in and go out on this board (plan-dr.ts DrTopology). Pure:
// from the configuration's VIPs and the host's interface addresses.
// - In: the clients' packets for a VIP arrive on the interface of the vrrp_instance that holds
//   it (the MASTER answers ARP for it there; a BACKUP hears the clients whose ARP entry is
//   stale on the same segment).
// - Out: a real server is reached on the interface whose subnet holds it (of its family: an
//   IPv6 one through the IPv6 VIPs' prefixes, or the host's IPv6 addresses where given): the host's own
//   addresses first (a BACKUP has its static address there, not the VIP), then the
//   configuration's VIP subnets. Longest prefix wins; lo never.
// Both boards are wired alike (same interface names), so both compute the same topology.
import type { VirtualServer, VrrpInstance } from '../config/model.ts';
import { addressBits, inPrefix, parseIp } from '../util/ip.ts';
import type { DrTopology } from './plan-dr.ts';

/** A VIP of the configuration with its device (virtual_ipaddress and _excluded). */
export interface ConfiguredVip {
  address: string;
  prefix: number;
  dev: string;
}

export function configuredVips(instances: readonly VrrpInstance[]): ConfiguredVip[] {
  return instances.flatMap((i) => [...i.virtualIps, ...i.virtualIpsExcluded].map((v) => ({ address: v.address, prefix: v.prefix, dev: v.dev ?? i.interface })));
}

export interface DrTopologyResult {
  topo: DrTopology;
  /** What cannot work here, one sentence each (the daemon logs them as errors). */
  problems: string[];
}

/**
 * The topology of the DR virtual servers among `vss`. `interfaces`: every interface of this
 * host → its "a.b.c.d/prefix" addresses ([] for none), whatever its link state; an empty map
 * means unknown (no device is then refused for being absent).
 */
export function drTopology(vss: readonly VirtualServer[], vips: readonly ConfiguredVip[], interfaces: ReadonlyMap<string, readonly string[]>): DrTopologyResult {
  const ingress = new Map<string, string[]>();
  const egress = new Map<string, string>();
  const problems: string[] = [];
  const segments: Array<{ dev: string; net: string; prefix: number; own: boolean }> = [];
  for (const [dev, cidrs] of interfaces) {
    for (const c of cidrs) {
      const [net, pre] = c.split('/');
      const fam = net === undefined ? undefined : parseIp(net)?.family;
      if (net !== undefined && fam !== undefined) segments.push({ dev, net, prefix: pre === undefined ? addressBits(fam) : Number(pre), own: true });
    }
  }
  for (const v of vips) segments.push({ dev: v.dev, net: v.address, prefix: v.prefix, own: false });
  const reach = (address: string): string | undefined => {
    const a = parseIp(address);
    if (!a) return undefined;
    // A host route (/32, /128) is no segment; inPrefix is false across families.
    const hits = segments.filter((g) => {
      const n = parseIp(g.net);
      return g.dev !== 'lo' && g.prefix < addressBits(a.family) && n !== null && inPrefix(a, n, g.prefix);
    });
    hits.sort((x, y) => Number(y.own) - Number(x.own) || y.prefix - x.prefix || (x.dev < y.dev ? -1 : x.dev > y.dev ? 1 : 0));
    return hits[0]?.dev;
  };
  for (const vs of vss) {
    if (vs.method !== 'DR') continue;
    if (!ingress.has(vs.address)) {
      const devs = [...new Set(vips.filter((v) => v.address === vs.address).map((v) => v.dev))].sort();
      const present = interfaces.size === 0 ? devs : devs.filter((d) => interfaces.has(d));
      for (const d of devs) if (!present.includes(d)) problems.push(`lb_kind DR: interface ${d} of VIP ${vs.address} does not exist here; its clients' packets are not forwarded there`);
      if (devs.length === 0) problems.push(`lb_kind DR: VIP ${vs.address} (virtual_server ${vs.name}) is in no vrrp_instance, so no interface receives its clients' packets`);
      ingress.set(vs.address, present);
    }
    for (const s of [...vs.realServers, ...(vs.sorryServer ? [vs.sorryServer] : [])]) {
      if (egress.has(s.address)) continue;
      const dev = reach(s.address);
      if (dev === undefined) problems.push(`lb_kind DR: no interface reaches ${s.address} (virtual_server ${vs.name}) directly; it gets no packets`);
      else egress.set(s.address, dev);
    }
  }
  return { topo: { ingress, egress }, problems: [...new Set(problems)] };
}

/** The interfaces facing DR real servers (where their replies arrive when the board is their gateway). */
export function drEgressDevices(topo: DrTopology): string[] {
  return [...new Set(topo.egress.values())].sort();
}
