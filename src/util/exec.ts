// Spawning external programs: always an argument array, never a shell (DESIGN.md), always a
// timeout, output capped so a chatty program cannot grow our memory.
import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExecOptions {
  timeoutMs?: number;
  input?: string;
  /** Cap on captured bytes per stream (default 1 MiB); the rest is read and discarded. */
  maxOutput?: number;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

export function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error('run: empty command'));
  const max = opts.maxOutput ?? 1 << 20;
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let done = false;
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env,
      uid: opts.uid,
      gid: opts.gid,
      // Own process group, so a timeout kills the program and anything it started.
      detached: true,
    });
    const finish = (r: ExecResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, opts.timeoutMs ?? 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (stdout.length < max) stdout += d.toString('utf8', 0, Math.min(d.length, max - stdout.length));
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < max) stderr += d.toString('utf8', 0, Math.min(d.length, max - stderr.length));
    });
    child.on('error', (err) => finish({ code: null, signal: null, stdout, stderr: stderr + String(err.message), timedOut }));
    child.on('close', (code, signal) => finish({ code, signal, stdout, stderr, timedOut }));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {
        /* the program may exit before reading everything; its exit code tells */
      });
      child.stdin!.end(opts.input);
    }
  });
}
