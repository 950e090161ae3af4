import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setSysctls, FORWARDING_SYSCTLS } from '../../../src/net/sysctl.ts';

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
