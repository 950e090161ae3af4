// `tandem ctl --json show …`: every show command has a data form, and its text is rendered
// from that same data (src/console/show.ts), so the JSON says what the console shows.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as config from '../../../src/config/index.ts';
import { createConsoleEngine } from '../../../src/console/index.ts';
import { COMMANDS, type Session } from '../../../src/console/engine.ts';
import { SHOWS, LOG } from '../../../src/console/show.ts';
import { startControlSocket, runCtl } from '../../../src/console/control-socket.ts';
import { tokenize } from '../../../src/console/commands.ts';
import { createCounters } from '../../../src/vrrp/counters.ts';
import type { VrrpStatus } from '../../../src/status.ts';
import { FakeClock, FakeHost, SAMPLE_CONF } from './helpers.ts';

async function session(tc: TestContext): Promise<{ s: Session; host: FakeHost; dir: string; engine: ReturnType<typeof createConsoleEngine> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-json-'));
  tc.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'keepalived.conf');
  writeFileSync(cfg, SAMPLE_CONF);
  const host = new (class extends FakeHost {
    async vrrpStatus(): Promise<VrrpStatus> {
      return { instances: this.vr, groups: [], unattributed: { vrid_err: 2 }, socketDrops: 0 };
    }
  })(cfg, dir, SAMPLE_CONF);
  const engine = createConsoleEngine(host, config, { clock: new FakeClock() });
  await engine.ready;
  return { s: engine.trustedSession('ctl'), host, dir, engine };
}

/** Every operational show command's words. */
const SHOW_WORDS = COMMANDS.filter((c) => c.path[0] === 'show' && c.modes.includes('oper') && c.path.every((p) => typeof p === 'string')).map((c) => c.path as string[]);

test('every operational show command answers JSON, and its text is the text form of that data', async (tc) => {
  const { s } = await session(tc);
  assert.deepEqual(SHOW_WORDS.map((w) => w[1]).sort(), [...SHOWS.map(([w]) => w), 'log'].sort());
  for (const words of SHOW_WORDS) {
    const line = words.join(' ');
    const j = await s.line(line, 'json');
    assert.equal(j.ok, true, `${line}: ${j.output}`);
    const data: unknown = JSON.parse(j.output);
    const text = await s.line(line);
    const form = words[1] === 'log' ? LOG : SHOWS.find(([w]) => w === words[1])![2];
    const ctx = s.showContext();
    // The JSON round trip loses nothing the text needs.
    assert.equal(form.text(data, ctx), text.output, `${line}: the text is the rendering of the JSON's data`);
  }
});

test('the JSON holds the status model: VRRP with reason and counters, real servers with their virtual server, statistics', async (tc) => {
  const { s, host } = await session(tc);
  host.vr[0]!.counters = { ...createCounters(), advert_sent: 5 };
  const vrrp = JSON.parse((await s.line('show vrrp', 'json')).output) as Array<Record<string, unknown>>;
  assert.equal(vrrp[0]!.reason, 'master down timer expired');
  assert.equal((vrrp[0]!.counters as Record<string, number>).advert_sent, 5);
  const rs = JSON.parse((await s.line('show real-servers', 'json')).output) as Array<Record<string, unknown>>;
  assert.deepEqual(rs.map((r) => [r.virtualServer, r.name, r.up]), [['203.0.113.1 80', '192.0.2.11 8080', true], ['203.0.113.1 80', '192.0.2.12 8080', false]]);
  const st = JSON.parse((await s.line('show statistics', 'json')).output) as { unattributed: Record<string, number> };
  assert.deepEqual(st.unattributed, { vrid_err: 2 });
  assert.match((await s.line('show statistics')).output, /Unattributed drops:\n {2}vrid_err: 2/);
  const log = JSON.parse((await s.line('show log 2', 'json')).output) as { lines: string[] };
  assert.deepEqual(log.lines, ['log line 1', 'log line 2']);
  const st2 = JSON.parse((await s.line('show status', 'json')).output) as Record<string, unknown>;
  assert.equal(st2.node, 'lb-a');
  assert.deepEqual(st2.mqtt, { enabled: true, connected: true });
});

test('JSON for commands without a data form and for errors', async (tc) => {
  const { s } = await session(tc);
  const bad = await s.line('show nonsense', 'json');
  assert.equal(bad.ok, false);
  const e = JSON.parse(bad.output) as { ok: boolean; error: string };
  assert.equal(e.ok, false);
  assert.doesNotMatch(e.error, /^%/);
  const help = JSON.parse((await s.line('help', 'json')).output) as { ok: boolean; output: string };
  assert.equal(help.ok, true);
  assert.match(help.output, /show status/);
  const drain = JSON.parse((await s.line('real-server 203.0.113.1:80 192.0.2.99:8080 drain', 'json')).output) as { ok: boolean; error: string };
  assert.equal(drain.ok, false);
  assert.match(drain.error, /no real server/);
  // configure mode's own shows have data forms too.
  await s.line('configure');
  assert.deepEqual(JSON.parse((await s.line('show diff', 'json')).output), { diff: '', refused: null });
  assert.match((JSON.parse((await s.line('show candidate', 'json')).output) as { text: string }).text, /vrrp_instance VI_PUB/);
});

test('the control socket: `ctl --json` marks its line; a plain line cannot, since control characters do not tokenize', async (tc) => {
  const { engine, dir } = await session(tc);
  const sock = await startControlSocket(engine, join(dir, 'run', 'ctl.sock'));
  tc.after(() => sock.close());
  let out = '';
  assert.equal(await runCtl(sock.path, ['show', 'version'], (x) => (out += x), () => undefined, { json: true }), 0);
  assert.equal((JSON.parse(out) as { version: string }).version, '9.9.9');
  out = '';
  assert.equal(await runCtl(sock.path, ['show', 'version'], (x) => (out += x), () => undefined), 0);
  assert.match(out, /^tandem 9\.9\.9 \(abc123\)/);
  out = '';
  assert.equal(await runCtl(sock.path, ['show', 'bogus'], (x) => (out += x), () => undefined, { json: true }), 1);
  assert.equal((JSON.parse(out) as { ok: boolean }).ok, false);
  assert.ok(tokenize('\0json show version').error !== null || tokenize('\0json show version').words[0]?.text !== 'show');
});
