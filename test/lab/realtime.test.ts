// The VRRP thread's scheduling (docs/realtime.md): SCHED_RR priority 1 by default, as
// configured with vrrp_rt_priority and vrrp_priority, SCHED_OTHER with vrrp_rt_priority 0; and
// max_auto_priority raises it when a timer fires late (a board stopped for 600 ms with SIGSTOP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, type BoardHandle } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { runCommand } from './command.ts';
import { processTree } from './proc-tree.ts';
import { readFile } from 'node:fs/promises';

const started = /Entering (BACKUP|MASTER) STATE/;

async function thread(b: BoardHandle): Promise<{ line: string; tid: number; chrt: string }> {
  const st = await b.ctl(['show', 'statistics']);
  const line = /VRRP thread: .*/.exec(st.stdout)?.[0] ?? '';
  const tid = Number(/VRRP thread (\d+) runs/.exec(b.proc.lines.map((l) => l.text).join('\n'))?.[1]);
  const r = await runCommand('chrt', ['-p', String(tid)]);
  return { line, tid, chrt: r.stdout };
}

/** Whether this machine lets root set realtime policies at all (a container may not: no CAP_SYS_NICE). */
async function realtimeAllowed(): Promise<boolean> {
  const r = await runCommand('chrt', ['--rr', '1', 'true']).catch(() => null);
  return r !== null && r.code === 0;
}

test('the VRRP thread runs SCHED_RR 1 by default, as configured otherwise, and max_auto_priority raises it when timers run late', async (t) => {
  const lab = await withLab(t, { name: 'realtime', realServers: 0 });
  const base = { version: 3 as const, advertInt: 0.1, noSyncGroup: true };
  const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, ...base }), { waitForLog: started });
  const d = await thread(a);
  if (!(await realtimeAllowed())) {
    // Where the kernel refuses, the daemon says why and runs on.
    assert.match(d.line, /^VRRP thread: SCHED_OTHER \(realtime priority 1: .*needs root or CAP_SYS_NICE\)$/);
    t.diagnostic('realtime scheduling is not permitted on this machine: checked the refusal only');
    return;
  }
  assert.match(d.line, /^VRRP thread: SCHED_RR priority 1$/);
  assert.match(d.chrt, /policy: SCHED_RR[\s\S]*priority: 1/);
  const main = await runCommand('chrt', ['-p', String(a.proc.pid)]);
  assert.match(main.stdout, /SCHED_OTHER/, 'only the VRRP thread, not the main thread');
  // The thread given the policy is the VRRP thread itself (not a thread of libuv's pool that
  // happened to answer for it): the `ip monitor` it starts after scheduling inherits SCHED_RR.
  const kids = await processTree([a.proc.pid]);
  const monitor = [];
  for (const k of kids) {
    const cmd = await readFile(`/proc/${k.pid}/cmdline`, 'utf8').catch(() => '');
    if (/^ip\0.*monitor/.test(cmd)) monitor.push(k.pid);
  }
  assert.ok(monitor.length > 0, `the VRRP thread's ip monitor is running: ${kids.map((k) => k.comm).join(', ')}`);
  for (const pid of monitor) assert.match((await runCommand('chrt', ['-p', String(pid)])).stdout, /policy: SCHED_RR[\s\S]*priority: 1/, `ip monitor ${pid} inherits the VRRP thread's SCHED_RR`);

  const cfg = (g: string) => pairConfig({ routerId: 'lb-b', priority: 100, ...base }).replace('global_defs {', `global_defs {\n    ${g}`);
  const b = await lab.startBoard('b', cfg('vrrp_rt_priority 0\n    vrrp_priority -5\n    max_auto_priority 40\n    min_auto_priority_delay 50000'), { waitForLog: started });
  const e = await thread(b);
  assert.match(e.line, /^VRRP thread: SCHED_OTHER, nice -5$/);
  assert.match(e.chrt, /SCHED_OTHER/);
  // Stopped for 600 ms, longer than its Master_Down_Interval (about 360 ms): its timer fires late.
  process.kill(b.proc.pid, 'SIGSTOP');
  await new Promise((r) => setTimeout(r, 600));
  process.kill(b.proc.pid, 'SIGCONT');
  await b.waitForLog(/realtime priority of the VRRP thread raised to 40 \(max_auto_priority\)/, 5000).catch((err) => { throw new Error(err.message + b.proc.tail()); });
  const f = await thread(b);
  assert.match(f.chrt, /policy: SCHED_RR[\s\S]*priority: 40/);
  assert.match(f.line, /SCHED_RR priority 40/);
});
