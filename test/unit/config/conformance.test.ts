// DESIGN.md: every keepalived sample (../shared/corpus/keepalived-samples/) either runs, with
// --config-id for each id its `@` lines name, or is refused only for what docs/compatibility.md
// (the directive tables, features.ts) lists as refused, with that reason, at the line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, type LoadResult } from '../../../src/config/index.ts';
import { eachBlock, type Block } from '../../../src/config/directives/engine.ts';
import { TOP } from '../../../src/config/directives/top.ts';
import { refusedFeature } from '../../../src/config/directives/features.ts';
import { CORPUS } from './helpers.ts';

/** keyword → the reasons the tables refuse it with (one per block that refuses it). */
const REFUSED = new Map<string, Set<string>>();
eachBlock(TOP as unknown as Block<object>, (b) => {
  for (const e of b.entries) {
    if (e.refused === undefined) continue;
    for (const n of e.names) REFUSED.set(n, (REFUSED.get(n) ?? new Set()).add(e.refused));
  }
});

/** What the table refuses that this error is about, or why the error is no such refusal. */
function refusal(message: string): { ok: true; named: string } | { ok: false; why: string } {
  // The place may hold an IPv6 address (`in real_server ae00::10 25: …`): it ends at the first ': '.
  const m = /^unsupported directive '([^']+)' in (?:[^:]|:(?! ))+: (.+)$/.exec(message);
  if (m) {
    const reasons = REFUSED.get(m[1]!);
    if (!reasons) return { ok: false, why: `'${m[1]}' is not refused by the table (no entry: an unknown keyword)` };
    if (!reasons.has(m[2]!)) return { ok: false, why: `'${m[1]}' is refused with another reason than the table's` };
    return { ok: true, named: m[1]! };
  }
  const f = refusedFeature(message);
  if (f) return { ok: true, named: /'([^']+)'/.exec(message)?.[1] ?? message.split(' ')[0]! };
  return { ok: false, why: 'no refused keyword or feature of the compatibility table' };
}

/** A sample's views: one, or one per config id its @ lines name. */
function views(path: string): Array<[string | null, LoadResult]> {
  const ids = loadConfigFile(path).source.ids;
  return ids.length === 0 ? [[null, loadConfigFile(path)]] : ids.map((id): [string, LoadResult] => [id, loadConfigFile(path, { configId: id })]);
}

test('keepalived samples: run, or refused only for what the compatibility table refuses, with its reason, at the line', () => {
  const files = readdirSync(CORPUS).filter((f) => !f.endsWith('.md')).sort();
  assert.ok(files.length >= 20, 'corpus present');
  let parsed = 0;
  let conditional = 0;
  for (const f of files) {
    const path = join(CORPUS, f);
    const lines = readFileSync(path, 'utf8').split('\n');
    for (const [id, r] of views(path)) {
      const what = `${f}${id !== null ? ` (--config-id ${id})` : ''}`;
      if (id !== null) conditional++;
      const errors = r.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length === 0) { assert.ok(r.config, what); parsed++; continue; }
      assert.equal(r.config, null);
      for (const e of errors) {
        const why = refusal(e.message);
        assert.ok(why.ok, `${what}:${e.pos.line}: ${e.message}\n  not a refusal the table lists: ${why.ok ? '' : why.why}`);
        assert.equal(e.pos.file, path);
        // The refused keyword or value is written on the line the error points at.
        const src = lines[e.pos.line - 1] ?? '';
        const onLine = why.named === 'authentication' ? 'auth_type' : why.named;
        assert.ok(src.includes(onLine), `${what}:${e.pos.line} '${src}' should hold '${onLine}'`);
      }
    }
  }
  assert.ok(parsed >= 12, `at least 12 samples run, got ${parsed}`);
  assert.ok(conditional >= 2, 'the conditional sample is read for each of its ids');
});

test('specific samples refused as expected', () => {
  const msg = (f: string, configId?: string): string[] => loadConfigFile(join(CORPUS, f), configId ? { configId } : {}).diagnostics.map((d) => `${d.pos.line}: ${d.message}`);
  assert.ok(msg('keepalived.conf.fwmark').some((m) => m.startsWith('7: virtual_server fwmark is not supported')));
  assert.ok(msg('keepalived.conf.SMTP_CHECK').some((m) => /^39: unsupported directive 'SMTP_CHECK'/.test(m)));
  assert.ok(msg('keepalived.conf.SSL_GET').some((m) => /^20: authentication AH is not supported/.test(m)));
  // One file for two boards: each id reads its own net_namespace line (refused: run tandem in
  // the namespace); the shared use_vmac line runs.
  assert.deepEqual(msg('keepalived.conf.conditional_conf', 'high').map((m) => /^\d+: unsupported directive '\w+'/.exec(m)?.[0]),
    ["3: unsupported directive 'net_namespace'"]);
  assert.ok(msg('keepalived.conf.conditional_conf', 'low').some((m) => /^4: unsupported directive 'net_namespace'/.test(m)));
  assert.ok(msg('keepalived.conf.vrrp.lvs_syncd').some((m) => /^4: 'VI_2' in vrrp_sync_group VG1: a sync group lists its instances in group \{ \}/.test(m)));
  // Email directives run, with warnings.
  const sample = loadConfigFile(join(CORPUS, 'keepalived.conf.sample'));
  assert.ok(sample.config);
  assert.ok(sample.diagnostics.some((d) => d.severity === 'warning' && d.pos.line === 8 && /'smtp_server' is accepted and not acted on: tandem sends no mail/.test(d.message)));
});
