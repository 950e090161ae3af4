// MQTT reporting against a real mosquitto started by the test (listener on 127.0.0.1, a free
// port, no persistence). Every broker and child process is killed by PID in t.after.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { MqttSettings } from '../../src/config/model.ts';
import { Reporter, type ReporterOptions } from '../../src/report/session.ts';
import type { VrrpReport } from '../../src/report/payloads.ts';
import { runFleet } from '../../src/report/fleet-cli.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

function tmp(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'tandem-mqtt-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

interface Broker {
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function startBroker(t: TestContext, dir: string, port: number, extra: string[] = [], listener = `listener ${port} 127.0.0.1`): Promise<Broker> {
  const conf = join(dir, `mosquitto-${port}-${Date.now()}.conf`);
  writeFileSync(conf, [listener, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', ...extra, ''].join('\n'));
  const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errText = '';
  proc.stderr?.on('data', (d: Buffer) => (errText += d.toString()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await exited;
  };
  t.after(stop);
  const start = Date.now();
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null) throw new Error(`mosquitto exited: ${errText}`);
    if (Date.now() - start > 5000) throw new Error(`mosquitto did not listen on ${port}: ${errText}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, proc, stop };
}

interface Msg {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

async function subscriber(t: TestContext, url: string, filter: string, opts: mqtt.IClientOptions = {}): Promise<{ client: MqttClient; msgs: Msg[] }> {
  const msgs: Msg[] = [];
  const client = mqtt.connect(url, { reconnectPeriod: 100, connectTimeout: 2000, ...opts });
  client.on('error', () => undefined);
  client.on('message', (topic, payload, packet) => msgs.push({ topic, payload: payload.toString(), retain: packet.retain, at: Date.now() }));
  t.after(() => new Promise<void>((r) => client.end(true, {}, () => r())));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('subscriber did not connect')), 5000);
    client.once('connect', () => client.subscribe(filter, { qos: 1 }, (e) => (clearTimeout(timer), e ? reject(e) : resolve())));
  });
  // resubscribe after a broker restart
  client.on('connect', () => client.subscribe(filter, { qos: 1 }));
  return { client, msgs };
}

function settings(url: string, over: Partial<MqttSettings> = {}): MqttSettings {
  return {
    url,
    prefix: 'tandem',
    node: null,
    username: null,
    passwordFile: null,
    caFile: null,
    certFile: null,
    keyFile: null,
    keepaliveS: 2,
    healthIntervalMs: 1000,
    protocolVersion: 5,
    offlineQueue: 100,
    enabled: true,
    homeassistant: false, homeassistantPrefix: 'homeassistant',
    pos: { file: 'test', line: 1, col: 1 },
    ...over,
  };
}

const FAST: ReporterOptions = { backoff: { baseMs: 100, maxMs: 400 }, connectTimeoutMs: 1000, log: () => undefined };

function reporter(t: TestContext, url: string, node: string, stateDir: string, over: Partial<MqttSettings> = {}, opts: ReporterOptions = {}): Reporter {
  const r = new Reporter(
    settings(url, over),
    { node, board: 'testboard', version: '0.0.0-test', stateDir, interfaces: () => [{ name: 'eth0', mac: null, addresses: ['192.0.2.1/24'] }] },
    { ...FAST, ...opts },
  );
  t.after(() => r.stop());
  return r;
}

function vrrp(state: VrrpReport['state'], over: Partial<VrrpReport> = {}): VrrpReport {
  return { state, priority: 100, effectivePriority: 100, vips: ['203.0.113.10'], masterAddress: null, since: Date.now(), vrid: 51, interface: 'eth0', reason: 'initial', ...over };
}

function last(msgs: Msg[], topic: string): Msg | undefined {
  for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i]?.topic === topic) return msgs[i];
  return undefined;
}

test('online, birth with bdSeq +1 across runs, vrrp retained, offline on stop', async (t) => {
  const dir = tmp(t);
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  await startBroker(t, dir, port);
  const sub = await subscriber(t, url, 'tandem/#');

  const seqs: number[] = [];
  for (let run = 0; run < 2; run++) {
    const r = reporter(t, url, 'lb1', dir);
    await r.start();
    await waitFor('online', () => last(sub.msgs, 'tandem/lb1/status')?.payload === 'online');
    const birth = await waitFor('birth', () => {
      const m = last(sub.msgs, 'tandem/lb1/birth');
      return m && JSON.parse(m.payload).bdSeq > (seqs.at(-1) ?? 0) ? m : undefined;
    });
    const b = JSON.parse(birth.payload);
    assert.equal(b.board, 'testboard');
    assert.equal(b.interfaces[0].name, 'eth0');
    seqs.push(b.bdSeq);

    const before = sub.msgs.length;
    const calledAt = Date.now();
    r.setVrrp('VI_1', vrrp('MASTER', { masterAddress: '192.0.2.1' }));
    const got = await waitFor('vrrp', () => sub.msgs.slice(before).find((m) => m.topic === 'tandem/lb1/vrrp/VI_1'), 2000);
    t.diagnostic(`vrrp change reached a subscriber ${got.at - calledAt} ms after setVrrp`);
    assert.equal(JSON.parse(got.payload).state, 'MASTER');

    await r.stop();
    await waitFor('offline', () => last(sub.msgs, 'tandem/lb1/status')?.payload === 'offline');
  }
  assert.equal(seqs[1], (seqs[0] ?? 0) + 1);
  assert.equal(readFileSync(join(dir, 'bdseq'), 'utf8').trim(), String(seqs[1]));

  // A late subscriber sees the retained state.
  const late = await subscriber(t, url, 'tandem/lb1/#');
  await waitFor('retained vrrp', () => late.msgs.find((m) => m.topic === 'tandem/lb1/vrrp/VI_1' && m.retain));
  await waitFor('retained offline', () => late.msgs.find((m) => m.topic === 'tandem/lb1/status' && m.retain && m.payload === 'offline'));
});

test('SIGKILL of a reporting process yields lost within 1.5 x keepalive', async (t) => {
  const dir = tmp(t);
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  await startBroker(t, dir, port);
  const sub = await subscriber(t, url, 'tandem/+/status');
  const script = join(dir, 'child.mts');
  writeFileSync(
    script,
    `import { Reporter } from ${JSON.stringify(join(ROOT, 'src/report/session.ts'))};
const r = new Reporter(${JSON.stringify(settings(url))}, { node: 'victim', board: 'b', version: 'v', stateDir: ${JSON.stringify(dir)}, interfaces: () => [] });
await r.start();
setInterval(() => undefined, 1000);
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await waitFor('child online', () => last(sub.msgs, 'tandem/victim/status')?.payload === 'online', 15000);
  const killedAt = Date.now();
  child.kill('SIGKILL');
  const lost = await waitFor('lost', () => {
    const m = last(sub.msgs, 'tandem/victim/status');
    return m?.payload === 'lost' ? m : undefined;
  }, 3000);
  assert.ok(lost.at - killedAt <= 3000, 'lost within 1.5 x 2 s keepalive');
});

test('broker restart: reconnects and republishes; broker down: buffers stay bounded', async (t) => {
  const dir = tmp(t);
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const b1 = await startBroker(t, dir, port);
  const r = reporter(t, url, 'lb2', dir, { offlineQueue: 50 });
  await r.start();
  r.setVrrp('VI_1', vrrp('BACKUP'));
  r.setRealServer('203.0.113.10 80', '198.51.100.11 8080', { up: true, weight: 1, lastCheck: Date.now(), failures: 0, latencyMs: 2 });
  await waitFor('connected', () => r.stats().connected && r.stats().dirtyTopics === 0 && r.stats().inflight === 0);
  const seq1 = r.stats().bdSeq;

  await b1.stop();
  await waitFor('disconnected', () => !r.stats().connected);
  for (let i = 0; i < 100_000; i++) {
    r.event({ type: 'test', i });
    r.setVrrp('VI_1', vrrp(i % 2 ? 'MASTER' : 'BACKUP', { since: i }));
  }
  const s = r.stats();
  assert.ok(s.bufferedEvents <= 50, `events bounded (${s.bufferedEvents})`);
  assert.ok(s.droppedEvents >= 100_000 - 50);
  assert.ok(s.retainedTopics <= 4, `retained topics bounded (${s.retainedTopics})`);
  assert.ok(s.bufferedHealth <= 3);
  assert.equal(s.inflight, 0, 'nothing handed to mqtt.js while offline');

  await startBroker(t, dir, port); // fresh broker: no retained state at all
  const sub = await subscriber(t, url, 'tandem/lb2/#');
  await waitFor('republished vrrp', () => last(sub.msgs, 'tandem/lb2/vrrp/VI_1'), 5000);
  await waitFor('republished rs', () => last(sub.msgs, 'tandem/lb2/lb/203.0.113.10:80/198.51.100.11:8080'));
  await waitFor('online', () => last(sub.msgs, 'tandem/lb2/status')?.payload === 'online');
  // The last value set while offline wins.
  assert.equal(JSON.parse(last(sub.msgs, 'tandem/lb2/vrrp/VI_1')?.payload ?? '{}').state, 'MASTER');
  // The 50 newest events were kept and go out once connected. The reporter may reconnect a
  // moment before this subscriber has subscribed (its backoff timer against our connect), and
  // events are not retained, so assert on the reporter's side that all 50 left, and on the
  // subscriber's that whatever it saw came from the newest 50, in order.
  await waitFor('buffered events drained', () => r.stats().bufferedEvents === 0 && r.stats().inflight === 0);
  // A fixed pause on purpose: what follows asserts an absence (no more than the 50 buffered
  // events arrive), and the subscriber's copies of what left are still in flight.
  await new Promise((res) => setTimeout(res, 300));
  const seen = sub.msgs.filter((m) => m.topic === 'tandem/lb2/events').map((m) => (JSON.parse(m.payload) as { i: number }).i);
  assert.ok(seen.length <= 50, `at most the 50 buffered events (${seen.length})`);
  assert.ok(seen.every((i, k) => i >= 100_000 - 50 && (k === 0 || i > seen[k - 1]!)), `only the newest, in order: ${seen.slice(0, 5)}`);
  assert.ok(r.stats().bdSeq > seq1);
});

test('TLS with a CA made by the test, client certificate and key', async (t) => {
  const dir = tmp(t);
  const ossl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=tandem test CA');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext');
  ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=lb-tls');
  ossl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '1');
  // mosquitto started as root drops to the `mosquitto` user: it must be able to read these.
  chmodSync(dir, 0o755);
  for (const f of ['ca.crt', 'server.crt', 'server.key']) chmodSync(join(dir, f), 0o644);
  const port = await freePort();
  await startBroker(t, dir, port, [
    `cafile ${join(dir, 'ca.crt')}`,
    `certfile ${join(dir, 'server.crt')}`,
    `keyfile ${join(dir, 'server.key')}`,
    'require_certificate true',
  ]);
  const url = `mqtts://127.0.0.1:${port}`;
  const tlsFiles = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') };
  const r = reporter(t, url, 'lbtls', dir, tlsFiles);
  await r.start();
  const sub = await subscriber(t, url, 'tandem/lbtls/#', { ca: readFileSync(tlsFiles.caFile), cert: readFileSync(tlsFiles.certFile), key: readFileSync(tlsFiles.keyFile) });
  await waitFor('online over TLS', () => last(sub.msgs, 'tandem/lbtls/status')?.payload === 'online');

  // Without the CA the server certificate is not trusted: refused, retried, no crash.
  const bad = reporter(t, url, 'lbnoca', dir, { certFile: tlsFiles.certFile, keyFile: tlsFiles.keyFile });
  await bad.start();
  await waitFor('untrusted server refused twice', () => bad.stats().connectFailures >= 2);
  assert.equal(bad.stats().connected, false);
});

test('bad input on cmd/rebirth is counted and ignored; a valid one republishes', async (t) => {
  const dir = tmp(t);
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  await startBroker(t, dir, port);
  const r = reporter(t, url, 'lb3', dir);
  await r.start();
  r.setVrrp('VI_1', vrrp('MASTER'));
  const sub = await subscriber(t, url, 'tandem/lb3/#');
  await waitFor('birth', () => last(sub.msgs, 'tandem/lb3/birth'));
  await waitFor('subscribed', () => r.stats().connected && r.stats().inflight === 0);
  const pub = (payload: string | Buffer): Promise<void> =>
    new Promise((res, rej) => sub.client.publish('tandem/lb3/cmd/rebirth', payload, { qos: 1 }, (e) => (e ? rej(e) : res())));
  // The reporter's SUBSCRIBE has landed once a command reaches it: probe until one is counted.
  for (let i = 0; r.stats().inboundMalformed === 0; i++) {
    assert.ok(i < 50, 'the reporter never received cmd/rebirth');
    await pub('probe');
    await waitFor('the probe counted', () => r.stats().inboundMalformed > 0, 100).catch(() => undefined);
  }
  const probes = r.stats().inboundMalformed;
  await pub('not json');
  await pub('[1,2]');
  await pub(Buffer.alloc(100_000, 0x41));
  await pub(Buffer.from([0xff, 0xfe, 0x00]));
  await waitFor('counted', () => r.stats().inboundMalformed >= probes + 3 && r.stats().inboundOversized >= 1);
  assert.equal(r.stats().rebirths, 0);
  assert.equal(r.stats().connected, true);

  const births = (): number => sub.msgs.filter((m) => m.topic === 'tandem/lb3/birth').length;
  const n = births();
  await pub('{"by":"test"}');
  await waitFor('rebirth', () => births() > n && r.stats().rebirths === 1);
  await waitFor('vrrp republished', () => sub.msgs.filter((m) => m.topic === 'tandem/lb3/vrrp/VI_1').length >= 2);
});

test('a broker that accepts and never answers: connect timeout, retries, no crash', async (t) => {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const r = reporter(t, `mqtt://127.0.0.1:${port}`, 'lb4', tmp(t), {}, { connectTimeoutMs: 300 });
  await r.start();
  r.event({ type: 'while-silent' });
  await waitFor('three attempts', () => accepted >= 3 && r.stats().connectFailures >= 2, 10000);
  assert.equal(r.stats().connected, false);
  await r.stop();
});

test('broker refusing MQTT 5: falls back to 3.1.1', async (t) => {
  const dir = tmp(t);
  const port = await freePort();
  await startBroker(t, dir, port);
  // A front that answers a v5 CONNECT with a 3.1.1 CONNACK "unacceptable protocol version"
  // (MQTT 3.1.1 §3.2.2.3, code 1), as a 3.1.1-only broker does, and relays v4 to mosquitto.
  const sockets = new Set<net.Socket>();
  let refused = 0;
  const front = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('data', (first) => {
      // fixed header (1 byte + 1..4 bytes length), then "\0\4MQTT", then the protocol level
      let i = 1;
      while (i < 5 && ((first[i] ?? 0) & 0x80) !== 0) i++;
      const level = first[i + 7];
      if (level === 5) {
        refused++;
        s.end(Buffer.from([0x20, 0x02, 0x00, 0x01]));
        return;
      }
      const up = net.connect(port, '127.0.0.1');
      sockets.add(up);
      up.on('error', () => s.destroy());
      s.on('close', () => up.destroy());
      up.on('close', () => s.destroy());
      up.write(first);
      s.pipe(up).pipe(s);
    });
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => front.close(() => r()));
  });
  const fa = front.address();
  const frontPort = typeof fa === 'object' && fa ? fa.port : 0;
  const sub = await subscriber(t, `mqtt://127.0.0.1:${port}`, 'tandem/lb5/#');
  const r = reporter(t, `mqtt://127.0.0.1:${frontPort}`, 'lb5', dir);
  await r.start();
  await waitFor('online via 3.1.1', () => last(sub.msgs, 'tandem/lb5/status')?.payload === 'online');
  assert.equal(refused, 1);
  assert.equal(r.stats().protocolVersion, 4);
});

