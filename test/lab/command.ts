// Running external commands for the lab: argument arrays only (never a shell), a timeout that
// kills the one process we started (by PID), optional stdin. Every system call the lab makes
// goes through here, so the rest of the lab never touches child_process directly.
import { spawn, execFileSync } from 'node:child_process';

/** Result of a finished command. `code` is null when the process died from a signal. */
export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the lab killed it because it ran past `timeoutMs`. */
  timedOut: boolean;
}

export interface CommandOptions {
  /** Kill the command (SIGKILL, by PID) after this long. Default 10 s. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string>;
  /** Throw a CommandError when the exit code is not 0. Default false. */
  check?: boolean;
}

export class CommandError extends Error {
  constructor(readonly argv: readonly string[], readonly result: CommandResult) {
    const why = result.timedOut
      ? 'timed out'
      : result.code !== null ? `exited with ${result.code}` : `died from ${result.signal ?? 'unknown signal'}`;
    const err = result.stderr.trim();
    super(`command ${why}: ${argv.join(' ')}${err ? `\n${err}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Runs `file args…` and resolves with its exit status and output; never rejects unless `check`. */
export function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: Error | undefined;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A command that exits before reading stdin makes the write fail with EPIPE; that is the
    // command's business (its exit code says what happened), not a reason to crash.
    child.stdin.on('error', () => {});
    child.on('error', (e) => { spawnError = e; });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const argv = [file, ...args];
      if (spawnError && code === null && signal === null) {
        reject(new Error(`cannot run ${argv.join(' ')}: ${spawnError.message}`));
        return;
      }
      const result: CommandResult = {
        code, signal, timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (opts.check && (code !== 0 || timedOut)) reject(new CommandError(argv, result));
      else resolve(result);
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Runs `ip args…` and throws a CommandError on failure. */
export async function ip(args: readonly string[], opts: Omit<CommandOptions, 'check'> = {}): Promise<string> {
  const r = await runCommand('ip', args, { ...opts, check: true });
  return r.stdout;
}

/** Synchronous best-effort variant for process 'exit' hooks, where nothing async runs any more. */
export function runSyncQuiet(file: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 });
  } catch {
    return undefined;
  }
}

/** Throws a clear error naming every required tool that is not on PATH. */
export async function requireTools(tools: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const t of tools) {
    // `command -v` would need a shell; ask the same question by walking PATH.
    if (!(await onPath(t))) missing.push(t);
  }
  if (missing.length > 0) {
    throw new Error(`the lab needs these tools, which are not installed or not on PATH: ${missing.join(', ')} ` +
      '(Debian: apt-get install iproute2 nftables procps iputils-ping)');
  }
}

async function onPath(tool: string): Promise<boolean> {
  const { access, constants } = await import('node:fs/promises');
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  for (const d of dirs) {
    try {
      await access(`${d}/${tool}`, constants.X_OK);
      return true;
    } catch { /* try the next directory */ }
  }
  return false;
}
