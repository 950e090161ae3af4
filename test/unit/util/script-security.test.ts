// keepalived's check_script_secure on real files in a temporary directory: what needs
// protection, every component of the path, symlinks resolved, bare names found in PATH.
// The files belong to whoever runs the test; the ownership rule needs that to be root.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { examineScript } from '../../../src/util/script-security.ts';
import { untrustedComponent } from '../../../src/util/path-trust.ts';

const root = { uid: 0, gid: 0, label: 'root (0:0)' };
const nobody = { uid: 65534, gid: 65534, label: 'nobody (65534:65534)' };
const asRoot = process.geteuid?.() === 0 ? false : 'needs root (files must be root-owned)';

function tmp(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'tandem-sec-'));
  chmodSync(d, 0o755);
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function script(path: string, mode = 0o755): string {
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, mode);
  return path;
}

test('a root script that others can write, or in a directory others can write, is insecure; as another user it is not checked', { skip: asRoot }, async (t) => {
  const d = tmp(t);
  const ok = script(join(d, 'ok.sh'));
  assert.equal((await examineScript([ok, 'arg'], root)).insecure, null);
  assert.deepEqual((await examineScript([ok, 'arg'], root)).argv, [ok, 'arg']);
  const ww = script(join(d, 'ww.sh'), 0o777);
  const ex = await examineScript([ww], root);
  assert.equal(ex.needsProtection, true);
  assert.deepEqual(ex.insecure, { path: ww, why: 'writable by others (mode 0777)' });
  // The same file run as nobody needs no protection (keepalived: need_script_protection).
  const asNobody = await examineScript([ww], nobody);
  assert.equal(asNobody.needsProtection, false);
  assert.equal(asNobody.insecure, null);
  // gid 0 needs protection too.
  assert.notEqual((await examineScript([ww], { uid: 65534, gid: 0, label: 'nobody:root' })).insecure, null);
  // Group-writable with group root is fine, with another group not.
  const gw = script(join(d, 'gw.sh'), 0o775);
  assert.equal((await examineScript([gw], root)).insecure, null);
  chownSync(gw, 0, 65534);
  assert.deepEqual((await examineScript([gw], root)).insecure, { path: gw, why: 'writable by group 65534 (mode 0775)' });
  // A directory on the way, writable by others without the sticky bit.
  const open = join(d, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const inOpen = script(join(open, 'x.sh'));
  assert.deepEqual((await examineScript([inOpen], root)).insecure, { path: open, why: 'writable by others (mode 0777)' });
  // ... with the sticky bit (as /tmp) only the owner check applies.
  chmodSync(open, 0o1777);
  assert.equal((await examineScript([inOpen], root)).insecure, null);
  // Owned by someone else.
  chownSync(inOpen, 65534, 65534);
  assert.deepEqual((await examineScript([inOpen], root)).insecure, { path: inOpen, why: 'owned by uid 65534, not root' });
});

test('symlinks are resolved and the target is what runs and what is checked', { skip: asRoot }, async (t) => {
  const d = tmp(t);
  const open = join(d, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const target = script(join(open, 'real.sh'));
  const safe = join(d, 'safe');
  mkdirSync(safe, { mode: 0o755 });
  const link = join(safe, 'link.sh');
  symlinkSync(target, link);
  const ex = await examineScript([link, 'a'], root);
  assert.deepEqual(ex.argv, [target, 'a']);
  assert.deepEqual(ex.insecure, { path: open, why: 'writable by others (mode 0777)' });
  // A busybox-style link in the same directory keeps its name (the program behaves by it).
  const multi = script(join(safe, 'busybox'));
  symlinkSync('busybox', join(safe, 'ping'));
  assert.deepEqual((await examineScript([join(safe, 'ping')], root)).argv, [join(safe, 'ping')]);
  assert.deepEqual((await examineScript([multi], root)).argv, [multi]);
  // A symlinked directory on the way is resolved.
  symlinkSync(safe, join(d, 'alias'));
  assert.deepEqual((await examineScript([join(d, 'alias', 'busybox')], root)).argv, [multi]);
});

test('a bare name is looked up in PATH as its user would find it; missing and non-executable programs are reported', { skip: asRoot }, async (t) => {
  const d = tmp(t);
  const a = join(d, 'a');
  const b = join(d, 'b');
  mkdirSync(a);
  mkdirSync(b);
  script(join(a, 'tool'), 0o744); // executable by root only
  const forAll = script(join(b, 'tool'));
  const env = { PATH: `${a}:${b}` };
  const r = await examineScript(['tool', '-x'], root, env);
  assert.deepEqual(r.argv, [join(a, 'tool'), '-x']);
  assert.match(r.searched ?? '', /tool resolved by path search to .*\/a\/tool; give the full path/);
  assert.deepEqual((await examineScript(['tool'], nobody, env)).argv, [forAll]);
  const missing = await examineScript(['no-such-tool'], root, env);
  assert.deepEqual(missing.argv, ['no-such-tool']);
  assert.match(missing.unusable ?? '', /not found in PATH/);
  const gone = await examineScript([join(d, 'gone.sh')], root);
  assert.match(gone.unusable ?? '', /cannot be accessed \(ENOENT\)/);
  const noExec = script(join(d, 'noexec.sh'), 0o744);
  assert.match((await examineScript([noExec], nobody)).unusable ?? '', /not executable by nobody/);
});

test('path trust: symlinks on the way refused unless accepted as root-owned; strict last component', { skip: asRoot }, async (t) => {
  const d = tmp(t);
  const real = join(d, 'real');
  mkdirSync(real, { mode: 0o755 });
  symlinkSync(real, join(d, 'alias'));
  assert.deepEqual(await untrustedComponent(join(d, 'alias', 'x'), { last: 'any' }), { path: join(d, 'alias'), why: 'is a symbolic link' });
  writeFileSync(join(real, 'x'), '');
  assert.equal(await untrustedComponent(join(d, 'alias', 'x'), { symlinksOnTheWay: 'root-owned' }), null);
  chmodSync(real, 0o1777);
  assert.equal(await untrustedComponent(real, { last: 'dir' }), null);
  assert.deepEqual(await untrustedComponent(real, { last: 'dir', strictLast: true }), { path: real, why: 'writable by others (mode 1777)' });
});

test('a program its user cannot reach (a directory it may not search) is reported', { skip: asRoot }, async (t) => {
  const d = tmp(t);
  const closed = join(d, 'closed');
  mkdirSync(closed, { mode: 0o700 });
  const s = script(join(closed, 'x.sh'));
  assert.match((await examineScript([s], nobody)).unusable ?? '', /nobody \(65534:65534\) cannot reach it, .*closed is mode 0700/);
  assert.equal((await examineScript([s], root)).unusable, null);
});
