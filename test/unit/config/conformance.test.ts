// DESIGN.md: every keepalived sample either parses or is refused with an error naming the
// unsupported directive or feature, at its line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../../src/config/index.ts';
import { CORPUS } from './helpers.ts';

const REFUSAL = /^(unsupported directive '([^']+)'|(.+) is not supported)/;

test('keepalived samples: parse, or refused by name at the line', () => {
  const files = readdirSync(CORPUS).filter((f) => !f.endsWith('.md')).sort();
  assert.ok(files.length >= 20, 'corpus present');
  let parsed = 0;
  for (const f of files) {
    const path = join(CORPUS, f);
    const lines = readFileSync(path, 'utf8').split('\n');
    // A file with `@ID` lines is run with `--config-id` for each id it names.
    const ids = loadConfigFile(path).source.ids;
    for (const r of ids.length === 0 ? [loadConfigFile(path)] : ids.map((id) => loadConfigFile(path, { configId: id }))) {
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length === 0) { assert.ok(r.config, f); parsed++; continue; }
    assert.equal(r.config, null);
    for (const e of errors) {
      const m = REFUSAL.exec(e.message);
      assert.ok(m, `${f}:${e.pos.line}: not a refusal: ${e.message}`);
      assert.equal(e.pos.file, path);
      // The named directive or feature is written on the line the error points at.
      // (the quoted name when there is one, else the first word: 'lb_kind DR is not supported').
      const named = m[2] ?? /'([^']+)'/.exec(m[3]!)?.[1] ?? m[3]!.split(' ')[0]!;
      const src = lines[e.pos.line - 1] ?? '';
      const onLine = named === 'authentication' ? 'auth_type' : named;
      assert.ok(src.includes(onLine), `${f}:${e.pos.line} '${src}' should hold '${onLine}'`);
    }
    }
  }
  assert.ok(parsed >= 10, `at least 10 samples parse, got ${parsed}`);
});

test('specific samples refused as expected', () => {
  const msg = (f: string, configId?: string): string[] => loadConfigFile(join(CORPUS, f), configId ? { configId } : {}).diagnostics.map((d) => `${d.pos.line}: ${d.message}`);
  assert.ok(msg('keepalived.conf.fwmark').some((m) => m.startsWith('7: virtual_server fwmark is not supported')));
  assert.ok(msg('keepalived.conf.SMTP_CHECK').some((m) => /^39: unsupported directive 'SMTP_CHECK'/.test(m)));
  assert.ok(msg('keepalived.conf.SSL_GET').some((m) => /^20: authentication AH is not supported/.test(m)));
  assert.ok(msg('keepalived.conf.conditional_conf', 'high').some((m) => /^3: unsupported directive 'net_namespace'/.test(m)));
  assert.ok(msg('keepalived.conf.conditional_conf', 'low').some((m) => /^4: unsupported directive 'net_namespace'/.test(m)));
});
