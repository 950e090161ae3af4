// A process and its descendants as /proc shows them, with their memory and CPU time: what the
// benches report for a daemon "and every helper process it started".
import { readFile, readdir } from 'node:fs/promises';

export interface ProcInfo {
  pid: number;
  comm: string;
  /** VmRSS and RssAnon, KiB. */
  rssKiB: number;
  anonKiB: number;
  /** utime + stime, clock ticks (USER_HZ, 100 on Linux). */
  ticks: number;
}

/** One /proc/…/stat line (a process's or a thread's): its comm, CPU ticks and scheduling policy. */
export interface Stat {
  comm: string;
  ppid: number;
  /** utime + stime, clock ticks (USER_HZ, 100 on Linux). */
  ticks: number;
  /** 0 SCHED_OTHER, 1 SCHED_FIFO, 2 SCHED_RR (sched_setscheduler(2)). */
  policy: number;
}

export function parseStat(stat: string): Stat {
  // comm may hold spaces and parentheses: it ends at the last ")". The fields after it start at
  // field 3 (state); ppid is 4, utime 14, stime 15, policy 41 (proc(5)).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), policy: Number(f[38]) };
}

/** Every thread of a process, by thread id, with its figures (/proc/PID/task/TID/stat). */
export async function threadStats(pid: number): Promise<Map<number, Stat>> {
  const out = new Map<number, Stat>();
  for (const t of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const st = await readFile(`/proc/${pid}/task/${t}/stat`, 'utf8').catch(() => '');
    if (st) out.set(Number(t), parseStat(st));
  }
  return out;
}

export async function procInfo(pid: number): Promise<ProcInfo | null> {
  try {
    const { comm, ticks } = parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (re: RegExp): number => Number(re.exec(status)?.[1] ?? 0);
    return { pid, comm, rssKiB: kib(/VmRSS:\s+(\d+) kB/), anonKiB: kib(/RssAnon:\s+(\d+) kB/), ticks };
  } catch {
    return null;
  }
}

/** The pids given and every descendant of theirs, with their figures. */
export async function processTree(roots: readonly number[]): Promise<ProcInfo[]> {
  const parent = new Map<number, number>();
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    if (st) parent.set(Number(d), parseStat(st).ppid);
  }
  const pids = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, pp] of parent) if (pids.has(pp) && !pids.has(p)) { pids.add(p); grew = true; }
  }
  return (await Promise.all([...pids].map(procInfo))).filter((p): p is ProcInfo => p !== null);
}
