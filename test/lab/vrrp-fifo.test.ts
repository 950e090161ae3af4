// Ordered events (keepalived.conf(5) notify_fifo / vrrp_notify_fifo and their _script): a FIFO
// reader gets every transition, in order, in keepalived's line format, across 100 rapid flaps;
// a FIFO nobody reads holds nothing up; the FIFOs tandem created are gone after it stops.
//
// The flaps: a track_file of the sync group with weight 0 (keepalived: a non-zero number means
// FAULT) is written 1 and 0 in turn, each as soon as the daemon logged the last transition, so
// both instances and the group go FAULT and back to BACKUP a hundred times in a few seconds.
// What the daemon logged ("Entering … STATE", "Syncing instances to …") is the truth the lines
// are checked against.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLab } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { waitHolder } from './vrrp-helpers.ts';

const FLAPS = 100;

test('a FIFO reader gets every transition in order across 100 rapid flaps; a FIFO nobody reads blocks nothing', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-fifo', realServers: 0 });
  const dir = join(lab.tmpDir, 'board-a');
  const fifo = join(dir, 'vrrp.fifo');
  const unread = join(dir, 'all.fifo');
  const out = join(dir, 'fifo.out');
  const flag = join(dir, 'down');
  // The reader keepalived's sample does in a loop; cat is enough: every line it reads, appended.
  const reader = `#!/bin/sh\nexec cat "$1" >> '${out}'\n`;
  let cfg = pairConfig({
    routerId: 'lb-a', priority: 150, version: 3, advertInt: 0.2,
    extra: `track_file down {\n    file ${flag}\n    weight 0\n    init_file 0 overwrite\n}\n`,
  });
  cfg = cfg.replace('    router_id lb-a\n', `    router_id lb-a\n    vrrp_notify_fifo ${fifo}\n    vrrp_notify_fifo_script ${join(dir, 'reader.sh')}\n    notify_fifo ${unread}\n`);
  cfg = cfg.replace(/^(vrrp_sync_group G_LB \{\n)/m, '$1    track_file {\n        down\n    }\n');
  const a = await lab.startBoard('a', cfg, { files: { 'reader.sh': reader }, waitForLog: /\(VI_PUB\) Entering BACKUP STATE/ });
  await waitHolder(lab, 'a');

  // Written as a whole file moved in, so the daemon never reads it half-written.
  const set = async (v: number): Promise<void> => {
    await writeFile(`${flag}.tmp`, `${v}\n`);
    await rename(`${flag}.tmp`, flag);
  };
  const t0 = Date.now();
  for (let i = 0; i < FLAPS; i++) {
    let mark = a.proc.mark();
    await set(1);
    await a.waitForLog(/VRRP_Group\(G_LB\) Syncing instances to FAULT state/, 5_000, { from: mark });
    mark = a.proc.mark();
    await set(0);
    await a.waitForLog(/VRRP_Group\(G_LB\) Syncing instances to BACKUP state/, 5_000, { from: mark });
  }
  t.diagnostic(`${FLAPS} flaps in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Left alone, the group becomes MASTER again; then nothing more changes.
  const settled = a.proc.mark();
  await a.waitForLog(/VRRP_Group\(G_LB\) Syncing instances to MASTER state/, 10_000, { from: settled });
  await waitHolder(lab, 'a');

  // The daemon's own account, in order: its instance transitions ("Entering … STATE") and its
  // group's ("Syncing instances to …", after the first member left INIT).
  const instances: string[] = [];
  const groups: string[] = ['GROUP "G_LB" BACKUP 0'];
  for (const l of a.proc.lines) {
    const inst = /INFO\s+\((VI_PUB|VI_PRIV)\) Entering (MASTER|BACKUP|FAULT) STATE$/.exec(l.text);
    if (inst) instances.push(`INSTANCE "${inst[1]}" ${inst[2]} 150`);
    const group = /INFO\s+VRRP_Group\(G_LB\) Syncing instances to (MASTER|BACKUP|FAULT) state$/.exec(l.text);
    if (group) groups.push(`GROUP "G_LB" ${group[1]} 0`);
  }
  assert.ok(instances.length >= FLAPS * 4, `${instances.length} instance transitions logged`);
  assert.ok(groups.length >= FLAPS * 2, `${groups.length} group transitions logged`);
  const total = instances.length + groups.length;
  let got: string[] = [];
  await lab.waitFor(async () => {
    got = (await readFile(out, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
    return got.length >= total;
  }, { timeoutMs: 10_000, intervalMs: 100, what: `${total} lines from the FIFO` }).catch((e: Error) => {
    throw new Error(`${e.message}: got ${got.length}`);
  });
  assert.equal(got.length, total, 'no line more');
  assert.deepEqual(got.filter((l) => l.startsWith('INSTANCE ')), instances, 'every instance transition, in the order the daemon made them');
  assert.deepEqual(got.filter((l) => l.startsWith('GROUP ')), groups, 'every group transition, in order');
  // Interleaved as keepalived does (vrrp_sync.c): a group's line follows the members it moved.
  got.forEach((l, i) => {
    if (i === 0 || !l.startsWith('GROUP ')) return;
    assert.equal(got[i - 1]!.split(' ')[2], l.split(' ')[2], `line ${i}: ${l} after ${got[i - 1]}`);
  });

  // Nobody reads notify_fifo: nothing was held up (the flaps above ran through it), and the
  // statistics say what it did with the lines.
  const stats = await a.ctl(['show', 'statistics']);
  assert.equal(stats.code, 0, stats.stderr);
  assert.match(stats.stdout, new RegExp(`${unread.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\d+ written, \\d+ dropped, \\d+ waiting`));
  assert.match(stats.stdout, new RegExp(`${fifo.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: \\d+ written, 0 dropped, 0 waiting`));

  const st = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st?.code, 0, a.proc.tail());
  // The STOP lines went out before the FIFO closed; the FIFOs tandem created are removed.
  await lab.waitFor(async () => (await readFile(out, 'utf8')).includes('INSTANCE "VI_PUB" STOP 150'), { timeoutMs: 5_000, what: 'the STOP line' });
  assert.ok((await readFile(out, 'utf8')).includes('GROUP "G_LB" STOP 0'));
  assert.equal(existsSync(fifo), false);
  assert.equal(existsSync(unread), false);
});
