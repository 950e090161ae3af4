// The event FIFOs (global_defs notify_fifo, vrrp_notify_fifo, lvs_notify_fifo; keepalived
// core/notify.c fifo_open, vrrp/vrrp_notify.c, check/ipwrapper.c): one line per event, in the
// order the events happened, for a reader that wants them ordered (notify programs run
// concurrently and may finish in any order; lines in one FIFO cannot).
//
// Nothing here can block the daemon, whatever the reader does: the FIFO is opened
// O_RDWR | O_NONBLOCK (so the open does not wait for a reader, and a write to a full pipe fails
// with EAGAIN instead of waiting), lines wait in a bounded queue while the pipe is full, and
// lines beyond the bound are dropped and counted (keepalived drops them on EAGAIN, uncounted).
// Each write is at most PIPE_BUF bytes, so a reader never sees part of a line (POSIX: such
// writes to a pipe are atomic).
//
// As keepalived does: the FIFO is created (mode 0644, less the umask) when missing and owned by
// its [username [groupname]], else the default script user; an existing path must be a FIFO
// owned by us or by that user (a planted file is refused); the FIFO tandem created is removed
// when it stops; each FIFO's _script starts once, as script_user, with the FIFO's path as its
// last argument, and runs until tandem stops. keepalived writes a NUL after each LVS line (it
// passes the buffer size to write()); tandem writes the lines the manual documents, NUL-free.
import { constants } from 'node:fs';
import { chown, lstat, open, unlink, type FileHandle } from 'node:fs/promises';
import type { Command, EventFifo as FifoConfig, GlobalDefs } from '../config/model.ts';
import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { LogThrottle, suppressedNote } from './log-throttle.ts';
import { runScript } from './run-script.ts';
import { runBounded } from './spawn.ts';
import { resolveRunAs, type ScriptPolicy } from './script-user.ts';

/** POSIX PIPE_BUF on Linux: writes of at most this many bytes to a pipe are atomic. */
export const PIPE_BUF = 4096;
/** Lines that may wait for a slow reader; beyond, they are dropped and counted. */
export const MAX_QUEUED_LINES = 4096;
/** How often a full pipe is tried again. */
const RETRY_MS = 50;

export type FifoKind = 'notify' | 'vrrp' | 'lvs';

export interface FifoStats {
  kind: FifoKind;
  path: string;
  written: number;
  dropped: number;
  queued: number;
}

/** The FIFOs' lines of `show statistics` and the stats file (empty without FIFOs). */
export function formatFifoStats(stats: readonly FifoStats[]): string {
  if (stats.length === 0) return '';
  return `Event FIFOs:\n${stats.map((f) => `  ${f.path}: ${f.written} written, ${f.dropped} dropped, ${f.queued} waiting\n`).join('')}`;
}

/** What the writer needs of an open FIFO (a FileHandle; a test's fake pipe). */
export interface FifoHandle {
  write(buffer: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }>;
  close(): Promise<void>;
}

/** The file operations a FIFO needs (a test swaps them). */
export interface FifoFs {
  /** Creates the FIFO (mkfifo); rejects with code EEXIST when the path exists. */
  mkfifo(path: string): Promise<void>;
  open(path: string): Promise<FifoHandle & Pick<FileHandle, 'stat'>>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  unlink(path: string): Promise<void>;
}

/** mkfifo(1): Node has no mkfifo(2). argv only, no shell; -m 0644 as keepalived, less our umask (mkfifo applies it). */
async function mkfifo(path: string): Promise<void> {
  const exists = await lstat(path).then(() => true, () => false);
  if (exists) throw Object.assign(new Error(`${path} exists`), { code: 'EEXIST' });
  const mode = (0o644 & ~currentUmask()).toString(8);
  const r = await runBounded(['mkfifo', '-m', mode, '--', path], { timeoutMs: 5000 });
  if (r.code !== 0) throw new Error(`mkfifo ${path}: ${r.error ?? (r.outputHead.trim() || `exit ${r.code}`)}`);
}

