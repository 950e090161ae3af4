// Load balancing through the real daemon: client traffic through the
// public VIP reaches the real servers in the configured wrr proportions with the port
// rewritten; a killed real server is removed within keepalived's bound, new requests avoid it
// and its flows' conntrack entries are deleted; revived, it comes back. Quorum loss switches to
// the sorry server and back. A UDP virtual server with port rewrite.
// One lab, one board (a, alone, becomes MASTER and owns both VIPs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, LAB_ADDR, type LabProcess } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { waitHolder } from './vrrp-helpers.ts';
import {
  virtualServerBlock, tcpCheck, removalBoundMs, manyHttp, conntrackCount, nftMap, vsObject, logTime, type TcpCheckSpec,
} from './lb-helpers.ts';

const VIP = LAB_ADDR.publicVip;
const RS = [1, 2, 3].map((i) => LAB_ADDR.realServer(i));
const CHECK: TcpCheckSpec = { connectTimeout: 1, retry: 2, delayBeforeRetry: 0.5 };
const DELAY_LOOP = 1;
const WEIGHTS = [3, 2, 1];

const extra = [
  // Web: wrr 3/2/1, port 80 → 8080.
  virtualServerBlock({
    address: VIP, port: 80, lbAlgo: 'wrr', delayLoop: DELAY_LOOP,
    realServers: RS.map((a, i) => ({ address: a, port: 8080, weight: WEIGHTS[i], checker: tcpCheck(CHECK) })),
  }),
  // Quorum: rs1/rs2 on 8081, weights 1, quorum 2; sorry server rs3:8080.
  virtualServerBlock({
    address: VIP, port: 81, lbAlgo: 'rr', delayLoop: DELAY_LOOP, quorum: 2, sorry: { address: RS[2]!, port: 8080 },
    realServers: RS.slice(0, 2).map((a) => ({ address: a, port: 8081, weight: 1, checker: tcpCheck(CHECK) })),
  }),
  // UDP: port 53 → 5353 on all three, rr.
  virtualServerBlock({
    address: VIP, port: 53, protocol: 'UDP', lbAlgo: 'rr', delayLoop: DELAY_LOOP,
    realServers: RS.map((a) => ({ address: a, port: 5353 })),
  }),
].join('\n');

const config = pairConfig({ routerId: 'lb-a', priority: 150, version: 3, advertInt: 0.2, extra });