test('fleet --json reports split brain and no-master; exit 2 without a broker', async (t) => {
  const dir = tmp(t);
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  await startBroker(t, dir, port);
  const a = reporter(t, url, 'boardA', join(dir));
  const b = reporter(t, url, 'boardB', dir);
  await a.start();
  await b.start();
  // Two boards that cannot hear each other both become MASTER of VRID 51.
  a.setVrrp('VI_PUB', vrrp('MASTER', { masterAddress: '192.0.2.2' }));
  b.setVrrp('VI_PUB', vrrp('MASTER', { masterAddress: '192.0.2.3' }));
  a.setVrrp('VI_PRIV', vrrp('BACKUP', { vrid: 52, vips: ['198.51.100.1'] }));
  b.setVrrp('VI_PRIV', vrrp('BACKUP', { vrid: 52, vips: ['198.51.100.1'] }));
  await waitFor('published', () => [a, b].every((x) => x.stats().connected && x.stats().dirtyTopics === 0 && x.stats().inflight === 0));

  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const code = await runFleet({ url, json: true, once: true, out, settleMs: 1500 });
  assert.equal(code, 0);
  const snap = JSON.parse(text);
  const kinds = snap.alerts.map((x: { kind: string; vrid?: number }) => `${x.kind}:${x.vrid ?? ''}`).sort();
  assert.deepEqual(kinds, ['no-master:52', 'split-brain:51']);
  assert.equal(snap.boards.length, 2);

  const code2 = await runFleet({ url: `mqtt://127.0.0.1:${await freePort()}`, json: true, once: true, out: new PassThrough(), err: new PassThrough(), timeoutMs: 500 });
  assert.equal(code2, 2, 'no broker: exit 2');
});

