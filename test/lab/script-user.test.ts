// Configured programs run as their user, and enable_script_security refuses what another user
// could rewrite (keepalived's script security), on a real lab board:
// - with `script_user nobody` and `enable_script_security`, vrrp_scripts (their own `user`, else
//   script_user), instance and sync-group notify programs, real-server notify_up/notify_down and
//   quorum_up/quorum_down all run as that user (keepalived notify.c), each notify once per
//   change, with no supplementary groups;
// - a world-writable vrrp_script that runs as root, rewritten by a second user created for the
//   test: `tandem check` fails at the script's line and the daemon refuses to start with
//   enable_script_security; without it both warn and the script runs (keepalived's behaviour);
//   with `user` set to that second user it starts, and the script runs with that user's uid.
// Build first: ./build.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_BUNDLE, LAB_ADDR, withLab, type Lab } from './lab.ts';
import { runCommand } from './command.ts';
import { pairConfig } from './vrrp-configs.ts';
import { virtualServerBlock } from './lb-helpers.ts';
import { waitHolder } from './vrrp-helpers.ts';
import { createTempUser } from './temp-user.ts';

const fast = { version: 3 as const, advertInt: 0.2 };
const NOBODY = '65534 65534 65534';

/** The lab's temp dir is root's 0700 (and so is a board's dir it creates): other users must be able to reach the board's files. */
async function openLab(lab: Lab): Promise<string> {
  await chmod(lab.tmpDir, 0o755);
  await mkdir(join(lab.tmpDir, 'board-a'), { mode: 0o755 });
  const out = join(lab.tmpDir, 'out');
  await mkdir(out, { recursive: true });
  await chmod(out, 0o1777);
  // Programs of several users append to one log.
  await writeFile(join(out, 'ids.log'), '');
  await chmod(join(out, 'ids.log'), 0o666);
  return out;
}

/** Appends "TAG uid gid groups" for each run to OUT/ids.log. */
const idScript = (out: string): string => `#!/bin/sh
printf '%s %s %s %s\\n' "$1" "$(id -u)" "$(id -g)" "$(id -G)" >> '${out}/ids.log'
exit 0
`;

async function lines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

function intoPub(config: string, text: string): string {
  const out = config.replace(/^(\s*interface eth0\n)/m, `$1${text}`);
  assert.notEqual(out, config);
  return out;
}

