// The daemon's conntrack wiring (systemParts.lb()): real servers failing together must not start
// a conntrack process each at the same moment. A fake `conntrack` first on PATH logs its start
// and end; the most running at once is read from that log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONNTRACK_CONCURRENCY, systemParts } from '../../src/daemon.ts';

test('40 real servers failing at once run at most CONNTRACK_CONCURRENCY conntrack processes at a time, and every deletion still happens', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-conntrack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'log');
  writeFileSync(log, '');
  writeFileSync(join(dir, 'conntrack'), `#!/bin/sh\necho s >> '${log}'\nsleep 0.05\necho e >> '${log}'\necho "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted." >&2\nexit 0\n`);
  chmodSync(join(dir, 'conntrack'), 0o755);
  const oldPath = process.env.PATH;
  process.env.PATH = `${dir}:${oldPath ?? '/usr/bin:/bin'}`;
  t.after(() => { process.env.PATH = oldPath; });
  const lb = systemParts.lb();
  const n = 40;
  const counts = await Promise.all(Array.from({ length: n }, (_, i) => lb.deleteFlows(`192.0.2.${10 + (i % 200)}`, 10_000 + i, ['tcp'])));
  assert.deepEqual(counts, Array<number>(n).fill(2));
  let running = 0;
  let most = 0;
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  for (const l of lines) {
    running += l === 's' ? 1 : -1;
    most = Math.max(most, running);
  }
  assert.equal(lines.length, 2 * n);
  assert.ok(most <= CONNTRACK_CONCURRENCY, `${most} conntrack processes ran at once`);
  assert.ok(most >= 2, 'they still run in parallel');
});
