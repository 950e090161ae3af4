// Notify programs: keepalived's argument conventions, run without a shell and with a timeout.
// keepalived.conf(5): notify_master/backup/fault/stop run exactly as written; the generic
// `notify` gets "INSTANCE" NAME STATE PRIORITY appended for a vrrp_instance, and "GROUP" NAME
// STATE 0 for a vrrp_sync_group (keepalived passes 0 as a group's priority).
// Every program here is a small sh script that appends its argv to a log in the board's dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLab, type Lab } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { waitHolder } from './vrrp-helpers.ts';

const fast = { version: 3 as const, advertInt: 0.2 };

/** Appends "$*" (its arguments, space-separated) to LOG, one line per call. */
const logScript = (log: string): string => `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n`;

/** Adds `lines` to VI_PUB only (pairConfig's instanceExtra would go into both instances). */
function intoPub(config: string, lines: string): string {
  const out = config.replace(/^(\s*interface eth0\n)/m, `$1${lines}`);
  assert.notEqual(out, config);
  return out;
}

/** Adds `lines` inside the vrrp_sync_group G_LB block. */
function intoGroup(config: string, lines: string): string {
  const out = config.replace(/^(vrrp_sync_group G_LB \{\n)/m, `$1${lines}`);
  assert.notEqual(out, config);
  return out;
}

async function logLines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** Waits until the lines of `log` that start with one of `prefixes` are exactly `want` (in order). */
async function waitLog(lab: Lab, log: string, prefixes: RegExp, want: string[], what: string): Promise<void> {
  let seen: string[] = [];
  try {
    await lab.waitFor(async () => {
      seen = (await logLines(log)).filter((l) => prefixes.test(l));
      return seen.length >= want.length;
    }, { timeoutMs: 15_000, intervalMs: 50, what });
  } catch (e) {
    throw new Error(`${(e as Error).message}; log so far: ${JSON.stringify(seen)}`);
  }
  assert.deepEqual(seen, want, what);
}

test('instance and sync-group notify programs get keepalived\'s arguments through BACKUP, MASTER, FAULT, BACKUP, MASTER, STOP', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-notify', realServers: 0 });
  const dir = join(lab.tmpDir, 'board-a');
  const log = join(dir, 'notify.log');
  const s = join(dir, 'log.sh');
  let cfg = pairConfig({ routerId: 'lb-a', priority: 150, ...fast });
  cfg = intoPub(cfg, [
    `    notify_master "${s} master"`, `    notify_backup "${s} backup"`, `    notify_fault "${s} fault"`,
    `    notify_stop "${s} stop"`, `    notify "${s} inst"`, '',
  ].join('\n'));
  cfg = intoGroup(cfg, [
    `    notify_master "${s} group-master"`, `    notify_backup "${s} group-backup"`, `    notify_fault "${s} group-fault"`,
    `    notify_stop "${s} group-stop"`, `    notify "${s} group"`, '',
  ].join('\n'));

  // Alone on the segments, a starts BACKUP and becomes MASTER after Master_Down_Interval.
  const a = await lab.startBoard('a', cfg, { files: { 'log.sh': logScript(log) }, waitForLog: /\(VI_PUB\) Entering BACKUP STATE/ });
  await waitHolder(lab, 'a');
  const specific = /^(master|backup|fault|stop)\b/;
  const inst = /^inst\b/;
  const gSpecific = /^group-/;
  const group = /^group\b(?!-)/;
  await waitLog(lab, log, specific, ['backup', 'master'], 'instance notify_backup, notify_master (no arguments)');
  await waitLog(lab, log, inst, ['inst INSTANCE VI_PUB BACKUP 150', 'inst INSTANCE VI_PUB MASTER 150'], 'instance notify');
  await waitLog(lab, log, gSpecific, ['group-backup', 'group-master'], 'group notify_backup, notify_master');
  await waitLog(lab, log, group, ['group GROUP G_LB BACKUP 0', 'group GROUP G_LB MASTER 0'], 'group notify');

  // Both links lose carrier: both members, and so the group, go FAULT.
  await lab.cutLinks('a');
  await a.waitForLog(/\(VI_PUB\) Entering FAULT STATE/, 10_000);
  await waitLog(lab, log, specific, ['backup', 'master', 'fault'], 'notify_fault');
  await waitLog(lab, log, inst, ['inst INSTANCE VI_PUB BACKUP 150', 'inst INSTANCE VI_PUB MASTER 150', 'inst INSTANCE VI_PUB FAULT 150'], 'notify on FAULT');
  await waitLog(lab, log, gSpecific, ['group-backup', 'group-master', 'group-fault'], 'group notify_fault');
  await waitLog(lab, log, group, ['group GROUP G_LB BACKUP 0', 'group GROUP G_LB MASTER 0', 'group GROUP G_LB FAULT 0'], 'group notify on FAULT');

  // Links back: BACKUP, then MASTER again after Master_Down_Interval.
  const mark = a.proc.mark();
  await lab.restoreLinks('a');
  await a.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 10_000, { from: mark });
  await waitHolder(lab, 'a');
  const cycle = ['backup', 'master', 'fault', 'backup', 'master'];
  await waitLog(lab, log, specific, cycle, 'specific notifies after the links came back');
  await waitLog(lab, log, inst, cycle.map((st) => `inst INSTANCE VI_PUB ${st.toUpperCase()} 150`), 'notify after the links came back');
  await waitLog(lab, log, gSpecific, cycle.map((st) => `group-${st}`), 'group specific notifies after the links came back');
  await waitLog(lab, log, group, cycle.map((st) => `group GROUP G_LB ${st.toUpperCase()} 0`), 'group notify after the links came back');

  // Graceful stop: notify_stop and STOP for the instance and the group.
  const st = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st?.code, 0, a.proc.tail());
  await waitLog(lab, log, specific, [...cycle, 'stop'], 'notify_stop');
  // keepalived 2.2.7, run with this same configuration, passes the instance's priority on
  // STOP too (not the 0 it advertises): "INSTANCE VI_PUB STOP 150".
  await waitLog(lab, log, inst, [...cycle, 'stop'].map((x) => `inst INSTANCE VI_PUB ${x.toUpperCase()} 150`), 'notify on STOP');
  await waitLog(lab, log, gSpecific, [...cycle.map((x) => `group-${x}`), 'group-stop'], 'group notify_stop');
  await waitLog(lab, log, group, [...cycle.map((x) => `group GROUP G_LB ${x.toUpperCase()} 0`), 'group GROUP G_LB STOP 0'], 'group notify on STOP');
  // VI_PRIV has no notify programs of its own: nothing else was logged.
  assert.ok((await logLines(log)).every((l) => !/VI_PRIV/.test(l)));
});

