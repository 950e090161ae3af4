// Running checker scripts and notify programs: argument arrays, never a shell (DESIGN.md);
// bounded in time and in memory. Checkers, vrrp_scripts and notify programs all run through here.
//
// - The child gets its own process group (detached) so a timeout kills it and anything it
//   started: keepalived does the same with kill(-pid, …) in check_misc.c. keepalived sends
//   SIGTERM then SIGKILL 2 s later; tandem sends SIGKILL at once, since a checker that overran
//   its timeout has already failed and waiting only delays the next check.
// - stdout/stderr are read and discarded (only the first bytes kept for the log), so a
//   script printing megabytes neither blocks on a full pipe nor grows memory.
// - We resolve on 'exit', not 'close': a background grandchild that keeps the pipes open must
//   not hold the check hostage.

import { spawn, execFile } from 'node:child_process';

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

export function runBounded(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const keep = opts.keepOutputBytes ?? 512;
  return new Promise((resolve) => {
    let outputBytes = 0;
    const head: Buffer[] = [];
    let headLen = 0;
    let timedOut = false;
    let aborted = false;
    let done = false;
    const finish = (r: Omit<RunResult, 'timedOut' | 'aborted' | 'outputBytes' | 'outputHead' | 'durationMs'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({
        ...r,
        timedOut,
        aborted,
        outputBytes,
        outputHead: Buffer.concat(head).toString('utf8'),
        durationMs: Date.now() - started,
      });
    };
    if (argv.length === 0 || !argv[0]) {
      done = true;
      resolve({ code: null, signal: null, timedOut, aborted, error: 'empty command', outputBytes, outputHead: '', durationMs: 0 });
      return;
    }
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      uid: opts.uid,
      gid: opts.gid,
    });
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: already gone. Nothing else to do.
      }
    };
    const onData = (b: Buffer): void => {
      outputBytes += b.length;
      if (headLen < keep) {
        const part = b.subarray(0, keep - headLen);
        head.push(part);
        headLen += part.length;
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, Math.max(1, opts.timeoutMs));
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish({ code: null, signal: null, error: e.code ?? e.message });
    });
    child.on('exit', (code, signal) => {
      // Leftover pipe holders are not waited for; release our ends.
      child.stdout?.destroy();
      child.stderr?.destroy();
      finish({ code, signal, error: null });
    });
  });
}

/** Cache of name → numeric id lookups (script_user). */
const idCache = new Map<string, number>();

function execOut(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 5000, maxBuffer: 64 * 1024 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(String(stdout));
    });
  });
}

/** One cached id lookup: run the program, take the number `pick` finds in its output. */
async function cachedId(key: string, what: string, argv: [string, string[]], pick: (out: string) => number): Promise<number> {
  const hit = idCache.get(key);
  if (hit !== undefined) return hit;
  let n = NaN;
  try {
    n = pick(await execOut(argv[0], argv[1]));
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
  return cachedId(`u:${user}`, `user ${JSON.stringify(user)}`, ['id', ['-u', '--', user]], (o) => Number(o.trim()));
}

/** Primary gid of a user, via `id -g NAME`. */
export function lookupPrimaryGid(user: string): Promise<number> {
  return cachedId(`pg:${user}`, `user ${JSON.stringify(user)}`, ['id', ['-g', '--', user]], (o) => Number(o.trim()));
}

/** gid of a group name (or numeric string), via `getent group NAME`. */
export function lookupGid(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Promise.resolve(Number(group));
  return cachedId(`g:${group}`, `group ${JSON.stringify(group)}`, ['getent', ['group', '--', group]], (o) => Number(o.split(':')[2]));
}

/** Resolve script_user [group] to ids; user null means run as ourselves. */
export async function resolveCredentials(user: string | null, group: string | null): Promise<{ uid?: number; gid?: number }> {
  if (!user) return group ? { gid: await lookupGid(group) } : {};
  const uid = await lookupUid(user);
  const gid = group ? await lookupGid(group) : /^\d+$/.test(user) ? undefined : await lookupPrimaryGid(user);
  return { uid, gid };
}
