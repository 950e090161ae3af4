// MQTT against hostile clients of the same broker (a client with broker access trying to spoof, replace or flood a board),
// with a real mosquitto inside a lab namespace (test/lab/mosquitto.ts; the test process talks
// to it over its unix socket):
// - the client id has a random part: ten connections as `tandem-NODE` do not disturb the
//   board; a real takeover (its actual id) is reported as an `events` message once the board
//   is back, under MQTT 5 and 3.1.1 (DISCONNECT 0x8E, or, as mosquitto 2.0 does it, a close
//   soon after connecting);
// - the will carries the session's bdSeq: a late `lost` of a session from before a reboot is
//   recognised by `tandem fleet` and ignored, and the board puts `online` back;
// - escape sequences in retained payloads and topic names never reach fleet's output;
// - a 32 MB message to a board's cmd/rebirth leaves its memory bounded (MQTT 5: the broker
//   drops it, we announced a maximum packet size; 3.1.1: the connection is closed when the
//   header announces it, and the board reconnects).
// Build first: ./build.sh (the last test runs the daemon).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import mqtt from 'mqtt';
import type { MqttSettings } from '../../src/config/model.ts';
import { Reporter } from '../../src/report/session.ts';
import { runFleet } from '../../src/report/fleet-cli.ts';
import { birthPayload } from '../../src/report/payloads.ts';
import { withLab, type Lab } from './lab.ts';
import { json, mqttBlock, startLabBroker, subscribe, type LabBroker, type Subscriber } from './mosquitto.ts';
import { pairConfig } from './vrrp-configs.ts';

async function tmp(t: TestContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tandem-mqtt-hostile-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

function settings(url: string, over: Partial<MqttSettings> = {}): MqttSettings {
  return {
    url, prefix: 'tandem', node: null, username: null, passwordFile: null, caFile: null, certFile: null, keyFile: null,
    keepaliveS: 2, healthIntervalMs: 0, protocolVersion: 5, offlineQueue: 100, enabled: true,
    homeassistant: false, homeassistantPrefix: 'homeassistant',
    pos: { file: 'test', line: 1, col: 1 }, ...over,
  };
}

function reporter(t: TestContext, url: string, node: string, stateDir: string, bootId: string, over: Partial<MqttSettings> = {}): Reporter {
  const r = new Reporter(
    settings(url, over),
    { node, board: 'testboard', version: '0.0.0-test', stateDir, bootId, interfaces: () => [] },
    { backoff: { baseMs: 100, maxMs: 400 }, connectTimeoutMs: 1000, log: () => undefined },
  );
  t.after(() => r.stop());
  return r;
}

async function setup(t: TestContext, name: string): Promise<{ lab: Lab; broker: LabBroker; sub: Subscriber }> {
  const lab = await withLab(t, { name, realServers: 0 });
  const broker = await startLabBroker(lab);
  const sub = await subscribe(broker.localUrl, 'tandem/#');
  t.after(() => sub.close());
  return { lab, broker, sub };
}

/** Connects once with `clientId`, waits for CONNACK, and returns the client (no reconnects). */
async function impostor(t: TestContext, url: string, clientId: string, protocolVersion: 4 | 5): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(url, { clientId, protocolVersion, reconnectPeriod: 0, connectTimeout: 3000 });
  c.on('error', () => undefined);
  t.after(() => new Promise<void>((r) => c.end(true, {}, () => r())));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('close', () => reject(new Error(`impostor ${clientId} could not connect`)));
  });
  return c;
}

test('the client id is not guessable: tandem-NODE knocks nobody off; a real takeover is reported after reconnecting', async (t) => {
  const { lab, broker, sub } = await setup(t, 'mqtt-takeover');
  const dir = await tmp(t);
  const r = reporter(t, broker.localUrl, 'lbx', dir, 'boot-1');
  await r.start();
  await sub.waitMsg('lbx online', (m) => m.topic === 'tandem/lbx/status' && m.payload === 'online');
  await lab.waitFor(() => r.stats().connected && r.stats().inflight === 0, { what: 'lbx settled' });
  const seq = r.stats().bdSeq;
  const from = sub.msgs.length;
  for (let i = 0; i < 10; i++) {
    const c = await impostor(t, broker.localUrl, 'tandem-lbx', 4);
    await new Promise<void>((res) => c.end(true, {}, () => res()));
  }
  // The board would have been knocked off within a round trip of each connect; give the last one time to show.
  await new Promise((res) => setTimeout(res, 1000)); // asserting an absence
  assert.equal(r.stats().connects, 1, 'never reconnected');
  assert.equal(r.stats().bdSeq, seq, 'bdSeq did not move');
  assert.ok(!sub.msgs.slice(from).some((m) => m.topic === 'tandem/lbx/status' && m.payload === 'lost'), 'no lost will');
  assert.match(r.stats().clientId ?? '', /^tandem-lbx-[0-9a-f]{16}$/);

  // Someone who knows the real id takes the session over (MQTT 5: DISCONNECT 0x8E to the board).
  const mark = sub.msgs.length;
  await impostor(t, broker.localUrl, r.stats().clientId!, 5);
  const ev = json(await sub.waitMsg('takeover event', (m) => m.topic === 'tandem/lbx/events' && json(m).type === 'mqtt-session-taken-over', { from: mark }));
  // mosquitto 2.0 closes the old connection without DISCONNECT 0x8E, so the close is what is seen.
  assert.match(String(ev.reason), /0x8E "Session taken over"|closed the connection \d+ ms after accepting it/);
  assert.equal(r.stats().takeovers, 1);
  assert.ok(r.stats().connected);

  // The same under MQTT 3.1.1: the broker just closes the board's connection.
  const r4 = reporter(t, broker.localUrl, 'lby', dir, 'boot-1', { protocolVersion: 4 });
  await r4.start();
  await sub.waitMsg('lby online', (m) => m.topic === 'tandem/lby/status' && m.payload === 'online');
  const mark4 = sub.msgs.length;
  await impostor(t, broker.localUrl, r4.stats().clientId!, 4);
  const ev4 = json(await sub.waitMsg('3.1.1 takeover event', (m) => m.topic === 'tandem/lby/events' && json(m).type === 'mqtt-session-taken-over', { from: mark4 }));
  assert.match(String(ev4.reason), /MQTT 3\.1\.1/);
});

