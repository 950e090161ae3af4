import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unifiedDiff } from '../../../src/console/diff.ts';

/** GNU diff -u's hunks for the same texts (headers dropped: they carry file times). */
function gnu(a: string, b: string): string {
  const d = mkdtempSync(join(tmpdir(), 'tandem-diff-'));
  try {
    writeFileSync(join(d, 'a'), a);
    writeFileSync(join(d, 'b'), b);
    const r = spawnSync('diff', ['-u', join(d, 'a'), join(d, 'b')], { encoding: 'utf8' });
    return r.stdout.split('\n').slice(2).join('\n');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

const ours = (a: string, b: string): string => unifiedDiff(a, b).split('\n').slice(2).join('\n');

test('equal texts give no diff', () => {
  assert.equal(unifiedDiff('a\nb\n', 'a\nb\n'), '');
});

test('single change, insert, delete and separate hunks match diff -u', () => {
  const base = Array.from({ length: 30 }, (_, i) => `line ${i}`);
  const cases: Array<[string[], string[]]> = [
    [base, base.map((l, i) => (i === 10 ? 'changed' : l))],
    [base, [...base.slice(0, 5), 'new', ...base.slice(5)]],
    [base, base.filter((_, i) => i !== 0 && i !== 29)],
    [base, base.map((l, i) => (i === 3 || i === 25 ? l + '!' : l))],
    [base, base.map((l, i) => (i === 3 || i === 9 ? l + '!' : l))],
    [[], ['x', 'y']],
    [['x'], []],
  ];
  for (const [a, b] of cases) {
    const ta = a.length ? a.join('\n') + '\n' : '';
    const tb = b.length ? b.join('\n') + '\n' : '';
    assert.equal(ours(ta, tb), gnu(ta, tb));
  }
});