/** mkfifo -m sets the mode as given; keepalived's mkfifo(2) has the umask applied. */
function currentUmask(): number {
  // Reading it without setting it (a documentation-only deprecation, DEP0139): setting it to
  // read it would race with files created meanwhile.
  return process.umask();
}

export const systemFifoFs: FifoFs = {
  mkfifo,
  // O_RDWR: the open does not wait for a reader and the pipe never reads as closed to the
  // reader between its opens; O_NONBLOCK: a full pipe fails the write (EAGAIN) instead of
  // blocking; O_NOFOLLOW: a symlink planted at the path is not followed.
  open: (path) => open(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW),
  chown,
  unlink,
};

/** One open FIFO: a bounded queue in front of a non-blocking handle. */
export class EventFifoWriter {
  private readonly queue: string[] = [];
  private writing = false;
  private retry: TimerHandle | null = null;
  private closed = false;
  written = 0;
  dropped = 0;

  constructor(
    readonly kind: FifoKind,
    readonly path: string,
    private readonly fh: FifoHandle,
    private readonly log: (level: 'warn', msg: string) => void,
    private readonly clock: Clock = systemClock,
    private readonly maxQueued = MAX_QUEUED_LINES,
    private readonly throttle = new LogThrottle(clock),
  ) {}

  /** Queues one line (a newline is added); never waits. */
  write(line: string): void {
    if (this.closed) return;
    const text = line.endsWith('\n') ? line : `${line}\n`;
    if (Buffer.byteLength(text) > PIPE_BUF) {
      this.drop('a line longer than PIPE_BUF');
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.drop(`the reader is not reading (${this.maxQueued} lines waiting)`);
      return;
    }
    this.queue.push(text);
    this.pump();
  }

  get queued(): number {
    return this.queue.length;
  }

  stats(): FifoStats {
    return { kind: this.kind, path: this.path, written: this.written, dropped: this.dropped, queued: this.queue.length };
  }

  private drop(why: string): void {
    this.dropped++;
    const n = this.throttle.allow(this.path);
    if (n !== null) this.log('warn', `${this.kind === 'notify' ? '' : `${this.kind}_`}notify_fifo ${this.path}: event dropped, ${why}; ${this.dropped} dropped so far${suppressedNote(n)}`);
  }