test('wrr proportions, port rewrite, real-server death and revival, quorum and sorry server, UDP', async (t) => {
  const lab = await withLab(t, { name: 'lb-basic', realServers: 3 });
  const web: Array<LabProcess | undefined> = [];
  for (let i = 1; i <= 3; i++) web[i] = await lab.startHttpServer(i, 8080);
  const q1 = await lab.startHttpServer(1, 8081);
  let q2 = await lab.startHttpServer(2, 8081);
  for (let i = 1; i <= 3; i++) await lab.startUdpEcho(i, 5353);
  void q1;

  const a = await lab.startBoard('a', config, { waitForLog: /Entering MASTER STATE/ });
  await waitHolder(lab, 'a');
  await a.waitForLog(/nftables: table ip tandem applied \(3 virtual servers\)/);

  await t.test('600 new connections follow wrr 3/2/1 within 10 %, port rewritten to 8080', async () => {
    const r = await manyHttp(lab, VIP, 80, 600);
    assert.equal(r.errors, 0, `errors: ${r.firstError}`);
    const total = WEIGHTS.reduce((s, w) => s + w, 0);
    for (let i = 1; i <= 3; i++) {
      const want = (600 * WEIGHTS[i - 1]!) / total;
      const got = r.counts[`rs${i}`] ?? 0;
      assert.ok(Math.abs(got - want) <= want * 0.1, `rs${i}: ${got} requests, want ${want} ± 10 % (${JSON.stringify(r.counts)})`);
    }
    // The real servers saw the requests on 8080 (the VIP's port 80 was rewritten), from the client's own address.
    assert.match(web[1]!.output(), new RegExp(`request ${LAB_ADDR.client.replace(/\./g, '\\.')}:\\d+ GET /`));
  });

  await t.test('a killed real server is removed within the bound, its flows deleted; revived, it comes back', async () => {
    const obj = vsObject(VIP, 80);
    // The 600 requests left TIME_WAIT entries of rs2's flows in a's conntrack.
    const before = await conntrackCount(lab, 'a', VIP, 'tcp', RS[1]!, 8080);
    assert.ok(before > 0, 'rs2 has flows through the VIP before it dies');
    const mark = a.proc.mark();
    const killedAt = Date.now();
    await web[2]!.stop('SIGTERM');
    const removedAt = await logTime(a.proc, /Removing service \[192\.0\.2\.12\]:8080 from VS \[203\.0\.113\.1\]:80/, 20_000, mark);
    const bound = removalBoundMs(CHECK, DELAY_LOOP);
    // Margin for scheduling on a loaded 2-core machine; the bound itself is keepalived's.
    assert.ok(removedAt - killedAt <= bound + 1500, `removed after ${removedAt - killedAt} ms, bound ${bound} ms`);
    t.diagnostic(`rs2 removed ${removedAt - killedAt} ms after its death (bound ${bound} ms)`);
    await a.waitForLog(/conntrack: deleted \d+ flows of \[192\.0\.2\.12\]:8080/, 10_000, { from: mark });
    assert.equal(await conntrackCount(lab, 'a', VIP, 'tcp', RS[1]!, 8080), 0, 'no conntrack entry of rs2 left for the VIP');
    await lab.waitFor(async () => !(await nftMap(lab, 'a', `${obj}_s`)).includes(RS[1]!), { what: 'rs2 out of the slot map' });

    const r = await manyHttp(lab, VIP, 80, 60);
    assert.equal(r.errors, 0, `errors: ${r.firstError}`);
    assert.equal(r.counts.rs2, undefined, `rs2 got requests after removal: ${JSON.stringify(r.counts)}`);
    // The remaining weights 3:1 still hold.
    assert.equal((r.counts.rs1 ?? 0) + (r.counts.rs3 ?? 0), 60);
    assert.ok((r.counts.rs1 ?? 0) > (r.counts.rs3 ?? 0) * 2, JSON.stringify(r.counts));

    const mark2 = a.proc.mark();
    web[2] = await lab.startHttpServer(2, 8080);
    await a.waitForLog(/Adding service \[192\.0\.2\.12\]:8080 to VS \[203\.0\.113\.1\]:80/, 10_000, { from: mark2 });
    await lab.waitFor(async () => (await nftMap(lab, 'a', `${obj}_s`)).includes(RS[1]!), { what: 'rs2 back in the slot map' });
    const back = await manyHttp(lab, VIP, 80, 60);
    assert.equal(back.errors, 0, `errors: ${back.firstError}`);
    assert.ok((back.counts.rs2 ?? 0) >= 15, `rs2 gets its share again: ${JSON.stringify(back.counts)}`);
  });

  await t.test('below quorum the sorry server serves; recovering restores the real servers', async () => {
    const ok = await manyHttp(lab, VIP, 81, 20);
    assert.deepEqual(ok.counts, { rs1: 10, rs2: 10 }, 'rr over rs1 and rs2 while in quorum');
    const mark = a.proc.mark();
    await q2.stop('SIGTERM');
    await a.waitForLog(/Lost quorum 2-0 for VS \[203\.0\.113\.1\]:81/, 20_000, { from: mark });
    await lab.waitFor(async () => {
      const r = await manyHttp(lab, VIP, 81, 4);
      return r.counts.rs3 === 4;
    }, { timeoutMs: 5000, what: 'the sorry server (rs3:8080) answering for port 81' });
    const sorry = await manyHttp(lab, VIP, 81, 20);
    assert.deepEqual(sorry.counts, { rs3: 20 }, 'every request goes to the sorry server, none to rs1 (alive but below quorum)');

    const mark2 = a.proc.mark();
    q2 = await lab.startHttpServer(2, 8081);
    await a.waitForLog(/Gained quorum 2\+0 for VS \[203\.0\.113\.1\]:81/, 20_000, { from: mark2 });
    await lab.waitFor(async () => {
      const r = await manyHttp(lab, VIP, 81, 4);
      return r.counts.rs3 === undefined;
    }, { timeoutMs: 5000, what: 'port 81 back on rs1/rs2' });
    const back = await manyHttp(lab, VIP, 81, 20);
    assert.deepEqual(back.counts, { rs1: 10, rs2: 10 });
  });

  await t.test('UDP virtual server: port 53 rewritten to 5353, rr over all three', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const reply = await lab.udpRequest('client', VIP, 53, `q${i}`);
      const m = /^(rs\d):q\d$/.exec(reply);
      assert.ok(m, `reply ${JSON.stringify(reply)}`);
      seen.set(m[1]!, (seen.get(m[1]!) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ['rs1', 'rs2', 'rs3'], `each new UDP flow goes to the next server: ${JSON.stringify([...seen])}`);
    assert.deepEqual([...seen.values()], [2, 2, 2]);
  });
});
