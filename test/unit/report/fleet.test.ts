import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newFleet, applyMessage, boardCondition, pairs, fleetSnapshot, renderFleetTable, realServers } from '../../../src/report/fleet.ts';
import { vrrpPayload, realServerPayload, type VrrpReport } from '../../../src/report/payloads.ts';

function v(state: VrrpReport['state'], vrid = 51, vips = ['203.0.113.10']): string {
  return vrrpPayload({ state, priority: 100, effectivePriority: 100, vips, masterAddress: null, since: 0, vrid, interface: 'eth0', reason: 'initial' });
}
const health = (intervalMs = 1000): string => JSON.stringify({ intervalMs, cpuPercent: 5, memory: { usedPercent: 40 }, temperatureC: 50.5, uptimeS: 3700 });

function fleetOf(now: number, msgs: Array<[string, string]>): ReturnType<typeof newFleet> {
  const m = newFleet('tandem', now);
  for (const [t, p] of msgs) applyMessage(m, t, p, now);
  return m;
}

test('a healthy pair: one MASTER, no flags', () => {
  const m = fleetOf(0, [
    ['tandem/a/status', 'online'],
    ['tandem/b/status', 'online'],
    ['tandem/a/health', health()],
    ['tandem/b/health', health()],
    ['tandem/a/vrrp/VI_1', v('MASTER')],
    ['tandem/b/vrrp/VI_1', v('BACKUP')],
  ]);
  const ps = pairs(m, 500);
  assert.equal(ps.length, 1);
  assert.equal(ps[0]?.splitBrain, false);
  assert.equal(ps[0]?.noMaster, false);
  assert.deepEqual((fleetSnapshot(m, 500) as { alerts: unknown[] }).alerts, []);
});

test('split brain: two MASTERs for one VRID and VIP set; other segments with the same VRID are apart', () => {
  const m = fleetOf(0, [
    ['tandem/a/status', 'online'],
    ['tandem/b/status', 'online'],
    ['tandem/a/vrrp/VI_1', v('MASTER')],
    ['tandem/b/vrrp/VI_1', v('MASTER')],
    // another pair reusing VRID 51 on another segment
    ['tandem/c/status', 'online'],
    ['tandem/c/vrrp/VI_X', v('MASTER', 51, ['192.0.2.50'])],
  ]);
  const ps = pairs(m, 0);
  assert.equal(ps.length, 2);
  assert.deepEqual(ps.map((p) => [p.vips[0], p.splitBrain]), [['192.0.2.50', false], ['203.0.113.10', true]]);
  assert.match(renderFleetTable(m, 0), /SPLIT-BRAIN/);
});

test('no master: boards online, all BACKUP or FAULT; a lost MASTER does not count', () => {
  const m = fleetOf(0, [
    ['tandem/a/status', 'online'],
    ['tandem/b/status', 'lost'],
    ['tandem/a/vrrp/VI_1', v('FAULT')],
    ['tandem/b/vrrp/VI_1', v('MASTER')], // retained from before the loss
  ]);
  const p = pairs(m, 0)[0];
  assert.equal(p?.noMaster, true);
  assert.equal(p?.splitBrain, false);
  const snap = fleetSnapshot(m, 0) as { alerts: Array<{ kind: string }> };
  assert.deepEqual(snap.alerts.map((a) => a.kind).sort(), ['lost', 'no-master']);
  assert.match(renderFleetTable(m, 0), /b:MASTER\(100\)\[lost\]/);
});

test('board conditions: online, offline, lost, stale by health age, unknown', () => {
  const m = fleetOf(0, [
    ['tandem/a/status', 'online'],
    ['tandem/a/health', health(1000)],
    ['tandem/b/status', 'offline'],
    ['tandem/c/status', 'lost'],
    ['tandem/d/status', 'online'], // never sent health since we started listening
    ['tandem/e/birth', JSON.stringify({ bdSeq: 1 })],
  ]);
  const cond = (n: string, now: number): string => boardCondition(m.boards.get(n)!, m, now);
  assert.equal(cond('a', 2999), 'online');
  assert.equal(cond('a', 3001), 'stale', 'more than 3 intervals without health');
  assert.equal(cond('b', 0), 'offline');
  assert.equal(cond('c', 0), 'lost');
  assert.equal(cond('d', 29_000), 'online');
  assert.equal(cond('d', 31_000), 'stale');
  assert.equal(cond('e', 0), 'unknown');
  // a stale board still counts for split brain (it may well be connected and MASTER)
});

test('bad messages are counted, never thrown', () => {
  const m = newFleet('tandem', 0);
  assert.equal(applyMessage(m, 'tandem/a/vrrp/VI_1', '{"state":', 0), false);
  assert.equal(applyMessage(m, 'tandem/a/status', 'maybe', 0), false);
  assert.equal(applyMessage(m, 'tandem/a/health', '[]', 0), false);
  assert.equal(applyMessage(m, 'tandem/a/what/ever', '{}', 0), false);
  assert.equal(applyMessage(m, 'elsewhere', '{}', 0), false);
  assert.deepEqual(m.rejected, { topic: 2, payload: 3 });
  assert.equal(pairs(m, 0).length, 0);
});

test('real-server table across boards; empty retained payload removes an entry', () => {
  const rs = (up: boolean): string => realServerPayload({ up, weight: 1, lastCheck: 0, failures: up ? 0 : 3, latencyMs: up ? 3 : null });
  const m = fleetOf(0, [
    ['tandem/a/lb/203.0.113.10:80/198.51.100.11:8080', rs(true)],
    ['tandem/b/lb/203.0.113.10:80/198.51.100.11:8080', rs(false)],
    ['tandem/a/lb/203.0.113.10:80/198.51.100.12:8080', rs(true)],
  ]);
  const rows = realServers(m);
  assert.equal(rows.length, 2);
  assert.equal(rows[0]?.byNode.b?.up, false);
  assert.match(renderFleetTable(m, 0), /198\.51\.100\.11:8080\s+a:UP\(3ms\) b:DOWN/);
  applyMessage(m, 'tandem/a/lb/203.0.113.10:80/198.51.100.12:8080', '', 0);
  assert.equal(realServers(m).length, 1);
});
