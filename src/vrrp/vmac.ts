// VMAC interfaces (use_vmac): their names and MAC addresses, from the configuration alone (the
// VRRP worker loads this file too, so it holds no more), so
// `tandem check`, the engine and the reload see the same names.
import type { VrrpInstance } from '../config/model.ts';

/**
 * RFC 5798 §7.3: the virtual router MAC address, 00-00-5E-00-01-{VRID} for IPv4 and
 * 00-00-5E-00-02-{VRID} for IPv6.
 */
export function vmacAddress(vrid: number, family: 4 | 6): string {
  return `00:00:5e:00:0${family === 6 ? 2 : 1}:${vrid.toString(16).padStart(2, '0')}`;
}

/**
 * The VMAC interface name of every instance with use_vmac, as keepalived names them
 * (vrrp.c create_vmac_name): the name given, else `vrrp.VRID`, and when another instance has
 * that one, `vrrp6.VRID` first for an IPv6 instance, then `vrrp1.VRID`, `vrrp2.VRID`… (6 skipped
 * for IPv6). Names given in the file are taken first, as keepalived reads them all before it
 * names the rest; so an IPv4 and an IPv6 instance with the same VRID get distinct interfaces.
 */
export function vmacNames(instances: ReadonlyArray<Pick<VrrpInstance, 'name' | 'vmac' | 'virtualRouterId' | 'family'>>): Map<string, string> {
  const taken = new Set<string>();
  for (const i of instances) if (i.vmac?.name) taken.add(i.vmac.name);
  const out = new Map<string, string>();
  for (const i of instances) {
    if (!i.vmac) continue;
    if (i.vmac.name) {
      out.set(i.name, i.vmac.name);
      continue;
    }
    let name = `vrrp.${i.virtualRouterId}`;
    for (let num = 0; taken.has(name); ) {
      if (i.family === 6) num = num === 0 ? 6 : num === 6 ? 1 : num + 1 === 6 ? 7 : num + 1;
      else num++;
      name = `vrrp${num}.${i.virtualRouterId}`;
    }
    taken.add(name);
    out.set(i.name, name);
  }
  return out;
}
