// Line editing for a raw serial line (no kernel tty discipline on the board's side of the
// wire: the port is opened raw, so echo, backspace and Enter are ours to do).
// Pure: bytes in → events out (echo to send back, completed lines, Ctrl-C, Ctrl-D). Never throws
// on any input: unknown control bytes, bytes ≥ 0x80 and unknown escape sequences are dropped.
// Only printable ASCII is accepted in a line: the configuration language is ASCII, and dropping
// the rest means line noise on a serial cable cannot smuggle control characters into commands.
//
// Keys (VT100/xterm, what minicom, picocom and screen send):
//   CR, LF, CR LF      Enter (CR LF and LF CR count once)
//   BS (0x08), DEL     delete before the cursor;   ESC [ 3 ~  delete under the cursor
//   Ctrl-C             cancel the line (the transport also aborts a running command)
//   Ctrl-D             log out on an empty line, else delete under the cursor
//   Ctrl-U             delete from line start to cursor;  Ctrl-W  delete the word before
//   Ctrl-A / Ctrl-E    start / end of line (also ESC [ H / ESC [ F, ESC [ 1 ~ / ESC [ 4 ~)
//   ESC [ A / ESC [ B  history up / down (also ESC O A / ESC O B)
//   ESC [ C / ESC [ D  cursor right / left
//   Tab                completion through the callback
//   Ctrl-L             redraw the line

export type EditorEvent =
  | { kind: 'echo'; data: string }
  | { kind: 'line'; text: string }
  | { kind: 'interrupt' }
  | { kind: 'eof' };

/** What tab completion returns: the new line (before the cursor) and the choices to list. */
export interface Completion {
  line: string;
  candidates: string[];
}

export interface LineEditorOptions {
  /** Longest line kept; further bytes are dropped with one bell per line. Default 1024. */
  maxLength?: number;
  /** History entries kept. Default 100. */
  historySize?: number;
  complete?: (lineBeforeCursor: string) => Completion;
}

const BEL = '\x07';
const ESC = 0x1b;
/** Longest escape sequence we wait for before giving up on it (xterm sends at most ~8). */
const MAX_ESC = 16;

export class LineEditor {
  private buf = '';
  private cursor = 0;
  private prompt = '';
  private secret = false;
  private history: string[] = [];
  /** Index into history while browsing; history.length means "the line being typed". */
  private histIdx = 0;
  private draft = '';
  private lastCR = false;
  private lastLF = false;
  private overflowed = false;
  /** Pending escape sequence bytes (after ESC), or null when not in one. */
  private esc: number[] | null = null;
  private readonly maxLength: number;
  private readonly historySize: number;
  private readonly completeFn: ((line: string) => Completion) | undefined;
  /** Bytes dropped (binary noise, overlong lines): counted, shown by the transport's stats. */
  dropped = 0;

  constructor(opts: LineEditorOptions = {}) {
    this.maxLength = opts.maxLength ?? 1024;
    this.historySize = opts.historySize ?? 100;
    this.completeFn = opts.complete;
  }

  /** The prompt, for redraws; `secret` turns echo off (passwords) and keeps the line out of history. */
  setPrompt(prompt: string, secret = false): void {
    this.prompt = prompt;
    this.secret = secret;
  }

  /** The line typed so far (for tests and for a transport that redraws after output). */
  get line(): string {
    return this.buf;
  }

  /** The prompt and the line typed so far, from column 0: for a transport that wrote output
   *  while the user typed ahead (the typed text is still there, show it under the new prompt). */
  redrawLine(): string {
    return this.redraw();
  }

  /** Forget the line being typed (e.g. after a logout). */
  reset(): void {
    this.buf = '';
    this.cursor = 0;
    this.esc = null;
    this.overflowed = false;
    this.histIdx = this.history.length;
  }

  clearHistory(): void {
    this.history = [];
    this.histIdx = 0;
  }

  feed(bytes: Uint8Array): EditorEvent[] {
    const out: EditorEvent[] = [];
    let echo = '';
    const flush = (): void => {
      if (echo) out.push({ kind: 'echo', data: echo });
      echo = '';
    };
    for (const b of bytes) {
      const wasCR = this.lastCR;
      const wasLF = this.lastLF;
      this.lastCR = false;
      this.lastLF = false;
      if (this.esc !== null) {
        echo += this.escapeByte(b);
        continue;
      }
      if (b === 0x0d || b === 0x0a) {
        // CR LF (and LF CR, which some terminals send) is one Enter, not two.
        if ((b === 0x0a && wasCR) || (b === 0x0d && wasLF)) continue;
        if (b === 0x0d) this.lastCR = true;
        else this.lastLF = true;
        echo += '\r\n';
        flush();
        out.push({ kind: 'line', text: this.enter() });
        continue;
      }
      if (b >= 0x20 && b <= 0x7e) {
        echo += this.insert(String.fromCharCode(b));
        continue;
      }
      switch (b) {
        case 0x08:
        case 0x7f:
          echo += this.backspace();
          break;
        case 0x03: // Ctrl-C
          echo += '^C\r\n';
          flush();
          this.reset();
          out.push({ kind: 'interrupt' });
          break;
        case 0x04: // Ctrl-D
          if (this.buf.length === 0) {
            flush();
            out.push({ kind: 'eof' });
          } else {
            echo += this.deleteUnder();
          }
          break;
        case 0x15: // Ctrl-U
          echo += this.killBefore(this.cursor);
          break;
        case 0x17: {
          // Ctrl-W: back over spaces, then over the word.
          let i = this.cursor;
          while (i > 0 && this.buf[i - 1] === ' ') i--;
          while (i > 0 && this.buf[i - 1] !== ' ') i--;
          echo += this.killBefore(this.cursor - i);
          break;
        }
        case 0x01:
          echo += this.moveTo(0);
          break;
        case 0x05:
          echo += this.moveTo(this.buf.length);
          break;
        case 0x0c:
          echo += this.redraw();
          break;
        case 0x09:
          echo += this.tab();
          break;
        case ESC:
          this.esc = [];
          break;
        default:
          this.dropped++;
      }
    }
    flush();
    return out;
  }

