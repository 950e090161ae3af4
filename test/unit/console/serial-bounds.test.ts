// The serial transport's bounds (src/console/serial.ts) with a fake port standing in for a
// terminal that stops reading: whatever arrives, the output held for it stays bounded in bytes
// and in pieces (one chunk in the port, the rest in one queue), and what is beyond is counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSerialConsole, MAX_PENDING_OUTPUT, type SerialPortLike } from '../../../src/console/serial.ts';
import type { ConsoleEngine, Reply } from '../../../src/console/engine.ts';
import { OutputQueue } from '../../../src/console/output-queue.ts';
import { FakeClock } from './helpers.ts';

/** A port whose writes never complete (the far end reads nothing); records what it was handed. */
class StuckPort implements SerialPortLike {
  isOpen = false;
  chunks: Buffer[] = [];
  private onData: ((b: Buffer) => void) | null = null;
  open(cb: (err: Error | null) => void): void { this.isOpen = true; setImmediate(() => cb(null)); }
  held = 0;
  write(data: Buffer, _done: (err?: Error | null) => void): boolean { this.chunks.push(data); this.held += data.length; return false; }
  close(cb?: (err: Error | null) => void): void { this.isOpen = false; cb?.(null); }
  on(ev: string, fn: (x: never) => void): void { if (ev === 'data') this.onData = fn as (b: Buffer) => void; }
  removeAllListeners(): void { this.onData = null; }
  type(b: Buffer): void { this.onData?.(b); }
  /** As a Writable counts it: bytes handed over and not yet written. */
  get writableLength(): number { return this.held; }
}

/** A login prompt that never logs anyone in (the flood stays at the prompt, echoed). */
function promptEngine(): ConsoleEngine {
  const reply = (output = ''): Reply => ({ output, prompt: 'lb-a login: ', secret: false, closed: false, ok: true });
  const session = {
    mode: 'login', secret: false,
    start: async () => reply('welcome\n'),
    line: async () => reply('Login incorrect\n'),
    complete: (line: string) => ({ line, candidates: [] }),
    logout: () => undefined, cancel: () => undefined, prompt: () => 'lb-a login: ',
  };
  // The transport uses only session(); the rest of ConsoleEngine is not needed.
  return { session: () => session } as unknown as ConsoleEngine;
}

test('a terminal that stops reading: typed bytes echoed one by one reach the port as one chunk, held output stays under the cap, the rest is counted', async () => {
  const port = new StuckPort();
  const con = createSerialConsole(promptEngine(), { device: '/dev/fake', clock: new FakeClock(), log: () => undefined }, () => port);
  try {
    await new Promise<void>((r) => { const t = setInterval(() => { if (port.chunks.length > 0) { clearInterval(t); r(); } }, 1); });
    // 1.5 MiB typed one byte at a time, lines of 99 printable bytes: every byte is echoed.
    const n = 1.5 * 1024 * 1024;
    const line = Buffer.from('x'.repeat(99) + '\r');
    for (let i = 0; i < n; i++) port.type(line.subarray(i % 100, (i % 100) + 1));
    await new Promise((r) => setImmediate(r));
    const st = con.stats();
    // The first write (the banner) never completed: everything since waits in the queue.
    assert.equal(port.chunks.length, 1, `chunks handed to the port: ${port.chunks.length}`);
    assert.ok(port.held <= 64 * 1024, `the port holds ${port.held} bytes`);
    assert.ok(st.droppedOutputBytes >= n - MAX_PENDING_OUTPUT - 64 * 1024, `output beyond the cap counted: ${st.droppedOutputBytes}`);
  } finally {
    await con.close();
  }
});

test('output beyond MAX_PENDING_OUTPUT is dropped and counted, not queued', () => {
  const q = new OutputQueue(MAX_PENDING_OUTPUT);
  let dropped = 0;
  for (let i = 0; i < 3 * MAX_PENDING_OUTPUT; i++) if (!q.push(Buffer.from('x'))) dropped++;
  assert.equal(q.bytes, MAX_PENDING_OUTPUT);
  assert.equal(dropped, 2 * MAX_PENDING_OUTPUT);
  const all = q.take()!;
  assert.equal(all.length, MAX_PENDING_OUTPUT);
  assert.equal(q.take(), null);
  assert.ok(q.push(Buffer.from('héllo')));
  assert.equal(q.take()!.toString('utf8'), 'héllo');
  // A piece larger than a block spans blocks.
  const big = Buffer.alloc(40_000, 7);
  assert.ok(q.push(Buffer.from('a')) && q.push(big));
  const t = q.take()!;
  assert.equal(t.length, 40_001);
  assert.equal(t[0], 0x61);
  assert.equal(t[40_000], 7);
});
