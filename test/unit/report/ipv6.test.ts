// IPv6 VIPs and masters on the way out: the MQTT vrrp payload carries them as they are (the VIPs
// "ADDRESS/PREFIX", the master its link-local source) and the fleet reads them back; the fleet
// keeps an IPv4 and an IPv6 instance that share a VRID apart (VRIDs are per family) and flags a
// split brain of the IPv6 pair alone; the console's show vrrp lists them.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMessage, fleetSnapshot, newFleet, pairs, renderFleetTable } from '../../../src/report/fleet.ts';
import { readVrrp, vrrpPayload, type VrrpReport } from '../../../src/report/payloads.ts';
import * as config from '../../../src/config/index.ts';
import { createConsoleEngine } from '../../../src/console/index.ts';
import { createCounters } from '../../../src/vrrp/counters.ts';
import { FakeClock, FakeHost, SAMPLE_CONF } from '../console/helpers.ts';

const V6: VrrpReport = {
  state: 'MASTER', priority: 150, effectivePriority: 150, vips: ['fe80::1/64', '2001:db8:0:2::1/64'],
  masterAddress: 'fe80::a8c1:abff:fe00:1', since: 0, vrid: 51, interface: 'eth1', reason: 'became MASTER',
};

test('the vrrp payload carries IPv6 VIPs and a link-local master, and reads back the same', () => {
  const p = vrrpPayload(V6);
  assert.deepEqual(JSON.parse(p).vips, ['fe80::1/64', '2001:db8:0:2::1/64']);
  const back = readVrrp(p);
  assert.ok(back);
  assert.deepEqual(back.vips, V6.vips);
  assert.equal(back.masterAddress, 'fe80::a8c1:abff:fe00:1');
});

test('fleet: an IPv4 and an IPv6 instance on one VRID are two pairs; a split brain of the IPv6 pair is flagged alone', () => {
  const m = newFleet('tandem', 0);
  const v4 = (state: VrrpReport['state']): string => vrrpPayload({ ...V6, state, vips: ['192.0.2.1/24'], masterAddress: '192.0.2.2' });
  for (const [t, p] of [
    ['tandem/a/status', 'online'], ['tandem/b/status', 'online'],
    ['tandem/a/vrrp/VI_PRIV', v4('MASTER')], ['tandem/b/vrrp/VI_PRIV', v4('BACKUP')],
    ['tandem/a/vrrp/VI_PRIV6', vrrpPayload(V6)], ['tandem/b/vrrp/VI_PRIV6', vrrpPayload({ ...V6, masterAddress: 'fe80::b' })],
  ] as const) applyMessage(m, t, p, 0);
  const ps = pairs(m, 0);
  assert.equal(ps.length, 2);
  const six = ps.find((x) => x.vips.includes('fe80::1/64'))!;
  const four = ps.find((x) => x.vips.includes('192.0.2.1/24'))!;
  assert.equal(six.splitBrain, true);
  assert.equal(four.splitBrain, false);
  assert.deepEqual(six.members.map((x) => x.masterAddress), ['fe80::a8c1:abff:fe00:1', 'fe80::b']);
  const table = renderFleetTable(m, 0);
  assert.match(table, /51 +2001:db8:0:2::1\/64,fe80::1\/64 +a:MASTER\(150\) b:MASTER\(150\) +SPLIT-BRAIN/);
  const snap = fleetSnapshot(m, 0) as { alerts: Array<{ kind: string; vips: string[] }> };
  assert.deepEqual(snap.alerts.map((a) => [a.kind, a.vips]), [['split-brain', ['2001:db8:0:2::1/64', 'fe80::1/64']]]);
});

test('console: show vrrp lists IPv6 VIPs and the master\'s link-local address', async (tc: TestContext) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-console6-'));
  tc.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'keepalived.conf');
  writeFileSync(cfg, SAMPLE_CONF);
  const host = new FakeHost(cfg, dir, SAMPLE_CONF);
  host.vr = [{
    name: 'VI_PRIV6', state: 'BACKUP', vrid: 62, interface: 'eth1', version: 3, priority: 100, effectivePriority: 100,
    masterAddress: 'fe80::a8c1:abff:fe00:1', vips: ['fe80::1/64', '2001:db8:0:2::1/64'], since: 0, reason: 'start', fault: null,
    syncGroup: 'G_LB6', counters: createCounters(),
  }];
  const engine = createConsoleEngine(host, config, { clock: new FakeClock() });
  await engine.ready;
  const s = engine.trustedSession('test');
  await s.start();
  const out = (await s.line('show vrrp')).output;
  assert.match(out, /^VI_PRIV6 +BACKUP +62 +eth1 +v3 +100 +100 +fe80::a8c1:abff:fe00:1 +\S+ +fe80::1\/64,2001:db8:0:2::1\/64$/m, out);
});
