// Running external programs: the one spawn path for nft, conntrack, ip, checker scripts,
// vrrp_scripts, notify programs and id lookups. Always an argument array, never a shell
// (DESIGN.md); always a timeout; output bounded so a chatty program cannot grow our memory.
//
// - The child gets its own process group (detached) so a timeout or an abort kills it and
//   anything it started: keepalived does the same with kill(-pid, …) in check_misc.c. keepalived
//   sends SIGTERM then SIGKILL 2 s later; tandem sends SIGKILL at once, since a program that
//   overran its timeout has already failed and waiting only delays the next run.
// - Two output modes:
//   'capture' keeps stdout and stderr apart, each up to maxOutput bytes (the rest is read and
//     dropped), and resolves once both pipes have closed, so the output is complete: for tools
//     whose output we parse (nft, conntrack, ip).
//   'discard' reads and counts both streams, keeps only their first maxOutput bytes (for the
//     log), and resolves at 'exit' plus at most 50 ms for the pipes to drain, not at 'close': a
//     background grandchild that keeps the pipes open must not hold a check hostage. For
//     scripts and notify programs.

import { spawn } from 'node:child_process';

export interface ProcessOptions {
  /** Infinity: none, for a program that runs as long as tandem does (an event FIFO's reader; stopped by `signal`). */
  timeoutMs: number;
  output: 'capture' | 'discard';
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** capture: bytes kept per stream (default 1 MiB); discard: bytes kept of both (default 512). */
  maxOutput?: number;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** Aborting kills the process group, as a timeout does (`aborted` in the result). */
  signal?: AbortSignal;
}

export interface ProcessResult {
  /** Exit code, or null when killed by a signal or not started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** The spawn error (ENOENT, EACCES, …; its message in `errorMessage`), or null. */
  error: string | null;
  errorMessage: string | null;
  /** capture: stdout; discard: the first bytes of stdout and stderr as they arrived. */
  stdout: string;
  /** capture only. */
  stderr: string;
  /** All bytes the program wrote on both streams, kept or not. */
  outputBytes: number;
  durationMs: number;
}

/** Bounded bytes of one stream (or of both, interleaved as they arrive). */
class Kept {
  private readonly parts: Buffer[] = [];
  private len = 0;
  constructor(private readonly max: number) {}
  add(b: Buffer): void {
    if (this.len >= this.max) return;
    const part = b.subarray(0, this.max - this.len);
    this.parts.push(part);
    this.len += part.length;
  }
  text(): string {
    return Buffer.concat(this.parts).toString('utf8');
  }
}

export function runProcess(argv: readonly string[], opts: ProcessOptions): Promise<ProcessResult> {
  const started = performance.now();
  const capture = opts.output === 'capture';
  const max = opts.maxOutput ?? (capture ? 1 << 20 : 512);
  const out = new Kept(max);
  const err = capture ? new Kept(max) : out;
  let outputBytes = 0;
  let timedOut = false;
  let aborted = false;
  const result = (r: Pick<ProcessResult, 'code' | 'signal' | 'error' | 'errorMessage'>): ProcessResult => ({
    ...r, timedOut, aborted, stdout: out.text(), stderr: capture ? err.text() : '', outputBytes,
    durationMs: Math.round(performance.now() - started),
  });
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.resolve(result({ code: null, signal: null, error: 'empty command', errorMessage: 'empty command' }));
  return new Promise((resolve) => {
    let done = false;
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env,
      uid: opts.uid,
      gid: opts.gid,
      detached: true,
    });
    const finish = (r: Pick<ProcessResult, 'code' | 'signal' | 'error' | 'errorMessage'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(result(r));
    };
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: already gone. Nothing else to do.
      }
    };
    child.stdout!.on('data', (b: Buffer) => {
      outputBytes += b.length;
      out.add(b);
    });
    child.stderr!.on('data', (b: Buffer) => {
      outputBytes += b.length;
      err.add(b);
    });
    const timer = Number.isFinite(opts.timeoutMs) ? setTimeout(() => {
      timedOut = true;
      killGroup();
    }, Math.max(1, opts.timeoutMs)) : undefined;
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => finish({ code: null, signal: null, error: e.code ?? e.message, errorMessage: e.message }));
    if (capture) {
      child.on('close', (code, signal) => finish({ code, signal, error: null, errorMessage: null }));
    } else {
      child.on('exit', (code, signal) => {
        // What the program wrote just before it exited may still be in the pipes: 'close' comes
        // once they are drained. A background grandchild that keeps them open must not hold the
        // run hostage, so at most a short grace, then our ends are released.
        const done = (): void => {
          clearTimeout(grace);
          child.stdout!.destroy();
          child.stderr!.destroy();
          finish({ code, signal, error: null, errorMessage: null });
        };
        const grace = setTimeout(done, 50);
        child.once('close', done);
      });
    }
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {
        /* the program may exit before reading everything; its exit code tells */
      });
      child.stdin!.end(opts.input);
    }
  });
}