  private enter(): string {
    const line = this.buf;
    if (!this.secret && line.trim() !== '' && this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > this.historySize) this.history.shift();
    }
    this.buf = '';
    this.cursor = 0;
    this.overflowed = false;
    this.histIdx = this.history.length;
    this.draft = '';
    return line;
  }

  private insert(ch: string): string {
    if (this.buf.length >= this.maxLength) {
      this.dropped++;
      // One bell per overlong line, not one per byte: a 1 MB paste must not send back 1 MB.
      if (this.overflowed) return '';
      this.overflowed = true;
      return BEL;
    }
    const tail = this.buf.slice(this.cursor);
    this.buf = this.buf.slice(0, this.cursor) + ch + tail;
    this.cursor++;
    if (this.secret) return '';
    return ch + tail + '\b'.repeat(tail.length);
  }

  private backspace(): string {
    if (this.cursor === 0) return '';
    const tail = this.buf.slice(this.cursor);
    this.buf = this.buf.slice(0, this.cursor - 1) + tail;
    this.cursor--;
    if (this.secret) return '';
    return '\b' + tail + ' ' + '\b'.repeat(tail.length + 1);
  }

  private deleteUnder(): string {
    if (this.cursor >= this.buf.length) return '';
    const tail = this.buf.slice(this.cursor + 1);
    this.buf = this.buf.slice(0, this.cursor) + tail;
    if (this.secret) return '';
    return tail + ' ' + '\b'.repeat(tail.length + 1);
  }

  /** Delete `n` characters before the cursor. */
  private killBefore(n: number): string {
    if (n <= 0) return '';
    const tail = this.buf.slice(this.cursor);
    const removed = n;
    this.buf = this.buf.slice(0, this.cursor - n) + tail;
    this.cursor -= n;
    if (this.secret) return '';
    return '\b'.repeat(removed) + tail + ' '.repeat(removed) + '\b'.repeat(tail.length + removed);
  }

  private moveTo(pos: number): string {
    const target = Math.max(0, Math.min(this.buf.length, pos));
    let s = '';
    if (!this.secret) {
      if (target < this.cursor) s = '\b'.repeat(this.cursor - target);
      else s = this.buf.slice(this.cursor, target);
    }
    this.cursor = target;
    return s;
  }

  /** Rewrite the prompt and line from column 0 and clear what was there (ESC [ K). */
  private redraw(): string {
    if (this.secret) return '';
    return '\r' + this.prompt + this.buf + '\x1b[K' + '\b'.repeat(this.buf.length - this.cursor);
  }

  private replaceLine(text: string): string {
    this.buf = text.slice(0, this.maxLength);
    this.cursor = this.buf.length;
    return this.redraw();
  }

  private tab(): string {
    if (this.secret || !this.completeFn) return '';
    let c: Completion;
    try {
      c = this.completeFn(this.buf.slice(0, this.cursor));
    } catch {
      return BEL;
    }
    const tail = this.buf.slice(this.cursor);
    let s = '';
    if (c.candidates.length > 1) {
      s += '\r\n' + c.candidates.join('  ') + '\r\n';
    }
    const before = c.line.slice(0, this.maxLength);
    this.buf = (before + tail).slice(0, this.maxLength);
    this.cursor = before.length;
    s += this.redraw();
    if (c.candidates.length === 0) s += BEL;
    return s;
  }

  private escapeByte(b: number): string {
    const seq = this.esc!;
    seq.push(b);
    if (seq.length === 1) {
      if (b === 0x5b /* [ */ || b === 0x4f /* O */) return '';
      this.esc = null; // ESC followed by something else: drop both
      this.dropped += 2;
      return '';
    }
    // CSI: parameter bytes 0x30–0x3f, intermediates 0x20–0x2f, final byte 0x40–0x7e (ECMA-48 5.4).
    if (b >= 0x40 && b <= 0x7e) {
      this.esc = null;
      return this.escapeDone(String.fromCharCode(...seq));
    }
    if (b < 0x20 || b > 0x3f || seq.length > MAX_ESC) {
      this.esc = null;
      this.dropped += seq.length + 1;
    }
    return '';
  }

  private escapeDone(seq: string): string {
    switch (seq) {
      case '[A':
      case 'OA':
        return this.historyMove(-1);
      case '[B':
      case 'OB':
        return this.historyMove(1);
      case '[C':
      case 'OC':
        return this.moveTo(this.cursor + 1);
      case '[D':
      case 'OD':
        return this.moveTo(this.cursor - 1);
      case '[H':
      case 'OH':
      case '[1~':
        return this.moveTo(0);
      case '[F':
      case 'OF':
      case '[4~':
        return this.moveTo(this.buf.length);
      case '[3~':
        return this.deleteUnder();
      default:
        this.dropped += seq.length + 1;
        return '';
    }
  }

  private historyMove(dir: -1 | 1): string {
    if (this.secret) return '';
    const next = this.histIdx + dir;
    if (next < 0 || next > this.history.length) return BEL;
    if (this.histIdx === this.history.length) this.draft = this.buf;
    this.histIdx = next;
    return this.replaceLine(next === this.history.length ? this.draft : this.history[next]!);
  }
}
