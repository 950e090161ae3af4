// vrrp_garp_interval / vrrp_gna_interval: sends on one interface at least the interval apart,
// in order, across callers; other interfaces and a zero interval are not held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pacer } from '../../../src/net/pacer.ts';
import { FakeClock } from '../fake-clock.ts';

test('sends on one interface are spaced by the interval, in order, whoever asks; another interface is not held', async () => {
  const clock = new FakeClock(0);
  const pacer = new Pacer(clock);
  const sent: Array<[string, number]> = [];
  const at = (what: string) => async () => { sent.push([what, clock.monotonic()]); };
  const a = (async () => { for (let i = 0; i < 3; i++) await pacer.send('4/eth0', 100, at(`vip1#${i}`)); })();
  const b = (async () => { for (let i = 0; i < 2; i++) await pacer.send('4/eth0', 100, at(`vip2#${i}`)); })();
  const c = pacer.send('4/eth1', 100, at('eth1'));
  await clock.advance(1000);
  await Promise.all([a, b, c]);
  const eth0 = sent.filter(([w]) => w.startsWith('vip'));
  assert.deepEqual(eth0.map(([, t]) => t), [0, 100, 200, 300, 400], 'one every 100 ms on eth0');
  assert.deepEqual(sent.find(([w]) => w === 'eth1')?.[1], 0, 'eth1 at once');
  assert.deepEqual(eth0.filter(([w]) => w.startsWith('vip1')).map(([w]) => w), ['vip1#0', 'vip1#1', 'vip1#2'], 'a caller keeps its order');
});

test('interval 0 sends at once; a send that fails rejects its caller and holds nobody', async () => {
  const clock = new FakeClock(0);
  const pacer = new Pacer(clock);
  let n = 0;
  await pacer.send('4/eth0', 0, async () => { n++; });
  await pacer.send('4/eth0', 0, async () => { n++; });
  assert.equal(n, 2);
  await assert.rejects(pacer.send('4/eth0', 50, async () => { throw new Error('arping failed'); }), /arping failed/);
  const later = pacer.send('4/eth0', 50, async () => clock.monotonic());
  await clock.advance(100);
  assert.equal(await later, 50);
});
