import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setSysctls, FORWARDING_SYSCTLS, drSysctls, SysctlKeeper } from '../../../src/net/sysctl.ts';

test('sysctls are written; one that cannot be written is logged with its path and reason, the others still written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-sysctl-'));
  try {
    const a = join(dir, 'a');
    await writeFile(a, '0');
    const logs: string[] = [];
    await setSysctls([[join(dir, 'missing', 'x'), '1'], [a, '1']], (_l, m) => logs.push(m));
    assert.equal(await readFile(a, 'utf8'), '1');
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /cannot set .*missing\/x to 1: ENOENT/);
    assert.deepEqual(FORWARDING_SYSCTLS.map(([p]) => p), ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/netfilter/nf_conntrack_tcp_loose']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('DR sysctls: accept_local and a loose rp_filter on the interfaces facing DR real servers only', () => {
  assert.deepEqual(drSysctls(['eth1', 'eth1', 'eth0.100'], '/r'), [
    ['/r/net/ipv4/conf/eth0.100/accept_local', '1'], ['/r/net/ipv4/conf/eth0.100/rp_filter', '2'],
    ['/r/net/ipv4/conf/eth1/accept_local', '1'], ['/r/net/ipv4/conf/eth1/rp_filter', '2'],
  ]);
  assert.throws(() => drSysctls(['..']), /bad interface name/);
  assert.throws(() => drSysctls(['a/b']), /bad interface name/);
});

test('SysctlKeeper: writes what is wanted, remembers the old values once, puts back what is no longer wanted and everything on restore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-sysctl-'));
  try {
    const p = (n: string): string => join(dir, n);
    await writeFile(p('a'), '0\n');
    await writeFile(p('b'), '1\n');
    const logs: string[] = [];
    const k = new SysctlKeeper((_l, m) => logs.push(m));
    await k.hold([[p('a'), '1'], [p('b'), '2'], [p('missing'), '1']]);
    assert.equal(await readFile(p('a'), 'utf8'), '1');
    assert.equal(await readFile(p('b'), 'utf8'), '2');
    assert.deepEqual([...k.held()], [[p('a'), '0'], [p('b'), '1']]);
    assert.match(logs[0]!, /cannot read .*missing/);
    // A reload that no longer wants b: b goes back; a is written again but its old value kept.
    await k.hold([[p('a'), '1']]);
    assert.equal(await readFile(p('b'), 'utf8'), '1');
    assert.deepEqual([...k.held()], [[p('a'), '0']]);
    await k.restore();
    assert.equal(await readFile(p('a'), 'utf8'), '0');
    assert.equal(k.held().size, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
