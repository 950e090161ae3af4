// Which config id a board runs with (src/config/config-id.ts): --config-id, else
// STATE_DIR/config-id, else keepalived's default, the host name up to its first dot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseConfigId, configIdProblem, defaultConfigId, saveConfigIdFile } from '../../../src/config/config-id.ts';
import { tempDir } from './helpers.ts';

test('default: the host name up to its first dot, as keepalived', () => {
  assert.equal(defaultConfigId('lb-a.example.net'), 'lb-a');
  assert.equal(defaultConfigId('OpenWrt'), 'OpenWrt');
});

test('the option wins, then the state file, then the host name; an unusable file is said, not obeyed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.deepEqual(chooseConfigId(null, dir, 'h1.lan'), { id: 'h1', source: 'hostname', problem: null });
    await saveConfigIdFile(dir, 'b');
    assert.equal(readFileSync(join(dir, 'config-id'), 'utf8'), 'b\n');
    assert.deepEqual(chooseConfigId(null, dir, 'h1.lan'), { id: 'b', source: 'state', problem: null });
    assert.deepEqual(chooseConfigId('a', dir, 'h1.lan'), { id: 'a', source: 'option', problem: null });
    writeFileSync(join(dir, 'config-id'), 'two words\n');
    const c = chooseConfigId(null, dir, 'h1.lan');
    assert.equal(c.id, 'h1');
    assert.match(c.problem ?? '', /config-id: a config id is letters, digits, "\.", "_" and "-"; using the host name's 'h1'/);
    await assert.rejects(saveConfigIdFile(dir, ''), /cannot be empty/);
  } finally { cleanup(); }
});

test('ids: words a file name and a log line carry unquoted', () => {
  assert.equal(configIdProblem('lb-a_1.x'), null);
  assert.match(configIdProblem('a b') ?? '', /letters, digits/);
  assert.match(configIdProblem('x'.repeat(65)) ?? '', /at most 64/);
});
