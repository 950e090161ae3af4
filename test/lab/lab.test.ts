// Tests of the lab itself (root): the topology is what DESIGN.md draws, links can be cut and
// restored, labs are isolated from each other, and nothing survives a lab — not even when the
// test process dies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, withLab, waitFor, DEFAULT_BUNDLE, LAB_ADDR, LAB_ADDR6, WaitTimeoutError, type Lab } from './lab.ts';
import { REGISTRY_DIR, pidAlive, removeNamespacesSync } from './registry.ts';
import { runCommand } from './command.ts';

const here = dirname(fileURLToPath(import.meta.url));

async function netnsList(): Promise<string[]> {
  const r = await runCommand('ip', ['netns', 'list'], { check: true });
  return r.stdout.split('\n').map((l) => l.split(/\s+/)[0] ?? '').filter(Boolean);
}

/** Pings until one succeeds: the first packet after a link comes up may be lost to ARP. */
function reachable(lab: Lab, from: Parameters<Lab['ping']>[0], to: string): Promise<void> {
  return waitFor(() => lab.ping(from, to), { timeoutMs: 10_000, what: `${from} to reach ${to}` });
}

test('builds the two-board network with the documented addresses', async (t) => {
  const lab = await withLab(t, { name: 'topology' });
  assert.deepEqual((await lab.addresses('a', 'eth0')).map((x) => `${x.address}/${x.prefixLen}`), ['203.0.113.2/24']);
  assert.deepEqual((await lab.addresses('a', 'eth1')).map((x) => `${x.address}/${x.prefixLen}`), ['192.0.2.2/24']);
  assert.deepEqual((await lab.addresses('b', 'eth0')).map((x) => x.address), ['203.0.113.3']);
  assert.deepEqual((await lab.addresses('b', 'eth1')).map((x) => x.address), ['192.0.2.3']);
  assert.deepEqual((await lab.addresses('client', 'eth0')).map((x) => x.address), ['203.0.113.10']);
  assert.equal(lab.ns.rs.length, 3);
  for (const [i, h] of lab.realServers().entries()) {
    assert.deepEqual((await lab.addresses(h, 'eth0')).map((x) => x.address), [LAB_ADDR.realServer(i + 1)]);
    const route = await lab.exec(h, ['ip', 'route', 'show', 'default'], { check: true });
    assert.match(route.stdout, /default via 192\.0\.2\.1 dev eth0/);
  }
  // Forwarding on the boards only.
  for (const [h, want] of [['a', '1'], ['b', '1'], ['client', '0'], ['rs1', '0']] as const) {
    const r = await lab.exec(h, ['sysctl', '-n', 'net.ipv4.ip_forward'], { check: true });
    assert.equal(r.stdout.trim(), want, `ip_forward on ${h}`);
  }
  // Only eth0/eth1 and lo inside a board, with the literal names the daemon's config uses.
  const links = await lab.exec('a', ['ip', '-j', 'link', 'show'], { check: true });
  assert.deepEqual((JSON.parse(links.stdout) as Array<{ ifname: string }>).map((l) => l.ifname).sort(), ['eth0', 'eth1', 'lo']);

  await reachable(lab, 'client', LAB_ADDR.board.a.eth0);
  await reachable(lab, 'client', LAB_ADDR.board.b.eth0);
  for (const b of ['a', 'b'] as const) {
    for (let i = 1; i <= 3; i++) await reachable(lab, b, LAB_ADDR.realServer(i));
  }
  // Segments are separate: without the VIPs nobody routes between them.
  assert.equal(await lab.ping('client', LAB_ADDR.realServer(1)), false, 'client must not reach rs1 before a VIP exists');
  assert.equal(await lab.ping('rs1', LAB_ADDR.board.a.eth0), false, 'rs1 must not reach the public segment before a VIP exists');
});

test('with the VIPs on board a, traffic is routed through it', async (t) => {
  const lab = await withLab(t, { name: 'routing' });
  // What the VRRP daemon will do as MASTER; done by hand here.
  await lab.exec('a', ['ip', 'addr', 'add', `${LAB_ADDR.privateVip}/24`, 'dev', 'eth1'], { check: true });
  await lab.exec('a', ['ip', 'addr', 'add', `${LAB_ADDR.publicVip}/24`, 'dev', 'eth0'], { check: true });
  assert.equal(await lab.hasAddress('a', 'eth1', LAB_ADDR.privateVip), true);
  await reachable(lab, 'rs1', LAB_ADDR.client);
  await reachable(lab, 'client', LAB_ADDR.realServer(2));

  const web = await lab.startHttpServer(3, 8080);
  const from = web.mark();
  const res = await lab.httpGet('client', `http://${LAB_ADDR.realServer(3)}:8080/hello`);
  assert.deepEqual(res, { status: 200, body: 'rs3\n' });
  // Plain routing keeps the client's address: the real server sees 203.0.113.10.
  assert.match(await web.waitForLog(/^request /, 5_000, { from }), /^request 203\.0\.113\.10:\d+ GET \/hello$/);

  await lab.startUdpEcho('rs1', 5000);
  assert.equal(await lab.udpRequest('client', LAB_ADDR.realServer(1), 5000, 'ping'), 'rs1:ping');

  // Board b has no VIP: traffic through it must not work, so the test above proves routing via a.
  await lab.exec('a', ['ip', 'addr', 'del', `${LAB_ADDR.privateVip}/24`, 'dev', 'eth1'], { check: true });
  // rs1 still has a's MAC for the gateway cached (which is why a new master sends gratuitous
  // ARP); forget it, and the gateway is gone.
  await lab.exec('rs1', ['ip', 'neigh', 'flush', 'dev', 'eth0'], { check: true });
  assert.equal(await lab.ping('rs1', LAB_ADDR.client), false);
});

