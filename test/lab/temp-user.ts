// A second, unprivileged local user for the hostile-input lab tests (a script rewritten by
// someone else, a control-socket directory someone else prepared). Created with a random name
// by `useradd`, removed by `userdel` in t.after, with every process the test started as that user
// stopped first, by PID.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { runCommand } from './command.ts';

export interface TempUser {
  name: string;
  uid: number;
  gid: number;
  /** Runs argv as this user (no shell) and waits; stdout as text. */
  run(argv: readonly string[], timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Starts a long-running process as this user; stopped by PID before the user is removed. */
  spawn(argv: readonly string[]): ChildProcess;
}

export async function createTempUser(t: { after(fn: () => unknown): void }): Promise<TempUser> {
  const name = `tnd${randomBytes(4).toString('hex')}`;
  // --system: no mail spool, no aging; no home, no login shell.
  await runCommand('useradd', ['--system', '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name], { check: true });
  const procs = new Set<ChildProcess>();
  t.after(async () => {
    for (const p of procs) {
      if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) {
        const gone = new Promise((r) => p.once('exit', r));
        try { p.kill('SIGKILL'); } catch { /* already gone */ }
        await gone;
      }
    }
    await runCommand('userdel', [name]).catch(() => undefined);
  });
  const uid = Number((await runCommand('id', ['-u', name], { check: true })).stdout.trim());
  const gid = Number((await runCommand('id', ['-g', name], { check: true })).stdout.trim());
  const spawnAs = (argv: readonly string[]): ChildProcess => {
    const p = spawn(argv[0]!, argv.slice(1), { uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.add(p);
    p.once('exit', () => procs.delete(p));
    return p;
  };
  return {
    name,
    uid,
    gid,
    spawn: spawnAs,
    run: (argv, timeoutMs = 10_000) => new Promise((resolve, reject) => {
      const p = spawnAs(argv);
      let stdout = '';
      let stderr = '';
      p.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      p.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    }),
  };
}