test('health every interval with a message expiry of about twice the interval; failures counted', async (t) => {
  const dir = tmp(t);
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  await startBroker(t, dir, port);
  const got: Array<{ payload: string; expiry: number | undefined }> = [];
  const sub = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0 });
  sub.on('error', () => undefined);
  t.after(() => new Promise<void>((r) => sub.end(true, {}, () => r())));
  sub.on('message', (_topic, payload, packet) => got.push({ payload: payload.toString(), expiry: packet.properties?.messageExpiryInterval }));
  await new Promise<void>((res, rej) => sub.once('connect', () => sub.subscribe('tandem/lbh/health', { qos: 0 }, (e) => (e ? rej(e) : res()))));
  const r = reporter(t, url, 'lbh', dir, { healthIntervalMs: 1500 });
  let n = 0;
  r.setHealthSource(() => {
    n++;
    if (n === 2) throw new Error('sensor gone');
    return { intervalMs: 1500, n };
  });
  await r.start();
  await waitFor('two health messages', () => got.length >= 2, 8000);
  assert.equal(r.stats().healthErrors, 1);
  assert.deepEqual(got.slice(0, 2).map((g) => JSON.parse(g.payload).n), [1, 3]);
  assert.ok(got.every((g) => g.expiry !== undefined && g.expiry >= 1 && g.expiry <= 3), `expiry ${got.map((g) => g.expiry)}`);
});
