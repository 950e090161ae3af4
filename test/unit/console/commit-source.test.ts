// The console keeps the file its user wrote: `commit` on one board of a pair rewrites only the
// lines it changed (config/source-edit.ts), and refuses, naming FILE:LINE, a change to a line the
// other board reads too. The real configuration module, files in a temporary directory.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as config from '../../../src/config/index.ts';
import { createConsoleEngine } from '../../../src/console/index.ts';
import type { Session } from '../../../src/console/engine.ts';
import { FakeClock, FakeHost } from './helpers.ts';

const PAIR = `! lb pair: one file, both boards (tandem run --config-id a | b)
@a $PRIO=150
@b $PRIO=100

global_defs {
@a  router_id lb-a      # also the MQTT node name
@b  router_id lb-b
}

include common.conf

vrrp_instance VI_PUB {
    interface eth0
    virtual_router_id 51
    priority $PRIO
@a  unicast_src_ip 192.0.2.1
@b  unicast_src_ip 192.0.2.2
    advert_int 1
    virtual_ipaddress {
        203.0.113.10/24
    }
}
`;

const COMMON = `! shared by both boards
vrrp_script chk {
    script /bin/true
}
`;

async function setup(tc: TestContext, id: string): Promise<{ host: FakeHost; s: Session; cfg: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-commit-src-'));
  tc.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'tandem.conf');
  writeFileSync(cfg, PAIR);
  writeFileSync(join(dir, 'common.conf'), COMMON);
  const host = new FakeHost(cfg, dir, PAIR);
  host.configId = { id, source: 'state' };
  const engine = createConsoleEngine(host, config, { clock: new FakeClock() });
  await engine.ready;
  const s = engine.trustedSession('ctl');
  return { host, s, cfg, dir };
}

test("commit on board a: its own lines change, comments, the include, $ definitions and b's lines stay byte for byte", async (tc) => {
  const t = await setup(tc, 'a');
  await t.s.line('configure');
  assert.ok((await t.s.line('set global_defs router_id lb-a1')).ok);
  assert.ok((await t.s.line('set vrrp_instance VI_PUB garp_master_delay 2')).ok);
  const diff = (await t.s.line('show diff')).output;
  assert.match(diff, /\n-@a  router_id lb-a      # also the MQTT node name\n\+@a  router_id lb-a1      # also the MQTT node name\n/);
  assert.match(diff, /\n\+    @a garp_master_delay 2\n/);
  const c = await t.s.line('commit');
  assert.ok(c.ok, c.output);
  const saved = readFileSync(t.cfg, 'utf8');
  assert.equal(saved, PAIR.replace('@a  router_id lb-a ', '@a  router_id lb-a1 ').replace('        203.0.113.10/24\n    }\n}\n', '        203.0.113.10/24\n    }\n    @a garp_master_delay 2\n}\n'));
  assert.equal(t.host.applied[0], saved);
  assert.equal(readFileSync(join(t.dir, 'common.conf'), 'utf8'), COMMON, 'the included file is not touched');
  // Board b reads the same as before.
  const b = (text: string): string => config.writeTree(config.parseTree(text, t.cfg, { configId: 'b' }).nodes);
  assert.equal(b(saved), b(PAIR));
  assert.equal((await t.s.line('show diff')).output, 'no changes\n');
});

test('commit refuses a change to a line both boards read, or in an included file, naming FILE:LINE; the candidate stays', async (tc) => {
  const t = await setup(tc, 'a');
  await t.s.line('configure');
  await t.s.line('set vrrp_instance VI_PUB advert_int 2');
  const d = (await t.s.line('show diff')).output;
  assert.match(d, /% commit would be refused: .*tandem\.conf:18 \(advert_int\) is read by every board/);
  const r = await t.s.line('commit');
  assert.equal(r.ok, false);
  assert.equal(r.output, `% commit refused (the candidate is kept): ${t.cfg}:18 (advert_int) is read by every board (it has no '@ID' prefix): edit it by hand\n`);
  assert.equal(readFileSync(t.cfg, 'utf8'), PAIR);
  assert.equal(t.host.applied.length, 0);
  await t.s.line('rollback');
  await t.s.line('set vrrp_script chk interval 5');
  const inc = await t.s.line('commit');
  assert.match(inc.output, new RegExp(`% commit refused .*${join(t.dir, 'common.conf')}:4 \\(the '\\}' of vrrp_script chk, where interval 5 goes\\) is in the included file`));
});

test("config-id: provisioned through the host, shown by show status; the candidate starts again from the new board's view", async (tc) => {
  const t = await setup(tc, 'a');
  assert.match((await t.s.line('show status')).output, /^config-id +a \(state directory\)$/m);
  await t.s.line('configure');
  await t.s.line('set global_defs router_id other');
  await t.s.line('exit');
  const r = await t.s.line('config-id b');
  assert.ok(r.ok, r.output);
  assert.deepEqual(t.host.configIdCalls, ['b']);
  assert.ok(t.host.events.some((e) => e.type === 'config-id' && e.detail === 'b'));
  assert.match((await t.s.line('show status')).output, /^config-id +b \(state directory\)$/m);
  assert.equal((await t.s.line('configure')).output, '[edit]\n', 'the old candidate is gone');
  await t.s.line('set global_defs router_id lb-b2');
  assert.ok((await t.s.line('commit')).ok);
  assert.match(readFileSync(t.cfg, 'utf8'), /^@a {2}router_id lb-a {6}# also the MQTT node name\n@b {2}router_id lb-b2\n/m);
  t.host.setConfigIdResult = { ok: false, message: "config id 'c' not set: errors" };
  assert.equal((await t.s.line('exit')).ok, true);
  const bad = await t.s.line('config-id c');
  assert.equal(bad.ok, false);
  assert.match(bad.output, /^% config id 'c' not set/);
});

test('a candidate started before another session committed is not saved over that commit', async (tc) => {
  const t = await setup(tc, 'a');
  await t.s.line('configure');
  await t.s.line('set global_defs router_id mine');
  t.host.running = PAIR.replace('@b  router_id lb-b', '@b  router_id lb-b-new');
  const r = await t.s.line('commit');
  assert.equal(r.ok, false);
  assert.match(r.output, /the running configuration changed after this candidate was started/);
  assert.equal(readFileSync(t.cfg, 'utf8'), PAIR);
});