  /** Writes queued lines in order, as many as fit in one PIPE_BUF-sized write. */
  private pump(): void {
    if (this.writing || this.retry || this.closed || this.queue.length === 0) return;
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && bytes + Buffer.byteLength(this.queue[n]!) <= PIPE_BUF) bytes += Buffer.byteLength(this.queue[n++]!);
    const chunk = Buffer.from(this.queue.slice(0, n).join(''));
    this.writing = true;
    this.fh.write(chunk, 0, chunk.length).then(
      ({ bytesWritten }) => {
        this.writing = false;
        // A write of at most PIPE_BUF bytes to a pipe is all or nothing.
        if (bytesWritten === chunk.length) {
          this.queue.splice(0, n);
          this.written += n;
        }
        this.pump();
      },
      (err: NodeJS.ErrnoException) => {
        this.writing = false;
        if (this.closed) return;
        if (err.code !== 'EAGAIN' && err.code !== 'EWOULDBLOCK') {
          this.log('warn', `notify fifo ${this.path}: write failed: ${err.message}`);
        }
        // Full (or failing): try again shortly; meanwhile the queue bounds what waits.
        this.retry = this.clock.setTimer(() => {
          this.retry = null;
          this.pump();
        }, RETRY_MS);
      },
    );
  }

  /**
   * Waits until the queued lines are written (the STOP lines at shutdown), at most `ms`. Real,
   * referenced timers: the Clock's do not hold the process, and a stopping daemon must not end
   * in the middle of this wait.
   */
  async drain(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while ((this.queue.length > 0 || this.writing) && !this.closed && performance.now() < until) {
      await new Promise<void>((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) this.clock.clearTimer(this.retry);
    this.retry = null;
    await this.fh.close().catch(() => undefined);
  }
}

interface OpenFifo {
  writer: EventFifoWriter;
  created: boolean;
  reader: AbortController | null;
}

export interface EventFifosDeps {
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  fs?: FifoFs;
  clock?: Clock;
  /** Starts a FIFO's reader (default: runScript as script_user, no time bound, stopped by the signal). */
  startReader?(cmd: Command, path: string, policy: ScriptPolicy, signal: AbortSignal, log: EventFifosDeps['log']): void;
}

const KW: Record<FifoKind, string> = { notify: 'notify_fifo', vrrp: 'vrrp_notify_fifo', lvs: 'lvs_notify_fifo' };

/**
 * notify_fifo, vrrp_notify_fifo and lvs_notify_fifo as one: VRRP lines go to the first two,
 * LVS lines to the first and the last. Opened at start, closed at stop; a FIFO that cannot be
 * used is logged and left out (keepalived does the same), never fatal.
 */
export class EventFifos {
  private constructor(private readonly fifos: Map<FifoKind, OpenFifo>, private readonly deps: EventFifosDeps) {}

  /** No FIFO configured: writes go nowhere. */
  static none(deps: EventFifosDeps): EventFifos {
    return new EventFifos(new Map(), deps);
  }

  static async open(g: GlobalDefs, policy: ScriptPolicy, deps: EventFifosDeps): Promise<EventFifos> {
    const fs = deps.fs ?? systemFifoFs;
    const want: Array<[FifoKind, FifoConfig | null, Command | null]> = [
      ['notify', g.notifyFifo, g.notifyFifoScript],
      ['vrrp', g.vrrpNotifyFifo, g.vrrpNotifyFifoScript],
      ['lvs', g.lvsNotifyFifo, g.lvsNotifyFifoScript],
    ];
    const out = new Map<FifoKind, OpenFifo>();
    const taken = new Map<string, FifoKind>();
    for (const [kind, f, script] of want) {
      if (!f) continue;
      // keepalived global_data.c: the same FIFO named twice is used once (as the global one).
      const other = taken.get(f.path);
      if (other) {
        deps.log('info', `${KW[kind]} ${f.path} is also ${KW[other]}: ignoring ${KW[kind]}`);
        continue;
      }
      const o = await EventFifos.openOne(kind, f, script, policy, fs, deps);
      if (o) {
        out.set(kind, o);
        taken.set(f.path, kind);
      }
    }
    return new EventFifos(out, deps);
  }

  private static async openOne(kind: FifoKind, f: FifoConfig, script: Command | null, policy: ScriptPolicy, fs: FifoFs, deps: EventFifosDeps): Promise<OpenFifo | null> {
    const what = `${KW[kind]} ${f.path}`;
    let owner: { uid: number; gid: number };
    try {
      owner = await resolveRunAs(f.user ? { user: f.user, group: f.group } : null, policy);
    } catch (err) {
      deps.log('error', `${what}: ${(err as Error).message}; not used`);
      return null;
    }
    let created = false;
    try {
      await fs.mkfifo(f.path);
      created = true;
      const me = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
      if (owner.uid !== me.uid || owner.gid !== me.gid) {
        await fs.chown(f.path, owner.uid, owner.gid).catch((err: Error) => deps.log('warn', `${what}: cannot give it to ${owner.uid}:${owner.gid}: ${err.message}`));
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        deps.log('error', `${what}: unable to create it: ${(err as Error).message}; not used`);
        return null;
      }
    }
    let fh: Awaited<ReturnType<FifoFs['open']>>;
    try {
      fh = await fs.open(f.path);
    } catch (err) {
      deps.log('error', `${what}: unable to open it: ${(err as Error).message}; not used`);
      if (created) await fs.unlink(f.path).catch(() => undefined);
      return null;
    }
    // On an existing path: only a FIFO that we or its user own (keepalived: "is not a fifo we own").
    const st = await fh.stat();
    const me = process.geteuid?.() ?? 0;
    if (!st.isFIFO() || (st.uid !== me && st.uid !== owner.uid)) {
      deps.log('error', `${what} is not a FIFO tandem or its user owns; not used`);
      await fh.close().catch(() => undefined);
      return null;
    }
    const writer = new EventFifoWriter(kind, f.path, fh, deps.log, deps.clock ?? systemClock);
    let reader: AbortController | null = null;
    if (script) {
      reader = new AbortController();
      (deps.startReader ?? startReader)(script, f.path, policy, reader.signal, deps.log);
      deps.log('info', `${what}: started ${script.argv[0]} to read it`);
    }
    deps.log('info', `${what}: writing events`);
    return { writer, created, reader };
  }

  /** A VRRP line: notify_fifo and vrrp_notify_fifo. */
  vrrp(line: string): void {
    this.fifos.get('notify')?.writer.write(line);
    this.fifos.get('vrrp')?.writer.write(line);
  }

  /** An LVS line: notify_fifo and lvs_notify_fifo. */
  lvs(line: string): void {
    this.fifos.get('notify')?.writer.write(line);
    this.fifos.get('lvs')?.writer.write(line);
  }

  get any(): boolean {
    return this.fifos.size > 0;
  }

  stats(): FifoStats[] {
    return [...this.fifos.values()].map((f) => f.writer.stats());
  }

  /** Whether `next` names other FIFOs or readers (a reload then reopens them). */
  static sameConfig(a: GlobalDefs, b: GlobalDefs): boolean {
    const key = (g: GlobalDefs): string => JSON.stringify([g.notifyFifo, g.notifyFifoScript, g.vrrpNotifyFifo, g.vrrpNotifyFifoScript, g.lvsNotifyFifo, g.lvsNotifyFifoScript],
      (k, v: unknown) => (k === 'pos' ? undefined : v));
    return key(a) === key(b);
  }

  /**
   * Closes the FIFOs (a reader then sees end of file) and removes those tandem created — first,
   * so a reader that reopens in a loop cannot reopen them (keepalived fifo_close) — then stops
   * the readers that have not ended by themselves after `graceMs`.
   */
  async close(graceMs = 1000): Promise<void> {
    const fs = this.deps.fs ?? systemFifoFs;
    const all = [...this.fifos.values()];
    this.fifos.clear();
    // The last lines (STOP) get a moment to go out to a reader that is still reading.
    await Promise.all(all.map((f) => f.writer.drain(500)));
    for (const f of all) {
      if (f.created) await fs.unlink(f.writer.path).catch(() => undefined);
      await f.writer.close();
    }
    const readers = all.map((f) => f.reader).filter((r): r is AbortController => r !== null);
    if (readers.length === 0) return;
    // A referenced timer, as in drain().
    await new Promise<void>((r) => setTimeout(r, graceMs));
    for (const r of readers) r.abort();
  }
}

/** A FIFO's reader: as script_user, the FIFO's path last, no time bound; aborting kills it. */
function startReader(cmd: Command, path: string, policy: ScriptPolicy, signal: AbortSignal, log: EventFifosDeps['log']): void {
  const prog = cmd.argv[0] ?? '';
  void runScript([...cmd.argv, path], null, policy, { timeoutMs: Infinity, signal }).then((r) => {
    if (r.aborted) return;
    // keepalived only logs that it ended (events still go to the FIFO, up to its bound).
    if (r.refused || r.error) log('warn', `notify fifo script ${prog} for ${path} did not run: ${r.refused ?? r.error}`);
    else log('warn', `notify fifo script ${prog} for ${path} ended (${r.code !== null ? `exit ${r.code}` : `signal ${r.signal}`})`);
  });
}
