// virtual_server ADDRESS PORT { … real_server ADDRESS [PORT] { … } }
// (keepalived.conf(5) "Virtual server(s)"; keepalived/check/check_parser.c). Defaults are
// keepalived 2.2's.
import type { Node } from '../ast.ts';
import type { ForwardingMethod, Protocol, RealServer, Scheduler, VirtualServer } from '../model.ts';
import { maskToPrefix } from '../net.ts';
import { fieldPos, mark } from '../positions.ts';
import { ConfError, arg, int, ipAddress, oneOf, shown } from '../values.ts';
import { addressBits, ipFamily } from '../../util/ip.ts';
import { prefixToMask } from '../words.ts';
import { create, type Block, type Directive } from './engine.ts';
import { directivesOf, ignored, refused } from './entries.ts';
import * as R from './reasons.ts';
import { CHECKERS, hostPortCheck, REFUSED_CHECKERS } from './checkers.ts';
import { integer, oneOfWords, SECONDS, WORD, type Value } from './kinds.ts';

export const SCHEDULERS: readonly Scheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'mh'];

const SCHEDULER: Value<Scheduler> = {
  read: (t, what) => {
    const s = SCHEDULERS.find((x) => x === t.text);
    if (s === undefined) throw new ConfError(t.pos, `${what} ${shown(t.text)} is not supported: tandem schedules with ${SCHEDULERS.join(', ')}`);
    return s;
  },
  write: (s) => s,
};

/**
 * The schedulers lb_kind DR can use. DR forwards at netdev ingress, before conntrack, so every
 * packet is scheduled on its own: only a hash of the client address sends all packets of a
 * connection to one real server (src/lb/README.md, docs/dr.md). dh hashes the destination,
 * which is the VIP for every packet: one real server would get everything.
 */
export const DR_SCHEDULERS: readonly Scheduler[] = ['sh', 'mh'];

const METHOD: Value<ForwardingMethod> = {
  read: (t, what) => {
    if (t.text === 'NAT' || t.text === 'DR') return t.text;
    if (t.text === 'TUN') {
      throw new ConfError(t.pos, `${what} TUN is not supported: the kernels tandem runs on have no IPIP tunnels (docs/tun.md); use DR or NAT`);
    }
    throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not a forwarding method (tandem does NAT and DR)`);
  },
  write: (m) => m,
};

/** lb_algo against lb_kind and the data plane: what each can schedule. */
function schedulerProblems(s: Scheduler, v: VirtualServer): Array<{ severity: 'error'; message: string }> {
  const defaulted = fieldPos(v, 'scheduler') ? '' : " (keepalived's default when lb_algo is not given)";
  if (v.method === 'DR') {
    if (DR_SCHEDULERS.includes(s)) return [];
    return [{
      severity: 'error',
      message: `scheduler ${s}${defaulted} cannot be used with lb_kind DR: DR forwards every packet statelessly (no conntrack at netdev ingress), so only a hash of the client address keeps a connection on its real server; use lb_algo sh or mh`,
    }];
  }
  if ((s === 'lc' || s === 'wlc') && v.forwarder !== 'userspace') {
    return [{ severity: 'error', message: `scheduler ${s}${defaulted} needs connection counts that only 'forwarder userspace' keeps; with nftables use rr, wrr, sh, dh or mh` }];
  }
  return [];
}

const PROTOCOL: Value<Protocol> = {
  read: (t, what) => {
    if (t.text === 'SCTP') throw new ConfError(t.pos, 'protocol SCTP is not supported: tandem balances TCP and UDP');
    return oneOf(t, what, ['TCP', 'UDP']);
  },
  write: (p) => p,
};

/**
 * A prefix length, or a netmask (keepalived writes persistence_granularity as a mask for IPv4;
 * for an IPv6 virtual server it reads a prefix length 1-128, check_parser.c pgr_handler). The
 * range against the virtual server's family is the entry's check.
 */
const GRANULARITY: Value<number> = {
  read: (t, what) => {
    const p = /^\d{1,3}$/.test(t.text) ? Number(t.text) : maskToPrefix(t.text);
    if (p === null || p > 128) throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not a netmask or prefix length`);
    return p;
  },
  write: prefixToMask,
};

