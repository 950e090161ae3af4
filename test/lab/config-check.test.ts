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
