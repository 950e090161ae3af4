// The lines of virtual_routes / static_routes and virtual_rules / static_rules
// (keepalived.conf(5) "static_routes", "static_rules"; keepalived/vrrp/vrrp_iproute.c and
// vrrp_iprule.c): most options are ip route's and ip rule's, and tandem hands them to `ip` as
// they are (net/ip-route.ts), so an option is taken only when it is checked here. Options
// keepalived has and tandem does not are an error naming the ones it takes.
import type { Node, Token } from '../ast.ts';
import type { IpRoute, IpRule, RouteType, RuleAction } from '../model.ts';
import { ConfError, ipAddress, oneOf, shown } from '../values.ts';
import { addressBits, compareIp, formatIp, networkOf, parseIp } from '../../util/ip.ts';
import { quote } from '../words.ts';

const ROUTE_TYPES: readonly RouteType[] = ['blackhole', 'unreachable', 'prohibit', 'throw'];
const SCOPES = ['global', 'site', 'link', 'host', 'nowhere'] as const;

/** keepalived route options tandem does not pass on. */
const ROUTE_UNSUPPORTED = new Set([
  'from', 'as', 'encap', 'expires', 'hoplimit', 'advmss', 'rtt', 'rttvar', 'reordering', 'window', 'cwnd', 'ssthresh', 'realms',
  'rto_min', 'initcwnd', 'initrwnd', 'features', 'quickack', 'congctl', 'pref', 'ttl-propagate', 'fastopen_no_cookie',
  'nexthop', 'track_group', 'vrf', 'protocol', 'local', 'broadcast', 'anycast', 'multicast', 'nat',
]);
const ROUTE_OPTIONS = '[blackhole|unreachable|prohibit|throw] [to] PREFIX, src, via/gw [or ADDRESS], dev/oif, scope, table, metric/priority/preference, tos/dsfield, mtu, onlink, add/prepend/append, no_track';

const RULE_UNSUPPORTED = new Set([
  'realms', 'suppress_ifgroup', 'sup_group', 'tunnel-id', 'uidrange', 'l3mdev', 'protocol', 'ipproto', 'sport', 'dport', 'track_group',
]);
const RULE_OPTIONS = 'from, to, table/lookup, blackhole/unreachable/prohibit/nop/goto N, preference/priority/order, tos/dsfield, fwmark N[/MASK], iif/dev, oif, suppress_prefixlength, inet/inet6, no_track';

function words(c: Node, block: Node): Token[] {
  if (c.children !== null) throw new ConfError(c.pos, `${block.keyword.text}: no { } block expected`);
  return [c.keyword, ...c.args];
}

function next(w: Token[], i: number, what: string): Token {
  const t = w[i + 1];
  if (t === undefined) throw new ConfError(w[i]!.pos, `${what}: '${shown(w[i]!.text)}' needs a value`);
  return t;
}

