// The MQTT session of one board: class Reporter (DESIGN.md "MQTT").
//
// Connection handling. mqtt.js reconnects with a fixed `reconnectPeriod`; we need exponential
// backoff with jitter, a protocol fallback and fresh TLS/password files on each attempt, so
// mqtt.js's own reconnect is off (reconnectPeriod 0) and each attempt is a new client:
//   attempt → 'connect' (CONNACK 0) → online … 'close' → backoff(attempt) → next attempt.
// A CONNACK refusing the protocol (3.1.1 return code 1, MQTT 5 reason 0x84 "Unsupported Protocol
// Version") while we offered 5 switches to 4 (3.1.1) and retries at once. A broker that accepts
// TCP and never answers hits mqtt.js's connectTimeout (and our watchdog), then the same backoff.
//
// Buffering. Nothing is handed to mqtt.js while disconnected (queueQoSZero false, and we publish
// only when connected); unacknowledged QoS 1 publishes are capped (maxInflight). What waits is in
// the Outbox: latest value per retained topic, a ring of events, the newest few health samples.
//
// Timing. Retained changes are coalesced for `coalesceMs` (default 25 ms) from the first change,
// never re-armed by later ones, so a change is handed to the socket within that bound (< 100 ms).
// All of this runs on the main thread; the VRRP engine has its own worker and is never waited on.
//
// Identity. The client id has a random part, new at each boot (src/report/client-id.ts), so
// nobody can take the board's session over by guessing it. A takeover that happens anyway
// (MQTT 5 DISCONNECT 0x8E "Session taken over"; under 3.1.1, and by mosquitto 2.0 under 5 too,
// the broker just closes, so a close without an error soon after connecting counts) is reported as an `events` message once we
// are connected again. Under MQTT 5 every `status` we publish and the will carry the
// session's bdSeq as the user property "bdSeq" (the payloads stay online/offline/lost), so a
// late `lost` of an older session is recognisable (src/report/fleet.ts ignores it); and since
// we subscribe to our own `status`, we put `online` back when such a will overwrites it.
//
// Bounds. Inbound packets are limited to MAX_PACKET_BYTES: announced to the broker under
// MQTT 5 (CONNECT Maximum Packet Size), and enforced under both versions by reading each
// packet's header as it arrives (src/report/packet-guard.ts), so a 32 MB message never sits
// in our memory.

import type { IClientOptions, IClientPublishOptions, MqttClient } from 'mqtt';
import { readFile } from 'node:fs/promises';
import { uptime } from 'node:os';
import type { MqttSettings } from '../config/model.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts';
import { loadBdSeq, saveBdSeq } from './bdseq.ts';
import { clientIdOf, clientIdSuffix, readBootId } from './client-id.ts';
import { guardClient } from './packet-guard.ts';
import { Outbox, type OutboxStats } from './outbox.ts';
import {
  birthPayload,
  eventPayload,
  realServerPayload,
  STATUS_OFFLINE,
  STATUS_ONLINE,
  STATUS_LOST,
  vrrpPayload,
  type BirthInterface,
  type EventInput,
  type RealServerReport,
  type VrrpReport,
} from './payloads.ts';
import { nodeTopics, type NodeTopics } from './topics.ts';
import { LogThrottle, suppressedNote } from '../util/log-throttle.ts';
import { systemClock } from '../util/clock.ts';
import type { SharedConfigDigest } from './shared-config.ts';
import { healthDiscovery, instanceDiscovery, realServerDiscovery, type DiscoveryContext, type DiscoveryMessage } from './homeassistant.ts';

/**
 * mqtt.js is loaded when the first connection is made, not with the daemon: a board without an
 * `mqtt` block never evaluates it (about 5 MiB of heap and code; bundle chunk of its own).
 */
let mqttModule: Promise<typeof import('mqtt').default> | null = null;
function loadMqtt(): Promise<typeof import('mqtt').default> {
  mqttModule ??= import('mqtt').then((m) => m.default);
  return mqttModule;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string) => void;