test('with ipv6: true both segments carry the 2001:db8:: plan, link-local addresses are ready, and traffic routes through the IPv6 VIPs', async (t) => {
  const lab = await withLab(t, { name: 'topology6', realServers: 1, ipv6: true });
  const global6 = async (h: Parameters<Lab['addresses']>[0], dev: string): Promise<string[]> =>
    (await lab.addresses(h, dev)).filter((x) => x.family === 'inet6' && x.scope === 'global').map((x) => `${x.address}/${x.prefixLen}`);
  assert.deepEqual(await global6('a', 'eth0'), ['2001:db8:0:1::2/64']);
  assert.deepEqual(await global6('b', 'eth1'), ['2001:db8:0:2::3/64']);
  assert.deepEqual(await global6('client', 'eth0'), ['2001:db8:0:1::10/64']);
  assert.deepEqual(await global6('rs1', 'eth0'), [`${LAB_ADDR6.realServer(1)}/64`]);
  for (const h of ['a', 'b', 'client', 'rs1'] as const) {
    const ll = await lab.linkLocal(h, 'eth0');
    const x = (await lab.addresses(h, 'eth0')).find((y) => y.address === ll);
    assert.ok(x && x.tentative !== true, `${h}'s link-local address ${ll} is out of duplicate address detection`);
  }
  for (const [h, want] of [['a', '1'], ['b', '1'], ['client', '0'], ['rs1', '0']] as const) {
    const r = await lab.exec(h, ['sysctl', '-n', 'net.ipv6.conf.all.forwarding'], { check: true });
    assert.equal(r.stdout.trim(), want, `IPv6 forwarding on ${h}`);
  }
  const route = await lab.exec('rs1', ['ip', '-6', 'route', 'show', 'default'], { check: true });
  assert.match(route.stdout, /default via fe80::1 dev eth0/);
  assert.equal(await lab.ping('rs1', LAB_ADDR6.client), false, 'no gateway before a VIP exists');
  // What a MASTER does; by hand here: the public VIP, and the link-local gateway with its dev.
  await lab.exec('a', ['ip', 'addr', 'add', `${LAB_ADDR6.publicVip}/64`, 'dev', 'eth0', 'nodad'], { check: true });
  await lab.exec('a', ['ip', 'addr', 'add', `${LAB_ADDR6.gatewayVip}/64`, 'dev', 'eth1', 'nodad'], { check: true });
  await reachable(lab, 'rs1', LAB_ADDR6.client);
  await reachable(lab, 'client', LAB_ADDR6.realServer(1));
  assert.ok(lab.describe().includes('default via fe80::1 dev eth0'));
});

test('cutLinks and restoreLinks, by carrier and silently', async (t) => {
  const lab = await withLab(t, { name: 'links', realServers: 1 });
  await reachable(lab, 'a', LAB_ADDR.client);
  await reachable(lab, 'a', LAB_ADDR.realServer(1));

  await lab.cutLinks('a');
  assert.equal(await lab.ping('a', LAB_ADDR.client), false, 'a must not reach the client with links cut');
  assert.equal(await lab.ping('a', LAB_ADDR.realServer(1)), false, 'a must not reach rs1 with links cut');
  // The board sees it as a pulled cable.
  assert.ok((await lab.linkState('a', 'eth0')).flags.includes('NO-CARRIER'));
  // Board b is untouched.
  await reachable(lab, 'b', LAB_ADDR.client);

  await lab.restoreLinks('a');
  await reachable(lab, 'a', LAB_ADDR.client);
  await reachable(lab, 'a', LAB_ADDR.realServer(1));

  // Silent: only eth1, carrier stays up, packets stop.
  await lab.cutLinks('a', { links: ['eth1'], mode: 'silent' });
  assert.equal(await lab.ping('a', LAB_ADDR.realServer(1)), false, 'a must not reach rs1 through a disabled port');
  assert.equal((await lab.linkState('a', 'eth1')).flags.includes('NO-CARRIER'), false);
  assert.equal(await lab.ping('a', LAB_ADDR.client), true, 'eth0 was not cut');
  await lab.restoreLinks('a', { links: ['eth1'], mode: 'silent' });
  await reachable(lab, 'a', LAB_ADDR.realServer(1));
});

