// Tracking and authentication between two tandem boards: track_interface, track_process,
// track_file and a failing vrrp_script demote the master (weight 0: FAULT; negative weight: a lower
// priority, so the peer preempts), recovery brings it back; a v2 authentication mismatch keeps
// the boards apart (each drops the other's adverts, so both are MASTER), the same password
// joins them again. Semantics as keepalived's vrrp_track.c (see src/vrrp/track.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chmod, copyFile, rename, rm, writeFile } from 'node:fs/promises';
import { withLab, type Lab } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { vipHolders, waitHolder } from './vrrp-helpers.ts';

const fast = { version: 3 as const, advertInt: 0.2 };
const started = /Entering (BACKUP|MASTER|FAULT) STATE/;

/** Carrier of a tracked interface: its veth peer goes down or up (a pulled cable, not admin down). */
async function link(lab: Lab, dev: string, up: boolean): Promise<void> {
  const r = await lab.exec('a', ['ip', 'link', 'set', `${dev}p`, up ? 'up' : 'down']);
  assert.equal(r.code, 0, r.stderr);
}

test('track_interface: weight 0 link down puts the master in FAULT, a weighted one lets the peer preempt; both recover', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-track-if', realServers: 0 });
  // Two veth pairs only board a has (no dummy module here), so only a is affected by them.
  for (const dev of ['trk0', 'trk1']) {
    for (const argv of [
      ['ip', 'link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`],
      ['ip', 'link', 'set', dev, 'up'], ['ip', 'link', 'set', `${dev}p`, 'up'],
    ]) {
      const r = await lab.exec('a', argv);
      assert.equal(r.code, 0, r.stderr);
    }
  }
  const track = '    track_interface {\n        trk0\n        trk1 weight -60\n    }\n';
  const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, instanceExtra: track, ...fast }), { waitForLog: started });
  const b = await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100, ...fast }), { waitForLog: started });
  await waitHolder(lab, 'a');

  // trk1 down: a advertises 150 - 60 = 90 < 100, b preempts; a is BACKUP, not FAULT.
  let mark = a.proc.mark();
  await link(lab, 'trk1', false);
  await waitHolder(lab, 'b');
  await a.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, 5_000, { from: mark });
  assert.ok(!a.proc.lines.slice(mark).some((l) => /Entering FAULT STATE/.test(l.text)), 'a weighted track must not FAULT');
  mark = a.proc.mark();
  await link(lab, 'trk1', true);
  await waitHolder(lab, 'a');
  await a.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 5_000, { from: mark });

  // trk0 (weight 0) down: FAULT, both VIPs of the sync group go to b.
  mark = a.proc.mark();
  const markB = b.proc.mark();
  await link(lab, 'trk0', false);
  await a.waitForLog(/\(VI_PUB\) Entering FAULT STATE/, 5_000, { from: mark });
  await waitHolder(lab, 'b');
  await b.waitForLog(/\(VI_PRIV\) Entering MASTER STATE/, 5_000, { from: markB });
  mark = a.proc.mark();
  await link(lab, 'trk0', true);
  await waitHolder(lab, 'a');
  await a.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 5_000, { from: mark });
});

test('vrrp_script: a failing weighted script lets the peer preempt, a failing weight-0 script means FAULT; success brings the master back', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-track-script', realServers: 0 });
  const dir = join(lab.tmpDir, 'board-a'); // startBoard's directory for board a
  const okW = join(dir, 'ok-weight');
  const okF = join(dir, 'ok-fault');
  const extra = `
vrrp_script chk_weight {
    script "${join(dir, 'chk-weight.sh')}"
    interval 1
    weight -60
    rise 1
    fall 1
}
vrrp_script chk_fault {
    script "${join(dir, 'chk-fault.sh')}"
    interval 1
    rise 1
    fall 1
}
`;
  const track = '    track_script {\n        chk_weight\n        chk_fault\n    }\n';
  const files = {
    'chk-weight.sh': `#!/bin/sh\ntest -e '${okW}'\n`,
    'chk-fault.sh': `#!/bin/sh\ntest -e '${okF}'\n`,
    'ok-weight': '',
    'ok-fault': '',
  };
  const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, instanceExtra: track, extra, ...fast }), { files, waitForLog: started });
  await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100, ...fast }), { waitForLog: started });
  await waitHolder(lab, 'a');

  let mark = a.proc.mark();
  await rm(okW);
  await a.waitForLog(/VRRP_Script\(chk_weight\) failed/, 5_000, { from: mark });
  await waitHolder(lab, 'b');
  await a.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, 5_000, { from: mark });
  assert.ok(!a.proc.lines.slice(mark).some((l) => /Entering FAULT STATE/.test(l.text)), 'a weighted script must not FAULT');
  mark = a.proc.mark();
  await writeFile(okW, '');
  await a.waitForLog(/VRRP_Script\(chk_weight\) succeeded/, 5_000, { from: mark });
  await waitHolder(lab, 'a');

  mark = a.proc.mark();
  await rm(okF);
  await a.waitForLog(/\(VI_PUB\) Entering FAULT STATE/, 5_000, { from: mark });
  await waitHolder(lab, 'b');
  mark = a.proc.mark();
  await writeFile(okF, '');
  await a.waitForLog(/VRRP_Script\(chk_fault\) succeeded/, 5_000, { from: mark });
  await waitHolder(lab, 'a');
});

