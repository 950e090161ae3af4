// `tandem fleet --mqtt URL [--prefix P] [--json] [--once] [--http [ADDR:]PORT]`: subscribes
// PREFIX/+/# and shows the fleet model:
//   (nothing)      a table redrawn every second (ANSI clear + home);
//   --once         the table once; --json --once: one JSON snapshot;
//   --json         streams: a JSON snapshot per line whenever something changed (at most one a
//                  second, and one every 10 s regardless);
//   --http ADDR    serves the live fleet page (src/report/fleet-http.ts) until stopped.
// --once waits for the retained messages (until 300 ms pass without one, at most `settleMs`),
// then up to one health interval for the boards that are online but have not sent health yet
// (health is not retained), so the health columns are filled.
// Returns the exit code: 0 ok, 2 cannot connect within timeoutMs (or --http cannot listen).
//
// Everything shown comes from whoever may publish under the prefix: the table and the JSON are
// escaped for the terminal (src/report/escape.ts), and packets are bounded (MAX_PACKET_BYTES:
// MQTT 5 Maximum Packet Size, and src/report/packet-guard.ts under both versions). MQTT 5 is
// asked for first, for the bdSeq user property on `status` that tells an older session's late
// will apart (src/report/fleet.ts); a broker that refuses it gets 3.1.1 (the demo's aedes).

import mqtt from 'mqtt';
import type { IClientOptions } from 'mqtt';
import { readFile } from 'node:fs/promises';
import { applyMessage, fleetSnapshot, newFleet, renderFleetTable, type FleetModel, type MessageMeta } from './fleet.ts';
import { FleetHttpServer } from './fleet-http.ts';
import { escapeTerminal, jsonForTerminal } from './escape.ts';
import { guardClient } from './packet-guard.ts';
import { fleetFilter, sanitizePrefix } from './topics.ts';

export interface FleetCliOptions {
  url: string;
  prefix?: string;
  json?: boolean;
  /** Print the table once (after the retained messages) and exit. */
  once?: boolean;
  caFile?: string | null;
  certFile?: string | null;
  keyFile?: string | null;
  username?: string | null;
  passwordFile?: string | null;
  /** Bound for connecting (default 5 s). */
  timeoutMs?: number;
  /** Upper bound of the wait for retained messages in --json/--once (default 1000 ms). */
  settleMs?: number;
  /** --once: bound of the wait for health (default: one health interval, see healthWaitMs()). */
  healthWaitMs?: number;
  /** --http: serve the fleet page here. */
  http?: { host: string; port: number } | null;
  /** Told the page's address once it listens (default: printed on `out`). */
  onListening?: (url: string) => void;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** Live mode stops when this aborts (default: SIGINT/SIGTERM). */
  signal?: AbortSignal;
  now?: () => number;
}

const QUIET_MS = 300;
/** mqtt { health_interval } when a board does not say (its default, src/config/directives/tandem.ts). */
export const DEFAULT_HEALTH_INTERVAL_MS = 10_000;
const STREAM_EVERY_MS = 10_000;

/**
 * How long --once waits for health: the longest interval a board announced in its health, or
 * the default interval when none has yet, plus half a second for the message to travel.
 */
export function healthWaitMs(m: FleetModel): number {
  const known = [...m.boards.values()].map((b) => b.healthIntervalMs).filter((x): x is number => x !== null);
  return Math.min(60_000, known.length ? Math.max(...known) : DEFAULT_HEALTH_INTERVAL_MS) + 500;
}

/** Boards online without health yet. */
function waitingForHealth(m: FleetModel): number {
  return [...m.boards.values()].filter((b) => b.status === 'online' && b.lastHealthAt === null).length;
}
/** The largest packet the fleet view accepts: a board's largest payload (health, birth) is a few KiB. */
export const FLEET_MAX_PACKET_BYTES = 1024 * 1024;

/** MQTT 3.1.1 §3.2.2.3 return code 1, MQTT 5 §3.2.2.2 reason code 0x84. */
function isProtocolRefusal(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 1 || code === 0x84;
}

/** The bdSeq user property of a message (MQTT 5), if it has a usable one. */
function metaOf(packet: { properties?: { userProperties?: Record<string, string | string[]> } }): MessageMeta {
  const raw = packet.properties?.userProperties?.bdSeq;
  const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  return typeof v === 'string' && /^\d{1,15}$/u.test(v) ? { bdSeq: Number(v) } : {};
}