/** A whole number in decimal or 0x hex (ip takes both for tos, fwmark). */
function number(t: Token, what: string, max: number): number {
  const n = /^0x[0-9a-f]+$/i.test(t.text) ? Number.parseInt(t.text, 16) : /^\d+$/.test(t.text) ? Number(t.text) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not a number 0-${max}`);
  return n;
}

/** A routing table: a number 1-2^32-1, or the names iproute2 knows without reading rt_tables. */
function table(t: Token, what: string): string {
  if (t.text === 'main' || t.text === 'local' || t.text === 'default') return t.text;
  if (!/^\d+$/.test(t.text) || Number(t.text) < 1 || Number(t.text) > 0xffffffff) {
    throw new ConfError(t.pos, `${what}: table '${shown(t.text)}' is not a number 1-4294967295 or main, local, default (tandem reads no rt_tables file)`);
  }
  return String(Number(t.text));
}

/** ADDRESS[/PREFIX] as a network (ip refuses host bits), or 'default'/'all' for any. */
function prefix(t: Token, what: string, any: string): { text: string | null; family: 4 | 6 | null } {
  if (t.text === any || t.text === 'default' || t.text === 'all') return { text: null, family: null };
  const [addrText, lenText] = t.text.split('/', 2) as [string, string | undefined];
  const address = ipAddress({ text: addrText, pos: t.pos }, what);
  const a = parseIp(address)!;
  const bits = addressBits(a.family);
  let len = bits;
  if (lenText !== undefined) {
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > bits) throw new ConfError(t.pos, `${what}: bad prefix length '/${shown(lenText)}' (0-${bits})`);
    len = Number(lenText);
  }
  const net = networkOf(a, len);
  if (compareIp(net, a) !== 0) throw new ConfError(t.pos, `${what}: ${address}/${len} has host bits set: the network is ${formatIp(net)}/${len}`);
  return { text: `${address}/${len}`, family: a.family };
}

/** Every address of a route or rule is of one family (keepalived: "Cannot mix IPv4 and IPv6"). */
function familyKeeper(what: string) {
  let family: 4 | 6 | null = null;
  return {
    see(f: 4 | 6 | null, t: Token): void {
      if (f === null) return;
      if (family !== null && family !== f) throw new ConfError(t.pos, `${what}: cannot mix IPv4 and IPv6 (${shown(t.text)} is IPv${f})`);
      family = f;
    },
    get: (): 4 | 6 => family ?? 4,
  };
}

function familyWord(t: Token): 4 | 6 | null {
  return t.text === 'inet' ? 4 : t.text === 'inet6' ? 6 : null;
}

export function routeLine(c: Node, block: Node): IpRoute {
  const what = block.keyword.text;
  const w = words(c, block);
  const fam = familyKeeper(what);
  const r: IpRoute = {
    family: 4, type: 'unicast', to: '', src: null, via: null, or: null, dev: null, scope: null, table: null, metric: null, tos: null, mtu: null,
    onlink: false, how: 'prepend', noTrack: false, pos: c.pos,
  };
  let dst: { text: string | null; tok: Token } | null = null;
  for (let i = 0; i < w.length; i++) {
    const t = w[i]!;
    const addr = (k: Token): string => {
      const a = ipAddress(k, `${what} ${t.text}`);
      fam.see(parseIp(a)!.family, k);
      return a;
    };
    switch (t.text) {
      case 'inet': case 'inet6': fam.see(familyWord(t), t); break;
      case 'src': r.src = addr(next(w, i++, what)); break;
      case 'via': case 'gw': {
        let v = next(w, i++, what);
        if (familyWord(v) !== null) { fam.see(familyWord(v), v); v = next(w, i++, what); }
        r.via = addr(v);
        break;
      }
      // keepalived's older spelling of two next hops (it turns them into nexthop via A nexthop via B).
      case 'or':
        if (r.via === null || r.or !== null) throw new ConfError(t.pos, `${what}: 'or ADDRESS' follows one via ADDRESS`);
        r.or = addr(next(w, i++, what));
        break;
      case 'dev': case 'oif': r.dev = next(w, i++, what).text; break;
      case 'scope': r.scope = oneOf(next(w, i++, what), `${what} scope`, SCOPES); break;
      case 'table': r.table = table(next(w, i++, what), what); break;
      case 'metric': case 'priority': case 'preference': r.metric = number(next(w, i++, what), `${what} ${t.text}`, 0xffffffff); break;
      case 'tos': case 'dsfield': r.tos = number(next(w, i++, what), `${what} ${t.text}`, 255); break;
      case 'mtu': r.mtu = number(next(w, i++, what), `${what} mtu`, 0xffffffff); break;
      case 'onlink': r.onlink = true; break;
      case 'add': case 'prepend': case 'append': r.how = t.text; break;
      case 'no_track': r.noTrack = true; break;
      default: {
        if (ROUTE_UNSUPPORTED.has(t.text)) throw new ConfError(t.pos, `${what}: '${t.text}' is not supported by tandem (it takes ${ROUTE_OPTIONS})`);
        let k = t;
        if (k.text === 'to') k = next(w, i++, what);
        const type = ROUTE_TYPES.find((x) => x === k.text);
        if (type !== undefined || k.text === 'unicast') {
          r.type = type ?? 'unicast';
          k = next(w, i++, what);
        }
        if (dst !== null) throw new ConfError(k.pos, `${what}: '${shown(k.text)}' is not an option, and the destination is ${shown(dst.tok.text)} already (it takes ${ROUTE_OPTIONS})`);
        if (!/^[0-9a-fA-F.:]+(\/\d+)?$/.test(k.text) && k.text !== 'default') throw new ConfError(k.pos, `${what}: unknown option '${shown(k.text)}' (it takes ${ROUTE_OPTIONS})`);
        const p = prefix(k, `${what} destination`, 'default');
        fam.see(p.family, k);
        dst = { text: p.text, tok: k };
      }
    }
  }
  if (dst === null) throw new ConfError(c.pos, `${what}: a route needs a destination (ADDRESS/PREFIX or default)`);
  r.family = fam.get();
  r.to = dst.text ?? (r.family === 6 ? '::/0' : '0.0.0.0/0');
  if (r.type !== 'unicast' && (r.via !== null || r.dev !== null)) throw new ConfError(c.pos, `${what}: a ${r.type} route takes no via or dev`);
  return r;
}

export function writeRoute(r: IpRoute): string[] {
  const out: string[] = [];
  if (r.src !== null) out.push('src', r.src);
  if (r.type !== 'unicast') out.push(r.type);
  out.push(r.to);
  if (r.via !== null) out.push('via', r.via);
  if (r.or !== null) out.push('or', r.or);
  if (r.dev !== null) out.push('dev', quote(r.dev));
  if (r.scope !== null) out.push('scope', r.scope);
  if (r.table !== null) out.push('table', r.table);
  if (r.metric !== null) out.push('metric', String(r.metric));
  if (r.tos !== null) out.push('tos', String(r.tos));
  if (r.mtu !== null) out.push('mtu', String(r.mtu));
  if (r.onlink) out.push('onlink');
  if (r.how !== 'prepend') out.push(r.how);
  if (r.noTrack) out.push('no_track');
  return out;
}

const RULE_ACTIONS: readonly RuleAction[] = ['blackhole', 'unreachable', 'prohibit', 'nop'];

export function ruleLine(c: Node, block: Node): IpRule {
  const what = block.keyword.text;
  const w = words(c, block);
  const fam = familyKeeper(what);
  const r: IpRule = {
    family: 4, from: null, to: null, action: 'table', table: null, gotoTarget: null, priority: null, tos: null, fwmark: null,
    iif: null, oif: null, suppressPrefixLength: null, noTrack: false, pos: c.pos,
  };
  let action: RuleAction | null = null;
  const act = (a: RuleAction, t: Token): void => {
    if (action !== null) throw new ConfError(t.pos, `${what}: one action per rule (table, nop, goto, blackhole, prohibit or unreachable)`);
    action = a;
  };
  for (let i = 0; i < w.length; i++) {
    let t = w[i]!;
    switch (t.text) {
      case 'inet': case 'inet6': fam.see(familyWord(t), t); break;
      case 'from': case 'to': {
        const v = next(w, i++, what);
        const p = prefix(v, `${what} ${t.text}`, 'all');
        fam.see(p.family, v);
        if (t.text === 'from') r.from = p.text; else r.to = p.text;
        break;
      }
      case 'table': case 'lookup': act('table', t); r.table = table(next(w, i++, what), what); break;
      case 'preference': case 'priority': case 'order': case 'pref': case 'prio':
        r.priority = number(next(w, i++, what), `${what} ${t.text}`, 0xffffffff); break;
      case 'tos': case 'dsfield': r.tos = number(next(w, i++, what), `${what} ${t.text}`, 255); break;
      case 'fwmark': {
        const v = next(w, i++, what);
        const [mark, mask] = v.text.split('/', 2) as [string, string | undefined];
        const m = number({ ...v, text: mark }, `${what} fwmark`, 0xffffffff);
        r.fwmark = mask === undefined ? String(m) : `${m}/${number({ ...v, text: mask }, `${what} fwmark mask`, 0xffffffff)}`;
        break;
      }
      case 'iif': case 'dev': r.iif = next(w, i++, what).text; break;
      case 'oif': r.oif = next(w, i++, what).text; break;
      case 'suppress_prefixlength': case 'sup_pl': r.suppressPrefixLength = number(next(w, i++, what), `${what} ${t.text}`, 128); break;
      case 'no_track': r.noTrack = true; break;
      default: {
        if (RULE_UNSUPPORTED.has(t.text)) throw new ConfError(t.pos, `${what}: '${t.text}' is not supported by tandem (it takes ${RULE_OPTIONS})`);
        if (t.text === 'type') t = next(w, i++, what);
        if (t.text === 'goto') {
          act('goto', t);
          r.gotoTarget = number(next(w, i++, what), `${what} goto`, 0xffffffff);
          break;
        }
        const a = RULE_ACTIONS.find((x) => x === t.text);
        if (a === undefined) throw new ConfError(t.pos, `${what}: unknown option '${shown(t.text)}' (it takes ${RULE_OPTIONS})`);
        act(a, t);
      }
    }
  }
  if (action === null) throw new ConfError(c.pos, `${what}: the rule needs an action (table N, blackhole, unreachable, prohibit, nop or goto N)`);
  r.action = action;
  r.family = fam.get();
  if (r.action === 'goto' && (r.priority === null || r.priority >= r.gotoTarget!)) {
    throw new ConfError(c.pos, `${what}: goto ${r.gotoTarget} needs a preference below it`);
  }
  if (r.action !== 'table' && r.suppressPrefixLength !== null) throw new ConfError(c.pos, `${what}: suppress_prefixlength is for a rule that looks up a table`);
  return r;
}

export function writeRule(r: IpRule): string[] {
  const out: string[] = [];
  if (r.from === null && r.to === null && r.family === 6) out.push('inet6');
  if (r.from !== null) out.push('from', r.from);
  if (r.to !== null) out.push('to', r.to);
  if (r.iif !== null) out.push('iif', quote(r.iif));
  if (r.oif !== null) out.push('oif', quote(r.oif));
  if (r.tos !== null) out.push('tos', String(r.tos));
  if (r.fwmark !== null) out.push('fwmark', r.fwmark);
  if (r.priority !== null) out.push('preference', String(r.priority));
  if (r.action === 'table') out.push('table', r.table!);
  else if (r.action === 'goto') out.push('goto', String(r.gotoTarget));
  else out.push(r.action);
  if (r.suppressPrefixLength !== null) out.push('suppress_prefixlength', String(r.suppressPrefixLength));
  if (r.noTrack) out.push('no_track');
  return out;
}