test('v2 authentication mismatch keeps the boards apart (both MASTER, auth failures logged); the same password joins them', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-track-auth', realServers: 0 });
  const v2 = { version: 2 as const, advertInt: 1 };
  const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, authPass: 'alpha', ...v2 }), { waitForLog: started });
  const b = await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100, authPass: 'bravo', ...v2 }), { waitForLog: started });
  await a.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 10_000);
  await b.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 10_000);
  await b.waitForLog(/\(VI_PUB\) dropped advert from 203\.0\.113\.2: auth_failure/, 5_000);
  await a.waitForLog(/\(VI_PUB\) dropped advert from 203\.0\.113\.3: auth_failure/, 5_000);
  // Split brain by configuration: both hold both VIPs, and keep holding them.
  await lab.waitFor(async () => {
    const h = await vipHolders(lab);
    return h.pub.length === 2 && h.priv.length === 2;
  }, { what: 'both boards holding both VIPs' });
  // Drops are logged at a bounded rate (one line per kind per 10 s), so the ongoing failures
  // are read from b's counters (keepalived's stats layout, "Authentication Errors: Failure").
  const authFailures = async (): Promise<number> => {
    const r = await b.ctl(['show', 'statistics']);
    const m = /VRRP Instance: VI_PUB[\s\S]*?Authentication Errors:[\s\S]*?Failure: (\d+)/.exec(r.stdout);
    return m ? Number(m[1]) : 0;
  };
  const first = await authFailures();
  await lab.waitFor(async () => (await authFailures()) >= first + 4, { timeoutMs: 10_000, what: 'more auth failures on b' });
  assert.deepEqual(await vipHolders(lab), { pub: ['a', 'b'], priv: ['a', 'b'] });

  // Positive control: b with a's password hears a (150) and stays BACKUP.
  await lab.stopBoard('b', 'SIGTERM');
  const b2 = await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100, authPass: 'alpha', ...v2 }), { waitForLog: started });
  await waitHolder(lab, 'a');
  assert.ok(!b2.proc.lines.some((l) => /auth_failure|Entering MASTER STATE/.test(l.text)), b2.proc.tail());
});

test('track_process: too few of a process lets the peer preempt (weight -60), its start brings the master back; track_file: a non-zero number with weight 0 means FAULT, 0 recovers', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-track-proc', realServers: 0 });
  const dir = join(lab.tmpDir, 'board-a');
  const flag = join(dir, 'fault');
  // A process name no other process on this machine has (/proc shows the host's processes).
  const name = `tdm${Math.random().toString(36).slice(2, 10)}`;
  const prog = join(dir, name);
  const extra = `
vrrp_track_process worker {
    process ${name}
    weight -60
    quorum 1
}
track_file fault {
    file ${flag}
    weight 0
    init_file 0 overwrite
}
`;
  const track = '    track_process {\n        worker\n    }\n    track_file {\n        fault\n    }\n';
  const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, instanceExtra: track, extra, ...fast }), { waitForLog: started });
  await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100, ...fast }), { waitForLog: started });
  // No such process yet: a runs at 90, below b's 100.
  await a.waitForLog(new RegExp(`Quorum lost for tracked process worker \\(0 running`), 10_000);
  await waitHolder(lab, 'b');

  // Started (a copy of sleep under that name): quorum gained, a preempts at 150.
  await copyFile('/bin/sleep', prog);
  await chmod(prog, 0o755);
  let mark = a.proc.mark();
  const p = lab.spawn('a', [prog, '600'], { label: 'tracked-process' });
  t.after(() => p.stop('SIGKILL'));
  await a.waitForLog(/Quorum gained for tracked process worker \(1 running/, 10_000, { from: mark });
  await waitHolder(lab, 'a');

  // The file says 1: FAULT (keepalived: weight 0 and a non-zero number), the peer takes over.
  mark = a.proc.mark();
  await writeFile(`${flag}.tmp`, '1\n');
  await rename(`${flag}.tmp`, flag);
  await a.waitForLog(/\(VI_PUB\) Entering FAULT STATE/, 5_000, { from: mark });
  await waitHolder(lab, 'b');
  mark = a.proc.mark();
  await writeFile(flag, '0\n');
  await a.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, 5_000, { from: mark });
  await waitHolder(lab, 'a');

  // The process ends: quorum lost again, b preempts.
  mark = a.proc.mark();
  await p.stop('SIGKILL');
  await a.waitForLog(/Quorum lost for tracked process worker \(0 running/, 10_000, { from: mark });
  await waitHolder(lab, 'b');
});
