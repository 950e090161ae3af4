// A real mosquitto inside a lab namespace, for the MQTT lab tests and the MQTT bench.
//
// The boards reach it over the lab's network (default: the client host, 203.0.113.10:1883 on the
// public segment). The test process itself lives in the host namespace and cannot reach lab
// addresses, so the broker also listens on a unix socket in the lab's temp dir: a filesystem
// socket is reachable from any network namespace, and nothing is opened on the host's network.
// mosquitto runs with `user root` because, started as root, it would otherwise drop to the
// `mosquitto` user before binding the unix socket in a root-only directory (bind fails EACCES).
// It is spawned through lab.spawn, so lab.destroy() kills it by PID even if a test fails.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { LAB_ADDR, waitFor, type Host, type Lab, type LabProcess } from './lab.ts';

export interface LabBrokerOptions {
  /** Namespace the broker runs in; default 'client'. */
  host?: Host;
  /** Address of that host the boards connect to; default the client's 203.0.113.10. */
  address?: string;
  /** Default 1883 (the lab namespace is ours, so the port is free). */
  port?: number;
  /** Extra mosquitto.conf lines. */
  extra?: string[];
}

export class LabBroker {
  /** What the boards put in their `mqtt { url … }`. */
  readonly url: string;
  /** The unix socket, for clients in the host namespace (the test process). */
  readonly socketPath: string;
  /** mqtt.js URL of the unix socket. */
  readonly localUrl: string;
  proc: LabProcess | null = null;
  private readonly dir: string;
  private starts = 0;

  constructor(private readonly lab: Lab, private readonly opts: Required<LabBrokerOptions>) {
    this.dir = join(lab.tmpDir, `mosquitto-${opts.host}`);
    this.url = `mqtt://${opts.address}:${opts.port}`;
    this.socketPath = join(this.dir, 'mqtt.sock');
    this.localUrl = `mqtt+unix://${this.socketPath}`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Starts a fresh broker (no persistence: a restart forgets every retained message). */
  async start(): Promise<void> {
    if (this.running) throw new Error('broker already running');
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await rm(this.socketPath, { force: true });
    const conf = join(this.dir, 'mosquitto.conf');
    await writeFile(conf, [
      'user root',
      'per_listener_settings false',
      'allow_anonymous true',
      'persistence false',
      `listener ${this.opts.port} ${this.opts.address}`,
      `listener 0 ${this.socketPath}`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      ...this.opts.extra,
      '',
    ].join('\n'));
    this.starts++;
    const p = this.lab.spawn(this.opts.host, ['mosquitto', '-c', conf], { label: `mosquitto#${this.starts}` });
    this.proc = p;
    // mosquitto logs "running" after it has opened every listener.
    await p.waitForLog(/mosquitto version \S+ running/, 10_000);
  }

  /** Kills the broker (SIGKILL by default: a crash, no goodbye to the clients). */
  async stop(sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.proc?.stop(sig, 3_000);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

export async function startLabBroker(lab: Lab, opts: LabBrokerOptions = {}): Promise<LabBroker> {
  const b = new LabBroker(lab, {
    host: opts.host ?? 'client',
    address: opts.address ?? LAB_ADDR.client,
    port: opts.port ?? 1883,
    extra: opts.extra ?? [],
  });
  await b.start();
  return b;
}

// ---- a subscriber in the test process ---------------------------------------------------------

export interface Msg {
  topic: string;
  payload: string;
  retain: boolean;
  /** Date.now() at arrival. */
  at: number;
  /** MQTT 5 user properties, if any. */
  userProperties?: Record<string, string | string[]>;
}

export interface Subscriber {
  client: MqttClient;
  msgs: Msg[];
  /** Latest message on `topic` (after index `from`, if given). */
  last(topic: string, from?: number): Msg | undefined;
  /** Resolves with the first message (at index ≥ from) matching. */
  waitMsg(what: string, pred: (m: Msg) => boolean, opts?: { from?: number; timeoutMs?: number }): Promise<Msg>;
  publish(topic: string, payload: string | Buffer, opts?: { retain?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects (unix socket by default), subscribes `filter` with QoS 1, resubscribes after every
 * reconnect (a restarted broker forgets subscriptions). Retained messages arrive with retain set.
 */
export async function subscribe(url: string, filter: string, opts: IClientOptions = {}): Promise<Subscriber> {
  const msgs: Msg[] = [];
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 200, connectTimeout: 3000, ...opts });
  client.on('error', () => undefined);
  client.on('message', (topic, payload, packet) => {
    const userProperties = packet.properties?.userProperties;
    msgs.push({ topic, payload: payload.toString('utf8'), retain: packet.retain, at: Date.now(), ...(userProperties ? { userProperties } : {}) });
  });
  client.on('connect', () => client.subscribe(filter, { qos: 1 }));
  // The first SUBACK: retained messages follow it.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`subscriber did not connect to ${url}`)), 10_000);
    client.once('connect', () => client.subscribe(filter, { qos: 1 }, (e) => {
      clearTimeout(timer);
      if (e) reject(e);
      else resolve();
    }));
  });
  const last = (topic: string, from = 0): Msg | undefined => {
    for (let i = msgs.length - 1; i >= from; i--) if (msgs[i]!.topic === topic) return msgs[i];
    return undefined;
  };
  const waitMsg = async (what: string, pred: (m: Msg) => boolean, o: { from?: number; timeoutMs?: number } = {}): Promise<Msg> => {
    let found: Msg | undefined;
    let scanned = o.from ?? 0;
    await waitFor(() => {
      for (; scanned < msgs.length; scanned++) {
        if (pred(msgs[scanned]!)) {
          found = msgs[scanned];
          return true;
        }
      }
      return false;
    }, { timeoutMs: o.timeoutMs ?? 10_000, intervalMs: 10, what });
    return found!;
  };
  return {
    client,
    msgs,
    last,
    waitMsg,
    publish: (topic, payload, o = {}) => new Promise<void>((resolve, reject) => {
      client.publish(topic, payload, { qos: 1, retain: o.retain ?? false }, (e) => (e ? reject(e) : resolve()));
    }),
    close: () => new Promise<void>((resolve) => { client.end(true, {}, () => resolve()); }),
  };
}

/** Parses a JSON payload; throws with the payload in the message when it is not JSON. */
export function json(m: Msg | undefined): Record<string, unknown> {
  if (!m) throw new Error('no message');
  try {
    return JSON.parse(m.payload) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON on ${m.topic}: ${m.payload.slice(0, 200)}`);
  }
}

/** The `mqtt { … }` block for a board's configuration. */
export function mqttBlock(url: string, o: { keepaliveS?: number; healthIntervalS?: number; extra?: string } = {}): string {
  return `mqtt {
    url ${url}
    keepalive ${o.keepaliveS ?? 2}
    health_interval ${o.healthIntervalS ?? 1}
${o.extra ?? ''}}
`;
}
