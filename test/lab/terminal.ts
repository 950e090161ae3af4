// The technician's terminal on the test's end of a socat pty pair (serial console tests).
import { constants as fsConstants } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { SerialPort } from 'serialport';

/**
 * The technician's terminal: ttyB of the socat pair. Read with serialport; written through a
 * plain blocking file descriptor, because serialport's own write to a pty can stall for good
 * once the pty is full (EAGAIN, then the writable poll never fires: seen here with a 1 MB
 * write, and reported as serialport/node-serialport#2068 with socat) — a bug of the test's
 * terminal, not of the board, so it must not fail the test.
 */
export class Terminal {
  out = '';
  private port: SerialPort;
  private fd: FileHandle | null = null;
  private writing: Promise<unknown> = Promise.resolve();
  constructor(readonly path: string) {
    this.port = new SerialPort({ path, baudRate: 115200, autoOpen: false, lock: false });
  }
  async open(): Promise<void> {
    await new Promise<void>((res, rej) => this.port.open((e) => (e ? rej(e) : res())));
    this.port.on('data', (b: Buffer) => { this.out += b.toString('latin1'); });
    this.port.on('error', () => undefined);
    this.fd = await openFile(this.path, fsConstants.O_WRONLY | fsConstants.O_NOCTTY);
  }
  /** Queues bytes for the line; they go out in order (fs writes block in the thread pool). */
  send(s: string | Buffer): void {
    const fd = this.fd;
    if (!fd) throw new Error('terminal not open');
    const buf = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
    this.writing = this.writing.then(() => fd.write(buf)).catch(() => undefined);
  }
  /** Waits until the output written after `mark` matches `re`; returns that output. */
  async until(re: RegExp, mark: number, what: string, timeoutMs = 15_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (!re.test(this.out.slice(mark))) {
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${what} (${re}); terminal tail: ${JSON.stringify(this.out.slice(-400))}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.out.slice(mark);
  }
  /** Types a line and waits for the reply to match `re`. */
  async cmd(line: string, re: RegExp, timeoutMs?: number): Promise<string> {
    const mark = this.out.length;
    this.send(line + '\r');
    return this.until(re, mark, JSON.stringify(line), timeoutMs);
  }
  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = null;
    // A hung-up pty fails the pending writes (caught above); never wait on them forever.
    if (fd) await fd.close().catch(() => undefined);
    if (this.port.isOpen) await new Promise<void>((r) => this.port.close(() => r()));
  }
}

