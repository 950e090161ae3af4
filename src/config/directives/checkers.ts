// The checkers of a real_server (keepalived.conf(5) "TCP_CHECK", "HTTP_GET|SSL_GET",
// "UDP_CHECK", "MISC_CHECK"; keepalived/check/check_{tcp,http,udp,misc}.c, check_api.c for
// the timing keywords every checker shares). Defaults are keepalived 2.2's.
import type { Node } from '../ast.ts';
import type { CheckTiming, Checker, HttpCheck, HttpUrl, MiscCheck, RealServer, TcpCheck, UdpCheck } from '../model.ts';
import { mark } from '../positions.ts';
import { ConfError, controlCharacter, shown } from '../values.ts';
import { create, dispatch, kids, writeBlock, type Block, type BuildCtx, type Directive } from './engine.ts';
import { directivesOf, MANY, refused, type Finding } from './entries.ts';
import * as Why from './reasons.ts';
import { hexBytes, IP, integer, oneOfWords, SECONDS, WORD, type Value } from './kinds.ts';

// ---- timing, shared by every checker (keepalived check_api.c) ----
type RetryTiming = Pick<CheckTiming, 'retry' | 'delayBeforeRetryMs' | 'delayLoopMs' | 'warmupMs'>;
const R = directivesOf<RetryTiming>();
const C = directivesOf<CheckTiming>();

const retry = (def: number): Directive<RetryTiming> =>
  R.scalar('retry', 'retry', integer(0, 1000000), def, { aliases: ['nb_get_retry'], example: 'retry 3' });
const delayBeforeRetry = (def: number): Directive<RetryTiming> =>
  R.scalar('delay_before_retry', 'delayBeforeRetryMs', SECONDS, def, { example: 'delay_before_retry 2' });
// null: the virtual server's delay_loop; warmup null: delay_loop too.
const delayLoop = R.scalar('delay_loop', 'delayLoopMs', SECONDS, null, { example: 'delay_loop 4' });
const warmup = R.scalar('warmup', 'warmupMs', SECONDS, null, { example: 'warmup 1' });

/** connect_*, bindto and the retry timing; keepalived 2.2: connect_timeout 5 s, retry 1. */
function timing(delayBeforeRetryMs: number): Array<Directive<CheckTiming>> {
  return [
    C.scalar('connect_ip', 'connectIp', IP, null, { example: 'connect_ip 198.51.100.11' }),
    C.scalar('connect_port', 'connectPort', integer(), null, {
      example: 'connect_port 8081',
      check: (p) => (p === null || (Number.isInteger(p) && p >= 1 && p <= 65535) ? [] : [{ severity: 'error', message: `connect_port: port ${p} is out of range 1-65535` }]),
    }),
    C.scalar('bindto', 'bindTo', IP, null, { example: 'bindto 198.51.100.1' }),
    C.scalar('connect_timeout', 'connectTimeoutMs', SECONDS, 5000, { example: 'connect_timeout 3' }),
    retry(1),
    delayBeforeRetry(delayBeforeRetryMs),
    delayLoop,
    warmup,
    ...refusedTiming(),
  ];
}

/** keepalived's checker keywords (check_api.c) tandem's checkers do not take. */
function refusedTiming<T>(connection = true): Array<Directive<T>> {
  return [
    ...(connection ? [refused(['bind_port', 'bind_if', 'fwmark'], Why.CHECKER_SOURCE)] : []),
    refused('alpha', Why.ALPHA_PLACE),
    refused('log_all_failures', Why.CHECKER_LOG),
  ] as Array<Directive<T>>;
}

export const TCP: Block<TcpCheck> = { name: 'TCP_CHECK', where: () => 'TCP_CHECK', entries: timing(1000) };

// ---- HTTP_GET / SSL_GET ----
// The parts of the request are checked as HTTP defines them, so the request line and the Host
// header hold what they say. Checks on the stored value, so one mistake is one message (a
// control character is reported by the build's own check, at its word).
const PCHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/; // RFC 3986 section 3.3 pchar, less pct-encoded

/** What is wrong with a `path` as an origin-form request target (RFC 9112 section 3.2.1), or null. */
export function requestTargetProblem(p: string): string | null {
  if (controlCharacter(p) !== null) return null;
  if (!p.startsWith('/')) return "must start with '/' (an origin-form request target, RFC 9112 section 3.2.1)";
  const chars = [...p];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '/' || c === '?' || PCHAR.test(c)) continue;
    if (c === ' ' || c === '\t') return 'holds a blank: write a space as %20 (RFC 3986 section 2.1)';
    if (c === '%') {
      if (/^[0-9A-Fa-f]{2}$/.test((chars[i + 1] ?? '') + (chars[i + 2] ?? ''))) { i += 2; continue; }
      return "is not a request target: '%' must start a %XX escape (RFC 3986 section 2.1)";
    }
    return `is not a request target: '${shown(c)}' is not allowed there; percent-encode it (RFC 3986 section 3.3)`;
  }
  return null;
}