test('a late lost will of a session from before a reboot carries its bdSeq: fleet ignores it and the board puts online back', async (t) => {
  const { lab, broker, sub } = await setup(t, 'mqtt-stale-will');
  const dir = await tmp(t);
  // The first boot's board reaches the broker through a relay we can silence (a power cut the
  // broker only notices when the keepalive runs out: 1.5 x 2 s).
  const relayPath = join(dir, 'relay.sock');
  let silent = false;
  const pairs = new Set<Socket>();
  const relay = createServer((down) => {
    const up = connect(broker.socketPath);
    for (const s of [down, up]) {
      pairs.add(s);
      s.on('error', () => undefined);
      s.on('close', () => pairs.delete(s));
    }
    down.on('data', (d) => { if (!silent) up.write(d); });
    up.on('data', (d) => { if (!silent) down.write(d); });
  });
  await new Promise<void>((res) => relay.listen(relayPath, () => res()));
  t.after(() => {
    for (const s of pairs) s.destroy();
    return new Promise<void>((res) => relay.close(() => res()));
  });
  const first = reporter(t, `mqtt+unix://${relayPath}`, 'lbz', dir, 'boot-1');
  await first.start();
  await sub.waitMsg('first boot online', (m) => m.topic === 'tandem/lbz/status' && m.payload === 'online');
  const oldSeq = first.stats().bdSeq;
  // The first boot saved its bdSeq (written with fsync, after connecting) before the power cut.
  await lab.waitFor(async () => (await readFile(join(dir, 'bdseq'), 'utf8').catch(() => '')).trim() === String(oldSeq), { what: 'bdseq saved' });
  silent = true;
  // The board reboots: a new boot id, the same state directory, straight to the broker.
  const second = reporter(t, broker.localUrl, 'lbz', dir, 'boot-2');
  await second.start();
  await sub.waitMsg('second boot birth', (m) => m.topic === 'tandem/lbz/birth' && (json(m).bdSeq as number) > oldSeq);
  assert.notEqual(second.stats().clientId, first.stats().clientId);
  const mark = sub.msgs.length;
  const lost = await sub.waitMsg('the old session\'s will', (m) => m.topic === 'tandem/lbz/status' && m.payload === 'lost', { from: mark, timeoutMs: 10_000 });
  assert.equal(lost.userProperties?.bdSeq, String(oldSeq), 'the will carries the old session\'s bdSeq');
  // The board saw its status overwritten and published online again (retained).
  await sub.waitMsg('online put back', (m) => m.topic === 'tandem/lbz/status' && m.payload === 'online', { from: mark });
  assert.equal(second.stats().statusRepairs, 1);
  const late = await subscribe(broker.localUrl, 'tandem/lbz/status');
  t.after(() => late.close());
  const retained = await late.waitMsg('retained status', (m) => m.retain);
  assert.equal(retained.payload, 'online');

  // The fleet while such a will is the retained status (the board has not put online back yet):
  // retained as the broker would keep them, the newer birth and the older session's will.
  const pub = (topic: string, payload: string, bdSeq?: number): Promise<void> => new Promise((res, rej) => {
    sub.client.publish(topic, payload, { qos: 1, retain: true, ...(bdSeq !== undefined ? { properties: { userProperties: { bdSeq: String(bdSeq) } } } : {}) },
      (e) => (e ? rej(e) : res()));
  });
  await pub('tandem/lbq/birth', birthPayload({ version: 'v', board: 'b', bootTimeMs: 0, bdSeq: oldSeq + 1, interfaces: [] }));
  await pub('tandem/lbq/status', 'lost', oldSeq);
  await pub('tandem/lbr/birth', birthPayload({ version: 'v', board: 'b', bootTimeMs: 0, bdSeq: 9, interfaces: [] }));
  await pub('tandem/lbr/status', 'lost', 9); // the will of the session that is current: really lost
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  assert.equal(await runFleet({ url: broker.localUrl, json: true, once: true, out, settleMs: 1500 }), 0);
  const snap = JSON.parse(text) as { boards: Array<{ node: string; condition: string }>; alerts: Array<{ kind: string; node?: string }> };
  assert.equal(snap.boards.find((b) => b.node === 'lbq')?.condition, 'online', text);
  assert.equal(snap.boards.find((b) => b.node === 'lbr')?.condition, 'lost', text);
  assert.deepEqual(snap.alerts.filter((a) => a.kind === 'lost').map((a) => a.node), ['lbr']);
});

