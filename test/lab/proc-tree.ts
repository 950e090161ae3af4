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

export async function procInfo(pid: number): Promise<ProcInfo | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // Fields after the ")" of comm: state is field 3, utime 14, stime 15 (proc(5)).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (re: RegExp): number => Number(re.exec(status)?.[1] ?? 0);
    return { pid, comm, rssKiB: kib(/VmRSS:\s+(\d+) kB/), anonKiB: kib(/RssAnon:\s+(\d+) kB/), ticks: Number(f[11]) + Number(f[12]) };
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
    if (st) parent.set(Number(d), Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const pids = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, pp] of parent) if (pids.has(pp) && !pids.has(p)) { pids.add(p); grew = true; }
  }
  return (await Promise.all([...pids].map(procInfo))).filter((p): p is ProcInfo => p !== null);
}
