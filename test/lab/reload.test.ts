// Reloads without failover (docs/reload.md), against a real pair: what keeps an instance's
// identity is applied in place on the MASTER (no transition on either board, no VIP gap); a new
// configuration that cannot apply (an interface that does not exist) is refused before anything
// changes; an identity change (a new VRID) hands the sync group over with priority 0 first, so
// the VIPs are never unowned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, LAB_ADDR, type BoardHandle } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { vipHolders, waitHolder } from './vrrp-helpers.ts';

const fast = { version: 3 as const, advertInt: 0.1 };
const transitions = (b: BoardHandle, from: number): string[] =>
  b.proc.lines.slice(from).map((l) => l.text).filter((t) => /Entering (MASTER|BACKUP|FAULT) STATE|Stopped$/.test(t));

test('reloads keep the MASTER: an added VIP, a new interval and a new priority apply in place; a bad interface is refused with nothing changed; a new VRID hands over first', async (t) => {
  const lab = await withLab(t, { name: 'reload', realServers: 0 });
  const aCfg = (extra: Partial<Parameters<typeof pairConfig>[0]> = {}): string => pairConfig({ routerId: 'lb-a', priority: 150, ...fast, ...extra });
  const a = await lab.startBoard('a', aCfg(), { waitForLog: /Entering BACKUP STATE/ });
  const b = await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100, ...fast }), { waitForLog: /Entering BACKUP STATE/ });
  await waitHolder(lab, 'a');
  const markA = a.proc.mark();
  const markB = b.proc.mark();

  // 1. One more VIP on the public instance, a new interval on both instances, a new priority:
  //    all in place.
  const extraVip = pairConfig({ routerId: 'lb-a', priority: 160, version: 3, advertInt: 0.2 })
    .replace(`${LAB_ADDR.publicVip}/24\n`, `${LAB_ADDR.publicVip}/24\n        203.0.113.77/24\n`);
  assert.ok(extraVip.includes('203.0.113.77'));
  await a.reload(extraVip);
  await a.waitForLog(/Reload: configuration applied/, 10_000, { from: markA });
  await lab.waitFor(() => lab.hasAddress('a', 'eth0', '203.0.113.77'), { what: 'the added VIP on a' });
  await a.waitForLog(/\(VI_PUB\) priority changed from 150 to 160/, 5000, { from: markA });
  assert.deepEqual(transitions(a, markA), [], `no transition on a: ${a.proc.tail()}`);
  assert.deepEqual(transitions(b, markB), [], `no transition on b: ${b.proc.tail()}`);
  assert.deepEqual(await vipHolders(lab), { pub: ['a'], priv: ['a'] });

  // 2. An interface that does not exist: refused, the running configuration stays, nothing moves.
  const bad = extraVip.replace('interface eth1', 'interface nosuch0');
  await a.reload(bad);
  await a.waitForLog(/Reload: applying the new configuration failed: .*nosuch0/, 10_000, { from: markA });
  assert.ok(!a.proc.lines.slice(markA).some((l) => /restarting|Reload: restoring the previous configuration failed/.test(l.text)), a.proc.tail());
  assert.deepEqual(transitions(a, markA), [], `no transition on a: ${a.proc.tail()}`);
  assert.deepEqual(transitions(b, markB), [], `no transition on b: ${b.proc.tail()}`);
  const status = await a.ctl(['show', 'vrrp']);
  assert.match(status.stdout, /VI_PRIV\s+MASTER\s+52\s+eth1/);

  // 3. A new VRID on both boards' private instance: each hands its group over first (priority 0,
  //    VIPs kept until the peer speaks) and starts again; a VIP is never without an owner.
  const probe = setInterval(() => {
    void vipHolders(lab).then((h) => { if (h.pub.length === 0) gaps.push('public'); });
  }, 5);
  const gaps: string[] = [];
  try {
    const markA3 = a.proc.mark();
    await b.reload(pairConfig({ routerId: 'lb-b', priority: 100, vridPriv: 62, ...fast }));
    await b.waitForLog(/Reload: configuration applied/, 15_000);
    await a.reload(pairConfig({ routerId: 'lb-a', priority: 150, vridPriv: 62, ...fast }));
    await a.waitForLog(/Reload: .*restarted/, 15_000, { from: markA3 });
    await a.waitForLog(/Reload: configuration applied/, 15_000, { from: markA3 });
    await waitHolder(lab, 'a', 15_000);
  } finally {
    clearInterval(probe);
  }
  assert.deepEqual(gaps, [], 'the public VIP always had an owner');
  const v = await a.ctl(['show', 'vrrp']);
  assert.match(v.stdout, /VI_PRIV\s+MASTER\s+62\s+eth1/);
});
