import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitConcurrency } from '../../../src/util/limit.ts';

test('limitConcurrency: at most N at once, in order, results and rejections passed through, a throwing fn frees its slot', async () => {
  const run = limitConcurrency(2);
  let now = 0;
  let most = 0;
  const order: number[] = [];
  const job = (i: number) => async (): Promise<number> => {
    now++;
    most = Math.max(most, now);
    order.push(i);
    await new Promise((r) => setTimeout(r, 5));
    now--;
    if (i === 3) throw new Error('three');
    return i * 10;
  };
  const ps = [0, 1, 2, 3, 4, 5].map((i) => run(job(i)));
  assert.equal(run.active, 2);
  assert.equal(run.waiting, 4);
  const r = await Promise.allSettled(ps);
  assert.deepEqual(r.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message)), [0, 10, 20, 'three', 40, 50]);
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  assert.equal(await run(() => { throw new Error('sync'); }).catch((e: Error) => e.message), 'sync');
  assert.equal(await run(async () => 7), 7);
  assert.equal(run.active, 0);
  assert.throws(() => limitConcurrency(0), RangeError);
});