test('escape sequences in retained payloads and topic names never reach fleet\'s output', async (t) => {
  const { broker, sub } = await setup(t, 'mqtt-escapes');
  const evil = '\x1b]0;pwned\x07\x1b[2J\x1b[H\x9b31m\u202e';
  // mosquitto refuses C0/C1 controls in topic names (a malformed packet); a bidi override it takes.
  const node = 'ev\u202eil';
  await sub.publish(`tandem/${node}/status`, 'online', { retain: true });
  await sub.publish(`tandem/${node}/birth`, birthPayload({ version: `1${evil}`, board: `b${evil}`, bootTimeMs: 0, bdSeq: 1, interfaces: [] }), { retain: true });
  await sub.publish(`tandem/${node}/vrrp/VI_1`, JSON.stringify({ state: 'MASTER', vrid: 51, vips: [`203.0.113.1${evil}`], interface: `eth0${evil}` }), { retain: true });
  await sub.waitMsg('retained birth', (m) => m.topic === `tandem/${node}/birth`);
  const run = async (o: { json?: boolean; once?: boolean }): Promise<string> => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString('utf8')));
    assert.equal(await runFleet({ url: broker.localUrl, out, settleMs: 1500, ...o }), 0);
    return text;
  };
  const table = await run({ once: true });
  assert.doesNotMatch(table, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/, `control characters in the table: ${JSON.stringify(table)}`);
  assert.match(table, /ev\\u\{202e\}il/);
  assert.match(table, /1\\x1b\]0;pwned\\x07\\x1b\[2J/);
  const j = await run({ json: true, once: true });
  assert.doesNotMatch(j, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
  const snap = JSON.parse(j) as { boards: Array<{ node: string; version: string }> };
  assert.equal(snap.boards[0]?.version, `1${evil}`, 'the JSON still carries the value itself');
});

async function rssKiB(pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

test('a 32 MB message to a board\'s cmd/rebirth leaves its memory bounded, under MQTT 5 and 3.1.1', { timeout: 240_000 }, async (t) => {
  const { lab, broker, sub } = await setup(t, 'mqtt-32mb');
  const big = Buffer.alloc(32 * 1024 * 1024, 0x41);
  for (const version of [5, 4] as const) {
    const block = mqttBlock(broker.url, { keepaliveS: 2, healthIntervalS: 5, extra: `    protocol_version ${version}\n` });
    const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, version: 3, advertInt: 0.5, noSyncGroup: true, extra: block }), {
      waitForLog: /mqtt: connected to/,
    });
    await a.waitForLog(/Entering MASTER STATE/, 15_000);
    const pid = a.proc.pid;
    let idle = Infinity;
    for (let i = 0; i < 5; i++) {
      idle = Math.min(idle, await rssKiB(pid));
      await new Promise((r) => setTimeout(r, 200)); // sampling interval
    }
    const mark = a.proc.mark();
    const from = sub.msgs.length;
    await sub.publish('tandem/lb-a/cmd/rebirth', big);
    let peak = 0;
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      peak = Math.max(peak, await rssKiB(pid));
      await new Promise((r) => setTimeout(r, 100)); // sampling interval
    }
    t.diagnostic(`MQTT ${version}: RSS idle ${Math.round(idle / 1024)} MiB, peak after a 32 MB message ${Math.round(peak / 1024)} MiB`);
    assert.ok(peak < idle + 40 * 1024, `MQTT ${version}: RSS ${Math.round(peak / 1024)} MiB, idle ${Math.round(idle / 1024)} MiB`);
    if (version === 4) {
      await a.waitForLog(/the broker sent a 335544\d\d-byte packet \(limit 262144\); closing the connection/, 10_000, { from: mark });
      await a.waitForLog(/mqtt: connected to/, 10_000, { from: mark });
    } else {
      assert.ok(!sub.msgs.slice(from).some((m) => m.topic === 'tandem/lb-a/status' && m.payload !== 'online'), 'stayed connected');
    }
    // Still serving: a proper cmd/rebirth republishes the birth.
    const before = sub.msgs.length;
    await sub.publish('tandem/lb-a/cmd/rebirth', '{"by":"test"}');
    await sub.waitMsg('rebirth after the flood', (m) => m.topic === 'tandem/lb-a/birth', { from: before });
    const st = await lab.stopBoard('a', 'SIGTERM');
    assert.equal(st?.code, 0, a.proc.tail());
  }
});