test('startBoard runs the bundle in the board namespace; stop, reload and powerOff', async (t) => {
  const lab = await withLab(t, { name: 'board', realServers: 0 });
  const bundle = join(here, 'fixtures', 'fake-daemon.mjs');
  const h = await lab.startBoard('a', 'vrrp_instance VI_1 { }', { bundle, waitForLog: /^ready$/, files: { 'inc/x.conf': 'x' } });
  assert.equal(h.proc.running, true);
  const args = JSON.parse((await h.waitForLog(/^args /)).slice(5)) as string[];
  assert.deepEqual(args, ['run', '-f', h.configPath, '--state-dir', h.stateDir, '--control-socket', h.controlSocket, '--log-level', 'debug']);
  assert.equal(await h.waitForLog(/^config /), 'config vrrp_instance VI_1 { }');
  // It runs in board a's namespace: it sees exactly eth0, eth1 and lo.
  assert.equal(await h.waitForLog(/^interfaces /), 'interfaces eth0,eth1,lo');
  assert.ok(existsSync(join(h.dir, 'inc', 'x.conf')));
  await assert.rejects(lab.startBoard('a', 'x', { bundle }), /already running/);

  const mark = h.proc.mark();
  await h.reload('vrrp_instance VI_2 { }');
  await h.waitForLog(/^reloaded vrrp_instance VI_2/, 5_000, { from: mark });

  const st = await lab.stopBoard('a');
  assert.deepEqual(st, { code: 0, signal: null });
  assert.ok(h.proc.lines.some((l) => l.text === 'stopping'));

  // Restart keeps the board's directory; power off kills it hard and cuts its links.
  const h2 = await lab.startBoard('a', 'again', { bundle, waitForLog: /^ready$/ });
  assert.equal(h2.dir, h.dir);
  await lab.powerOff('a');
  assert.deepEqual(h2.proc.exitStatus, { code: null, signal: 'SIGKILL' });
  assert.ok((await lab.linkState('a', 'eth0')).flags.includes('NO-CARRIER'));
  assert.ok((await lab.linkState('a', 'eth1')).flags.includes('NO-CARRIER'));

  // A daemon that dies early makes waitForLog fail at once, with its output in the message.
  await lab.restoreLinks('a');
  await assert.rejects(
    lab.startBoard('b', 'y', { bundle: join(here, 'fixtures', 'missing.mjs'), waitForLog: /^ready$/ }),
    /no bundle at/,
  );
  const crash = lab.spawn('b', [process.execPath, '-e', 'console.log("bye"); process.exit(4)']);
  await assert.rejects(crash.waitForLog(/^never$/, 10_000), /exited \(code 4\).*\n[\s\S]*bye/);
});

