// The `ip route` / `ip rule` words of a route or rule (the words after `ip`, for the batch
// session of ip-batch.ts), and the macvlan a VMAC is. Pure, so a unit test reads them.
import type { EngineRoute, EngineRule } from '../vrrp/engine-config.ts';

/** The selector of a route: what `ip route del` needs to find the one we added. */
function routeSelector(r: EngineRoute): string[] {
  const w: string[] = [];
  if (r.type !== 'unicast') w.push(r.type);
  w.push(r.to);
  if (r.table !== null) w.push('table', r.table);
  if (r.tos !== null) w.push('tos', String(r.tos));
  if (r.metric !== null) w.push('metric', String(r.metric));
  return w;
}

/** ip route prepend|add|append … (keepalived prepends by default: the kernel's own default). */
export function routeAddWords(r: EngineRoute): string[] {
  const w = ['route', r.how, ...routeSelector(r)];
  if (r.src !== null) w.push('src', r.src);
  if (r.scope !== null) w.push('scope', r.scope);
  if (r.mtu !== null) w.push('mtu', String(r.mtu));
  if (r.or !== null) {
    // via A or B: two next hops (keepalived turns `or` into nexthops too).
    for (const v of [r.via!, r.or]) {
      w.push('nexthop', 'via', v);
      if (r.dev !== null) w.push('dev', r.dev);
      if (r.onlink) w.push('onlink');
    }
    return w;
  }
  if (r.via !== null) w.push('via', r.via);
  if (r.dev !== null) w.push('dev', r.dev);
  if (r.onlink) w.push('onlink');
  return w;
}

export function routeDelWords(r: EngineRoute): string[] {
  const w = ['route', 'del', ...routeSelector(r)];
  if (r.or === null && r.via !== null) w.push('via', r.via);
  if (r.dev !== null && r.or === null) w.push('dev', r.dev);
  return w;
}

function ruleWords(r: EngineRule): string[] {
  const w: string[] = [];
  // A family without an address to tell it: `from ::/0` is every IPv6 source, and makes ip's
  // family IPv6 (a batch line cannot carry -6).
  if (r.from !== null) w.push('from', r.from);
  else if (r.family === 6 && r.to === null) w.push('from', '::/0');
  if (r.to !== null) w.push('to', r.to);
  if (r.iif !== null) w.push('iif', r.iif);
  if (r.oif !== null) w.push('oif', r.oif);
  if (r.tos !== null) w.push('tos', String(r.tos));
  if (r.fwmark !== null) w.push('fwmark', r.fwmark);
  w.push('preference', String(r.priority));
  if (r.action === 'table') w.push('table', r.table!);
  else if (r.action === 'goto') w.push('goto', String(r.gotoTarget));
  else w.push(r.action);
  if (r.suppressPrefixLength !== null) w.push('suppress_prefixlength', String(r.suppressPrefixLength));
  return w;
}

export function ruleAddWords(r: EngineRule): string[] {
  return ['rule', 'add', ...ruleWords(r)];
}

export function ruleDelWords(r: EngineRule): string[] {
  return ['rule', 'del', ...ruleWords(r)];
}

/** A private-mode macvlan with the virtual MAC (keepalived vrrp_vmac.c: private mode, so it hears frames sent to its MAC only). */
export function vmacAddWords(v: { name: string; parent: string; mac: string }): string[] {
  return ['link', 'add', 'link', v.parent, 'name', v.name, 'address', v.mac, 'type', 'macvlan', 'mode', 'private'];
}
