// The serial console transport: serialport (8N1, raw) ↔ line editor ↔ engine session.
//
// - serialport carries a native addon, so it is imported only when the serial console is
//   started (never at module load, never on the VRRP worker).
// - The device may be missing or vanish (USB-serial adapter unplugged): we log one clear line
//   ("serial console: /dev/ttyUSB0 missing, retrying") and try again every retryMs until it is
//   back; a port another program holds is reported as busy and retried the same way.
// - A hang-up or close ends the session (logout event), like a modem hang-up on a getty.
// - Output '\n' becomes CR LF (the line is raw: no tty layer does ONLCR for us).
// - Lines typed while a command runs are queued (a pasted provisioning script runs line by line);
//   Ctrl-C drops the queue and the running command's output and gives a fresh prompt.
import type { EditorEvent } from './line-editor.ts';
import { LineEditor } from './line-editor.ts';
import { OutputQueue } from './output-queue.ts';
import type { ConsoleEngine, Reply, Session } from './engine.ts';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.ts';

export interface SerialConsoleOptions {
  device: string;
  /** Default 115200 (DESIGN.md: 115200 8N1). */
  baud?: number;
  /** Logged-in sessions idle this long are logged out. Default 15 min. */
  idleTimeoutMs?: number;
  /** Delay between attempts to (re)open the device. Default 3 s. */
  retryMs?: number;
  /** Lines queued while a command runs; more are dropped and counted. Default 1000. */
  maxQueuedLines?: number;
  log?: (msg: string) => void;
  clock?: Clock;
}

export interface SerialStats {
  open: boolean;
  opens: number;
  droppedBytes: number;
  droppedLines: number;
  droppedOutputBytes: number;
}

export interface SerialConsole {
  stats(): SerialStats;
  close(): Promise<void>;
}

/** The bit of serialport's SerialPort we use (kept small so the type is easy to check). */
interface Port {
  isOpen: boolean;
  open(cb: (err: Error | null) => void): void;
  /** `done` runs once the chunk has gone to the device (or failed). */
  write(data: Buffer, done: (err?: Error | null) => void): boolean;
  close(cb?: (err: Error | null) => void): void;
  on(ev: 'data', fn: (b: Buffer) => void): void;
  on(ev: 'close' | 'error', fn: (e?: Error) => void): void;
  removeAllListeners(): void;
}

/**
 * Stops listening to a port we are done with. An 'error' listener stays: a read or write still
 * pending when the port closes is cancelled and reported as an 'error' ("Canceled"), which with
 * no listener would be thrown and crash the daemon (seen in CI on a hang-up).
 */
function detach(port: Port): void {
  port.removeAllListeners();
  port.on('error', () => undefined);
}

/** Output waiting for a stuck line beyond this is dropped (a terminal that is not reading). */
export const MAX_PENDING_OUTPUT = 1024 * 1024;

export async function startSerialConsole(engine: ConsoleEngine, opts: SerialConsoleOptions): Promise<SerialConsole> {
  const mod = await import('serialport');
  // serialport is CommonJS. Node's ESM loader exposes its named exports (tsx, tests), but in the
  // esbuild ESM bundle a dynamic import of a bundled CommonJS module yields only `default`
  // (module.exports): take the class from whichever is there.
  const SerialPortClass = mod.SerialPort ?? (mod as unknown as { default?: typeof mod }).default?.SerialPort;
  if (typeof SerialPortClass !== 'function') throw new Error('serialport module has no SerialPort class');
  const make = (): Port =>
    new SerialPortClass({
      path: opts.device,
      baudRate: opts.baud ?? 115200,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      autoOpen: false,
      lock: true,
    }) as unknown as Port;
  return createSerialConsole(engine, opts, make);
}

/** The transport over any port (tests give a fake one). */
export function createSerialConsole(engine: ConsoleEngine, opts: SerialConsoleOptions, makePort: () => Port): SerialConsole {
  const c = new SerialConsoleImpl(engine, opts, makePort);
  c.start();
  return c;
}

export type { Port as SerialPortLike };