/** True while `pid` is a live (not zombie) process. */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name, is the state.
    return !/\)\s+[ZX]\s/.test(stat);
  } catch {
    return false;
  }
}

test('a hanging notify program is killed after the timeout without holding up the next notify; a missing one is logged, not a crash', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-notify-hang', realServers: 0 });
  const dir = join(lab.tmpDir, 'board-a');
  const log = join(dir, 'notify.log');
  const pids = { sh: join(dir, 'hang.pid'), sleep: join(dir, 'sleep.pid') };
  // The first run hangs (a child that outlives the script's own shell, as a careless script's
  // background job would); later runs return at once.
  const hang = `#!/bin/sh
if [ -e '${dir}/hung' ]; then printf 'master again\\n' >> '${log}'; exit 0; fi
touch '${dir}/hung'
echo $$ > '${pids.sh}'
sleep 600 &
echo $! > '${pids.sleep}'
printf 'master hanging\\n' >> '${log}'
wait
`;
  // Whatever happens, nothing this test started keeps running (the kill is by the PIDs the
  // script recorded, after checking they are still that script and its sleep).
  t.after(async () => {
    for (const [file, comm] of [[pids.sh, 'hang.sh'], [pids.sleep, 'sleep']] as const) {
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (!Number.isInteger(pid) || pid <= 0 || !(await alive(pid))) continue;
      const c = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
      if (c === comm) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  });
  const missing = '/nonexistent/tandem-notify-missing';
  const cfg = intoPub(pairConfig({ routerId: 'lb-a', priority: 150, noSyncGroup: true, ...fast }), [
    `    notify_master ${join(dir, 'hang.sh')}`, `    notify_fault "${join(dir, 'log.sh')} fault"`,
    `    notify_backup ${missing}`, '',
  ].join('\n'));
  const a = await lab.startBoard('a', cfg, {
    files: { 'log.sh': logScript(log), 'hang.sh': hang },
    waitForLog: /\(VI_PUB\) Entering BACKUP STATE/,
  });
  // BACKUP: the missing program is reported in the log, with its path and the reason.
  await a.waitForLog(new RegExp(`\\(VI_PUB\\) notify ${missing} cannot run: .*ENOENT`), 10_000);
  await a.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 10_000);
  await waitLog(lab, log, /^master/, ['master hanging'], 'the hanging notify_master started');
  const shPid = Number((await readFile(pids.sh, 'utf8')).trim());
  let sleepPid = 0;
  await lab.waitFor(async () => {
    sleepPid = Number((await readFile(pids.sleep, 'utf8').catch(() => '')).trim());
    return sleepPid > 0;
  }, { what: 'the hanging script\'s child pid' });

  // The next transition's notify runs at once although notify_master still hangs.
  await lab.cutLinks('a');
  await a.waitForLog(/\(VI_PUB\) Entering FAULT STATE/, 10_000);
  await waitLog(lab, log, /^fault/, ['fault'], 'notify_fault while notify_master hangs');
  assert.ok(await alive(shPid), 'notify_master is still running (its timeout has not passed yet)');
  assert.doesNotMatch(a.proc.lines.map((l) => l.text).join('\n'), /timed out after/);

  // Its timeout passes: the script and the child it started are killed, and it is logged.
  await a.waitForLog(/\(VI_PUB\) notify \S*hang\.sh timed out after \d+ ms and was killed/, 20_000);
  await lab.waitFor(async () => !(await alive(shPid)) && !(await alive(sleepPid)), { timeoutMs: 5_000, what: 'the hung script and its child gone' });

  // The daemon carried on: links back, BACKUP (the missing program again logged), MASTER.
  const mark = a.proc.mark();
  await lab.restoreLinks('a');
  await a.waitForLog(new RegExp(`\\(VI_PUB\\) notify ${missing} cannot run`), 10_000, { from: mark });
  await a.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 10_000, { from: mark });
  await waitLog(lab, log, /^master/, ['master hanging', 'master again'], 'notify_master ran again');
  assert.ok(a.proc.running, 'the daemon still runs');
  const st = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st?.code, 0, a.proc.tail());
});
