// tandem's own blocks, in keepalived.conf syntax (DESIGN.md "Configuration"): mqtt { … },
// serial_console { … }, metrics { … } and notify_programs { … }.
import type { Token } from '../ast.ts';
import type { AllowedNet, ListenAddress, MetricsSettings, MqttSettings, NotifyProgramSettings, SerialConsoleSettings } from '../model.ts';
import { mark } from '../positions.ts';
import { ConfError, shown } from '../values.ts';
import { addressBits, canonicalIp, ipFamily, networkOf, formatIp, parseIp, parseIpPrefix } from '../../util/ip.ts';
import { DEFAULT_NOTIFY_TIMEOUT_MS } from '../../util/notify.ts';
import type { Block } from './engine.ts';
import { directivesOf, MANY } from './entries.ts';
import { BOOL, integer, numbered, SECONDS, WORD } from './kinds.ts';

const M = directivesOf<MqttSettings>();

export const MQTT: Block<MqttSettings> = {
  name: 'mqtt',
  where: () => 'mqtt',
  entries: [
    M.scalar('url', 'url', WORD, '', {
      example: 'url mqtts://broker.example.com:8883', always: true,
      check: (u) => {
        const scheme = /^([a-z]+):\/\/[^/\s]+/.exec(u);
        return scheme && ['mqtt', 'mqtts', 'ws', 'wss'].includes(scheme[1]!) ? []
          : [{ severity: 'error', message: `mqtt url '${shown(u)}' must be mqtt://, mqtts://, ws:// or wss:// followed by a host` }];
      },
    }),
    M.scalar('prefix', 'prefix', WORD, 'tandem', {
      example: 'prefix fleet',
      check: (p) => (p === '' || /[#+]/.test(p) ? [{ severity: 'error', message: `mqtt prefix '${shown(p)}' must be non-empty and hold no MQTT wildcards`, field: null }] : []),
    }),
    // null: global_defs router_id, else the host name.
    M.scalar('node', 'node', WORD, null, {
      example: 'node lb-a',
      check: (n) => (n !== null && (n === '' || /[#+/]/.test(n)) ? [{ severity: 'error', message: `mqtt node '${shown(n)}' must be non-empty and hold no '/', '+' or '#'`, field: null }] : []),
    }),
    M.scalar('username', 'username', WORD, null, { example: 'username tandem' }),
    M.scalar('password_file', 'passwordFile', WORD, null, { example: 'password_file /etc/tandem/mqtt.pass' }),
    M.scalar('ca_file', 'caFile', WORD, null, { example: 'ca_file /etc/tandem/ca.pem' }),
    M.scalar('cert_file', 'certFile', WORD, null, { example: 'cert_file /etc/tandem/cert.pem' }),
    M.scalar('key_file', 'keyFile', WORD, null, { example: 'key_file /etc/tandem/key.pem' }),
    M.scalar('keepalive', 'keepaliveS', integer(0, 65535), 30, { example: 'keepalive 15' }),
    M.scalar('health_interval', 'healthIntervalMs', SECONDS, 10000, {
      example: 'health_interval 5',
      check: (v) => (v > 0 ? [] : [{ severity: 'error', message: 'health_interval must be greater than 0' }]),
    }),
    // 5, falling back to 4 (3.1.1) when the broker refuses 5.
    M.scalar('protocol_version', 'protocolVersion', numbered<4 | 5>({ '4': 4, '5': 5 }), 5, { example: 'protocol_version 4' }),
    M.scalar('offline_queue', 'offlineQueue', integer(0, 10000000), 1000, { example: 'offline_queue 200' }),
    M.scalar('enabled', 'enabled', BOOL, true, { example: 'enabled false' }),
    // Home Assistant MQTT discovery (src/report/homeassistant.ts): off unless asked for.
    M.scalar('homeassistant', 'homeassistant', BOOL, false, { example: 'homeassistant on' }),
    M.scalar('homeassistant_prefix', 'homeassistantPrefix', WORD, 'homeassistant', {
      example: 'homeassistant_prefix ha',
      check: (p) => (p === '' || /[#+\s]/.test(p) || p.startsWith('/') || p.endsWith('/')
        ? [{ severity: 'error', message: `mqtt homeassistant_prefix '${shown(p)}' must be topic levels without wildcards, blanks or a leading or trailing '/'`, field: null }]
        : []),
    }),
  ],
};

const S = directivesOf<SerialConsoleSettings>();

export const SERIAL_CONSOLE: Block<SerialConsoleSettings> = {
  name: 'serial_console',
  where: () => 'serial_console',
  entries: [
    // null: the board profile's console device.
    S.scalar('device', 'device', WORD, null, { example: 'device /dev/ttyS1' }),
    S.scalar('baud', 'baud', integer(50, 4000000), 115200, { example: 'baud 57600' }),
    S.scalar('idle_timeout', 'idleTimeoutMs', SECONDS, 15 * 60 * 1000, { example: 'idle_timeout 300' }),
    S.scalar('enabled', 'enabled', BOOL, true, { example: 'enabled false' }),
  ],
};

/**
 * `listen ADDR:PORT`, `[ADDR6]:PORT`. The address must be one this host can bind (checked when
 * the server starts: a listen that cannot bind is logged, the others still serve).
 */
export function readListen(t: Token, what: string): ListenAddress {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(t.text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(t.text);
  const bad = (why: string): never => { throw new ConfError(t.pos, `${what} '${shown(t.text)}': ${why}`); };
  if (!m) return bad(!t.text.startsWith('[') && (t.text.match(/:/g) ?? []).length > 1 ? 'an IPv6 address goes in brackets: [ADDRESS]:PORT' : 'give ADDRESS:PORT, or [IPV6-ADDRESS]:PORT');
  const bracketed = t.text.startsWith('[');
  const address = canonicalIp(m[1]!);
  if (address === null) return bad('not an IP address');
  if (bracketed !== (ipFamily(address) === 6)) return bad(bracketed ? 'brackets are for IPv6 addresses' : 'an IPv6 address goes in brackets: [ADDRESS]:PORT');
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return bad('the port must be 1 to 65535');
  return { address, port };
}

export function listenText(l: ListenAddress): string {
  return ipFamily(l.address) === 6 ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
}

/** `allow` words: ADDRESS/LENGTH, or an address alone (one host). Host bits are refused. */
export function readAllowed(t: Token, what: string): AllowedNet {
  const bad = (why: string): never => { throw new ConfError(t.pos, `${what} '${shown(t.text)}': ${why}`); };
  const single = parseIp(t.text);
  const p = single ? { address: single, length: addressBits(single.family) } : parseIpPrefix(t.text);
  if (!p) return bad('give ADDRESS/LENGTH or an address');
  const net = networkOf(p.address, p.length);
  if (formatIp(net) !== formatIp(p.address)) return bad(`host bits set (the network is ${formatIp(net)}/${p.length})`);
  return { address: formatIp(net), prefix: p.length };
}

const X = directivesOf<MetricsSettings>();

export const METRICS: Block<MetricsSettings> = {
  name: 'metrics',
  where: () => 'metrics',
  entries: [
    X.custom({
      names: ['listen'], args: [1, 1], shape: 'none', defaults: { listen: [] },
      example: 'listen [::1]:9650',
      read(m, n) {
        const l = readListen(n.args[0]!, 'metrics listen');
        if (m.listen.some((x) => x.address === l.address && x.port === l.port)) throw new ConfError(n.pos, `metrics listen ${listenText(l)} given twice`);
        m.listen.push(l);
        mark(m, 'listen', n.pos);
      },
      write(m, out) { for (const l of m.listen) out.line('listen', listenText(l)); },
    }),
    X.custom({
      names: ['allow'], args: [1, MANY], shape: 'none', defaults: { allow: [] },
      example: 'allow 192.0.2.0/24 2001:db8::/32',
      read(m, n) {
        m.allow.push(...n.args.map((a) => readAllowed(a, 'metrics allow')));
        mark(m, 'allow', n.pos);
      },
      write(m, out) { if (m.allow.length > 0) out.line('allow', ...m.allow.map((a) => `${a.address}/${a.prefix}`)); },
    }),
  ],
};

const N = directivesOf<NotifyProgramSettings>();

/**
 * How long a notify program (notify_master…, notify, notify_up/down, quorum_up/down,
 * notify_master_rx_lower_pri) may run before tandem kills it. keepalived waits for them without
 * a bound; tandem bounds them so a hung program cannot pile up processes on a small board.
 */
export const NOTIFY_PROGRAMS: Block<NotifyProgramSettings> = {
  name: 'notify_programs',
  where: () => 'notify_programs',
  entries: [
    N.scalar('timeout', 'timeoutMs', SECONDS, DEFAULT_NOTIFY_TIMEOUT_MS, {
      example: 'timeout 30',
      check: (v) => (v > 0 ? [] : [{ severity: 'error', message: 'notify_programs timeout must be greater than 0' }]),
    }),
  ],
};
