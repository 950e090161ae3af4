// Reloads keep persistence (src/lb/README.md "Reload = edit"): a wrr virtual server with
// persistence_timeout remembers each client in the dynamic set of the real server it got
// (`<vs>_p<j>`). A SIGHUP that changes nothing and a priority change must leave those sets
// as they are (the clients stay stuck to their servers); a change of that virtual server
// itself re-creates its objects, sets included. One board (a, alone, MASTER).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, LAB_ADDR, type Lab, type BoardHandle } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { waitHolder } from './vrrp-helpers.ts';
import { virtualServerBlock, vsObject } from './lb-helpers.ts';

const VIP = LAB_ADDR.publicVip;
const RS = [1, 2].map((i) => LAB_ADDR.realServer(i));

function config(o: { priority: number; persistence: number }): string {
  const extra = [
    virtualServerBlock({ address: VIP, port: 80, lbAlgo: 'wrr', persistenceTimeout: o.persistence, realServers: RS.map((a) => ({ address: a, port: 8080 })) }),
    // A second virtual server, so "nothing changed" is not "nothing there".
    virtualServerBlock({ address: VIP, port: 81, lbAlgo: 'rr', realServers: RS.map((a) => ({ address: a, port: 8080 })) }),
  ].join('\n');
  return pairConfig({ routerId: 'lb-a', priority: o.priority, version: 3, advertInt: 0.2, extra });
}

interface SetView {
  /** The set's timeout in seconds, as the kernel holds it. */
  timeout: number | null;
  elements: string[];
}

/** `nft -j list set ip tandem NAME` on the board: the timeout and the remembered clients. */
async function persistenceSet(lab: Lab, name: string): Promise<SetView> {
  const r = await lab.exec('a', ['nft', '-j', 'list', 'set', 'ip', 'tandem', name]);
  if (r.code !== 0) throw new Error(`nft list set ${name}: ${r.stderr.trim()}`);
  const doc = JSON.parse(r.stdout) as { nftables: Array<{ set?: { timeout?: number; elem?: unknown[] } }> };
  const set = doc.nftables.find((x) => x.set)?.set;
  const elements = (set?.elem ?? []).map((e) => {
    // Elements with a timeout come as { elem: { val, timeout, expires } }.
    if (typeof e === 'string') return e;
    const v = (e as { elem?: { val?: unknown } }).elem?.val;
    return typeof v === 'string' ? v : JSON.stringify(e);
  });
  return { timeout: set?.timeout ?? null, elements };
}

async function stuckClients(lab: Lab): Promise<string[]> {
  const obj = vsObject(VIP, 80);
  const sets = await Promise.all(RS.map((_a, j) => persistenceSet(lab, `${obj}_p${j}`)));
  return sets.flatMap((s) => s.elements).sort();
}

async function reloadAndWait(h: BoardHandle, text?: string): Promise<void> {
  const from = h.proc.mark();
  await h.reload(text);
  await h.waitForLog(/Reload: configuration applied/, 15_000, { from });
}

test('persistence sets survive a no-op SIGHUP and a priority change; a change of that virtual server replaces them', async (t) => {
  const lab = await withLab(t, { name: 'lb-reload', realServers: 2 });
  for (const i of [1, 2]) await lab.startHttpServer(i, 8080);
  const a = await lab.startBoard('a', config({ priority: 150, persistence: 300 }), { waitForLog: /Entering MASTER STATE/ });
  await waitHolder(lab, 'a');
  await a.waitForLog(/nftables: table ip tandem applied \(2 virtual servers\)/);

  // The client's first connection puts it in the set of the server it got; later ones stay there.
  const first = (await lab.httpGet('client', `http://${VIP}/`)).body.trim();
  for (let i = 0; i < 3; i++) assert.equal((await lab.httpGet('client', `http://${VIP}/`)).body.trim(), first, 'persistence holds');
  assert.deepEqual(await stuckClients(lab), [LAB_ADDR.client]);

  await t.test('a SIGHUP with the same file keeps the set', async () => {
    await reloadAndWait(a);
    assert.deepEqual(await stuckClients(lab), [LAB_ADDR.client], 'the client is still remembered');
    assert.equal((await lab.httpGet('client', `http://${VIP}/`)).body.trim(), first);
  });

  await t.test('a priority change keeps the set', async () => {
    const from = a.proc.mark();
    await reloadAndWait(a, config({ priority: 160, persistence: 300 }));
    await a.waitForLog(/\(VI_PUB\) priority changed from 150 to 160/, 5_000, { from });
    assert.deepEqual(await stuckClients(lab), [LAB_ADDR.client]);
    assert.equal((await lab.httpGet('client', `http://${VIP}/`)).body.trim(), first);
  });

  await t.test('a change of that virtual server itself re-creates its sets, empty', async () => {
    await reloadAndWait(a, config({ priority: 160, persistence: 600 }));
    const obj = vsObject(VIP, 80);
    const sets = await Promise.all(RS.map((_a, j) => persistenceSet(lab, `${obj}_p${j}`)));
    assert.deepEqual(sets.map((s) => s.timeout), [600, 600], 'the new timeout is in the kernel');
    assert.deepEqual(sets.flatMap((s) => s.elements), [], 'the old clients are forgotten');
    // Traffic still flows and is remembered again.
    await lab.httpGet('client', `http://${VIP}/`);
    assert.deepEqual(await stuckClients(lab), [LAB_ADDR.client]);
  });
});
