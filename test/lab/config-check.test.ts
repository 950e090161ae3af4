// `tandem check` as a user runs it (the bundle, `node dist/tandem.js check -f FILE`): what must
// never reach run time is a located FILE:LINE:COL error. No namespaces needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BUNDLE } from './lab.ts';
import { runCommand } from './command.ts';

const BASE = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
}
`;

async function check(file: string, text: string | Buffer, ...extra: string[]): Promise<{ code: number | null; out: string }> {
  await writeFile(file, text);
  const r = await runCommand(process.execPath, [DEFAULT_BUNDLE, 'check', '-f', file, ...extra], { timeoutMs: 30_000 });
  return { code: r.code, out: r.stdout + r.stderr };
}

test('tandem check: a CR in an HTTP_GET path or virtualhost is an error at its word', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-config-check-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'cr.conf');
  const r = await check(file, BASE + `virtual_server 192.0.2.10 80 {
    lb_algo rr
    real_server 198.51.100.2 80 {
        HTTP_GET {
            url {
                path "/x\rHost: evil.example"
                virtualhost "a.example\rX-Evil: 1"
            }
        }
    }
}
`);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`^${file}:14:22: error: control character 0x0d \\(CR\\) in '/x\\\\rHost: evil\\.example'`, 'm'));
  assert.match(r.out, new RegExp(`^${file}:15:29: error: control character 0x0d \\(CR\\)`, 'm'));
  assert.ok(!r.out.includes('\r'), 'the CR is shown escaped');
  assert.doesNotMatch(r.out, /configuration OK/);
});

test('tandem check --board: dev and label validated, interfaces checked against the board profile\'s NICs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-config-check-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'board.conf');
  // Not the board's NICs: warnings (it would still run), located at the lines.
  const warned = await check(file, BASE.replace('192.0.2.10/24', '192.0.2.10/24 dev nosuch0'), '--board', 'bpi-r3');
  assert.equal(warned.code, 0, warned.out);
  assert.match(warned.out, new RegExp(`^${file}:2:5: warning: interface eth0 is not a NIC of board bpi-r3 \\(wan, br-lan\\)$`, 'm'));
  assert.match(warned.out, new RegExp(`^${file}:6:9: warning: virtual_ipaddress dev nosuch0 is not a NIC of board bpi-r3`, 'm'));
  // A label the kernel would refuse, an invalid dev name: errors.
  const bad = await check(file, BASE.replace('192.0.2.10/24', '192.0.2.10/24 dev wan label eth0:vip').replace('interface eth0', 'interface wan/0'), '--board', 'bpi-r3');
  assert.notEqual(bad.code, 0, bad.out);
  assert.match(bad.out, new RegExp(`^${file}:2:5: error: interface: 'wan/0' is not a valid interface name`, 'm'));
  assert.match(bad.out, new RegExp(`^${file}:6:9: error: virtual_ipaddress label 'eth0:vip' must start with the device name wan`, 'm'));
  // The board's own default configuration is clean for that board.
  const own = await runCommand(process.execPath, [DEFAULT_BUNDLE, 'check', '--board', 'bpi-r3', '-f', join(import.meta.dirname, '../../firmware/defaults/bpi-r3.conf')], { timeoutMs: 30_000 });
  assert.equal(own.code, 0, own.stdout + own.stderr);
  assert.doesNotMatch(own.stdout, /warning|error/);
  // An unknown board is a clear failure, not a check against nothing.
  const none = await check(file, BASE, '--board', 'no-such-board');
  assert.notEqual(none.code, 0);
  assert.match(none.out, /unknown board "no-such-board"/);
});

test('tandem check on one file for both boards: every view, each message prefixed with its ids; --config-id, --state-dir', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-config-check-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'pair.conf');
  const text = BASE.replace('    priority 100\n', '    priority 100\n@a  priority 150\n@b  priority 300\n');
  const all = await check(file, text);
  assert.equal(all.code, 1, all.out);
  assert.match(all.out, new RegExp(`^${file}:6:5: error: @b: priority 300 is out of range 1-255`, 'm'));
  // The host's own id is checked too: the file names no line for it.
  const host = (await runCommand('hostname', [], { timeoutMs: 5_000 })).stdout.trim().split('.')[0]!;
  if (host !== 'a' && host !== 'b') assert.match(all.out, new RegExp(`^${file}:5:1: warning: @${host}: no '@' line names config id '${host}' \\(the file names a, b\\)`, 'm'));
  assert.doesNotMatch(all.out, /@a[,:]/, "a's view is clean");
  const a = await check(file, text, '--config-id', 'a');
  assert.equal(a.code, 0, a.out);
  assert.equal(a.out, `${file}: configuration OK for config id a\n`);
  const b = await check(file, text, '--config-id', 'b');
  assert.equal(b.code, 1);
  assert.match(b.out, new RegExp(`^${file}:6:5: error: priority 300 is out of range`, 'm'), 'one view: no prefix');
  const other = await check(file, text, '--config-id', 'OpenWrt');
  assert.equal(other.code, 0, other.out);
  assert.match(other.out, new RegExp(`^${file}:5:1: warning: no '@' line names config id 'OpenWrt' \\(the file names a, b\\)`, 'm'));
  // --state-dir: the view `tandem run` would choose, from STATE_DIR/config-id.
  await writeFile(join(dir, 'config-id'), 'a\n');
  const st = await check(file, text, '--state-dir', dir);
  assert.equal(st.code, 0, st.out);
  assert.match(st.out, /configuration OK for config id a$/m);
  const bad = await check(file, text, '--config-id', 'a b');
  assert.equal(bad.code, 2);
  assert.match(bad.out, /--config-id 'a b': a config id is letters, digits/);
});