function intoGroup(config: string, text: string): string {
  const out = config.replace(/^(vrrp_sync_group G_LB \{\n)/m, `$1${text}`);
  assert.notEqual(out, config);
  return out;
}

function withGlobals(config: string, text: string): string {
  const out = config.replace(/^(global_defs \{\n)/m, `$1${text}`);
  assert.notEqual(out, config);
  return out;
}

test('script_user nobody: vrrp_scripts, notify programs, notify_up/down and quorum_up/down run as their user, each notify once', async (t) => {
  const lab = await withLab(t, { name: 'script-user', realServers: 0 });
  const user = await createTempUser(t);
  const out = await openLab(lab);
  const dir = join(lab.tmpDir, 'board-a');
  const id = join(dir, 'id.sh');
  const flag = join(out, 'rs-up');
  const misc = `        MISC_CHECK {\n            misc_path "${join(dir, 'flag.sh')}"\n            misc_timeout 2\n        }`;
  let cfg = pairConfig({
    routerId: 'lb-a', priority: 150, ...fast,
    extra: `vrrp_script chk_own {
    script "${id} vrrp_script_own"
    interval 1
    user ${user.name}
}
vrrp_script chk_default {
    script "${id} vrrp_script_default"
    interval 1
}
` + virtualServerBlock({
      address: LAB_ADDR.publicVip, port: 80, lbAlgo: 'rr', delayLoop: 1, quorum: 1,
      extra: `    quorum_up "${id} quorum_up"\n    quorum_down "${id} quorum_down"`,
      realServers: [{ address: LAB_ADDR.realServer(1), port: 8080, checker: `${misc}\n        notify_up "${id} notify_up"\n        notify_down "${id} notify_down"` }],
    }),
  });
  cfg = withGlobals(cfg, '    script_user nobody\n    enable_script_security\n');
  cfg = intoPub(cfg, `    notify_master "${id} notify_master"\n    notify "${id} notify"\n    track_script {\n        chk_own\n        chk_default\n    }\n`);
  cfg = intoGroup(cfg, `    notify_master "${id} group_master"\n    notify "${id} group_notify"\n`);
  const a = await lab.startBoard('a', cfg, {
    files: { 'id.sh': idScript(out), 'flag.sh': `#!/bin/sh\ntest -e '${flag}'\n` },
    waitForLog: /\(VI_PUB\) Entering BACKUP STATE/,
  });
  await waitHolder(lab, 'a');
  const log = join(out, 'ids.log');
  const seen = async (tag: string): Promise<string[]> => (await lines(log)).filter((l) => l.split(' ')[0] === tag).map((l) => l.split(' ').slice(1).join(' '));
  const want = `${user.uid} ${user.gid} ${user.gid}`;
  // The real server starts up and its first check fails: notify_down and quorum_down.
  await lab.waitFor(async () => (await seen('notify_down')).length > 0 && (await seen('quorum_down')).length > 0, { timeoutMs: 15_000, what: 'notify_down and quorum_down' });
  await writeFile(flag, '');
  await lab.waitFor(async () => (await seen('notify_up')).length > 0 && (await seen('quorum_up')).length > 0, { timeoutMs: 15_000, what: 'notify_up and quorum_up' });
  await lab.waitFor(async () => (await seen('vrrp_script_own')).length >= 2 && (await seen('group_notify')).length >= 2, { timeoutMs: 15_000, what: 'scripts and group notify' });
  // A fixed pause: the assertion below is that no second run of each notify comes.
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(await seen('notify_down'), [NOBODY], 'notify_down once, as nobody');
  assert.deepEqual(await seen('notify_up'), [NOBODY], 'notify_up once, as nobody');
  assert.deepEqual(await seen('quorum_down'), [NOBODY]);
  assert.deepEqual(await seen('quorum_up'), [NOBODY]);
  assert.deepEqual(await seen('notify_master'), [NOBODY]);
  // Generic notify programs run on every state (FAULT while the scripts start, BACKUP, MASTER).
  for (const tag of ['notify', 'group_notify']) {
    const all = await seen(tag);
    assert.ok(all.length >= 2 && all.every((x) => x === NOBODY), `${tag} as nobody: ${JSON.stringify(all)}`);
  }
  assert.deepEqual(await seen('group_master'), [NOBODY]);
  const own = await seen('vrrp_script_own');
  assert.ok(own.every((x) => x === want), `vrrp_script with user ${user.name}: ${JSON.stringify(own)}`);
  const dflt = await seen('vrrp_script_default');
  assert.ok(dflt.length > 0 && dflt.every((x) => x === NOBODY), `vrrp_script as script_user: ${JSON.stringify(dflt)}`);
  const st = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st?.code, 0, a.proc.tail());
});

test('enable_script_security: a root vrrp_script another user can rewrite is refused by check and at start; without it, a warning; with user set, it runs as that user', async (t) => {
  const lab = await withLab(t, { name: 'script-security', realServers: 0 });
  const user = await createTempUser(t);
  const out = await openLab(lab);
  const dir = join(lab.tmpDir, 'board-a');
  const chk = join(dir, 'chk.sh');
  await writeFile(chk, '#!/bin/sh\nexit 0\n');
  await chmod(chk, 0o777);
  // The other user rewrites the world-writable script: its payload records who ran it.
  const pwned = join(out, 'pwned');
  const payload = `#!/bin/sh\nid -u >> '${pwned}'\nexit 0\n`;
  const w = await user.run([process.execPath, '-e', 'require("node:fs").writeFileSync(process.argv[1], process.argv[2])', chk, payload]);
  assert.equal(w.code, 0, w.stderr);

  const config = (globals: string, scriptExtra = ''): string => withGlobals(
    intoPub(pairConfig({ routerId: 'lb-a', priority: 150, ...fast, noSyncGroup: true, extra: `vrrp_script chk {\n    script "${chk}"\n    interval 1\n${scriptExtra}}\n` }),
      '    track_script {\n        chk\n    }\n'),
    globals);
  const file = join(lab.tmpDir, 'check.conf');
  const check = async (text: string): Promise<{ code: number | null; out: string; line: number }> => {
    await writeFile(file, text);
    const r = await runCommand(process.execPath, [DEFAULT_BUNDLE, 'check', '-f', file], { timeoutMs: 30_000 });
    return { code: r.code, out: r.stdout + r.stderr, line: text.split('\n').findIndex((l) => l.includes(`script "${chk}"`)) + 1 };
  };

  // 1. enable_script_security, running as root: refused, located.
  const secure = config('    enable_script_security\n    script_user root\n');
  const c1 = await check(secure);
  assert.equal(c1.code, 1, c1.out);
  assert.match(c1.out, new RegExp(`^${file}:${c1.line}:\\d+: error: vrrp_script chk: ${chk} runs as root \\(0:0\\) but ${chk}: writable by others \\(mode 0777\\).*enable_script_security refuses it$`, 'm'));
  const a1 = await lab.startBoard('a', secure);
  const st1 = await a1.proc.exited;
  assert.equal(st1.code, 1, 'the daemon refuses to start');
  assert.match(a1.proc.output(), /configured programs refused, not starting/);
  assert.deepEqual(await lines(pwned), [], 'the payload never ran');

  // 2. Without enable_script_security: a warning, and it runs (as keepalived does).
  const lax = config('    script_user root\n');
  const c2 = await check(lax);
  assert.equal(c2.code, 0, c2.out);
  assert.match(c2.out, new RegExp(`^${file}:${c2.line}:\\d+: warning: vrrp_script chk: .*it runs anyway`, 'm'));
  assert.match(c2.out, /warning: SECURITY VIOLATION - scripts are being executed but script_security not enabled\. There are insecure scripts\./);
  await lab.startBoard('a', lax, { waitForLog: /Entering (BACKUP|MASTER) STATE/ });
  await lab.waitFor(async () => (await lines(pwned)).length > 0, { timeoutMs: 10_000, what: 'the insecure script to run' });
  assert.equal((await lines(pwned))[0], '0');
  await lab.stopBoard('a', 'SIGTERM');

  // 3. enable_script_security with `user` set to the other user: no protection needed, it runs as them.
  await rm(pwned);
  const asUser = config('    enable_script_security\n    script_user root\n', `    user ${user.name}\n`);
  const c3 = await check(asUser);
  assert.equal(c3.code, 0, c3.out);
  const a3 = await lab.startBoard('a', asUser, { waitForLog: /Entering (BACKUP|MASTER) STATE/ });
  await lab.waitFor(async () => (await lines(pwned)).length > 0, { timeoutMs: 10_000, what: 'the script to run as the user' });
  const ids = await lines(pwned);
  assert.ok(ids.every((x) => x === String(user.uid)), `runs as ${user.uid}: ${JSON.stringify(ids)}`);
  const st3 = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st3?.code, 0, a3.proc.tail());
});