export interface ReporterInfo {
  /** Node name when MqttSettings.node is null (router_id, else the host name). */
  node: string;
  board: string;
  version: string;
  /** Where the bdseq file lives. */
  stateDir: string;
  interfaces(): BirthInterface[] | Promise<BirthInterface[]>;
  /** Boot time in ms since the epoch; default from os.uptime(). */
  bootTimeMs?: number;
  /** The boot's id (keys the client id's random part); default /proc/sys/kernel/random/boot_id. */
  bootId?: string | null;
  /** What both boards of a pair must share, for `birth` (src/report/shared-config.ts). */
  config?: () => SharedConfigDigest | null;
}

/** The largest MQTT packet a board accepts (what it receives is cmd/rebirth and its own status). */
export const MAX_PACKET_BYTES = 256 * 1024;
/** A close without an error or a reason this soon after CONNACK is reported as a takeover. */
export const TAKEOVER_WINDOW_MS = 10_000;
/** A will of an older session overwriting our `status`: put `online` back at most this often. */
const STATUS_REPAIR_MS = 1000;

/** MQTT 5 DISCONNECT reason code 0x8E, "Session taken over" (§3.14.2.1). */
const SESSION_TAKEN_OVER = 0x8e;

export interface ReporterOptions {
  log?: Logger;
  now?: () => number;
  random?: () => number;
  backoff?: BackoffPolicy;
  /** CONNECT → CONNACK bound (default 10 s). */
  connectTimeoutMs?: number;
  /** Coalescing window for retained changes (default 25 ms, must stay < 100). */
  coalesceMs?: number;
  /** Cap on unacknowledged QoS 1 publishes (default 64). */
  maxInflight?: number;
  /** Health samples kept while offline (default 3). */
  healthCap?: number;
  /** Retained topics kept (default 10000): instances + real servers of one board. */
  retainedCap?: number;
  /** Inbound messages larger than this are dropped and counted (default 4096 bytes). */
  maxInboundBytes?: number;
  /** Bound for each step of stop(): offline publish, DISCONNECT (default 2 s). */
  stopTimeoutMs?: number;
}

export interface ReporterStats extends OutboxStats {
  connected: boolean;
  protocolVersion: 4 | 5;
  bdSeq: number;
  connects: number;
  connectFailures: number;
  published: number;
  publishErrors: number;
  inflight: number;
  rebirths: number;
  healthErrors: number;
  inboundMalformed: number;
  inboundOversized: number;
  inboundUnexpected: number;
  /** Connections closed because the broker announced a packet over MAX_PACKET_BYTES. */
  oversizedPackets: number;
  /** Sessions taken over (or, under 3.1.1, closed by the broker soon after connecting). */
  takeovers: number;
  /** Times `online` was put back over an older session's will. */
  statusRepairs: number;
  clientId: string | null;
  lastError: string | null;
}

export type HealthSource = () => object | Promise<object>;

interface Pending {
  onFail: () => void;
}

const defaultLog: Logger = (level, message) => {
  if (level !== 'debug') process.stderr.write(`mqtt ${level}: ${message}\n`);
};