const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/; // RFC 3986 section 3.2.2

/** Whether a `virtualhost` is a Host header's host[:port] (RFC 9110 section 7.2). */
export function validHostPort(h: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(h);
  if (!m) return false;
  const host = m[1]!;
  const port = m[2];
  const hostOk = host.startsWith('[') ? host.includes(':') : REG_NAME.test(host);
  return hostOk && (port === undefined ? !h.endsWith(':') : Number(port) >= 1 && Number(port) <= 65535);
}

export function hostPortCheck(h: string | null): Finding[] {
  if (h === null || controlCharacter(h) !== null || validHostPort(h)) return [];
  return [{ severity: 'error', message: `virtualhost: '${shown(h)}' is not a host[:port] (RFC 9110 section 7.2)` }];
}

const U = directivesOf<HttpUrl>();

const DIGEST: Value<string> = {
  read: (t, what) => {
    if (!/^[0-9a-fA-F]{32}$/.test(t.text)) throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not an MD5 hex digest`);
    return t.text.toLowerCase();
  },
  write: (d) => d,
};

function statusCodes(n: Node): Array<[number, number]> {
  return n.args.map((t) => {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(t.text);
    if (!m) throw new ConfError(t.pos, `status_code: '${shown(t.text)}' is not a code (200) or a range (200-299)`);
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (lo < 100 || hi > 599 || hi < lo) throw new ConfError(t.pos, `status_code: '${shown(t.text)}' is not within 100-599`);
    return [lo, hi] as [number, number];
  });
}

export const URL_BLOCK: Block<HttpUrl> = {
  name: 'url',
  where: () => 'url',
  entries: [
    U.scalar('path', 'path', WORD, '', {
      example: 'path /health', always: true,
      check: (p) => {
        const why = requestTargetProblem(p);
        return why === null ? [] : [{ severity: 'error', message: `path: '${shown(p)}' ${why}` }];
      },
    }),
    U.scalar('digest', 'digest', DIGEST, null, { example: 'digest 640205b7b0fc66c1ea91c463fac6334d' }),
    // Empty: 200-299 (keepalived's default). Repeated status_code lines add up.
    U.custom({
      names: ['status_code'], args: [1, MANY], shape: 'none', defaults: { statusCodes: [] },
      example: 'status_code 200-299 301 503',
      read(u, n) { u.statusCodes.push(...statusCodes(n)); mark(u, 'statusCodes', n.pos); },
      write(u, out) {
        if (u.statusCodes.length > 0) out.line('status_code', ...u.statusCodes.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)));
      },
    }),
    U.scalar('virtualhost', 'virtualhost', WORD, null, { example: 'virtualhost h.example.com', check: hostPortCheck }),
    refused(['regex', 'regex_no_match', 'regex_options', 'regex_min_offset', 'regex_max_offset', 'regex_stack'], Why.REGEX),
    refused('tls_compliant', Why.HTTP_EXTRAS),
  ],
};

const H = directivesOf<HttpCheck>();

export const HTTP: Block<HttpCheck> = {
  name: 'HTTP_GET',
  where: (c) => c.kind,
  entries: [
    H.sub<HttpUrl>({
      names: ['url'], args: [0, 0], arity: 0, block: URL_BLOCK,
      example: 'url {\n path /other\n}',
      defaults: { urls: [] },
      open: (_h, n) => create(URL_BLOCK, { pos: n.pos }),
      close: (h, u, n) => {
        if (u.path === '') throw new ConfError(n.pos, 'url needs a path');
        h.urls.push(u);
      },
      children: (h) => h.urls,
      head: () => ['url'],
    }),
    H.scalar('virtualhost', 'virtualhost', WORD, null, { example: 'virtualhost www.example.com', check: hostPortCheck }),
    H.optBool('enable_sni', 'enableSni', { example: 'enable_sni' }),
    H.scalar('http_protocol', 'httpProtocol', oneOfWords(['1.0', '1.0C', '1.1'] as const), '1.0', { example: 'http_protocol 1.1' }),
    // keepalived check_http.c: HTTP_GET/SSL_GET default delay_before_retry is 3 s.
    ...timing(3000),
    refused(['sni_name', 'fast_recovery', 'tls_compliant'], Why.HTTP_EXTRAS),
  ],
};

// ---- UDP_CHECK ----
const D = directivesOf<UdpCheck>();

const PAYLOAD: Value<Buffer> = { read: (t, what) => Buffer.from(hexBytes(t, what), 'hex'), write: (b) => b.toString('hex') };

export const UDP: Block<UdpCheck> = {
  name: 'UDP_CHECK',
  where: () => 'UDP_CHECK',
  entries: [
    D.scalar('payload', 'payload', PAYLOAD, null, { example: 'payload 0a0b0c' }),
    // require_reply without a value: any reply will do (stored as '').
    D.custom({
      names: ['require_reply'], args: [0, 1], shape: 'none', defaults: { requireReply: null },
      example: 'require_reply ffee',
      read(u, n) { u.requireReply = n.args[0] ? hexBytes(n.args[0], 'require_reply') : ''; mark(u, 'requireReply', n.pos); },
      write(u, out) { if (u.requireReply !== null) out.line('require_reply', ...(u.requireReply !== '' ? [u.requireReply] : [])); },
    }),
    ...timing(1000),
    refused(['min_reply_length', 'max_reply_length'], Why.UDP_LENGTH),
  ],
};

// ---- MISC_CHECK ----
const M = directivesOf<MiscCheck>();

export const MISC: Block<MiscCheck> = {
  name: 'MISC_CHECK',
  where: () => 'MISC_CHECK',
  entries: [
    M.command('misc_path', 'path', 'misc_path "/usr/local/bin/check.sh --host 198.51.100.12"', { required: true }),
    // null: keepalived uses the delay_loop.
    M.scalar('misc_timeout', 'miscTimeoutMs', SECONDS, null, { example: 'misc_timeout 7' }),
    M.flag('misc_dynamic', 'miscDynamic', { example: 'misc_dynamic' }),
    M.userGroup('user', 'user', 'group', 'user nobody'),
    // keepalived check_misc.c: MISC_CHECK does not retry unless told to.
    retry(0),
    delayBeforeRetry(1000),
    delayLoop,
    warmup,
    ...refusedTiming<MiscCheck>(false),
  ],
};

// ---- the checkers of a real_server, in the order written ----
const KINDS = ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'UDP_CHECK'] as const;

/** The table of a checker's block. */
export function checkerBlock(c: Checker): Block<Checker> {
  const b = c.kind === 'TCP_CHECK' ? TCP : c.kind === 'UDP_CHECK' ? UDP : c.kind === 'MISC_CHECK' ? MISC : HTTP;
  return b as unknown as Block<Checker>;
}

function buildChecker(n: Node, ctx: BuildCtx): Checker {
  const kw = n.keyword.text as (typeof KINDS)[number];
  switch (kw) {
    case 'TCP_CHECK': {
      const c = create(TCP, { kind: 'TCP_CHECK', pos: n.pos });
      dispatch(kids(n), TCP, c, ctx);
      return c;
    }
    case 'HTTP_GET': case 'SSL_GET': {
      const c = create(HTTP, { kind: kw, pos: n.pos });
      dispatch(kids(n), HTTP, c, ctx);
      if (c.urls.length === 0) throw new ConfError(n.pos, `${kw} needs at least one url { path … }`);
      return c;
    }
    case 'UDP_CHECK': {
      const c = create(UDP, { kind: 'UDP_CHECK', pos: n.pos });
      dispatch(kids(n), UDP, c, ctx);
      return c;
    }
    case 'MISC_CHECK': {
      const c = create(MISC, { kind: 'MISC_CHECK', path: { argv: [], pos: n.pos }, pos: n.pos });
      dispatch(kids(n), MISC, c, ctx);
      if (c.path.argv.length === 0) throw new ConfError(n.pos, 'MISC_CHECK needs misc_path');
      return c;
    }
  }
}

export const CHECKERS: Directive<RealServer> = {
  names: KINDS, args: [0, 0], shape: 'block', defaults: { checkers: [] },
  example: 'TCP_CHECK {\n connect_timeout 3\n}',
  subs: [
    { names: ['TCP_CHECK'], arity: 0, block: TCP as unknown as Block<object> },
    { names: ['HTTP_GET', 'SSL_GET'], arity: 0, block: HTTP as unknown as Block<object> },
    { names: ['MISC_CHECK'], arity: 0, block: MISC as unknown as Block<object> },
    { names: ['UDP_CHECK'], arity: 0, block: UDP as unknown as Block<object> },
  ],
  read(rs, n, ctx) { rs.checkers.push(buildChecker(n, ctx)); },
  write(rs, out, scope) {
    const inner = { config: scope.config, parent: rs };
    for (const c of rs.checkers) out.block([c.kind], () => writeBlock(checkerBlock(c), c, out, inner));
  },
  children: (rs) => rs.checkers.map((obj) => ({ block: checkerBlock(obj) as unknown as Block<object>, obj })),
};

/** keepalived's other checkers. */
export const REFUSED_CHECKERS: readonly Directive<object>[] = [
  refused(['SMTP_CHECK', 'PING_CHECK', 'ICMP_CHECK', 'DNS_CHECK', 'BFD_CHECK', 'FILE_CHECK'], Why.CHECKERS, { block: 0 }),
];