test('the real bundle runs inside a board namespace', async (t) => {
  if (!existsSync(DEFAULT_BUNDLE)) {
    t.skip(`no bundle at ${DEFAULT_BUNDLE} (run ./build.sh)`);
    return;
  }
  const lab = await withLab(t, { name: 'bundle', realServers: 0 });
  const r = await lab.exec('a', [process.execPath, DEFAULT_BUNDLE, 'version'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\d+\.\d+\.\d+/);
});

test('two labs at once do not clash', async (t) => {
  const [l1, l2] = await Promise.all([
    withLab(t, { name: 'par1', realServers: 1 }),
    withLab(t, { name: 'par2', realServers: 1 }),
  ]);
  assert.notEqual(l1.tag, l2.tag);
  const names1 = new Set(l1.allNamespaces());
  assert.ok(l2.allNamespaces().every((n) => !names1.has(n)));
  // Same addresses in both, but separate wires: an address added in lab 1 answers only there.
  await l1.exec('a', ['ip', 'addr', 'add', `${LAB_ADDR.publicVip}/24`, 'dev', 'eth0'], { check: true });
  await reachable(l1, 'client', LAB_ADDR.publicVip);
  assert.equal(await l2.ping('client', LAB_ADDR.publicVip), false, 'lab 2 must not see lab 1');
  await reachable(l2, 'client', LAB_ADDR.board.b.eth0);
});

test('destroy removes namespaces, processes, files and the record, and is idempotent', async () => {
  const lab = await createLab({ name: 'destroy', realServers: 2 });
  const p = lab.spawn('rs2', ['sleep', '600']);
  const names = lab.allNamespaces();
  assert.ok(names.every((n) => n.startsWith('tdmlab-')));
  const before = await netnsList();
  assert.ok(names.every((n) => before.includes(n)));
  assert.ok(existsSync(join(REGISTRY_DIR, `${lab.tag}.json`)));
  await Promise.all([lab.destroy(), lab.destroy()]);
  await lab.destroy();
  const after = await netnsList();
  assert.deepEqual(names.filter((n) => after.includes(n)), []);
  assert.equal(pidAlive(p.pid), false);
  assert.equal(existsSync(lab.tmpDir), false);
  assert.equal(existsSync(join(REGISTRY_DIR, `${lab.tag}.json`)), false);
  assert.throws(() => lab.spawn('a', ['true']), /destroyed/);
});

for (const mode of ['throw', 'exit', 'signal'] as const) {
  test(`a test process that dies (${mode}) still removes its lab`, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'lab-then-die.ts'), mode], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
    let made: { namespaces: string[]; pid: number; tmpDir: string; tag: string } | undefined;
    try {
      await waitFor(() => out.includes('\n'), { timeoutMs: 30_000, what: `the child to build its lab (stderr: ${err})` });
      made = JSON.parse(out.split('\n')[0]!) as { namespaces: string[]; pid: number; tmpDir: string; tag: string };
      assert.ok(pidAlive(made.pid));
      assert.ok(made.namespaces.every((n) => existsSync(`/run/netns/${n}`)));
      if (mode === 'signal') process.kill(child.pid!, 'SIGTERM');
      else child.stdin.end('die\n');
      const st = await exited;
      if (mode === 'throw') { assert.equal(st.code, 1); assert.match(err, /failed on purpose/); }
      if (mode === 'exit') assert.equal(st.code, 3);
      if (mode === 'signal') assert.equal(st.signal, 'SIGTERM');
      const left = await netnsList();
      assert.deepEqual(made.namespaces.filter((n) => left.includes(n)), []);
      assert.equal(pidAlive(made.pid), false, 'the lab process must be killed');
      assert.equal(existsSync(made.tmpDir), false);
      assert.equal(existsSync(join(REGISTRY_DIR, `${made.tag}.json`)), false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        // The test failed before the child died; do not leave its lab behind.
        child.kill('SIGKILL');
        await exited;
        if (made) removeNamespacesSync(made.namespaces, [made.pid]);
      }
    }
  });
}

test('scripts/lab-cleanup.ts removes the leftovers of dead runs, and nothing else', async (t) => {
  const mine = await withLab(t, { name: 'alive', realServers: 0 });
  // A namespace that merely looks similar must survive.
  const foreign = `tdm-foreign-${mine.tag}`;
  await runCommand('ip', ['netns', 'add', foreign], { check: true });
  t.after(() => runCommand('ip', ['netns', 'del', foreign]));
  // SIGKILL skips every hook: this is the leftover the script exists for.
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'lab-then-die.ts'), 'signal'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise((r) => child.on('close', r));
  await waitFor(() => out.includes('\n'), { timeoutMs: 30_000, what: 'the child to build its lab' });
  const made = JSON.parse(out.split('\n')[0]!) as { namespaces: string[]; pid: number; tmpDir: string; tag: string };
  child.kill('SIGKILL');
  await exited;
  try {
    assert.ok(made.namespaces.every((n) => existsSync(`/run/netns/${n}`)), 'the SIGKILLed child leaves its lab behind');
    assert.ok(pidAlive(made.pid));
    const r = await runCommand(process.execPath, ['--import', 'tsx', join(here, '..', '..', 'scripts', 'lab-cleanup.ts')], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`keep +${mine.tag} "alive"`));
    const left = await netnsList();
    assert.deepEqual(made.namespaces.filter((n) => left.includes(n)), []);
    assert.equal(pidAlive(made.pid), false);
    assert.equal(existsSync(made.tmpDir), false);
    assert.ok(left.includes(foreign), 'a non-lab namespace must not be touched');
    assert.ok(mine.allNamespaces().every((n) => left.includes(n)), 'a live lab must not be touched');
  } finally {
    removeNamespacesSync(made.namespaces, [made.pid]);
  }
});

test('waitFor names what it waited for', async () => {
  await assert.rejects(
    waitFor(() => false, { timeoutMs: 100, intervalMs: 10, what: 'the moon to turn blue' }),
    (e: unknown) => e instanceof WaitTimeoutError && /the moon to turn blue/.test(e.message),
  );
  let n = 0;
  await waitFor(() => { n++; if (n < 3) throw new Error('not yet'); return true; }, { intervalMs: 1 });
  assert.equal(n, 3);
});

test('createLab refuses a bad real-server count', async () => {
  await assert.rejects(createLab({ realServers: 10 }), /realServers must be an integer 0\.\.9/);
  await assert.rejects(createLab({ realServers: -1 }), /realServers/);
});
