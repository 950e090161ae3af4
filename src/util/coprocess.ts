// A long-lived helper process that takes one command per line on stdin and reports on stderr:
// `ip -force -batch -` (src/net/ip-batch.ts) and `nft -i` (src/lb/nft.ts). Spawning the tool
// per change costs a fork, an exec and the tool's start-up each time; a running one answers in
// a few ms.
//
// Neither tool says "done" after a command that worked, so after each command the session
// writes a marker that the tool always answers on stderr; the tool's own protocol (its marker
// and its error format) is a CoprocessProtocol. Everything is read from stderr, in order, so no
// ordering between stdout and stderr is assumed. This class holds what both share: the process,
// the queue of pending commands answered in order, a timeout per command, failing every
// pending command when the process exits (the next command starts a new one), and an optional
// restart after a number of commands.

import { spawn, type ChildProcess } from 'node:child_process';

/** Why a command failed: the tool refused it, or the process went away under it. */
export interface CoprocessFailure {
  /** command: the tool's error text; exited/spawn/timeout/closed: what happened to the process. */
  kind: 'command' | 'exited' | 'spawn' | 'timeout' | 'closed';
  text: string;
}

/** Reads one process's stderr; a fresh one for every process started (line numbers restart). */
export interface CoprocessParser<M> {
  /** What to write for one command (the command, then the marker), and what the reader needs to recognise its end. */
  frame(command: string): { text: string; marker: M };
  /**
   * One stderr line, with the marker of the oldest pending command (null when none is pending).
   * Returns null while that command is not finished, else its outcome (error text or null).
   */
  line(line: string, head: M | null): { error: string | null } | null;
}

export interface CoprocessProtocol<M> {
  readonly argv: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** A command with no outcome after this long fails with every pending one, and the process is killed. */
  readonly timeoutMs: number;
  /** Start a new process after this many commands, once idle (a tool whose memory grows per line). */
  readonly restartAfter?: number;
  /** An idle process must not keep the event loop alive (a pending command's timer does meanwhile). */
  readonly unref?: boolean;
  /**
   * End the process after this long without a command (its memory back to the board); the next
   * command starts a new one, paying the tool's start-up once. Unset: it stays.
   */
  readonly idleExitMs?: number;
  parser(): CoprocessParser<M>;
  /** The error a command rejects with. */
  error(failure: CoprocessFailure, command: string): Error;
}

interface Pending<M> {
  marker: M;
  command: string;
  timer: NodeJS.Timeout;
  resolve(): void;
  reject(err: Error): void;
}

export class CoprocessSession<M> {
  private child: ChildProcess | null = null;
  private parser: CoprocessParser<M> | null = null;
  private used = 0;
  private buf = '';
  private pending: Array<Pending<M>> = [];
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly proto: CoprocessProtocol<M>) {}

  /** Runs one command; resolves when the tool reported it done, rejects with the protocol's error. */
  request(command: string): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const { child, parser } = this.ensure();
    this.used++;
    const { text, marker } = parser.frame(command);
    return new Promise((resolve, reject) => {
      // The outcome is unknown after a timeout: drop the process so the next command starts clean.
      const timer = setTimeout(() => this.kill('timed out'), this.proto.timeoutMs);
      this.pending.push({ marker, command, timer, resolve, reject });
      child.stdin!.write(text);
    });
  }

  /** Fails what is pending and lets the process end (stdin EOF). */
  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.failAll('closed', 'closed');
    this.retire();
  }

  private ensure(): { child: ChildProcess; parser: CoprocessParser<M> } {
    const limit = this.proto.restartAfter ?? Infinity;
    if (this.child && this.used >= limit && this.pending.length === 0) this.retire();
    if (this.child && this.parser) return { child: this.child, parser: this.parser };
    const [cmd, ...args] = this.proto.argv;
    const child = spawn(cmd!, args, { stdio: ['pipe', 'ignore', 'pipe'], env: this.proto.env });
    const parser = this.proto.parser();
    this.child = child;
    this.parser = parser;
    this.used = 0;
    this.buf = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (this.child === child) this.onStderr(d);
    });
    const gone = (kind: 'exited' | 'spawn', why: string): void => {
      if (this.child !== child) return;
      this.child = null;
      this.parser = null;
      this.failAll(kind, why);
    };
    child.on('error', (e) => gone('spawn', e.message));
    child.on('close', (code, sig) => gone('exited', `exited (${code ?? sig})`));
    child.stdin!.on('error', () => undefined); // reported through 'close'
    if (this.proto.unref) {
      // The tool exits on its own at stdin EOF when we exit.
      child.unref();
      for (const s of [child.stdin, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    }
    return { child, parser };
  }

  private onStderr(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const head = this.pending[0];
      const outcome = this.parser!.line(line, head?.marker ?? null);
      if (!outcome || !head) continue;
      this.pending.shift();
      clearTimeout(head.timer);
      if (outcome.error === null) head.resolve();
      else head.reject(this.proto.error({ kind: 'command', text: outcome.error }, head.command));
      if (this.pending.length === 0) this.armIdleExit();
    }
  }

  private armIdleExit(): void {
    const ms = this.proto.idleExitMs;
    if (ms === undefined || this.idleTimer) return;
    const t = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.length === 0) this.retire();
    }, ms);
    t.unref();
    this.idleTimer = t;
  }

  /** Fails every pending command and kills the process. */
  private kill(why: string): void {
    const c = this.child;
    this.child = null;
    this.parser = null;
    this.failAll('timeout', why);
    c?.kill('SIGKILL');
  }

  private failAll(kind: CoprocessFailure['kind'], text: string): void {
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(this.proto.error({ kind, text }, p.command));
    }
  }

  private retire(): void {
    const c = this.child;
    this.child = null;
    this.parser = null;
    c?.stdin?.end();
  }
}