class SerialConsoleImpl implements SerialConsole {
  private port: Port | null = null;
  private session: Session | null = null;
  private editor: LineEditor;
  private queue: string[] = [];
  private busy = false;
  /** The command still running on the session, even when Ctrl-C stopped us waiting for it:
   *  the next command waits for it, so a session never runs two commands at once. */
  private inflight: Promise<unknown> = Promise.resolve();
  /** Bumped by Ctrl-C and by a new session: replies of an older generation are dropped. */
  private gen = 0;
  private retryTimer: TimerHandle | null = null;
  private idleTimer: TimerHandle | null = null;
  private closed = false;
  /** The last problem logged, so an outage is one log line, not one per retry. */
  private lastProblem = '';
  private readonly clock: Clock;
  private readonly log: (m: string) => void;
  private readonly s: SerialStats = { open: false, opens: 0, droppedBytes: 0, droppedLines: 0, droppedOutputBytes: 0 };
  /** Output not yet handed to the port; one chunk at a time is (see write()). */
  private readonly out = new OutputQueue(MAX_PENDING_OUTPUT);
  /** The port the chunk in flight went to, while one is. */
  private writingTo: Port | null = null;

  constructor(
    private readonly engine: ConsoleEngine,
    private readonly opts: SerialConsoleOptions,
    private readonly makePort: () => Port,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? ((m) => console.error(m));
    this.editor = this.newEditor();
  }

  private newEditor(): LineEditor {
    return new LineEditor({
      complete: (line) => (this.session ? this.session.complete(line) : { line, candidates: [] }),
    });
  }

  stats(): SerialStats {
    return { ...this.s, droppedBytes: this.s.droppedBytes + this.editor.dropped };
  }

  start(): void {
    this.tryOpen();
  }

  private problem(msg: string): void {
    if (msg !== this.lastProblem) this.log(msg);
    this.lastProblem = msg;
  }

  private tryOpen(): void {
    this.retryTimer = null;
    if (this.closed) return;
    let port: Port;
    try {
      port = this.makePort();
    } catch (e) {
      this.problem(`serial console: ${this.opts.device}: ${(e as Error).message}, retrying`);
      this.scheduleRetry();
      return;
    }
    port.on('error', () => undefined); // errors also arrive through open()'s callback or 'close'
    port.open((err) => {
      if (this.closed) {
        if (!err) port.close();
        return;
      }
      if (err) {
        detach(port);
        const m = err.message;
        if (/ENOENT|No such file/i.test(m)) this.problem(`serial console: ${this.opts.device} missing, retrying`);
        else if (/lock|busy|EBUSY|EAGAIN|temporarily unavailable/i.test(m)) {
          this.problem(`serial console: ${this.opts.device} busy (another program holds it), retrying`);
        } else this.problem(`serial console: ${this.opts.device}: ${m}, retrying`);
        this.scheduleRetry();
        return;
      }
      this.opened(port);
    });
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = this.clock.setTimer(() => this.tryOpen(), this.opts.retryMs ?? 3000);
  }

  private opened(port: Port): void {
    this.port = port;
    this.s.open = true;
    this.s.opens++;
    if (this.lastProblem) this.log(`serial console: ${this.opts.device} open again`);
    this.lastProblem = '';
    port.on('data', (b: Buffer) => this.onData(b));
    port.on('close', () => this.lost(port, 'hang-up'));
    void this.newSession();
  }

  /** The device closed under us (unplugged, pty master gone): end the session, reopen later. */
  private lost(port: Port, why: string): void {
    if (this.port !== port) return;
    detach(port);
    this.port = null;
    this.writingTo = null;
    this.out.clear();
    this.s.open = false;
    this.endSession(why);
    if (!this.closed) {
      this.problem(`serial console: ${this.opts.device} closed (${why}), retrying`);
      this.scheduleRetry();
    }
  }

  private endSession(why: string): void {
    this.session?.logout(why);
    this.session = null;
    this.queue = [];
    this.gen++;
    this.busy = false;
    this.editor = this.newEditor();
    if (this.idleTimer) this.clock.clearTimer(this.idleTimer);
    this.idleTimer = null;
  }

  private async newSession(): Promise<void> {
    this.endSession('new session');
    const s = this.engine.session('serial');
    this.session = s;
    const gen = this.gen;
    this.busy = true;
    const r = await s.start();
    if (gen !== this.gen) return;
    this.busy = false;
    this.show(r);
    this.pump();
  }

