// The serial console and `tandem ctl` against a running lab board, end to end:
// the daemon (dist/tandem.js, run by the lab) opens the console port DIR/ttyA of a socat pty
// pair, and this test types on the other end, DIR/ttyB, like a technician on the bench.
// Proofs come from outside the daemon: advertisements captured with tcpdump in the peer's
// namespace, who holds the VIPs, which real server answers through the VIP, the file on disk.
//
// Build first: ./build.sh (or TANDEM_DIST=DIR node scripts/bundle.mjs, the lab honours it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Terminal } from './terminal.ts';
import { PASSWORD, firstBootLogin, login, serialBlock, startSocat, type Serial } from './serial-console.ts';
import { withLab, LAB_ADDR, type Lab, type LabProcess, type Board, type BoardHandle } from './lab.ts';
import { pairConfig, type PairOptions } from './vrrp-configs.ts';
import { vipHolders, waitHolder } from './vrrp-helpers.ts';

/** v3 at 0.5 s: quick elections that still hold on a loaded 2-core machine. */
const FAST = { version: 3 as const, advertInt: 0.5 };
const STARTED = /Entering (BACKUP|MASTER|FAULT) STATE/;
const PORT = 8080;
const VS = `${LAB_ADDR.publicVip}:80`;
const rsName = (i: number): string => `${LAB_ADDR.realServer(i)}:${PORT}`;

function extraFor(o: PairOptions, ttyA: string | null, vs: boolean): PairOptions {
  const parts = [o.extra ?? ''];
  if (ttyA) parts.push(serialBlock(ttyA));
  if (vs) parts.push(virtualServerBlock());
  return { ...o, extra: parts.join('\n') };
}

function virtualServerBlock(): string {
  const rs = [1, 2, 3].map((i) => `    real_server ${LAB_ADDR.realServer(i)} ${PORT} {\n        weight 1\n    }\n`).join('');
  return `virtual_server ${LAB_ADDR.publicVip} 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n${rs}}\n`;
}

/**
 * Starts the pair: a (priority 150) and b (priority 100), the serial console on `consoleOn`.
 * Returns the console board's handle and an open terminal sitting at the first prompt.
 */
async function startPair(lab: Lab, consoleOn: Board, opts: { vs?: boolean } = {}): Promise<{ h: BoardHandle; term: Terminal; serial: Serial; cfg: Record<Board, string> }> {
  const serial = await startSocat(lab, consoleOn);
  // The terminal is connected before the board starts, so it sees the banner and first prompt.
  const term = new Terminal(serial.ttyB);
  await term.open();
  const cfg: Record<Board, string> = {
    a: pairConfig(extraFor({ routerId: 'lb-a', priority: 150, ...FAST }, consoleOn === 'a' ? serial.ttyA : null, opts.vs ?? false)),
    b: pairConfig(extraFor({ routerId: 'lb-b', priority: 100, ...FAST }, consoleOn === 'b' ? serial.ttyA : null, opts.vs ?? false)),
  };
  const ha = await lab.startBoard('a', cfg.a, { waitForLog: STARTED });
  await waitHolder(lab, 'a');
  const hb = await lab.startBoard('b', cfg.b, { waitForLog: STARTED });
  const h = consoleOn === 'a' ? ha : hb;
  await hb.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/);
  return { h, term, serial, cfg };
}

/** Ctrl-C / exit until the console rests at the login prompt, whatever noise left it in. */
async function settleAtLogin(term: Terminal, node: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let seen = term.out.length;
    let quietSince = Date.now();
    while (Date.now() - quietSince < 3_000) {
      if (Date.now() > end) throw new Error(`console did not settle; tail ${JSON.stringify(term.out.slice(-300))}`);
      await new Promise((r) => setTimeout(r, 100));
      if (term.out.length !== seen) { seen = term.out.length; quietSince = Date.now(); }
    }
    const tail = term.out.slice(-200);
    if (tail.endsWith(`${node} login: `)) return;
    if (tail.endsWith(`${node}> `) || tail.endsWith(`${node}# `)) term.send('\x03exit\rexit\r');
    else term.send('\x03');
  }
}

/** `show vrrp` rows as { state, prio } by instance. */
function vrrpRows(out: string): Map<string, { state: string; prio: number; eff: number }> {
  const m = new Map<string, { state: string; prio: number; eff: number }>();
  for (const l of out.split(/\r?\n/)) {
    const f = l.trim().split(/\s+/);
    if (f[0] === 'VI_PUB' || f[0] === 'VI_PRIV') m.set(f[0], { state: f[1]!, prio: Number(f[5]), eff: Number(f[6]) });
  }
  return m;
}

