// `tandem fleet --mqtt URL [--prefix P] [--json] [--once]`: subscribes PREFIX/+/# and shows the
// fleet model. Live mode redraws every second (ANSI clear + home); --json waits for the
// retained messages (until 300 ms pass without one, at most `settleMs`) and prints one snapshot.
// Returns the exit code: 0 ok, 2 cannot connect within timeoutMs.
//
// Everything shown comes from whoever may publish under the prefix: the table and the JSON are
// escaped for the terminal (src/report/escape.ts), and packets are bounded (MAX_PACKET_BYTES:
// MQTT 5 Maximum Packet Size, and src/report/packet-guard.ts under both versions). MQTT 5 is
// asked for first, for the bdSeq user property on `status` that tells an older session's late
// will apart (src/report/fleet.ts); a broker that refuses it gets 3.1.1 (the demo's aedes).

import mqtt from 'mqtt';
import type { IClientOptions } from 'mqtt';
import { readFile } from 'node:fs/promises';
import { applyMessage, fleetSnapshot, newFleet, renderFleetTable, type MessageMeta } from './fleet.ts';
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
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** Live mode stops when this aborts (default: SIGINT/SIGTERM). */
  signal?: AbortSignal;
  now?: () => number;
}

const QUIET_MS = 300;
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
    reconnectPeriod: o.json || o.once ? 0 : 2000,
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
      applyMessage(model, topic, payload.toString('utf8'), lastMsgAt, metaOf(packet));
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

  if (o.json || o.once) {
    // Retained messages follow the SUBACK; wait until they stop coming, within settleMs.
    const start = now();
    lastMsgAt = start;
    const settle = o.settleMs ?? 1000;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const t = now();
        if (t - lastMsgAt >= QUIET_MS || t - start >= settle) {
          clearInterval(tick);
          resolve();
        }
      }, 50);
    });
    out.write(o.json ? jsonForTerminal(fleetSnapshot(model, now()), 2) + '\n' : renderFleetTable(model, now()));
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    return 0;
  }

  const ac = new AbortController();
  const signal = o.signal ?? ac.signal;
  const onSig = (): void => ac.abort();
  if (!o.signal) {
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
  }
  const draw = (): void => {
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
  client.end(true);
  return 0;
}
