// The control socket's protocol ends: UTF-8 both ways (also a character split across reads), a
// bound on unread output per connection, and the directory checks both ends make. A fake engine
// stands in for the console; sockets live in a temporary directory of this test.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Socket } from 'node:net';
import { startControlSocket, runCtl } from '../../../src/console/control-socket.ts';
import type { ConsoleEngine, Reply } from '../../../src/console/engine.ts';

function tmp(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'tandem-ctl-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** An engine whose session answers each line with `answer(line)`; lines seen are recorded. */
function fakeEngine(answer: (line: string) => string, seen: string[] = []): ConsoleEngine {
  const session = {
    line: async (l: string): Promise<Reply> => {
      seen.push(l);
      return { output: answer(l), prompt: '# ', secret: false, closed: false, ok: true };
    },
  };
  // The control socket uses only trustedSession(...).line(); the rest of ConsoleEngine is not needed.
  return { trustedSession: () => session } as unknown as ConsoleEngine;
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('tandem ctl prints UTF-8, also when a character is split across reads', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'fake.sock');
  // A server that writes "…" (E2 80 A6) one byte per write, with pauses, then the status.
  const server = createServer((s) => {
    s.resume(); // read to the end, so the connection closes when the client goes
    s.once('data', () => {
      const bytes = [...Buffer.from('caf\u00e9 \u2026 done\n', 'utf8'), 0, 0x30, 0x0a];
      let i = 0;
      const tick = (): void => {
        if (i >= bytes.length) return;
        s.write(Buffer.from([bytes[i++]!]));
        setTimeout(tick, 2);
      };
      tick();
    });
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  let out = '';
  const code = await runCtl(path, ['show', 'version'], (s) => (out += s), () => undefined);
  assert.equal(code, 0);
  assert.equal(out, 'caf\u00e9 \u2026 done\n');
});

test('the control socket reads commands as UTF-8 and answers in UTF-8', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'run', 'tandem.sock');
  const seen: string[] = [];
  const sock = await startControlSocket(fakeEngine((l) => `echo: ${l}\n`, seen), path);
  t.after(() => sock.close());
  // Raw client: the command's "…" is split between two writes.
  const c = connect(path);
  const chunks: Buffer[] = [];
  c.on('data', (b: Buffer) => chunks.push(b));
  await new Promise<void>((r) => c.once('connect', () => r()));
  const cmd = Buffer.from('show \u2026\n', 'utf8');
  c.write(cmd.subarray(0, 6));
  await new Promise((r) => setTimeout(r, 20));
  c.write(cmd.subarray(6));
  await until(() => Buffer.concat(chunks).includes(0), 'the answer');
  c.destroy();
  assert.deepEqual(seen, ['show \u2026']);
  assert.equal(Buffer.concat(chunks).toString('utf8'), 'echo: show \u2026\n\u00000\n');
  let out = '';
  assert.equal(await runCtl(path, ['set', 'description', 'r\u00e9seau \u2026'], (s) => (out += s), () => undefined), 0);
  assert.equal(out, 'echo: set description "r\u00e9seau \u2026"\n');
});

test('pipelined commands never read: input is paused once output passes the bound, the connection closed if it never drains', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'tandem.sock');
  const seen: string[] = [];
  const big = 'x'.repeat(10_000) + '\n';
  const sock = await startControlSocket(fakeEngine(() => big, seen), path, { outputBound: 64 * 1024, drainTimeoutMs: 500 });
  t.after(() => sock.close());
  const c: Socket = connect(path);
  c.on('error', () => undefined);
  await new Promise<void>((r) => c.once('connect', () => r()));
  c.pause(); // never read
  let closed = false;
  c.on('close', () => (closed = true));
  const lines = 'show status\n'.repeat(100_000);
  c.write(lines);
  // The server stops taking commands once ~64 KiB (plus what the kernel buffers) is unread.
  await until(() => closed, 'the server closes the connection that never drains', 10_000);
  assert.ok(seen.length < 2000, `commands run before input was paused: ${seen.length}`);
  assert.ok(seen.length > 0);
  // The socket still serves others.
  let out = '';
  assert.equal(await runCtl(path, ['show', 'version'], (s) => (out += s), () => undefined), 0);
  assert.equal(out, big);
});

