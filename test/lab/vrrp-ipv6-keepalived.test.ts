// Mixed pairs over IPv6: tandem and real keepalived 2.2.7 run the same IPv6 pair (pairConfig6:
// VRRPv3 to ff02::12 from the link-local addresses, the public IPv6 VIP, the link-local gateway
// fe80::1 and the private IPv6 VIP) both ways round. Each elects the right master, takes over
// from the other on a crash and on a graceful stop (priority 0, RFC 5798 §6.4.3), and the
// higher-priority board preempts back when it returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab } from './lab.ts';
import { KEEPALIVED_UP6 as kaUp, TANDEM_UP as tandemUp, startKeepalived, startMixedPair } from './keepalived.ts';
import { pairConfig6 } from './vrrp-configs.ts';
import { vipHolders6, waitHolder6 } from './vrrp-helpers.ts';

const cfg = (priority: number, routerId: string): string => pairConfig6({ routerId, priority, advertInt: 0.2 });

test('IPv6: tandem (150) masters keepalived (100), keepalived takes over on crash and on SIGTERM, tandem preempts back', async (t) => {
  const lab = await withLab(t, { name: 'vrrp6-ka-tandem-high', realServers: 0, ipv6: true });
  const { ka } = await startMixedPair(lab, {
    tandem: { board: 'a', config: cfg(150, 'lb-a') }, keepalived: { board: 'b', config: cfg(100, 'ka-b') }, master: 'tandem', family: 6,
  });
  await lab.waitFor(async () => (await vipHolders6(lab)).pub.length === 1, { what: 'one public IPv6 VIP holder' });
  // keepalived accepted tandem's adverts: no TTL/hop limit, checksum or length complaint.
  assert.ok(!ka.proc.lines.some((l) => /invalid TTL|checksum|too (long|short)|wrong VRRP version/i.test(l.text)), ka.proc.tail());

  // Crash: keepalived takes the IPv6 VIPs after Master_Down_Interval.
  let mark = ka.proc.mark();
  await lab.stopBoard('a', 'SIGKILL');
  await waitHolder6(lab, 'b', 15_000, false);
  await ka.waitForLog(/\(VI_PUB6\) Entering MASTER STATE/, 10_000, { from: mark });
  await ka.waitForLog(/\(VI_PRIV6\) Entering MASTER STATE/, 10_000, { from: mark });

  // Restart: tandem clears the VIPs the crash left behind and preempts back.
  mark = ka.proc.mark();
  const a2 = await lab.startBoard('a', cfg(150, 'lb-a'), { waitForLog: tandemUp });
  await a2.waitForLog(/removing VIP 2001:db8:0:1::1 left behind on eth0/);
  await waitHolder6(lab, 'a');
  await ka.waitForLog(/\(VI_PUB6\) Entering BACKUP STATE/, 10_000, { from: mark });

  // Graceful stop: tandem's priority-0 advert makes keepalived take over at once.
  mark = ka.proc.mark();
  const st = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st?.code, 0);
  await waitHolder6(lab, 'b');
  await ka.waitForLog(/\(VI_PUB6\) Backup received priority 0 advertisement/, 5_000, { from: mark });
  assert.ok(ka.proc.running, 'keepalived still runs');
});

test('IPv6: keepalived (150) masters tandem (100), tandem takes over on crash and on SIGTERM, keepalived preempts back', async (t) => {
  const lab = await withLab(t, { name: 'vrrp6-ka-ka-high', realServers: 0, ipv6: true });
  const { tandem: b, ka } = await startMixedPair(lab, {
    tandem: { board: 'b', config: cfg(100, 'lb-b') }, keepalived: { board: 'a', config: cfg(150, 'ka-a') }, master: 'keepalived', family: 6,
  });
  // tandem hears keepalived's adverts and drops none (hop limit, link-local source, checksum).
  const stats = await b.ctl(['show', 'statistics']);
  assert.match(stats.stdout, /VRRP Instance: VI_PUB6\n  Advertisements:\n    Received: [1-9]/, stats.stdout);
  for (const line of ['TTL', 'Length', 'Checksum', 'Source address', 'Version']) {
    for (const m of stats.stdout.matchAll(new RegExp(`^\\s+${line}: (\\d+)$`, 'gm'))) assert.equal(m[1], '0', `${line} errors on tandem:\n${stats.stdout}`);
  }

  // Crash of keepalived's VRRP process: tandem takes the IPv6 VIPs.
  let mark = b.proc.mark();
  await ka.crash();
  await waitHolder6(lab, 'b', 15_000, false);
  await b.waitForLog(/\(VI_PUB6\) Entering MASTER STATE/, 10_000, { from: mark });
  await b.waitForLog(/\(VI_PRIV6\) Entering MASTER STATE/, 10_000, { from: mark });

  // keepalived comes back (it removes the VIPs left behind) and preempts: tandem yields.
  mark = b.proc.mark();
  const ka2 = await startKeepalived(lab, 'a', cfg(150, 'ka-a'), { waitForLog: kaUp });
  await waitHolder6(lab, 'a');
  await b.waitForLog(/\(VI_PUB6\) Entering BACKUP STATE/, 10_000, { from: mark });
  await ka2.waitForLog(/\(VI_PUB6\) Entering MASTER STATE/);

  // Graceful stop of keepalived: tandem sees priority 0 and takes over at once.
  mark = b.proc.mark();
  await ka2.stop();
  await waitHolder6(lab, 'b');
  const line = await b.waitForLog(/\(VI_P(UB|RIV)6\) BACKUP -> MASTER: master released \(priority 0\)/, 5_000, { from: mark });
  assert.ok(line);
  assert.ok(b.proc.running, 'tandem still runs');
});
