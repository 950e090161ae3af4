// The LB controller's hook into the userspace forwarder: which virtual servers go where
// (forwarder auto/userspace/nftables, lc/wlc, nft probe), health and drain reaching the
// forwarder's scheduler, failed servers' connections closed, connection counts in the view.
// In-process stand-ins for nft, the checker and the forwarder (the sockets are tested in
// test/lab/forwarder.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LbController, type ForwarderLike } from '../../../src/lb/controller.ts';
import type { VirtualServer, RealServer } from '../../../src/config/model.ts';
import type { RsStateEvent } from '../../../src/check/types.ts';
import type { Backend } from '../../../src/lb/sched/index.ts';
import { vs, rs } from './fixtures.ts';

class FakeForwarder implements ForwarderLike {
  served: string[] = [];
  backends = new Map<string, string[]>();
  closed: string[] = [];
  stopped = false;
  async serve(vss: readonly VirtualServer[]): Promise<void> {
    this.served = vss.map((v) => v.name);
  }
  update(v: VirtualServer, b: readonly Backend[]): void {
    this.backends.set(v.name, b.map((x) => `${x.key}*${x.weight}`));
  }
  connections(v: VirtualServer, r: RealServer): number | null {
    return this.served.includes(v.name) ? r.port % 7 : null;
  }
  closeConnections(v: VirtualServer, r: RealServer): number {
    this.closed.push(`${v.name}/${r.name}`);
    return 1;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

function setup(vss: VirtualServer[], nftWorks: boolean) {
  const applied: string[] = [];
  const fwd = new FakeForwarder();
  let emit: (ev: RsStateEvent) => void = () => {};
  const logs: string[] = [];
  const lb = new LbController(
    vss,
    {
      nft: { apply: async (tx) => { applied.push(typeof tx === 'string' ? tx : tx.render()); } },
      deleteFlows: async () => 0,
      makeChecker: (_v, onChange) => { emit = onChange; return { start() {}, stop() {}, reload() {} }; },
      nftAvailable: async () => nftWorks,
      forwarder: fwd,
    },
    { log: (_l, m) => logs.push(m), rsChanged: () => {} },
  );
  const ev = (v: VirtualServer, r: RealServer, up: boolean, weight = r.weight): void =>
    emit({ vs: v.name, protocol: v.protocol, rs: r.name, up, weight, reason: 'test', latencyMs: null, failures: up ? 0 : 2, lastCheck: 0 } as RsStateEvent);
  return { lb, fwd, applied, ev, logs };
}

const r1 = rs('192.0.2.11', 8080);
const r2 = rs('192.0.2.12', 8080, { weight: 3 });

test('auto goes to nftables when nft works; userspace and lc/wlc go to the forwarder', async () => {
  const a = vs('203.0.113.10', 80, [r1, r2], { scheduler: 'mh' });
  const u = vs('203.0.113.10', 81, [r1, r2], { scheduler: 'rr', forwarder: 'userspace' });
  const l = vs('203.0.113.10', 82, [r1, r2], { scheduler: 'wlc', forwarder: 'userspace' });
  const { lb, fwd, applied } = setup([a, u, l], true);
  await lb.start();
  assert.deepEqual(fwd.served, [u.name, l.name]);
  assert.equal(applied.length, 1);
  assert.match(applied[0], /v_cb00710a_t80/);
  assert.doesNotMatch(applied[0], /t81|t82/);
  assert.deepEqual(fwd.backends.get(l.name), ['192.0.2.11:8080*1', '192.0.2.12:8080*3']);
  assert.equal(lb.view(a, r1).connections, null, 'nftables-served: no userspace count');
  await lb.stop();
  assert.equal(fwd.stopped, true);
});

test('without nftables, auto virtual servers are forwarded in userspace and nft is never run', async () => {
  const a = vs('203.0.113.10', 80, [r1, r2], { scheduler: 'mh' });
  const { lb, fwd, applied, logs } = setup([a], false);
  await lb.start();
  assert.deepEqual(fwd.served, [a.name]);
  assert.ok(logs.some((m) => /nftables is not usable/.test(m)));
  await lb.stop();
  assert.deepEqual(applied, []);
});

test('health, drain and failure reach the forwarder; counts show in the view', async () => {
  const u = vs('203.0.113.10', 81, [r1, r2], { scheduler: 'lc', forwarder: 'userspace' });
  const { lb, fwd, applied, ev } = setup([u], true);
  await lb.start();
  ev(u, r1, true);
  ev(u, r2, true);
  assert.deepEqual(fwd.backends.get(u.name), ['192.0.2.11:8080*1', '192.0.2.12:8080*3']);
  ev(u, r1, false);
  assert.deepEqual(fwd.backends.get(u.name), ['192.0.2.12:8080*3']);
  assert.deepEqual(fwd.closed, [`${u.name}/${r1.name}`], 'a failed server\'s connections are closed');
  ev(u, r1, true);
  const res = await lb.setDrained(u.name, r2.name, true);
  assert.equal(res.ok, true);
  assert.deepEqual(fwd.backends.get(u.name), ['192.0.2.11:8080*1'], 'drained = weight 0 = no new connections');
  assert.equal(fwd.closed.length, 1, 'draining keeps existing connections');
  assert.equal(lb.view(u, r1).connections, 8080 % 7);
  // The only table applied is the (empty) one from start: health edits of userspace VSs never reach nft.
  assert.equal(applied.length, 1);
  await lb.stop();
});

test('quorum lost with a sorry server: the forwarder sends everything to the sorry server', async () => {
  const u = vs('203.0.113.10', 81, [r1], { scheduler: 'rr', forwarder: 'userspace', sorryServer: { address: '192.0.2.99', port: 8080, pos: r1.pos } });
  const { lb, fwd, ev } = setup([u], true);
  await lb.start();
  ev(u, r1, true);
  ev(u, r1, false);
  assert.deepEqual(fwd.backends.get(u.name), ['192.0.2.99:8080*1']);
  ev(u, r1, true);
  assert.deepEqual(fwd.backends.get(u.name), ['192.0.2.11:8080*1']);
  await lb.stop();
});