  /**
   * Output goes to the port one chunk at a time: what is written meanwhile waits in `out` and
   * goes as one chunk when the port has taken the last. So a terminal that stops reading holds
   * at most MAX_PENDING_OUTPUT bytes here plus one chunk in the port, however it was written
   * (byte by byte, as echo is); beyond that output is dropped and counted.
   */
  private write(text: string): void {
    const p = this.port;
    if (!p || !p.isOpen || text === '') return;
    const b = Buffer.from(text, 'utf8');
    if (!this.out.push(b)) {
      this.s.droppedOutputBytes += b.length;
      return;
    }
    this.flushOut();
  }

  private flushOut(): void {
    const p = this.port;
    if (!p || !p.isOpen || this.writingTo === p) return;
    const chunk = this.out.take();
    if (chunk === null) return;
    this.writingTo = p;
    try {
      p.write(chunk, () => {
        if (this.writingTo !== p) return;
        this.writingTo = null;
        this.flushOut();
      });
    } catch {
      this.writingTo = null;
      this.s.droppedOutputBytes += chunk.length;
    }
  }

  private show(r: Reply): void {
    // Raw line: turn '\n' into CR LF ourselves (no ONLCR).
    this.write(r.output.replace(/\r?\n/g, '\r\n') + r.prompt);
    this.editor.setPrompt(r.prompt, r.secret);
    // Text typed ahead while the command ran was echoed above its output: show it again under
    // the new prompt (unless more whole lines are queued: each will get its own prompt).
    if (this.queue.length === 0 && this.editor.line !== '') this.write(this.editor.redrawLine());
  }

  private armIdle(): void {
    if (this.idleTimer) this.clock.clearTimer(this.idleTimer);
    this.idleTimer = null;
    const s = this.session;
    const ms = this.opts.idleTimeoutMs ?? 15 * 60_000;
    if (!s || ms <= 0) return;
    this.idleTimer = this.clock.setTimer(() => {
      this.idleTimer = null;
      if (this.session !== s) return;
      const inSession = s.mode === 'oper' || s.mode === 'config' || s.mode.startsWith('passwd');
      if (inSession) {
        this.write('\r\nidle timeout: logged out\r\n');
        s.logout('idle');
        void this.newSession();
      }
    }, ms);
  }

  private onData(b: Buffer): void {
    this.armIdle();
    let events: EditorEvent[];
    try {
      events = this.editor.feed(b);
    } catch {
      this.s.droppedBytes += b.length; // the editor does not throw; belt and braces
      return;
    }
    for (const e of events) {
      switch (e.kind) {
        case 'echo':
          this.write(e.data);
          break;
        case 'line':
          if (this.queue.length >= (this.opts.maxQueuedLines ?? 1000)) this.s.droppedLines++;
          else this.queue.push(e.text);
          break;
        case 'interrupt': {
          this.queue = [];
          // While logging in, Ctrl-C must not cut the failed-login delay short.
          const m = this.session?.mode;
          if (this.busy && (m === 'oper' || m === 'config')) {
            this.gen++;
            this.busy = false;
          }
          if (this.busy) break;
          if (this.session) {
            this.session.cancel();
            this.write(this.session.prompt());
            this.editor.setPrompt(this.session.prompt(), this.session.secret);
          }
          break;
        }
        case 'eof':
          if (this.session && (this.session.mode === 'oper' || this.session.mode === 'config') && !this.busy) {
            this.write('logout\r\n');
            this.session.logout('ctrl-d');
            void this.newSession();
          }
          break;
      }
    }
    this.pump();
  }

  private pump(): void {
    if (this.busy || !this.session) return;
    const line = this.queue.shift();
    if (line === undefined) return;
    const s = this.session;
    const gen = this.gen;
    this.busy = true;
    const run = this.inflight.then(() => s.line(line));
    this.inflight = run.catch(() => undefined);
    void run.then((r) => {
      if (gen !== this.gen || this.session !== s) return; // Ctrl-C or hang-up meanwhile
      this.busy = false;
      this.show(r);
      if (r.closed) {
        this.write('logged out\r\n');
        void this.newSession();
        return;
      }
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) this.clock.clearTimer(this.retryTimer);
    this.retryTimer = null;
    const p = this.port;
    this.port = null;
    this.writingTo = null;
    this.out.clear();
    this.endSession('stop');
    if (p) {
      detach(p);
      if (p.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
    }
  }
}