// ---- the two modes as their callers use them

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** With a spawn error's message appended when the program could not start. */
  stderr: string;
  timedOut: boolean;
}

export interface ExecOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  input?: string;
  /** Cap on captured bytes per stream (default 1 MiB); the rest is read and discarded. */
  maxOutput?: number;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/** Runs a tool whose output we read ('capture' mode). */
export async function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (!argv[0]) throw new Error('run: empty command');
  const r = await runProcess(argv, { ...opts, timeoutMs: opts.timeoutMs ?? 10_000, output: 'capture' });
  return { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr + (r.errorMessage ?? ''), timedOut: r.timedOut };
}

export interface RunOptions {
  timeoutMs: number;
  uid?: number;
  gid?: number;
  signal?: AbortSignal;
  /** Bytes of output kept for the detail; the rest is discarded. Default 512. */
  keepOutputBytes?: number;
}

export interface RunResult {
  /** Exit code, or null when killed by a signal or not started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** Spawn error (ENOENT, EACCES, …), or null. */
  error: string | null;
  outputBytes: number;
  outputHead: string;
  durationMs: number;
}

/** Runs a script or notify program whose output only goes to the log ('discard' mode). */
export async function runBounded(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const { keepOutputBytes, ...rest } = opts;
  const r = await runProcess(argv, { ...rest, output: 'discard', maxOutput: keepOutputBytes ?? 512 });
  return {
    code: r.code, signal: r.signal, timedOut: r.timedOut, aborted: r.aborted, error: r.error,
    outputBytes: r.outputBytes, outputHead: r.stdout, durationMs: r.durationMs,
  };
}

// ---- script_user / script_group: names to ids

/** Cache of name → numeric id lookups (script_user). */
const idCache = new Map<string, number>();

/** A decimal id, or NaN (never 0 for empty output: that would be root). */
function decimal(s: string | undefined): number {
  const t = (s ?? '').trim();
  return /^\d+$/.test(t) ? Number(t) : NaN;
}

/** One cached id lookup: run the program, take the number `pick` finds in its output. */
async function cachedId(key: string, what: string, argv: readonly string[], pick: (out: string) => number): Promise<number> {
  const hit = idCache.get(key);
  if (hit !== undefined) return hit;
  let n = NaN;
  try {
    const r = await run(argv, { timeoutMs: 5000, maxOutput: 64 * 1024 });
    if (r.code === 0) n = pick(r.stdout);
  } catch {
    /* reported below */
  }
  if (!Number.isInteger(n)) throw new Error(`unknown ${what}`);
  idCache.set(key, n);
  return n;
}

/** uid of a user name (or a numeric string), via `id -u NAME`. */
export function lookupUid(user: string): Promise<number> {
  if (/^\d+$/.test(user)) return Promise.resolve(Number(user));
  return cachedId(`u:${user}`, `user ${JSON.stringify(user)}`, ['id', '-u', '--', user], (o) => decimal(o));
}

/** Primary gid of a user, via `id -g NAME`. */
export function lookupPrimaryGid(user: string): Promise<number> {
  return cachedId(`pg:${user}`, `user ${JSON.stringify(user)}`, ['id', '-g', '--', user], (o) => decimal(o));
}

/** gid of a group name (or numeric string), via `getent group NAME`. */
export function lookupGid(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Promise.resolve(Number(group));
  return cachedId(`g:${group}`, `group ${JSON.stringify(group)}`, ['getent', 'group', '--', group], (o) => decimal(o.split(':')[2]));
}

