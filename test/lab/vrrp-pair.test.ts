// Two tandem boards elect each other: election by priority, the sync group's
// two VIPs moving as one, failover on SIGKILL, on SIGTERM (priority 0) and on cut links,
// preemption back, nopreempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { vipHolders, waitHolder } from './vrrp-helpers.ts';

// v3 at 0.2 s keeps the suite short; the v2 / 1 s timing is covered by the keepalived tests.
const fast = { version: 3 as const, advertInt: 0.2 };
const started = /Entering (BACKUP|MASTER|FAULT) STATE/;

test('higher priority wins, both VIPs move together on SIGKILL, and it preempts back', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-pair-kill', realServers: 1 });
  const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, ...fast }), { waitForLog: started });
  await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100, ...fast }), { waitForLog: started });
  await waitHolder(lab, 'a');
  await a.waitForLog(/\(VI_PUB\) Entering MASTER STATE/);

  await lab.stopBoard('a', 'SIGKILL');
  await waitHolder(lab, 'b', 15_000, false);
  // a was killed: its VIPs are still on its interfaces (nothing cleaned up)…
  const left = await vipHolders(lab);
  assert.deepEqual(left.pub.sort(), ['a', 'b']);
  // …and a restarted board removes them before its first advertisement, then preempts back.
  const a2 = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, ...fast }), { waitForLog: started });
  await a2.waitForLog(/removing VIP 203\.0\.113\.1 left behind on eth0/);
  await waitHolder(lab, 'a');
  await lab.board('b')!.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, 5000, { from: 3 });
});

test('SIGTERM sends priority 0 and the backup takes over at once; cut links fail over and FAULT', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-pair-term', realServers: 1 });
  await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, ...fast }), { waitForLog: started });
  const b = await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100, ...fast }), { waitForLog: started });
  await waitHolder(lab, 'a');

  const st = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st?.code, 0, 'graceful stop exits 0');
  await waitHolder(lab, 'b');
  const line = await b.waitForLog(/BACKUP -> MASTER: master released \(priority 0\)|BACKUP -> MASTER: VRRP_Group/);
  assert.ok(line);
  // The stopped board removed its VIPs itself.
  const h = await vipHolders(lab);
  assert.deepEqual(h.pub, ['b']);

  // Bring a back, then cut its links: b takes over, a goes FAULT (its interfaces lost carrier).
  const a2 = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, ...fast }), { waitForLog: started });
  await waitHolder(lab, 'a');
  await lab.cutLinks('a');
  await a2.waitForLog(/Entering FAULT STATE/, 10_000);
  await lab.waitFor(async () => (await vipHolders(lab)).pub.includes('b'), { timeoutMs: 10_000, what: 'b holding the public VIP' });
  await lab.restoreLinks('a');
  await waitHolder(lab, 'a');
});

test('nopreempt: a returning higher-priority board stays BACKUP', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-pair-nopreempt', realServers: 1 });
  const cfgA = pairConfig({ routerId: 'lb-a', priority: 150, nopreempt: true, ...fast });
  await lab.startBoard('a', cfgA, { waitForLog: started });
  await waitHolder(lab, 'a');
  await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100, nopreempt: true, ...fast }), { waitForLog: started });
  // b came later and has lower priority: a stays.
  await lab.stopBoard('a', 'SIGTERM');
  await waitHolder(lab, 'b');
  const a2 = await lab.startBoard('a', cfgA, { waitForLog: started });
  // Several Master_Down intervals later, b is still the master (a fixed pause: it asserts an
  // absence, that a never preempts).
  await a2.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/);
  await new Promise((r) => setTimeout(r, 2000));
  const h = await vipHolders(lab);
  assert.deepEqual(h, { pub: ['b'], priv: ['b'] });
});
