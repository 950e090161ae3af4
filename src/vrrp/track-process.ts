// vrrp_track_process (keepalived.conf(5) "VRRP track processes"; keepalived/core/track_process.c):
// how many running processes match, against quorum and quorum_max, turned into up or down
// after fork_delay / terminate_delay. It runs on the main thread (spawning and file reading never
// share the VRRP thread) and reports changes through the one tracked-value path
// (VrrpClient.trackedValue('process', NAME, up)).
//
// keepalived learns of new and exiting processes from the kernel's process-event connector (a
// netlink socket Node cannot open without native code); tandem reads /proc every scan interval
// instead, the way keepalived reads it at start. Matching is keepalived's: without parameters the
// name is compared with /proc/PID/comm (what `ps -o comm` shows, at most 15 characters), with
// parameters or full_command argv[0] of /proc/PID/cmdline, and the parameters after it by
// param_match. Zombies (state Z) are not counted, as keepalived does not.
import { readdir, readFile } from 'node:fs/promises';
import type { TrackProcess } from '../config/model.ts';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.ts';

/** One running process as /proc shows it. */
export interface ProcInfo {
  pid: number;
  /** /proc/PID/comm (the name in /proc/PID/stat). */
  comm: string;
  /** /proc/PID/cmdline split at NUL; null when not read (no full_command tracker). */
  argv: string[] | null;
  zombie: boolean;
}

/** Whether a process is one `t` counts. */
export function matchesProcess(t: Pick<TrackProcess, 'process' | 'paramMatch' | 'fullCommand'>, p: ProcInfo): boolean {
  if (p.zombie) return false;
  const [name, ...params] = t.process;
  if (!t.fullCommand) return p.comm === name;
  if (!p.argv || p.argv.length === 0 || p.argv[0] !== name) return false;
  const actual = p.argv.slice(1);
  // keepalived compares the NUL-separated parameter strings (track_process.c check_params).
  const want = params.join('\0');
  const have = actual.join('\0');
  switch (t.paramMatch) {
    case 'none':
      return true;
    case 'exact':
      return actual.length === params.length && have === want;
    case 'partial':
      // The first parameters are the configured ones, exactly; more may follow.
      return params.length === 0 || (have + '\0').startsWith(want + '\0');
    case 'initial':
      // As partial, but the last configured one may be the start of a longer parameter.
      return params.length === 0 || have.startsWith(want);
  }
}

/** Up when quorum..quorum_max processes match (quorum_max 0: up while none runs). */
export function quorumMet(t: Pick<TrackProcess, 'quorum' | 'quorumMax'>, count: number): boolean {
  if (t.quorumMax === 0) return count === 0;
  return count >= t.quorum && (t.quorumMax === null || count <= t.quorumMax);
}

/**
 * The reported state of one tracked process: the first scan decides at once (keepalived reads
 * /proc at start); afterwards a change is reported only when it lasted fork_delay (gained) or
 * terminate_delay (lost), so a restart that forks and re-execs does not bounce the instance.
 */
export class ProcessQuorum {
  private reported: boolean | null = null;
  private seen: boolean | null = null;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly t: Pick<TrackProcess, 'quorum' | 'quorumMax' | 'forkDelayMs' | 'terminateDelayMs'>,
    private readonly report: (up: boolean, count: number) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  get up(): boolean | null {
    return this.reported;
  }

  /** The count of one scan. */
  scanned(count: number): void {
    const up = quorumMet(this.t, count);
    if (this.reported === null) {
      this.reported = this.seen = up;
      this.report(up, count);
      return;
    }
    if (up === this.seen) return;
    this.seen = up;
    this.cancel();
    if (up === this.reported) return;
    const delay = up ? this.t.forkDelayMs : this.t.terminateDelayMs;
    if (delay <= 0) {
      this.reported = up;
      this.report(up, count);
      return;
    }
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      if (this.seen !== up) return;
      this.reported = up;
      this.report(up, count);
    }, delay);
  }

  cancel(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
  }
}

/** Reads /proc: every process's comm and state, and its argv when `argv` is asked for. */
export async function readProcs(argv: boolean, root = '/proc'): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  const names = await readdir(root);
  await Promise.all(names.filter((n) => /^[1-9]\d*$/.test(n)).map(async (n) => {
    try {
      // "PID (COMM) STATE …": COMM may hold spaces and parentheses; the last ')' ends it.
      const stat = await readFile(`${root}/${n}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      if (open < 0 || close < open) return;
      const comm = stat.slice(open + 1, close);
      const state = stat.slice(close + 2, close + 3);
      let args: string[] | null = null;
      if (argv) {
        const raw = await readFile(`${root}/${n}/cmdline`, 'utf8');
        args = raw === '' ? [] : raw.replace(/\0$/, '').split('\0');
      }
      out.push({ pid: Number(n), comm, argv: args, zombie: state === 'Z' });
    } catch {
      // The process exited between readdir and the read.
    }
  }));
  return out;
}

export interface ProcessTrackerHooks {
  value(name: string, up: boolean): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
}

/** How often /proc is read. */
export const PROCESS_SCAN_MS = 1000;

/** Every vrrp_track_process of the configuration, scanned together. */
export class ProcessTracker {
  private readonly quorums = new Map<string, ProcessQuorum>();
  private timer: TimerHandle | null = null;
  private stopped = false;
  private lastError: string | null = null;

  constructor(
    private readonly tracked: readonly TrackProcess[],
    private readonly hooks: ProcessTrackerHooks,
    private readonly clock: Clock = systemClock,
    private readonly read: (argv: boolean) => Promise<ProcInfo[]> = (argv) => readProcs(argv),
    private readonly intervalMs = PROCESS_SCAN_MS,
  ) {
    for (const t of tracked) {
      this.quorums.set(t.name, new ProcessQuorum(t, (up, count) => {
        // keepalived's wording (vrrp_track.c): "Quorum gained for tracked process nginx".
        hooks.log('info', `Quorum ${up ? 'gained' : 'lost'} for tracked process ${t.name} (${count} running, quorum ${t.quorumMax === 0 ? 'none' : `${t.quorum}${t.quorumMax !== null ? `-${t.quorumMax}` : '+'}`})`);
        hooks.value(t.name, up);
      }, clock));
    }
  }

  start(): void {
    if (this.tracked.length > 0) void this.scan();
  }

  /** One scan now (tests; the timer calls it every interval). */
  async scan(): Promise<void> {
    if (this.stopped) return;
    try {
      const procs = await this.read(this.tracked.some((t) => t.fullCommand));
      if (this.stopped) return;
      for (const t of this.tracked) this.quorums.get(t.name)!.scanned(procs.filter((p) => matchesProcess(t, p)).length);
      this.lastError = null;
    } catch (err) {
      const msg = `track_process: reading /proc failed: ${(err as Error).message}`;
      if (msg !== this.lastError) this.hooks.log('warn', msg);
      this.lastError = msg;
    }
    if (!this.stopped) this.timer = this.clock.setTimer(() => void this.scan(), this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
    for (const q of this.quorums.values()) q.cancel();
  }
}
