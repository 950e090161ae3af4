// The serial console over a real pseudo-terminal pair made with socat, and the control socket.
// socat links DIR/ttyA (the board's console port, opened by our serial transport) to DIR/ttyB
// (the technician's terminal, driven by this test). No network is touched.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, writeFileSync, statSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { Terminal } from './terminal.ts';
import * as config from '../../src/config/index.ts';
import { createConsoleEngine } from '../../src/console/index.ts';
import { startSerialConsole } from '../../src/console/serial.ts';
import { startControlSocket, runCtl } from '../../src/console/control-socket.ts';
import { FileUserStore } from '../../src/console/users.ts';
import { FakeClock, FakeHost, SAMPLE_CONF } from '../unit/console/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tandem-console-lab-'));
const procs = new Set<ChildProcess>();
after(() => {
  for (const p of procs) {
    if (p.exitCode !== null || p.signalCode !== null || !p.pid) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Wait for a condition on real events, polling gently; fails (never hangs) after `ms`. */
async function waitFor(cond: () => boolean, what: string, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startSocat(): Promise<ChildProcess> {
  const p = spawn('socat', [`pty,raw,echo=0,link=${dir}/ttyA`, `pty,raw,echo=0,link=${dir}/ttyB`], { stdio: 'ignore' });
  procs.add(p);
  p.on('exit', () => procs.delete(p));
  await waitFor(() => existsSync(`${dir}/ttyA`) && existsSync(`${dir}/ttyB`), 'socat links');
  return p;
}

async function stopSocat(p: ChildProcess): Promise<void> {
  const gone = new Promise((r) => p.once('exit', r));
  process.kill(p.pid!, 'SIGTERM');
  await gone;
}


/** Ctrl-C and `exit` until the console sits at the login prompt, whatever state noise left it in. */
async function toLoginPrompt(term: Terminal): Promise<void> {
  // How the pty groups the noise's bytes (an ESC and what follows in one read or two) decides
  // which state it leaves the line editor and the login in, so one round of Ctrl-C and `exit`
  // may end at a prompt other than login's (a password prompt, a lockout notice): send rounds
  // until the console settles at the login prompt, for at most 60 s in all.
  const end = Date.now() + 60_000;
  for (;;) {
    term.send('\x03exit\r\x03exit\r\x03exit\r\x03');
    let last = '';
    // Settled: ends with the login prompt and nothing more arrived meanwhile.
    const settled = await waitFor(() => {
      const ok = term.out === last && /lb-a login: $/.test(term.out);
      last = term.out;
      return ok;
    }, 'login prompt after noise', Math.min(5_000, Math.max(0, end - Date.now()))).then(() => true, () => false);
    if (settled) return;
    if (Date.now() > end) throw new Error(`timed out waiting for the login prompt after noise; the terminal shows ${JSON.stringify(term.out.slice(-200))}`);
  }
}

/** Log in as admin; while the console is locked out, keep trying (the lockout is short here). */
async function login(term: Terminal): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await term.cmd('admin', /(Password: |console locked.*\r\nlb-a login: )$/);
    if (r.endsWith('Password: ')) break;
    assert.ok(i < 200, 'lockout ends');
    await new Promise((res) => setTimeout(res, 50));
  }
  await term.cmd('correct horse', /logged in as admin.*\r\nlb-a> $/s);
}

test('serial console over a pty: login, lockout, commands, noise, a 1 MB line, hang-up and reopen', async () => {
  const cfg = join(dir, 'keepalived.conf');
  writeFileSync(cfg, SAMPLE_CONF);
  const host = new FakeHost(cfg, dir, SAMPLE_CONF);
  await new FileUserStore(dir).setPassword('admin', 'correct horse');
  // Short delays and lockout so the test is quick; the defaults are unit-tested with a fake clock.
  const engine = createConsoleEngine(host, config, { loginPolicy: { maxFailures: 3, lockoutMs: 1500, baseDelayMs: 20, maxDelayMs: 100 } });
  const logs: string[] = [];
  let socat = await startSocat();
  const sc = await startSerialConsole(engine, { device: `${dir}/ttyA`, retryMs: 100, log: (m) => logs.push(m) });
  try {
    let term = new Terminal(`${dir}/ttyB`);
    await term.open();
    await term.cmd('', /lb-a login: $/);

    // Wrong password, then lockout; while locked even the right password is refused.
    await term.cmd('admin', /Password: $/);
    const bad = await term.cmd('nope', /login incorrect\r\nlb-a login: $/);
    assert.doesNotMatch(bad, /nope/, 'password not echoed');
    await term.cmd('admin', /Password: $/);
    await term.cmd('nope', /login: $/);
    await term.cmd('admin', /Password: $/);
    await term.cmd('nope', /locked for 2 s/);
    await term.cmd('admin', /console locked/);
    assert.deepEqual(host.events.map((e) => e.type), ['login-failed', 'login-failed', 'login-failed', 'lockout']);
    await login(term);

    assert.match(await term.cmd('show version', /lb-a> $/), /tandem 9\.9\.9 \(abc123\)\r\n/);
    assert.match(await term.cmd('sh vr', /lb-a> $/), /VI_PUB +MASTER +51/);

    // Binary noise: nothing crashes, the line is cleared with Ctrl-C, the console still answers.
    const noise = Buffer.alloc(64 * 1024);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + (i >> 3)) & 0xff;
    term.send(noise);
    // The noise holds CRs (garbage commands), Ctrl-D (logout) and may have typed failed logins:
    // bring the line to a known state, then log in again.
    await toLoginPrompt(term);
    await login(term);
    assert.match(await term.cmd('show version', /lb-a> $/), /tandem 9\.9\.9/);

    // A 1 MB line: kept to 1024 characters, refused as a command, console fine afterwards.
    const mark = term.out.length;
    term.send(Buffer.alloc(1024 * 1024, 0x61));
    term.send('\r');
    await waitFor(() => /% unknown command 'a{1024}'\r\nlb-a> $/.test(term.out.slice(mark)), '1 MB line refused', 60000);
    assert.match(await term.cmd('show version', /lb-a> $/), /tandem 9\.9\.9/);
    assert.ok(sc.stats().droppedBytes >= 1024 * 1024 - 1024);

    // Hang-up mid-command: `show health` is held by the host while socat dies.
    let release!: () => void;
    host.healthGate = new Promise<void>((r) => (release = r));
    const calls = host.healthCalls;
    term.send('show health\r');
    await waitFor(() => host.healthCalls > calls, 'command running');
    await stopSocat(socat);
    await waitFor(() => !sc.stats().open, 'transport saw the hang-up');
    release();
    host.healthGate = null;
    await term.close();
    await waitFor(() => logs.some((l) => l === `serial console: ${dir}/ttyA missing, retrying`), 'missing log line');
    assert.ok(host.events.some((e) => e.type === 'logout' && e.detail === 'hang-up'));

    // The adapter comes back: the transport reopens and a new session asks for a login.
    socat = await startSocat();
    await waitFor(() => sc.stats().open && sc.stats().opens === 2, 'transport reopened');
    term = new Terminal(`${dir}/ttyB`);
    await term.open();
    await term.cmd('', /lb-a login: $/);
    await term.cmd('admin', /Password: $/);
    await term.cmd('correct horse', /lb-a> $/);
    assert.match(await term.cmd('show version', /lb-a> $/), /tandem 9\.9\.9/);
    // Ctrl-D on an empty line logs out.
    const m2 = term.out.length;
    term.send('\x04');
    await waitFor(() => /logout\r\n.*lb-a login: $/s.test(term.out.slice(m2)), 'Ctrl-D logout');
    await term.close();
  } finally {
    await sc.close();
    if (socat.exitCode === null && socat.signalCode === null) await stopSocat(socat);
  }
});

test('serial console: idle sessions are logged out (transport timers on an injected clock)', async () => {
  const socat = await startSocat();
  const host = new FakeHost(join(dir, 'keepalived.conf'), dir, SAMPLE_CONF);
  const engine = createConsoleEngine(host, config);
  const clock = new FakeClock();
  const sc = await startSerialConsole(engine, { device: `${dir}/ttyA`, idleTimeoutMs: 60_000, clock, log: () => undefined });
  const term = new Terminal(`${dir}/ttyB`);
  try {
    await term.open();
    await term.cmd('', /lb-a login: $/);
    await login(term);
    clock.tick(59_999);
    assert.match(await term.cmd('show version', /lb-a> $/), /tandem/); // activity re-arms the timer
    clock.tick(59_999);
    assert.doesNotMatch(term.out, /idle timeout/);
    const mark = term.out.length;
    clock.tick(1);
    await waitFor(() => /idle timeout: logged out\r\n.*lb-a login: $/s.test(term.out.slice(mark)), 'idle logout');
    assert.ok(host.events.some((e) => e.type === 'logout' && e.detail === 'idle'));
  } finally {
    await term.close();
    await sc.close();
    await stopSocat(socat);
  }
});

test('serial console: a busy port is reported clearly and retried', async () => {
  const socat = await startSocat();
  const holder = new SerialPort({ path: `${dir}/ttyA`, baudRate: 115200, autoOpen: false, lock: true });
  await new Promise<void>((res, rej) => holder.open((e) => (e ? rej(e) : res())));
  const host = new FakeHost(join(dir, 'keepalived.conf'), dir, SAMPLE_CONF);
  const engine = createConsoleEngine(host, config);
  const logs: string[] = [];
  const sc = await startSerialConsole(engine, { device: `${dir}/ttyA`, retryMs: 100, log: (m) => logs.push(m) });
  try {
    await waitFor(() => logs.includes(`serial console: ${dir}/ttyA busy (another program holds it), retrying`), 'busy log line');
    await new Promise<void>((r) => holder.close(() => r()));
    await waitFor(() => sc.stats().open, 'opened once free');
    assert.equal(logs.filter((l) => l.includes('busy')).length, 1, 'one log line per outage');
  } finally {
    await sc.close();
    await stopSocat(socat);
  }
});

test('control socket: round trip, exit codes, mode 0600, stale socket removed', async () => {
  const host = new FakeHost(join(dir, 'keepalived.conf'), dir, SAMPLE_CONF);
  const engine = createConsoleEngine(host, config);
  const path = join(dir, 'run', 'tandem.sock');
  // A stale socket left by a killed process.
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  const stale = spawn('socat', [`UNIX-LISTEN:${path}`, 'STDOUT'], { stdio: 'ignore' });
  procs.add(stale);
  await waitFor(() => existsSync(path), 'stale socket created');
  const gone = new Promise((r) => stale.once('exit', r));
  process.kill(stale.pid!, 'SIGKILL');
  await gone;
  assert.ok(lstatSync(path).isSocket());

  const ctl = await startControlSocket(engine, path);
  try {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    let out = '';
    assert.equal(await runCtl(path, ['show', 'version'], (s) => (out += s), () => undefined), 0);
    assert.match(out, /^tandem 9\.9\.9 \(abc123\)\n/);
    out = '';
    assert.equal(await runCtl(path, ['shw'], (s) => (out += s), () => undefined), 1);
    assert.equal(out, "% unknown command 'shw'\n");
    out = '';
    assert.equal(await runCtl(path, ['real-server', '203.0.113.1:80', '192.0.2.11:8080', 'drain'], (s) => (out += s), () => undefined), 0);
    assert.equal(host.vs[0]!.realServers[0]!.drained, true);
    // A second daemon must not steal a live socket.
    await assert.rejects(startControlSocket(engine, path), /another tandem is listening/);
  } finally {
    await ctl.close();
  }
  let err = '';
  assert.equal(await runCtl(path, ['show', 'version'], () => undefined, (s) => (err += s)), 2);
  assert.match(err, /is tandem running\?/);
  // A regular file at the path is never deleted.
  writeFileSync(path, 'not a socket');
  await assert.rejects(startControlSocket(engine, path), /not a socket/);
});
