import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, parseConfigText, parseTree, writeConfig, writeTree } from '../../../src/config/index.ts';
import { CORPUS, MINIMAL, RICH, noPos } from './helpers.ts';

function roundTrip(text: string, file: string): void {
  const a = parseConfigText(text, file);
  assert.ok(a.config, `parses: ${JSON.stringify(a.diagnostics)}`);
  const written = writeConfig(a.config);
  const b = parseConfigText(written, file);
  assert.ok(b.config, `written text parses:\n${written}\n${JSON.stringify(b.diagnostics)}`);
  assert.deepEqual(noPos(b.config), noPos(a.config));
  assert.equal(writeConfig(b.config), written, 'the writer is canonical (a fixed point)');
}

test('round trip: rich hand-written configuration', () => {
  roundTrip(RICH, '/etc/tandem/rich.conf');
});

test('round trip: minimal configuration, 2-space indent', () => {
  roundTrip(MINIMAL, 'm.conf');
  const out = writeConfig(parseConfigText(MINIMAL, 'm.conf').config!);
  assert.match(out, /^vrrp_instance VI_1 \{\n  state BACKUP\n  interface eth0\n/);
});

test('round trip: awkward strings and commands', () => {
  const text = MINIMAL.replace('priority 100', `notify_master "/bin/sh -c 'echo a b' x"\n notify_backup "/x/y \\"q r\\""`) +
    'global_defs {\n router_id "r{1}#!"\n}\n';
  roundTrip(text, 'a.conf');
  const c = parseConfigText(text, 'a.conf').config!;
  assert.deepEqual(c.instances[0]!.notifyMaster!.argv, ['/bin/sh', '-c', 'echo a b', 'x']);
  assert.deepEqual(c.instances[0]!.notifyBackup!.argv, ['/x/y', 'q r']);
  assert.equal(c.global.routerId, 'r{1}#!');
});

test('round trip: every corpus sample that parses', () => {
  let n = 0;
  for (const f of readdirSync(CORPUS).sort()) {
    if (f.endsWith('.md')) continue;
    const r = loadConfigFile(join(CORPUS, f));
    if (!r.config) continue;
    // Samples use lb_algo rr and whole-second timers, so the written text is valid too.
    const written = writeConfig(r.config);
    const b = parseConfigText(written, join(CORPUS, f));
    assert.ok(b.config, `${f}: ${JSON.stringify(b.diagnostics)}`);
    assert.deepEqual(noPos(b.config), noPos(r.config), f);
    n++;
  }
  assert.ok(n >= 10, `at least 10 samples parse (got ${n})`);
});

test('writeTree gives text that parses to the same tree', () => {
  const a = parseTree(RICH, 'r.conf');
  const text = writeTree(a.nodes);
  const b = parseTree(text, 'r.conf');
  assert.deepEqual(b.diagnostics, []);
  assert.deepEqual(noPos(b.nodes), noPos(a.nodes));
  assert.match(text, /^global_defs \{\n  router_id "board A"\n/);
});