export async function runFleet(o: FleetCliOptions): Promise<number> {
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  const now = o.now ?? Date.now;
  const prefix = sanitizePrefix(o.prefix ?? 'tandem');
  const timeoutMs = o.timeoutMs ?? 5000;
  const opts: IClientOptions = {
    protocolVersion: 5,
    properties: { maximumPacketSize: FLEET_MAX_PACKET_BYTES },
    clean: true,
    reconnectPeriod: o.once ? 0 : 2000,
    connectTimeout: timeoutMs,
    clientId: `tandem-fleet-${process.pid}-${Math.floor(Math.random() * 1e6)}`,
  };
  try {
    if (o.caFile) opts.ca = await readFile(o.caFile);
    if (o.certFile) opts.cert = await readFile(o.certFile);
    if (o.keyFile) opts.key = await readFile(o.keyFile);
    if (o.username) opts.username = o.username;
    if (o.passwordFile) opts.password = (await readFile(o.passwordFile, 'utf8')).replace(/\r?\n$/u, '');
  } catch (e) {
    err.write(`fleet: ${(e as Error).message}\n`);
    return 2;
  }

  const model = newFleet(prefix, now());
  let lastMsgAt = now();
  let lastErr = '';
  let web: FleetHttpServer | null = null;
  /** Connects and subscribes; 'refused' when the broker does not speak this protocol version. */
  const open = async (version: 4 | 5): Promise<{ client: mqtt.MqttClient | null; result: 'ok' | 'failed' | 'refused' }> => {
    const vopts: IClientOptions = { ...opts, protocolVersion: version };
    if (version === 4) delete vopts.properties;
    let c: mqtt.MqttClient;
    try {
      c = mqtt.connect(o.url, vopts);
    } catch (e) {
      lastErr = (e as Error).message;
      return { client: null, result: 'failed' };
    }
    guardClient(c, FLEET_MAX_PACKET_BYTES, (bytes) => {
      lastErr = `a ${bytes}-byte packet exceeds the limit of ${FLEET_MAX_PACKET_BYTES} bytes`;
    });
    c.on('message', (topic, payload, packet) => {
      lastMsgAt = now();
      if (applyMessage(model, topic, payload.toString('utf8'), lastMsgAt, metaOf(packet))) web?.changed();
    });
    const result = await new Promise<'ok' | 'failed' | 'refused'>((resolve) => {
      const timer = setTimeout(() => resolve('failed'), timeoutMs);
      c.on('error', (e) => {
        lastErr = e.message;
        if (version === 5 && isProtocolRefusal(e)) {
          clearTimeout(timer);
          resolve('refused');
        }
      });
      c.once('connect', () => {
        c.subscribe(fleetFilter(prefix), { qos: 1 }, (e) => {
          clearTimeout(timer);
          resolve(e ? 'failed' : 'ok');
        });
      });
    });
    if (result !== 'ok') c.end(true);
    return { client: result === 'ok' ? c : null, result };
  };
  let attempt = await open(5);
  if (attempt.result === 'refused') attempt = await open(4);
  const client = attempt.client;
  if (!client) {
    err.write(`fleet: cannot subscribe at ${o.url}${lastErr ? `: ${escapeTerminal(lastErr)}` : ''}\n`);
    return 2;
  }

  const until = (done: () => boolean, boundMs: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const start = now();
      const tick = setInterval(() => {
        if (done() || now() - start >= boundMs) {
          clearInterval(tick);
          resolve();
        }
      }, 50);
    });

  if (o.once) {
    // Retained messages follow the SUBACK; wait until they stop coming, within settleMs.
    lastMsgAt = now();
    await until(() => now() - lastMsgAt >= QUIET_MS, o.settleMs ?? 1000);
    // Health is not retained: the boards online send theirs within one interval.
    if (waitingForHealth(model) > 0) await until(() => waitingForHealth(model) === 0, o.healthWaitMs ?? healthWaitMs(model));
    out.write(o.json ? jsonForTerminal(fleetSnapshot(model, now()), 2) + '\n' : renderFleetTable(model, now()));
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    return 0;
  }

  if (o.http) {
    web = new FleetHttpServer({ host: o.http.host, port: o.http.port, model, now, log: (msg) => err.write(`${escapeTerminal(msg)}\n`) });
    try {
      const at = await web.start();
      const url = `http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}/`;
      if (o.onListening) o.onListening(url);
      else out.write(`fleet: dashboard at ${url}\n`);
    } catch (e) {
      err.write(`fleet: cannot serve the page on ${o.http.host}:${o.http.port}: ${(e as Error).message}\n`);
      client.end(true);
      return 2;
    }
    web.changed();
  }

  const ac = new AbortController();
  const signal = o.signal ?? ac.signal;
  const onSig = (): void => ac.abort();
  if (!o.signal) {
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
  }
  let shownVersion = -1;
  let shownAt = 0;
  const draw = (): void => {
    if (web) return;
    if (o.json) {
      if (model.version === shownVersion && now() - shownAt < STREAM_EVERY_MS) return;
      shownVersion = model.version;
      shownAt = now();
      out.write(jsonForTerminal(fleetSnapshot(model, shownAt)) + '\n');
      return;
    }
    out.write('\x1b[2J\x1b[H' + renderFleetTable(model, now()) + (client.connected ? '' : `(disconnected${lastErr ? `: ${escapeTerminal(lastErr)}` : ''})\n`));
  };
  draw();
  await new Promise<void>((resolve) => {
    const t = setInterval(draw, 1000);
    const finish = (): void => {
      clearInterval(t);
      resolve();
    };
    if (signal.aborted) finish();
    else signal.addEventListener('abort', finish, { once: true });
  });
  process.removeListener('SIGINT', onSig);
  process.removeListener('SIGTERM', onSig);
  await web?.close();
  client.end(true);
  return 0;
}
