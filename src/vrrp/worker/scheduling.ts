// The VRRP thread's CPU scheduling (keepalived: vrrp_rt_priority, vrrp_priority,
// max_auto_priority for its VRRP process). A realtime thread runs before every normal process
// whenever it has work, so CPU-bound neighbours on the board cannot delay an advertisement or a
// Master_Down timer; the thread sleeps between timers and packets, so it costs nothing then.
// Without native code of our own: the thread's id comes from /proc/thread-self and the policy is
// set by util-linux's chrt and renice on that id (they call sched_setscheduler and setpriority,
// which act on one thread when given its id). Children the thread spawns afterwards (ip -batch,
// arping, ip monitor) inherit the policy, as they would inside keepalived's realtime process.
// Needs root or CAP_SYS_NICE; without it the thread stays as it was and the reason is reported.
import { readlinkSync } from 'node:fs';
import { run } from '../../util/spawn.ts';
import type { ThreadScheduling } from '../../status.ts';

export type { ThreadScheduling } from '../../status.ts';

/**
 * This thread's kernel id: /proc/thread-self links to PID/task/TID. Read synchronously, once per
 * scheduling change, on purpose: fs.promises runs the readlink on libuv's thread pool, where
 * /proc/thread-self names the pool thread (measured: the realtime policy landed on a pool thread
 * and the VRRP thread stayed SCHED_OTHER). A readlink in procfs touches no disk.
 */
export async function currentThreadId(): Promise<number | null> {
  try {
    const m = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function tool(argv: string[]): Promise<string | null> {
  const r = await run(argv, { timeoutMs: 5000 });
  return r.code === 0 ? null : (r.stderr.trim() || `${argv[0]} exited with ${r.code ?? r.signal}`);
}

/** SCHED_RR at `priority` (1..99), or back to SCHED_OTHER for 0. */
export async function setRealtime(tid: number, priority: number): Promise<string | null> {
  return priority > 0
    ? tool(['chrt', '--rr', '--pid', String(priority), String(tid)])
    : tool(['chrt', '--other', '--pid', '0', String(tid)]);
}

export async function setNice(tid: number, nice: number): Promise<string | null> {
  return tool(['renice', '-n', String(nice), '-p', String(tid)]);
}

/** Applies what the configuration asks for; returns what the thread now has. */
export async function applyScheduling(want: { rtPriority: number; nice: number | null }): Promise<ThreadScheduling> {
  const tid = await currentThreadId();
  if (tid === null) return { tid, policy: 'SCHED_OTHER', priority: 0, nice: null, error: 'the thread id is unknown (/proc/thread-self)' };
  const errors: string[] = [];
  let priority = 0;
  if (want.rtPriority > 0) {
    const e = await setRealtime(tid, want.rtPriority);
    if (e) errors.push(`realtime priority ${want.rtPriority}: ${e} (needs root or CAP_SYS_NICE)`);
    else priority = want.rtPriority;
  }
  let nice: number | null = null;
  if (want.nice !== null) {
    const e = await setNice(tid, want.nice);
    if (e) errors.push(`nice ${want.nice}: ${e}`);
    else nice = want.nice;
  }
  return { tid, policy: priority > 0 ? 'SCHED_RR' : 'SCHED_OTHER', priority, nice, error: errors.length ? errors.join('; ') : null };
}
