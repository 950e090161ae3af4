// `tandem fleet --mqtt URL [--prefix P] [--json] [--once]`: subscribes PREFIX/+/# and shows the
// fleet model. Live mode redraws every second (ANSI clear + home); --json waits for the
// retained messages (until 300 ms pass without one, at most `settleMs`) and prints one snapshot.
// Returns the exit code: 0 ok, 2 cannot connect within timeoutMs.

import mqtt from 'mqtt';
import type { IClientOptions } from 'mqtt';
import { readFile } from 'node:fs/promises';
import { applyMessage, fleetSnapshot, newFleet, renderFleetTable } from './fleet.ts';
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

export async function runFleet(o: FleetCliOptions): Promise<number> {
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  const now = o.now ?? Date.now;
  const prefix = sanitizePrefix(o.prefix ?? 'tandem');
  const timeoutMs = o.timeoutMs ?? 5000;
  const opts: IClientOptions = {
    // A subscriber needs nothing of MQTT 5: 3.1.1 works with every broker (the demo's
    // embedded aedes speaks only 3.1.1).
    protocolVersion: 4,
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
  let client: mqtt.MqttClient;
  try {
    client = mqtt.connect(o.url, opts);
  } catch (e) {
    err.write(`fleet: cannot connect to ${o.url}: ${(e as Error).message}\n`);
    return 2;
  }
  client.on('message', (topic, payload) => {
    lastMsgAt = now();
    applyMessage(model, topic, payload.toString('utf8'), lastMsgAt);
  });
  let lastErr = '';
  client.on('error', (e) => {
    lastErr = e.message;
  });

  const subscribed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    client.once('connect', () => {
      client.subscribe(fleetFilter(prefix), { qos: 1 }, (e) => {
        clearTimeout(timer);
        resolve(!e);
      });
    });
  });
  if (!subscribed) {
    err.write(`fleet: cannot subscribe at ${o.url}${lastErr ? `: ${lastErr}` : ''}\n`);
    client.end(true);
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
    out.write(o.json ? JSON.stringify(fleetSnapshot(model, now()), null, 2) + '\n' : renderFleetTable(model, now()));
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
    out.write('\x1b[2J\x1b[H' + renderFleetTable(model, now()) + (client.connected ? '' : `(disconnected${lastErr ? `: ${lastErr}` : ''})\n`));
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