/** Address bits of a virtual server's family: persistence_granularity's default (the whole client address). */
function vsBits(v: Pick<VirtualServer, 'address'>): number {
  return addressBits(ipFamily(v.address) === 6 ? 6 : 4);
}

/** ADDRESS [PORT] of either family (the families of a virtual server and its servers must agree: validate.ts). */
export function addressPort(n: Node, what: string, defaultPort: number | null): { address: string; port: number } {
  const address = ipAddress(arg(n, 0), what);
  const p = n.args[1];
  if (p === undefined) {
    if (defaultPort === null) throw new ConfError(n.pos, `${what} needs ADDRESS PORT`);
    return { address, port: defaultPort };
  }
  return { address, port: int(p, `${what} port`) };
}

/** Real server weights are 0-65535 (IPVS's limit, kept so configurations move both ways). */
export function validWeight(w: number): boolean {
  return Number.isInteger(w) && w >= 0 && w <= 65535;
}

// ---- real_server ----
const S = directivesOf<RealServer>();

export const REAL_SERVER: Block<RealServer> = {
  name: 'real_server',
  where: (rs) => `real_server ${shown(rs.name)}`,
  entries: [
    S.scalar('weight', 'weight', integer(), 1, {
      example: 'weight 3',
      check: (w) => (validWeight(w) ? [] : [{ severity: 'error', message: `weight ${w} is out of range 0-65535` }]),
    }),
    // The virtual server's inhibit_on_failure is the default for its real servers.
    S.optBool('inhibit_on_failure', 'inhibitOnFailure', {
      example: 'inhibit_on_failure', explicit: true,
      inherit: (_rs, scope) => (scope.parent as VirtualServer).inhibitOnFailure,
    }),
    S.command('notify_up', 'notifyUp', 'notify_up "/bin/logger up"'),
    S.command('notify_down', 'notifyDown', 'notify_down /bin/logger down'),
    CHECKERS,
    ...REFUSED_CHECKERS,
    ignored('smtp_alert', R.EMAIL),
    ignored('snmp_name', R.SNMP),
    refused('lvs_method', R.ONE_METHOD),
    refused(['uthreshold', 'lthreshold'], R.THRESHOLDS),
    refused('alpha', R.ALPHA_PLACE),
    refused(['retry', 'delay_before_retry', 'warmup', 'connect_timeout', 'delay_loop'], R.CHECKER_TIMING),
    refused('virtualhost', 'set virtualhost in HTTP_GET / SSL_GET or on the virtual_server'),
  ],
};

// ---- virtual_server ----
const V = directivesOf<VirtualServer>();

const granularity: Directive<VirtualServer> = V.scalar('persistence_granularity', 'persistenceGranularity', GRANULARITY, 32, {
  example: 'persistence_granularity 255.255.255.0',
  inherit: (v) => vsBits(v),
  check: (p, v) => {
    const bits = vsBits(v);
    return p < 0 || p > bits ? [{ severity: 'error', message: `persistence_granularity is out of range 0-${bits}${bits === 128 ? ' (a prefix length for an IPv6 virtual server)' : ''}`, field: null }] : [];
  },
});

/** keepalived writes an IPv6 virtual server's granularity as a prefix length, an IPv4 one's as a mask. */
const PERSISTENCE_GRANULARITY: Directive<VirtualServer> = {
  ...granularity,
  write(v, out) {
    const p = v.persistenceGranularity;
    if (p === vsBits(v)) return;
    out.line('persistence_granularity', ipFamily(v.address) === 6 || p > 32 ? String(p) : prefixToMask(p));
  },
};


const realServer: Directive<VirtualServer> = V.sub<RealServer>({
  names: ['real_server'], args: [1, 2], arity: 2, block: REAL_SERVER,
  example: 'real_server 198.51.100.10 8080 {\n weight 2\n}',
  defaults: { realServers: [] },
  open: (v, n) => {
    const { address, port } = addressPort(n, 'real_server', v.port);
    const rs = create(REAL_SERVER, { name: `${address} ${port}`, address, port, pos: n.pos });
    if (n.args[1]) mark(rs, 'port', n.args[1].pos);
    return rs;
  },
  close: (v, rs) => { v.realServers.push(rs); },
  children: (v) => v.realServers,
  head: (rs) => ['real_server', rs.address, String(rs.port)],
});