/** MQTT 3.1.1 §3.2.2.3 return code 1, MQTT 5 §3.2.2.2 reason code 0x84. */
function isProtocolRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 1 || code === 0x84;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Reporter {
  readonly topics: NodeTopics;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  private readonly connectTimeoutMs: number;
  private readonly coalesceMs: number;
  private readonly maxInflight: number;
  private readonly maxInboundBytes: number;
  private readonly stopTimeoutMs: number;
  private readonly outbox: Outbox;

  private protocol: 4 | 5;
  private client: MqttClient | null = null;
  /** Bumped per client so late callbacks of a dead connection are ignored. */
  private generation = 0;
  private connected = false;
  private started = false;
  private stopping = false;
  private attempt = 0;
  private bdSeq = 0;
  private bdSeqSave: Promise<void> = Promise.resolve();
  private clientId: string | null = null;
  /** The bdSeq the connection being made will have (the will carries it). */
  private nextSeq = 1;
  /** A takeover seen on the last connection, reported once connected again. */
  private takeover: { reason: string; at: number } | null = null;
  /**
   * A close that looks like a takeover (see onGone). It counts only if the next attempt
   * connects at once: after a broker crash or restart the next attempt fails instead.
   */
  private suspect: { reason: string; at: number } | null = null;
  private repairTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private healthSource: HealthSource | null = null;
  private healthBusy = false;
  private pending = new Map<number, Pending>();
  private pendingSeq = 0;
  private readonly counters = {
    connects: 0,
    connectFailures: 0,
    published: 0,
    publishErrors: 0,
    rebirths: 0,
    healthErrors: 0,
    inboundMalformed: 0,
    inboundOversized: 0,
    inboundUnexpected: 0,
    oversizedPackets: 0,
    takeovers: 0,
    statusRepairs: 0,
  };
  private lastError: string | null = null;

  /** Where Home Assistant's discovery messages go; null when homeassistant is off. */
  private readonly discovery: DiscoveryContext | null;
  /** Discovery config topics announced, to remove them all when discovery is turned off. */
  private readonly discovered = new Set<string>();

  constructor(
    private readonly settings: MqttSettings,
    private readonly info: ReporterInfo,
    opts: ReporterOptions = {},
  ) {
    this.topics = nodeTopics(settings.prefix, settings.node ?? info.node);
    this.discovery = settings.homeassistant
      ? { prefix: settings.homeassistantPrefix, topics: this.topics, node: settings.node ?? info.node, board: info.board, version: info.version, healthIntervalMs: settings.healthIntervalMs }
      : null;
    this.log = opts.log ?? defaultLog;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.coalesceMs = Math.min(Math.max(0, opts.coalesceMs ?? 25), 90);
    this.maxInflight = Math.max(1, opts.maxInflight ?? 64);
    this.maxInboundBytes = opts.maxInboundBytes ?? 4096;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 2000;
    this.protocol = settings.protocolVersion;
    this.outbox = new Outbox({
      eventCap: Math.max(1, settings.offlineQueue),
      healthCap: Math.max(1, opts.healthCap ?? 3),
      retainedCap: Math.max(2, opts.retainedCap ?? 10_000),
    });
  }

  // ---- public API -----------------------------------------------------------------------------

  /** Loads bdSeq, starts connecting (in the background) and the health timer. Never throws for broker trouble. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { value, problem } = await loadBdSeq(this.info.stateDir);
    if (problem) this.log('warn', problem);
    this.bdSeq = value;
    const id = await clientIdSuffix(this.info.stateDir, this.info.bootId !== undefined ? this.info.bootId : await readBootId());
    if (id.problem) this.log('warn', id.problem);
    this.clientId = clientIdOf(this.topics.base.split('/').pop() ?? 'node', id.suffix);
    // status first, birth second: insertion order is publish order after every (re)connect.
    this.outbox.setRetained(this.topics.status, STATUS_ONLINE);
    await this.refreshBirth(this.bdSeq + 1);
    if (this.settings.healthIntervalMs > 0) this.discover(() => healthDiscovery(this.discovery!));
    if (this.settings.healthIntervalMs > 0) {
      this.healthTimer = setInterval(() => void this.healthTick(), this.settings.healthIntervalMs);
      this.healthTimer.unref?.();
    }
    if (this.stopping) return;
    void this.connectOnce();
  }

  /** Publishes retained `offline`, disconnects cleanly (so the will is not sent); bounded wait. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of [this.reconnectTimer, this.flushTimer, this.watchdog, this.repairTimer]) if (t) clearTimeout(t);
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.reconnectTimer = this.flushTimer = this.healthTimer = this.watchdog = this.repairTimer = null;
    this.outbox.setRetained(this.topics.status, STATUS_OFFLINE);
    const c = this.client;
    if (c && this.connected) {
      this.flush();
      const offline = new Promise<void>((resolve) => {
        c.publish(this.topics.status, STATUS_OFFLINE, this.publishOptions(this.topics.status, true), (err) => {
          if (err) this.log('warn', `offline not acknowledged: ${errText(err)}`);
          resolve();
        });
      });
      if (!(await within(offline, this.stopTimeoutMs))) this.log('warn', 'offline publish not acknowledged in time');
      const ended = new Promise<void>((resolve) => {
        // MQTT 5 DISCONNECT reason 0 "Normal disconnection": the broker discards the will (§3.14.4).
        c.end(false, this.protocol === 5 ? { reasonCode: 0 } : {}, () => resolve());
      });
      if (!(await within(ended, this.stopTimeoutMs))) this.log('warn', 'clean disconnect timed out');
    }
    this.dropClient();
    await this.bdSeqSave.catch(() => undefined);
  }

  setVrrp(instance: string, report: VrrpReport): void {
    this.discover(() => instanceDiscovery(this.discovery!, instance));
    this.setRetained(this.topics.vrrp(instance), vrrpPayload(report));
  }

  /** Removes an instance's retained topic (instance deleted by a reload), and its Home Assistant entities. */
  clearVrrp(instance: string): void {
    this.setRetained(this.topics.vrrp(instance), '');
    this.discover(() => instanceDiscovery(this.discovery!, instance), true);
  }

  /** vs and rs as the model's names ("ADDRESS PORT") or "ADDRESS:PORT". */
  setRealServer(vs: string, rs: string, report: RealServerReport): void {
    this.discover(() => realServerDiscovery(this.discovery!, vs, rs));
    this.setRetained(this.topics.lb(vs, rs), realServerPayload(report));
  }

  clearRealServer(vs: string, rs: string): void {
    this.setRetained(this.topics.lb(vs, rs), '');
    this.discover(() => realServerDiscovery(this.discovery!, vs, rs), true);
  }

  /** Home Assistant discovery (mqtt { homeassistant on }): config messages, retained; `remove` empties them. */
  private discover(messages: () => DiscoveryMessage[], remove = false): void {
    if (!this.discovery) return;
    for (const m of messages()) {
      this.setRetained(m.topic, remove ? '' : m.payload);
      if (remove) this.discovered.delete(m.topic);
      else this.discovered.add(m.topic);
    }
  }

  /** homeassistant turned off: every entity this board announced is removed (empty retained config). */
  clearDiscovery(): void {
    for (const t of this.discovered) this.setRetained(t, '');
    this.discovered.clear();
  }

  event(e: EventInput): void {
    if (this.stopping) return;
    let payload: string;
    try {
      payload = eventPayload(e, this.now());
    } catch (err) {
      // Circular or BigInt fields: the caller's bug, not a reason to stop reporting.
      this.log('warn', `event not serializable: ${errText(err)}`);
      return;
    }
    this.outbox.events.push(payload);
    this.scheduleFlush();
  }

  /** The configuration changed (a reload): `birth` goes out again with its new digest. */
  async configChanged(): Promise<void> {
    if (!this.started || this.stopping) return;
    await this.refreshBirth(this.connected ? this.bdSeq : this.bdSeq + 1);
    this.scheduleFlush();
  }

  setHealthSource(fn: HealthSource | null): void {
    this.healthSource = fn;
  }

  stats(): ReporterStats {
    return {
      ...this.outbox.stats(),
      ...this.counters,
      connected: this.connected,
      protocolVersion: this.protocol,
      bdSeq: this.bdSeq,
      clientId: this.clientId,
      inflight: this.pending.size,
      lastError: this.lastError,
    };
  }

  // ---- connection -----------------------------------------------------------------------------

  private async buildOptions(): Promise<IClientOptions> {
    const s = this.settings;
    // The will belongs to the connection about to be made: its bdSeq is the one that
    // connection will announce in `birth` (Sparkplug B's pairing of NBIRTH and NDEATH).
    this.nextSeq = this.bdSeq + 1;
    const o: IClientOptions = {
      protocolVersion: this.protocol,
      clientId: this.clientId ?? `tandem-${this.topics.base.split('/').pop() ?? 'node'}`,
      clean: true,
      keepalive: s.keepaliveS,
      connectTimeout: this.connectTimeoutMs,
      reconnectPeriod: 0,
      queueQoSZero: false,
      resubscribe: false,
      // mqtt-packet otherwise builds a cache of all 65,536 two-byte numbers at the first publish:
      // 6 MiB of heap on a board that publishes a few messages a second.
      writeCache: false,
      will: { topic: this.topics.status, payload: Buffer.from(STATUS_LOST), qos: 1, retain: true },
    };
    if (this.protocol === 5) {
      o.properties = { sessionExpiryInterval: 0, maximumPacketSize: MAX_PACKET_BYTES };
      o.will!.properties = { userProperties: { bdSeq: String(this.nextSeq) } };
    }
    if (s.username !== null) o.username = s.username;
    // Files are read on every attempt: a rotated certificate or password needs no restart.
    if (s.passwordFile !== null) o.password = (await readFile(s.passwordFile, 'utf8')).replace(/\r?\n$/u, '');
    if (s.caFile !== null) o.ca = await readFile(s.caFile);
    if (s.certFile !== null) o.cert = await readFile(s.certFile);
    if (s.keyFile !== null) o.key = await readFile(s.keyFile);
    o.rejectUnauthorized = true;
    return o;
  }

  private async connectOnce(): Promise<void> {
    this.reconnectTimer = null;
    if (this.stopping) return;
    let opts: IClientOptions;
    try {
      opts = await this.buildOptions();
    } catch (err) {
      this.suspect = null;
      this.fail(`cannot prepare connection: ${errText(err)}`);
      this.scheduleReconnect();
      return;
    }
    if (this.stopping) return;
    let mqtt: typeof import('mqtt').default;
    try {
      mqtt = await loadMqtt();
    } catch (err) {
      this.suspect = null;
      this.fail(`cannot load the MQTT client: ${errText(err)}`);
      this.scheduleReconnect();
      return;
    }
    if (this.stopping) return;
    const gen = ++this.generation;
    let client: MqttClient;
    try {
      client = mqtt.connect(this.settings.url, opts);
    } catch (err) {
      this.suspect = null;
      this.fail(`cannot connect to ${this.settings.url}: ${errText(err)}`);
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    guardClient(client, MAX_PACKET_BYTES, (bytes) => {
      if (gen !== this.generation) return;
      this.counters.oversizedPackets++;
      this.log('warn', `the broker sent a ${bytes}-byte packet (limit ${MAX_PACKET_BYTES}); closing the connection`);
    });
    let closed = false;
    let connectedAt: number | null = null;
    let sawError = false;
    let takenOver = false;
    let explained = false;
    const onGone = (why: string): void => {
      if (closed || gen !== this.generation) return;
      closed = true;
      const wasConnected = this.connected;
      this.dropClient();
      if (this.stopping) return;
      if (wasConnected) this.log('warn', `connection lost: ${why}`);
      const soon = connectedAt !== null && this.now() - connectedAt < TAKEOVER_WINDOW_MS;
      if (!wasConnected) this.suspect = null; // the attempt after a suspect close failed: not a takeover
      if (takenOver) this.noteTakeover('the broker gave our session to another connection with our client id (MQTT 5 DISCONNECT 0x8E "Session taken over")');
      else if (wasConnected && !sawError && !explained && soon && connectedAt !== null) {
        // MQTT 3.1.1 has no DISCONNECT from the broker, and mosquitto 2.0 does not send 0x8E
        // under MQTT 5 either: it closes the old connection ("already connected, closing old
        // connection"). A close without an error or a reason soon after connecting, followed
        // by a reconnect that succeeds at once, is how that looks.
        this.suspect = {
          reason: `the broker closed the connection ${this.now() - connectedAt} ms after accepting it, without an error or a reason, and let us straight back in (MQTT ${this.protocol === 5 ? '5' : '3.1.1'}): how a takeover by another connection with our client id looks`,
          at: this.now(),
        };
      }
      this.scheduleReconnect();
    };
    // Our own bound on CONNECT → CONNACK, on top of mqtt.js's: whatever mqtt.js does, an attempt ends.
    this.watchdog = setTimeout(() => {
      if (!this.connected) {
        this.fail(`no CONNACK from ${this.settings.url} within ${this.connectTimeoutMs} ms`);
        onGone('connect timeout');
      }
    }, this.connectTimeoutMs + 1000);
    client.on('connect', () => {
      if (gen !== this.generation) return;
      connectedAt = this.now();
      void this.onConnect(client, gen);
    });
    client.on('disconnect', (packet) => {
      if (gen !== this.generation) return;
      explained = true;
      if (packet.reasonCode === SESSION_TAKEN_OVER) takenOver = true;
      else this.log('warn', `the broker disconnects us: reason ${packet.reasonCode ?? '?'}${packet.properties?.reasonString ? ` (${packet.properties.reasonString})` : ''}`);
    });
    client.on('message', (topic, payload) => {
      if (gen !== this.generation) return;
      this.onMessage(topic, payload);
    });
    client.on('error', (err) => {
      if (gen !== this.generation) return;
      sawError = true;
      if (this.protocol === 5 && isProtocolRefusal(err)) {
        this.log('info', 'broker refuses MQTT 5; falling back to 3.1.1');
        this.protocol = 4;
        this.attempt = -1; // next attempt immediately (see scheduleReconnect)
      } else {
        this.fail(errText(err));
      }
    });
    client.on('close', () => onGone('closed'));
  }

  private async onConnect(client: MqttClient, gen: number): Promise<void> {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.connected = true;
    this.attempt = 0;
    this.counters.connects++;
    this.log('info', `connected to ${this.settings.url} (MQTT ${this.protocol === 5 ? '5' : '3.1.1'})`);
    const seq = this.nextSeq;
    this.bdSeq = seq;
    this.bdSeqSave = this.bdSeqSave
      .then(() => saveBdSeq(this.info.stateDir, seq))
      .catch((err) => this.log('warn', `cannot save bdSeq: ${errText(err)}`));
    this.outbox.setRetained(this.topics.status, this.stopping ? STATUS_OFFLINE : STATUS_ONLINE);
    this.outbox.markAllDirty();
    await this.refreshBirth(seq);
    if (gen !== this.generation || !this.connected) return;
    // Our own status too: to see an older session's will overwrite it (handled in onMessage).
    client.subscribe([this.topics.cmdRebirth, this.topics.status], { qos: 1 }, (err) => {
      if (err && gen === this.generation) this.fail(`subscribe ${this.topics.cmdRebirth}: ${errText(err)}`);
    });
    if (this.suspect) {
      const t = this.suspect;
      this.suspect = null;
      this.noteTakeover(t.reason);
      this.takeover = t;
    }
    if (this.takeover) {
      const t = this.takeover;
      this.takeover = null;
      this.event({ type: 'mqtt-session-taken-over', at: new Date(t.at).toISOString(), reason: t.reason, clientId: this.clientId });
    }
    this.flush();
  }

  private noteTakeover(reason: string): void {
    this.counters.takeovers++;
    this.takeover = { reason, at: this.now() };
    this.log('warn', `session taken over: ${reason}`);
  }

  /** Publish options of a topic: a status carries the session's bdSeq (MQTT 5 user property). */
  private publishOptions(topic: string, retain: boolean): IClientPublishOptions {
    const o: IClientPublishOptions = { qos: 1, retain };
    if (topic === this.topics.status && this.protocol === 5) o.properties = { userProperties: { bdSeq: String(this.bdSeq) } };
    return o;
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnectTimer) return;
    const delay = this.attempt < 0 ? 0 : backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt = Math.max(0, this.attempt) + (this.attempt < 0 ? 0 : 1);
    this.log('debug', `reconnecting in ${delay} ms`);
    this.reconnectTimer = setTimeout(() => void this.connectOnce(), delay);
  }

  /** Forgets the current client; its in-flight publishes go back to the outbox. */
  private dropClient(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.connected = false;
    this.generation++;
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners();
      // mqtt.js may still emit 'error' while tearing down; an EventEmitter 'error' without a
      // listener would throw, so keep one.
      c.on('error', () => undefined);
      try {
        c.end(true);
      } catch {
        // already ended
      }
    }
    const pend = [...this.pending.values()];
    this.pending.clear();
    for (const p of pend) p.onFail();
  }

  private fail(message: string): void {
    this.lastError = message;
    if (!this.connected) this.counters.connectFailures++;
    this.log('warn', message);
  }

  // ---- publishing -----------------------------------------------------------------------------

  private setRetained(topic: string, payload: string): void {
    if (this.outbox.setRetained(topic, payload)) this.scheduleFlush();
  }

  private async refreshBirth(seq: number): Promise<void> {
    let ifs: BirthInterface[] = [];
    try {
      ifs = await this.info.interfaces();
    } catch (err) {
      this.log('warn', `interfaces for birth: ${errText(err)}`);
    }
    const bootTimeMs = this.info.bootTimeMs ?? this.now() - uptime() * 1000;
    this.outbox.setRetained(
      this.topics.birth,
      birthPayload({ version: this.info.version, board: this.info.board, bootTimeMs, bdSeq: seq, interfaces: ifs, config: this.info.config?.() ?? null }),
    );
  }

  private scheduleFlush(): void {
    if (this.flushTimer || !this.connected) return;
    this.flushTimer = setTimeout(() => this.flush(), this.coalesceMs);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.client || !this.connected) return;
    const room = (): number => this.maxInflight - this.pending.size;
    if (room() > 0 && this.outbox.hasDirty) {
      for (const [topic, payload] of this.outbox.takeDirty(room())) {
        this.publishTracked(topic, payload, this.publishOptions(topic, true), () => this.outbox.failed(topic, payload));
      }
    }
    while (room() > 0) {
      const e = this.outbox.events.shift();
      if (e === undefined) break;
      this.publishTracked(this.topics.events, e, { qos: 1, retain: false }, () => this.outbox.events.unshift(e));
    }
    for (;;) {
      const h = this.outbox.health.shift();
      if (!h) break;
      this.publishHealth(h.payload, h.atMs);
    }
  }

  private publishTracked(topic: string, payload: string, opts: IClientPublishOptions, onFail: () => void): void {
    const c = this.client;
    if (!c) {
      onFail();
      return;
    }
    const id = ++this.pendingSeq;
    const gen = this.generation;
    this.pending.set(id, { onFail });
    c.publish(topic, payload, opts, (err) => {
      if (gen !== this.generation) return; // the connection is gone; dropClient() already requeued it
      if (!this.pending.delete(id)) return;
      if (err) {
        // Not retried at once (a broker refusing one topic would make a tight loop); it goes out
        // with the next change or reconnect.
        this.counters.publishErrors++;
        this.log('warn', `publish ${topic}: ${errText(err)}`);
        onFail();
        return;
      }
      this.counters.published++;
      if (this.outbox.hasDirty || this.outbox.events.size > 0) this.scheduleFlush();
    });
  }

  private healthExpiryS(): number {
    // "message expiry about twice the interval": a subscriber never sees stale health.
    return Math.max(1, Math.ceil((2 * this.settings.healthIntervalMs) / 1000));
  }

  private publishHealth(payload: string, atMs: number): void {
    const c = this.client;
    if (!c || !this.connected) {
      this.outbox.health.push({ payload, atMs });
      return;
    }
    const ageS = Math.floor((this.now() - atMs) / 1000);
    const left = this.healthExpiryS() - ageS;
    if (left <= 0) return; // expired while we were offline
    const opts: IClientPublishOptions = { qos: 0, retain: false };
    if (this.protocol === 5) opts.properties = { messageExpiryInterval: left };
    c.publish(this.topics.health, payload, opts, (err) => {
      if (err) this.counters.publishErrors++;
      else this.counters.published++;
    });
  }

  private async healthTick(): Promise<void> {
    const src = this.healthSource;
    if (!src || this.healthBusy || this.stopping) return;
    this.healthBusy = true;
    try {
      const at = this.now();
      const sample = await src();
      if (this.stopping) return;
      this.publishHealth(JSON.stringify(sample), at);
    } catch (err) {
      this.counters.healthErrors++;
      this.log('warn', `health sample failed: ${errText(err)}`);
    } finally {
      this.healthBusy = false;
    }
  }

  // ---- inbound --------------------------------------------------------------------------------

  /** A counted drop, logged at a bounded rate: a flood of junk must not become a flood of log lines. */
  private dropped(kind: string, msg: string): void {
    const n = this.dropLog.allow(kind);
    if (n !== null) this.log('warn', msg + suppressedNote(n));
  }

  private readonly dropLog = new LogThrottle(systemClock);

  private onMessage(topic: string, payload: Buffer): void {
    if (payload.length > this.maxInboundBytes) {
      this.counters.inboundOversized++;
      this.dropped('oversized', `dropped ${payload.length}-byte message on ${topic} (limit ${this.maxInboundBytes})`);
      return;
    }
    if (topic === this.topics.status) {
      this.onOwnStatus(payload.toString('utf8'));
      return;
    }
    if (topic !== this.topics.cmdRebirth) {
      this.counters.inboundUnexpected++;
      this.dropped('unexpected', `dropped message on unexpected topic ${JSON.stringify(topic)}`);
      return;
    }
    // cmd/rebirth carries nothing, or a JSON object (e.g. {"by":"fleet"}); anything else is junk.
    if (payload.length > 0) {
      let ok = false;
      try {
        const v: unknown = JSON.parse(payload.toString('utf8'));
        ok = typeof v === 'object' && v !== null && !Array.isArray(v);
      } catch {
        ok = false;
      }
      if (!ok) {
        this.counters.inboundMalformed++;
        this.dropped('malformed', `dropped malformed ${topic} message`);
        return;
      }
    }
    this.counters.rebirths++;
    this.outbox.markAllDirty();
    this.scheduleFlush();
  }

  /**
   * Our status as the broker now keeps it. Anything but `online` while we are connected is a
   * will of an older session of ours (or someone else's publish): put `online` back, at most
   * once per STATUS_REPAIR_MS so nobody can make us publish in a loop.
   */
  private onOwnStatus(payload: string): void {
    if (this.stopping || !this.connected || payload === STATUS_ONLINE || this.repairTimer) return;
    this.repairTimer = setTimeout(() => {
      this.repairTimer = null;
      if (this.stopping || !this.connected) return;
      this.counters.statusRepairs++;
      this.log('info', `${this.topics.status} was set to something else while we are online; publishing online again`);
      this.publishTracked(this.topics.status, STATUS_ONLINE, this.publishOptions(this.topics.status, true), () => this.outbox.failed(this.topics.status, STATUS_ONLINE));
    }, STATUS_REPAIR_MS);
    this.repairTimer.unref?.();
  }
}

async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const r = await Promise.race([p.then(() => true), t]);
  if (timer) clearTimeout(timer);
  return r;
}