function priorityIn(text: string, instance: string): number | null {
  const m = new RegExp(`vrrp_instance ${instance} \\{[^}]*?\\bpriority (\\d+)`, 's').exec(text);
  return m ? Number(m[1]) : null;
}

/** tcpdump in `host`'s namespace for VRRP on eth0; resolves once it listens. */
async function captureVrrp(lab: Lab, host: Board): Promise<LabProcess> {
  const p = lab.spawn(host, ['tcpdump', '-i', 'eth0', '-n', '-l', '-p', 'ip proto 112'], { label: `tcpdump-${host}` });
  await p.waitForLog(/listening on eth0/, 10_000);
  return p;
}

// ---------------------------------------------------------------------------------------------

test('first boot, login, show vrrp/status/running-config, then wrong passwords and lockout', async (t) => {
  const lab = await withLab(t, { name: 'console-login', realServers: 0 });
  const { h, term } = await startPair(lab, 'a');
  try {
    // The first session opens with the first-boot setup; mismatched passwords ask again.
    await term.until(/New password: $/, 0, 'first-boot prompt');
    await term.cmd('short', /too short: at least 8 characters\r\nNew password: $/);
    await term.cmd(PASSWORD, /Retype new password: $/);
    await term.cmd('something-else', /the passwords differ, again\r\nNew password: $/);
    await term.cmd(PASSWORD, /Retype new password: $/);
    await term.cmd(PASSWORD, /saved; log in\r\nlb-a login: $/);
    const users = await readFile(join(h.stateDir, 'console-users.json'), 'utf8');
    assert.doesNotMatch(users, new RegExp(PASSWORD), 'the password is stored hashed');
    assert.match(users, /scrypt/i);
    assert.equal((await stat(join(h.stateDir, 'console-users.json'))).mode & 0o077, 0, 'users file is private');
    await login(term, 'lb-a');
    await h.waitForLog(/console serial: login user admin/);

    // show vrrp: both instances of the running board with their real states.
    await waitHolder(lab, 'a');
    const rows = vrrpRows(await term.cmd('show vrrp', /lb-a> $/));
    assert.deepEqual(rows.get('VI_PUB'), { state: 'MASTER', prio: 150, eff: 150 });
    assert.deepEqual(rows.get('VI_PRIV'), { state: 'MASTER', prio: 150, eff: 150 });
    const st = await term.cmd('show status', /lb-a> $/);
    assert.match(st, /node +lb-a/);
    assert.match(st, /vrrp +VI_PUB MASTER prio 150/);
    assert.match(st, /maintenance +off/);
    const rc = await term.cmd('show running-config', /lb-a> $/);
    assert.match(rc, /vrrp_instance VI_PUB \{/);
    assert.match(rc, /serial_console \{/);
    assert.equal(priorityIn(rc.replace(/\r/g, ''), 'VI_PUB'), 150);
    // Abbreviations, an unknown command, and the peer's view from ctl on the other board.
    assert.match(await term.cmd('sh ver', /lb-a> $/), /tandem \d+\.\d+\.\d+/);
    assert.match(await term.cmd('shwo vrrp', /lb-a> $/), /% unknown command 'shwo'/);
    const bv = await lab.board('b')!.ctl(['show', 'vrrp']);
    assert.equal(bv.code, 0, bv.stderr);
    assert.equal(vrrpRows(bv.stdout).get('VI_PUB')?.state, 'BACKUP');

    // Log out, then wrong passwords: 1 s, 2 s, 4 s, 8 s back-off, locked on the fifth failure.
    await term.cmd('exit', /lb-a login: $/);
    for (let i = 1; i <= 4; i++) {
      await term.cmd('admin', /Password: $/);
      const r = await term.cmd(`wrong-${i}`, /login incorrect\r\nlb-a login: $/, 20_000);
      assert.doesNotMatch(r, /wrong-/, 'password not echoed');
    }
    await term.cmd('admin', /Password: $/);
    await term.cmd('wrong-5', /console locked for 300 s\r\nlb-a login: $/);
    // Locked: even the right password is refused, at the user prompt already.
    await term.cmd('admin', /console locked after repeated failures; try again in \d+ s\r\nlb-a login: $/);
    await h.waitForLog(/console serial: lockout user admin/);
    assert.equal(h.proc.lines.filter((l) => /console serial: login-failed/.test(l.text)).length, 5);
    // The control socket is unaffected (root-only file, no password).
    const v = await h.ctl(['show', 'version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^tandem /);
  } finally {
    await term.close();
  }
});

test('configure, set priority 200 on the BACKUP, commit: its advertisements carry 200 and it preempts', async (t) => {
  const lab = await withLab(t, { name: 'console-commit', realServers: 0 });
  const { h, term, cfg } = await startPair(lab, 'b');
  try {
    await firstBootLogin(term, 'lb-b');
    const cap = await captureVrrp(lab, 'a');
    // Before: only a advertises (b is BACKUP).
    await cap.waitForLog(/203\.0\.113\.2 > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 51, prio 150/);
    assert.doesNotMatch(cap.output(), /203\.0\.113\.3 > 224\.0\.0\.18/);

    await term.cmd('configure', /\[edit\]\r\nlb-b# $/);
    // Both members of the sync group: a member becomes MASTER only when every other member
    // wants to (keepalived vrrp_sync_can_goto_master), so raising VI_PUB alone would not preempt.
    await term.cmd('set vrrp_instance VI_PUB priority 200', /lb-b# $/);
    await term.cmd('set vrrp_instance VI_PRIV priority 200', /lb-b# $/);
    const diff = await term.cmd('show diff', /lb-b# $/);
    assert.match(diff, /-\s*priority 100/);
    assert.match(diff, /\+\s*priority 200/);
    const from = cap.mark();
    const logFrom = h.proc.mark();
    const c = await term.cmd('commit', /lb-b# $/);
    assert.match(c, /commit complete/);
    // The proof on the wire: b's own advertisements, captured on a, carry priority 200.
    await cap.waitForLog(/203\.0\.113\.3 > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 51, prio 200/, 10_000, { from });
    await waitHolder(lab, 'b');
    await h.waitForLog(/\(VI_PUB\) priority changed from 100 to 200/, 5_000, { from: logFrom });
    const rows = vrrpRows(await term.cmd('show vrrp', /lb-b# $/));
    assert.deepEqual(rows.get('VI_PUB'), { state: 'MASTER', prio: 200, eff: 200 });
    assert.deepEqual(rows.get('VI_PRIV'), { state: 'MASTER', prio: 200, eff: 200 });
    // Changed in place: the VRRP engine was not restarted.
    assert.ok(!h.proc.lines.slice(logFrom).some((l) => /restarting the VRRP engine/.test(l.text)));
    // The file on disk changed; FILE.prev is exactly what was there before.
    const onDisk = await readFile(h.configPath, 'utf8');
    assert.equal(priorityIn(onDisk, 'VI_PUB'), 200);
    assert.equal(priorityIn(onDisk, 'VI_PRIV'), 200);
    assert.equal(await readFile(`${h.configPath}.prev`, 'utf8'), cfg.b);
    const a = await lab.board('a')!.ctl(['show', 'vrrp']);
    assert.equal(vrrpRows(a.stdout).get('VI_PUB')?.state, 'BACKUP');
    await term.cmd('exit', /lb-b> $/);
  } finally {
    await term.close();
  }
});

test('commit confirmed 1 without confirmation rolls back after a minute', { timeout: 180_000 }, async (t) => {
  const lab = await withLab(t, { name: 'console-confirm', realServers: 0 });
  const { h, term } = await startPair(lab, 'b');
  try {
    await firstBootLogin(term, 'lb-b');
    await term.cmd('configure', /lb-b# $/);
    await term.cmd('set vrrp_instance VI_PUB priority 200', /lb-b# $/);
    await term.cmd('set vrrp_instance VI_PRIV priority 200', /lb-b# $/);
    const c = await term.cmd('commit confirmed 1', /lb-b# $/);
    assert.match(c, /rolled back in 1 min unless confirmed/);
    await waitHolder(lab, 'b');
    assert.equal(priorityIn(await readFile(h.configPath, 'utf8'), 'VI_PUB'), 200);
    assert.match(await term.cmd('show status', /lb-b# $/), /commit +UNCONFIRMED: rolls back in/);
    // A hang-up does not save the commit: the deadline belongs to the board, not the session.
    await term.cmd('exit', /lb-b> $/);
    await term.cmd('exit', /lb-b login: $/);

    await h.waitForLog(/console serial: commit-rolled-back/, 90_000);
    await h.waitForLog(/\(VI_PUB\) priority changed from 200 to 100/, 10_000);
    const back = await readFile(h.configPath, 'utf8');
    assert.equal(priorityIn(back, 'VI_PUB'), 100);
    assert.equal(priorityIn(back, 'VI_PRIV'), 100);
    await waitHolder(lab, 'a');
    const rows = vrrpRows((await h.ctl(['show', 'vrrp'])).stdout);
    assert.deepEqual(rows.get('VI_PUB'), { state: 'BACKUP', prio: 100, eff: 100 });
    const st = await h.ctl(['show', 'status']);
    assert.doesNotMatch(st.stdout, /UNCONFIRMED/);
  } finally {
    await term.close();
  }
});

/** Which real servers answer `n` GETs through the public VIP. */
async function hits(lab: Lab, n: number): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await lab.httpGet('client', `http://${LAB_ADDR.publicVip}/`);
    const who = r.body.trim();
    m.set(who, (m.get(who) ?? 0) + 1);
  }
  return m;
}

test('real-server drain and enable, over the serial console and over tandem ctl', async (t) => {
  const lab = await withLab(t, { name: 'console-drain', realServers: 3 });
  for (const i of [1, 2, 3]) await lab.startHttpServer(i, PORT);
  const { h, term } = await startPair(lab, 'a', { vs: true });
  try {
    await firstBootLogin(term, 'lb-a');
    await lab.waitFor(async () => (await hits(lab, 3)).size === 3, { timeoutMs: 15_000, what: 'all three real servers answering' });

    assert.match(await term.cmd(`real-server ${VS} ${rsName(2)} drain`, /lb-a> $/), /drain|done/i);
    const rs = await term.cmd('show real-servers', /lb-a> $/);
    assert.match(rs, new RegExp(`${rsName(2).replace(/\./g, '\\.')} +up +1 +drained`));
    const drained = await hits(lab, 9);
    assert.equal(drained.get('rs2'), undefined, `rs2 drained, got ${JSON.stringify([...drained])}`);
    assert.ok((drained.get('rs1') ?? 0) > 0 && (drained.get('rs3') ?? 0) > 0);

    assert.match(await term.cmd(`real-server ${VS} ${rsName(2)} enable`, /lb-a> $/), /enable|done/i);
    await lab.waitFor(async () => (await hits(lab, 3)).has('rs2'), { timeoutMs: 10_000, what: 'rs2 back in rotation' });

    // The same over the control socket; errors have exit code 1 and a clear message.
    const d = await h.ctl(['real-server', VS, rsName(3), 'drain']);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    const viaCtl = await hits(lab, 9);
    assert.equal(viaCtl.get('rs3'), undefined, `rs3 drained, got ${JSON.stringify([...viaCtl])}`);
    const bad = await h.ctl(['real-server', VS, '192.0.2.99:8080', 'drain']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /no real server '192\.0\.2\.99 8080'|no real server/);
    const e = await h.ctl(['real-server', VS, rsName(3), 'enable']);
    assert.equal(e.code, 0);
    await lab.waitFor(async () => (await hits(lab, 3)).has('rs3'), { timeoutMs: 10_000, what: 'rs3 back in rotation' });
    await h.waitForLog(/console serial: drain user admin/);
    await h.waitForLog(/console ctl: drain/);
  } finally {
    await term.close();
  }
});

test('maintenance on hands mastership to the peer; off preempts back', async (t) => {
  const lab = await withLab(t, { name: 'console-maint', realServers: 0 });
  const { h, term } = await startPair(lab, 'a');
  try {
    await firstBootLogin(term, 'lb-a');
    const b = lab.board('b')!;
    const bFrom = b.proc.mark();
    const cap = await captureVrrp(lab, 'b');
    assert.match(await term.cmd('maintenance on', /lb-a> $/), /maintenance on/);
    // Clean hand-over: a says priority 0 and the peer takes over at once (RFC 5798 §6.4.2).
    await cap.waitForLog(/203\.0\.113\.2 > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 51, prio 0/, 5_000);
    await waitHolder(lab, 'b');
    await b.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 5_000, { from: bFrom });
    const rows = vrrpRows(await term.cmd('show vrrp', /lb-a> $/));
    assert.equal(rows.get('VI_PUB')?.state, 'BACKUP');
    assert.equal(rows.get('VI_PRIV')?.state, 'BACKUP');
    assert.match(await term.cmd('show status', /lb-a> $/), /maintenance +ON/);
    // It stays there: several advertisement intervals later b still holds the VIPs.
    const capFrom = cap.mark();
    await cap.waitForLog(/203\.0\.113\.3 > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 51, prio 100/, 5_000, { from: capFrom });
    assert.deepEqual(await vipHolders(lab), { pub: ['b'], priv: ['b'] });

    assert.match(await term.cmd('maintenance off', /lb-a> $/), /maintenance off/);
    await waitHolder(lab, 'a');
    assert.equal(vrrpRows(await term.cmd('show vrrp', /lb-a> $/)).get('VI_PUB')?.state, 'MASTER');
    await h.waitForLog(/console serial: maintenance user admin \(off\)/);
  } finally {
    await term.close();
  }
});

test('garbage, a 1 MB line, a hang-up mid-command and binary noise leave the daemon and VRRP undisturbed', { timeout: 240_000 }, async (t) => {
  const lab = await withLab(t, { name: 'console-noise', realServers: 0 });
  const { h, term, serial } = await startPair(lab, 'a');
  let term2: Terminal | null = null;
  try {
    await firstBootLogin(term, 'lb-a');
    const b = lab.board('b')!;
    const aFrom = h.proc.mark();
    const bFrom = b.proc.mark();
    const cap = await captureVrrp(lab, 'b');

    // Garbage: escape sequences, an unterminated quote, a configure-mode command in oper mode.
    assert.match(await term.cmd('\x1b[A\x1b[B\x1bOPfoo bar "unterminated', /lb-a> $/), /% /);
    assert.match(await term.cmd('set vrrp_instance VI_PUB priority 1', /lb-a> $/), /% /);
    assert.match(await term.cmd('\x00\x01\x02\x7f\x7f\x7f\x1b\x1b show vrrp', /lb-a> $/), /VI_PUB +MASTER/);
    // A 1 MB line: cut at the line limit, refused, console fine.
    let mark = term.out.length;
    term.send(Buffer.alloc(1024 * 1024, 0x61));
    term.send('\r');
    await term.until(/% unknown command 'a+'\r\nlb-a> $/, mark, '1 MB line refused', 120_000);
    assert.match(await term.cmd('show version', /lb-a> $/), /tandem /);

    // Hang-up mid-command: a command sent and half of the next line typed, then the cable goes.
    mark = term.out.length;
    term.send('show interfaces\rshow vr');
    // The typed-ahead half line is shown again under the prompt after the command's output.
    await term.until(/ERR\(RX\/TX\).*lb-a> show vr(\x1b\[K)?$/s, mark, 'output, then the half line redrawn');
    const hup = h.proc.mark();
    await serial.socat.stop('SIGKILL');
    await term.close();
    await h.waitForLog(/serial console: .*ttyA closed \(hang-up\), retrying/, 10_000, { from: hup });
    await h.waitForLog(/console serial: logout user admin \(hang-up\)/, 10_000, { from: hup });
    assert.ok(h.proc.running, 'daemon still running after the hang-up');

    // The adapter comes back: the console reopens with a fresh login.
    const again = await startSocat(lab, 'a');
    await h.waitForLog(/serial console: .*ttyA open again/, 15_000, { from: hup });
    term2 = new Terminal(again.ttyB);
    await term2.open();
    await term2.cmd('', /lb-a login: $/);
    await login(term2, 'lb-a');

    // Binary noise: CRs, Ctrl-C, Ctrl-D (logout), escapes, 8-bit bytes. It may well log out and
    // type failed logins (even lock the console); the daemon must only keep going.
    const noise = Buffer.alloc(256 * 1024);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + (i >> 3) + (i >> 11)) & 0xff;
    term2.send(noise);
    // Back to the login prompt: whenever the output has been quiet for 3 s, look at where it
    // stopped and steer (a failed-login delay is quiet too, so quiet alone is not enough).
    await settleAtLogin(term2, 'lb-a', 150_000);

    // The daemon lives and answers; VRRP never noticed: no transition on either board, a kept
    // advertising at 150, b never advertised, and a still holds both VIPs.
    assert.ok(h.proc.running, 'daemon still running');
    const v = await h.ctl(['show', 'vrrp']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(vrrpRows(v.stdout).get('VI_PUB')?.state, 'MASTER');
    assert.deepEqual(await vipHolders(lab), { pub: ['a'], priv: ['a'] });
    const transitions = (p: LabProcess, from: number): string[] =>
      p.lines.slice(from).filter((l) => /Entering .* STATE|-> (MASTER|BACKUP|FAULT)/.test(l.text)).map((l) => l.text);
    assert.deepEqual(transitions(h.proc, aFrom), []);
    assert.deepEqual(transitions(b.proc, bFrom), []);
    const capFrom = cap.mark();
    await cap.waitForLog(/203\.0\.113\.2 > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 51, prio 150/, 5_000, { from: capFrom });
    assert.doesNotMatch(cap.output(), /203\.0\.113\.3 > 224\.0\.0\.18/);
    // The serial console still serves: a user name gets the password prompt (or the lockout).
    assert.match(await term2.cmd('admin', /(Password: |console locked.*\r\nlb-a login: )$/), /Password: |console locked/);
  } finally {
    await term.close();
    await term2?.close();
  }
});
