// `tandem check` refuses load-balancing configurations the nftables data plane cannot serve,
// naming the line and column, and accepts the ones it can. Runs the
// bundle as a user would (`node dist/tandem.js check -f FILE`); no namespaces needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BUNDLE } from './lab.ts';
import { runCommand } from './command.ts';
import { virtualServerBlock } from './lb-helpers.ts';

const rs = [{ address: '192.0.2.11', port: 8080 }, { address: '192.0.2.12', port: 8080 }];

async function check(dir: string, name: string, text: string): Promise<{ code: number | null; out: string; file: string }> {
  const file = join(dir, name);
  await writeFile(file, text);
  const r = await runCommand(process.execPath, [DEFAULT_BUNDLE, 'check', '-f', file], { timeoutMs: 30_000 });
  return { code: r.code, out: r.stdout + r.stderr, file };
}

test('tandem check refuses what cannot be served and accepts what can', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-lb-check-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  const refused: Array<{ name: string; text: string; line: number; message: RegExp }> = [
    {
      // lb_kind DR is served, but not with a stateful scheduler (docs/dr.md).
      name: 'dr.conf', line: 3,
      text: virtualServerBlock({ address: '203.0.113.1', port: 80, lbAlgo: 'rr', lbKind: 'DR', realServers: rs }),
      message: /scheduler rr cannot be used with lb_kind DR: .*use lb_algo sh or mh/,
    },
    {
      name: 'tun.conf', line: 4,
      text: virtualServerBlock({ address: '203.0.113.1', port: 80, lbAlgo: 'rr', lbKind: 'TUN', realServers: rs }),
      message: /lb_kind TUN is not supported: the kernels tandem runs on have no IPIP tunnels/,
    },
    {
      name: 'lc.conf', line: 3,
      text: virtualServerBlock({ address: '203.0.113.1', port: 80, lbAlgo: 'lc', realServers: rs }),
      message: /scheduler lc needs connection counts that only 'forwarder userspace' keeps/,
    },
    {
      name: 'wlc.conf', line: 3,
      text: virtualServerBlock({ address: '203.0.113.1', port: 80, lbAlgo: 'wlc', realServers: rs }),
      message: /scheduler wlc needs connection counts/,
    },
    {
      name: 'lblc.conf', line: 3,
      text: virtualServerBlock({ address: '203.0.113.1', port: 80, lbAlgo: 'lblc', realServers: rs }),
      message: /lb_algo lblc is not supported/,
    },
    {
      name: 'fwmark.conf', line: 1,
      text: 'virtual_server fwmark 1 {\n    lb_algo rr\n    lb_kind NAT\n    real_server 192.0.2.11 80 {\n        weight 1\n    }\n}\n',
      message: /virtual_server fwmark is not supported/,
    },
  ];
  for (const c of refused) {
    const r = await check(dir, c.name, c.text);
    assert.notEqual(r.code, 0, `${c.name} must be refused:\n${r.out}`);
    assert.match(r.out, c.message, c.name);
    // FILE:LINE:COL: message, at the offending line.
    const esc = r.file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    assert.match(r.out, new RegExp(`^${esc}:${c.line}:\\d+: .*`, 'm'), `${c.name}: position of the error\n${r.out}`);
  }

  for (const algo of ['rr', 'wrr', 'sh', 'dh', 'mh']) {
    const r = await check(dir, `${algo}.conf`, virtualServerBlock({ address: '203.0.113.1', port: 80, lbAlgo: algo, realServers: rs }));
    assert.equal(r.code, 0, `lb_algo ${algo} is served:\n${r.out}`);
  }
  // lc served by the userspace forwarder is accepted.
  const lcUser = await check(dir, 'lc-user.conf',
    virtualServerBlock({ address: '203.0.113.1', port: 80, lbAlgo: 'lc', extra: '    forwarder userspace', realServers: rs }));
  assert.equal(lcUser.code, 0, lcUser.out);
});