export const VIRTUAL_SERVER: Block<VirtualServer> = {
  name: 'virtual_server',
  where: (v) => `virtual_server ${shown(v.name)}`,
  entries: [
    V.scalar('protocol', 'protocol', PROTOCOL, 'TCP', { example: 'protocol UDP', always: true }),
    V.scalar('lb_algo', 'scheduler', SCHEDULER, 'wlc', {
      aliases: ['lvs_sched'], example: 'lb_algo mh', always: true, check: schedulerProblems,
    }),
    V.scalar('lb_kind', 'method', METHOD, 'NAT', { aliases: ['lvs_method'], example: 'lb_kind NAT', always: true }),
    V.scalar('forwarder', 'forwarder', oneOfWords(['auto', 'nftables', 'userspace'] as const), 'auto', {
      example: 'forwarder userspace',
      check: (f, v) => (f === 'userspace' && v.method === 'DR'
        ? [{ severity: 'error', message: "forwarder userspace cannot do lb_kind DR: it relays connections, while DR hands the client's packets to the real server unchanged (nftables, netdev ingress); remove the forwarder line or use lb_kind NAT" }]
        : []),
    }),
    V.scalar('delay_loop', 'delayLoopMs', SECONDS, 60000, { example: 'delay_loop 6' }),
    // keepalived: persistence_timeout without a value means 360 s.
    V.scalar('persistence_timeout', 'persistenceTimeoutMs', SECONDS, 0, { example: 'persistence_timeout 300', bare: 360000 }),
    PERSISTENCE_GRANULARITY,
    V.scalar('quorum', 'quorum', integer(0), 1, { example: 'quorum 2' }),
    V.scalar('hysteresis', 'hysteresis', integer(0), 0, { example: 'hysteresis 1' }),
    V.command('quorum_up', 'quorumUp', 'quorum_up "/bin/logger quorum up"'),
    V.command('quorum_down', 'quorumDown', 'quorum_down /bin/logger down'),
    V.optBool('alpha', 'alpha', { example: 'alpha' }),
    V.optBool('omega', 'omega', { example: 'omega' }),
    V.optBool('inhibit_on_failure', 'inhibitOnFailure', { example: 'inhibit_on_failure' }),
    V.optBool('ha_suspend', 'haSuspend', { example: 'ha_suspend' }),
    // The Host of the HTTP checks of its real servers, unless they name their own.
    V.scalar('virtualhost', 'virtualhost', WORD, null, { example: 'virtualhost www.example.com', check: hostPortCheck }),
    V.custom({
      names: ['sorry_server'], args: [1, 2], shape: 'none', defaults: { sorryServer: null },
      example: 'sorry_server 198.51.100.250 8080',
      read(v, n) { v.sorryServer = { ...addressPort(n, 'sorry_server', v.port), pos: n.pos }; mark(v, 'sorryServer', n.pos); },
      write(v, out) { if (v.sorryServer) out.line('sorry_server', v.sorryServer.address, String(v.sorryServer.port)); },
    }),
    V.optBool('sorry_server_inhibit', 'sorryServerInhibit', { example: 'sorry_server_inhibit' }),
    realServer,
    ignored('smtp_alert', R.EMAIL),
    ignored('snmp_name', R.SNMP),
    refused('ip_family', R.IP_FAMILY),
    refused(['retry', 'delay_before_retry', 'warmup', 'connect_timeout'], R.CHECKER_TIMING),
    refused(['hashed', 'ops', 'flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback'], R.IPVS_SCHED_FLAGS),
    refused('persistence_engine', R.PERSISTENCE_ENGINE),
    refused('weight', 'give each real_server its weight'),
    refused('sorry_server_lvs_method', 'the sorry server is reached with the virtual server\'s lb_kind'),
  ],
};
