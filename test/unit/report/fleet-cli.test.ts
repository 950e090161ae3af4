// `tandem fleet` against an in-process broker (aedes, on a unix socket in a temporary
// directory: no network): --json streams a snapshot per change, --once waits for health,
// --http serves the page until stopped.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { runFleet } from '../../../src/report/fleet-cli.ts';

async function broker(t: TestContext): Promise<{ url: string; publish(topic: string, payload: string, retain?: boolean): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-fleet-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'mqtt.sock');
  const b = await Aedes.createBroker();
  const server = createServer(b.handle);
  await new Promise<void>((r) => server.listen(path, () => r()));
  t.after(() => new Promise<void>((r) => { server.close(); b.close(() => r()); }));
  const url = `mqtt+unix://${path}`;
  const c = mqtt.connect(url, { protocolVersion: 4 });
  await new Promise<void>((r) => c.once('connect', () => r()));
  t.after(() => new Promise<void>((r) => c.end(true, {}, () => r())));
  return { url, publish: (topic, payload, retain = true) => new Promise<void>((r, j) => c.publish(topic, payload, { qos: 1, retain }, (e) => (e ? j(e) : r()))) };
}

function sink(): { stream: Writable; text(): string } {
  let s = '';
  return { stream: new Writable({ write(chunk, _e, cb) { s += String(chunk); cb(); } }), text: () => s };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('--json streams one snapshot per line as things change', async (t) => {
  const b = await broker(t);
  await b.publish('tandem/a/status', 'online');
  const out = sink();
  const ac = new AbortController();
  const run = runFleet({ url: b.url, json: true, out: out.stream, err: sink().stream, signal: ac.signal });
  await until(() => out.text().split('\n').length >= 2, 'a first line');
  await b.publish('tandem/a/vrrp/VI_1', JSON.stringify({ state: 'MASTER', vrid: 51, vips: ['203.0.113.1/24'] }));
  await until(() => out.text().includes('"MASTER"'), 'a line with the change', 5000);
  ac.abort();
  assert.equal(await run, 0);
  const lines = out.text().trim().split('\n').map((l) => JSON.parse(l) as { boards: unknown[]; pairs: unknown[] });
  assert.ok(lines.length >= 2);
  assert.equal(lines[0]!.pairs.length, 0);
  assert.equal(lines[lines.length - 1]!.pairs.length, 1);
});

test('--once waits for the health of boards that are online, within one interval', async (t) => {
  const b = await broker(t);
  await b.publish('tandem/a/status', 'online');
  const out = sink();
  const run = runFleet({ url: b.url, once: true, out: out.stream, err: sink().stream, healthWaitMs: 5000 });
  await new Promise((r) => setTimeout(r, 800)); // after the retained messages have settled (300 ms quiet)
  await b.publish('tandem/a/health', JSON.stringify({ intervalMs: 1000, cpuPercent: 42, memory: { usedPercent: 10 } }), false);
  assert.equal(await run, 0);
  assert.match(out.text(), /^a\s+ONLINE\s+-\s+-\s+42%/m);
  // No health at all: the wait ends at its bound.
  const t0 = Date.now();
  const out2 = sink();
  assert.equal(await runFleet({ url: b.url, once: true, out: out2.stream, err: sink().stream, healthWaitMs: 300 }), 0);
  assert.ok(Date.now() - t0 < 3000);
  assert.match(out2.text(), /^a\s+ONLINE/m);
});

test('--http serves the page until stopped; a port that is taken is an error', async (t) => {
  const b = await broker(t);
  const ac = new AbortController();
  let url = '';
  const run = runFleet({ url: b.url, http: { host: '127.0.0.1', port: 0 }, out: sink().stream, err: sink().stream, signal: ac.signal, onListening: (u) => { url = u; } });
  await until(() => url !== '', 'listening');
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal((await fetch(url)).status, 200);
  const port = Number(new URL(url).port);
  const err = sink();
  assert.equal(await runFleet({ url: b.url, http: { host: '127.0.0.1', port }, out: sink().stream, err: err.stream }), 2);
  assert.match(err.text(), /cannot serve the page/);
  ac.abort();
  assert.equal(await run, 0);
});