test('the control socket refuses a directory others can write or a symlinked one, and creates the socket 0600', async (t) => {
  const dir = tmp(t);
  const engine = fakeEngine(() => 'ok\n');
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  await assert.rejects(startControlSocket(engine, join(open, 'tandem.sock')), /open: writable by others \(mode 0777\)/);
  const real = join(dir, 'real');
  mkdirSync(real, { mode: 0o700 });
  symlinkSync(real, join(dir, 'link'));
  await assert.rejects(startControlSocket(engine, join(dir, 'link', 'tandem.sock')), /link: is a symbolic link/);
  // A symlink where the socket goes is not followed or removed.
  symlinkSync(join(dir, 'elsewhere.sock'), join(real, 'tandem.sock'));
  await assert.rejects(startControlSocket(engine, join(real, 'tandem.sock')), /not a socket/);
  rmSync(join(real, 'tandem.sock'));
  const s = await startControlSocket(engine, join(real, 'tandem.sock'));
  t.after(() => s.close());
  assert.equal(statSync(join(real, 'tandem.sock')).mode & 0o777, 0o600);
});

test('tandem ctl refuses a socket whose directory others can write', async (t) => {
  const dir = tmp(t);
  const open = join(dir, 'open');
  mkdirSync(open);
  const path = join(open, 'tandem.sock');
  let asked = false;
  const server = createServer((s) => {
    asked = true;
    s.resume(); // read to the end, so the connection closes when the client goes
    s.end('forged\n\u00000\n');
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  chmodSync(open, 0o777);
  let out = '';
  let err = '';
  assert.equal(await runCtl(path, ['show', 'version'], (s) => (out += s), (s) => (err += s)), 2);
  assert.equal(out, '');
  assert.match(err, /refusing .*open: writable by others \(mode 0777\)/);
  assert.equal(asked, false, 'never connected');
  chmodSync(open, 0o755);
  assert.equal(await runCtl(path, ['show', 'version'], (s) => (out += s), () => undefined), 0);
  assert.equal(out, 'forged\n');
});

test('at most 16 connections are served at once: one more gets an error answer and is closed, counted; a freed slot serves again', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'tandem.sock');
  let sessions = 0;
  const base = fakeEngine((l) => `ok ${l}\n`);
  const engine = { trustedSession: (...a: unknown[]) => { sessions++; return (base.trustedSession as (...x: unknown[]) => unknown)(...a); } } as unknown as ConsoleEngine;
  const sock = await startControlSocket(engine, path);
  t.after(() => sock.close());
  // Idle clients: connected, never sending (each would hold a session and its buffers).
  const idle: Socket[] = [];
  t.after(() => { for (const c of idle) c.destroy(); });
  for (let i = 0; i < 16; i++) {
    const c = connect(path);
    c.on('error', () => undefined);
    idle.push(c);
  }
  await until(() => sessions === 16, 'the 16 idle connections are being served');
  let out = '';
  assert.equal(await runCtl(path, ['show', 'version'], (s) => (out += s), () => undefined), 1);
  assert.match(out, /% too many control connections \(16 open\)/);
  assert.equal(sessions, 16, 'no session for the refused connection');
  assert.deepEqual(sock.stats(), { connections: 16, refused: 1 });
  idle.pop()!.destroy();
  await until(() => sock.stats().connections === 15, 'the closed connection frees its slot');
  out = '';
  assert.equal(await runCtl(path, ['show', 'version'], (s) => (out += s), () => undefined), 0);
  assert.equal(out, 'ok show version\n');
});
