// A long-running process inside a lab namespace (a board's daemon, a real server, a capture):
// its output kept as lines that a test can wait on, and a stop that escalates from a polite
// signal to SIGKILL, always by the PID we started and nothing broader.
import { spawn, type ChildProcess } from 'node:child_process';

export interface LogLine {
  stream: 'stdout' | 'stderr';
  text: string;
  /** Date.now() when the line arrived. */
  at: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string>;
  cwd?: string;
  /** Keep stdin open as a pipe (`proc.child.stdin`); otherwise it is /dev/null. */
  stdin?: boolean;
  /** Label used in error messages and echoed output; defaults to the command name. */
  label?: string;
  /** Called for every output line (e.g. to echo a daemon's log in the demo). */
  onLine?: (line: LogLine) => void;
}

/** Lines kept per process; older ones are dropped (line numbers stay absolute). */
const MAX_LINES = 100_000;

export class LabProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly label: string;
  readonly argv: readonly string[];
  /** Resolves once the process has exited and its output is fully read. */
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;
  private buf: LogLine[] = [];
  private dropped = 0;
  private listeners = new Set<(l: LogLine) => void>();
  private partial: Record<LogLine['stream'], string> = { stdout: '', stderr: '' };

  /**
   * Spawns `ip netns exec NS argv…`. `ip netns exec` execs the command in place (it does not fork
   * unless in batch mode), so the PID we hold is the command's own PID.
   */
  constructor(ns: string, argv: readonly string[], opts: SpawnOptions = {}) {
    if (argv.length === 0) throw new Error('spawn needs a command');
    this.argv = argv;
    this.label = opts.label ?? argv[0]!;
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      cwd: opts.cwd,
    });
    if (this.child.pid === undefined) {
      // spawn failed synchronously enough that no PID exists (ip missing): say so clearly.
      throw new Error(`cannot start ${argv.join(' ')} in namespace ${ns}`);
    }
    this.pid = this.child.pid;
    if (opts.onLine) this.listeners.add(opts.onLine);
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (s: string) => this.take('stdout', s));
    this.child.stderr!.on('data', (s: string) => this.take('stderr', s));
    this.child.stdin?.on('error', () => { /* the process went away; its exit status says why */ });
    this.exited = new Promise((resolve) => {
      this.child.on('error', () => { /* reported through 'close' with a null code */ });
      this.child.on('close', (code, signal) => {
        for (const s of ['stdout', 'stderr'] as const) {
          if (this.partial[s] !== '') this.push(s, this.partial[s]);
          this.partial[s] = '';
        }
        this.status = { code, signal };
        resolve(this.status);
      });
    });
  }

  /** Exit status once exited, else undefined. */
  get exitStatus(): ExitStatus | undefined { return this.status; }
  get running(): boolean { return this.status === undefined; }

  /** All kept lines (both streams, in arrival order). */
  get lines(): readonly LogLine[] { return this.buf; }

  /** Absolute number of the next line; pass it as `from` to wait only for later lines. */
  mark(): number { return this.dropped + this.buf.length; }

  /** The kept output as text, one line per line, stderr lines included. */
  output(): string { return this.buf.map((l) => l.text).join('\n'); }

  /** Subscribes to output lines; returns an unsubscribe function. */
  onLine(cb: (line: LogLine) => void): () => void {
    this.listeners.add(cb);
    return () => { this.listeners.delete(cb); };
  }

  /**
   * Resolves with the first line (at or after absolute line number `from`, default 0) that
   * matches `re`. Rejects on timeout, or as soon as the process exits without printing it,
   * with the last lines of output in the message.
   */
  waitForLog(re: RegExp, timeoutMs = 10_000, opts: { from?: number } = {}): Promise<string> {
    // A /g or /y regex keeps state between test() calls; match with a stateless copy.
    if (re.global || re.sticky) re = new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
    const from = opts.from ?? 0;
    const start = Math.max(0, from - this.dropped);
    for (let i = start; i < this.buf.length; i++) {
      const l = this.buf[i]!;
      if (re.test(l.text)) return Promise.resolve(l.text);
    }
    return new Promise((resolve, reject) => {
      const exitedEarly = (): Error =>
        new Error(`${this.label} (pid ${this.pid}) exited (${fmtStatus(this.status!)}) before logging ${re}\n${this.tail()}`);
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        off();
        fn();
      };
      const off = this.onLine((l) => {
        if (re.test(l.text)) finish(() => resolve(l.text));
      });
      const timer = setTimeout(() => {
        finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${this.label} (pid ${this.pid}) to log ${re}\n${this.tail()}`)));
      }, timeoutMs);
      // 'close' flushes the last partial lines before `exited` resolves, so a match in them wins.
      void this.exited.then(() => finish(() => reject(exitedEarly())));
    });
  }

  /** The last `n` lines, indented, for error messages. */
  tail(n = 25): string {
    const last = this.buf.slice(-n).map((l) => `  | ${l.text}`);
    return last.length ? `last output of ${this.label}:\n${last.join('\n')}` : `${this.label} printed nothing`;
  }

  /** Sends a signal to our PID; false when the process is already gone. */
  signal(sig: NodeJS.Signals): boolean {
    if (this.status !== undefined) return false;
    try {
      process.kill(this.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stops the process: `sig` (default SIGTERM), then SIGKILL if it has not exited after
   * `graceMs`. Resolves with the exit status; safe to call on an exited process.
   */
  async stop(sig: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<ExitStatus> {
    if (this.status !== undefined) return this.status;
    this.signal(sig);
    if (sig === 'SIGKILL') return this.exited;
    let timer: NodeJS.Timeout | undefined;
    const escalated = new Promise<void>((r) => { timer = setTimeout(r, graceMs); });
    const first = await Promise.race([this.exited, escalated.then(() => undefined)]);
    clearTimeout(timer);
    if (first) return first;
    this.signal('SIGKILL');
    return this.exited;
  }

  private take(stream: LogLine['stream'], chunk: string): void {
    const parts = (this.partial[stream] + chunk).split('\n');
    this.partial[stream] = parts.pop()!;
    for (const p of parts) this.push(stream, p.endsWith('\r') ? p.slice(0, -1) : p);
  }

  private push(stream: LogLine['stream'], text: string): void {
    const line: LogLine = { stream, text, at: Date.now() };
    this.buf.push(line);
    if (this.buf.length > MAX_LINES) {
      const drop = this.buf.length - MAX_LINES;
      this.buf.splice(0, drop);
      this.dropped += drop;
    }
    for (const l of [...this.listeners]) {
      try { l(line); } catch { /* a listener's bug must not stop the log */ }
    }
  }
}

export function fmtStatus(s: ExitStatus): string {
  return s.code !== null ? `code ${s.code}` : `signal ${s.signal ?? '?'}`;
}
