// Mixed pairs: tandem and real keepalived 2.2.7 on the same two segments,
// both ways round, VRRPv2 (advert_int 1) and VRRPv3 (advert_int 0.2). Each elects the right
// master, takes over from the other on a crash and on a graceful stop (priority 0, RFC 5798
// §6.4.3 / RFC 3768 §6.4.3), and the higher-priority board preempts back when it returns.
// Scenarios are combined per lab to keep the file's run time well under two minutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab } from './lab.ts';
import { KEEPALIVED_UP as kaUp, TANDEM_UP as tandemUp, startKeepalived, startMixedPair } from './keepalived.ts';
import { pairConfig } from './vrrp-configs.ts';
import { vipHolders, waitHolder } from './vrrp-helpers.ts';

for (const proto of [{ version: 2 as const, advertInt: 1 }, { version: 3 as const, advertInt: 0.2 }]) {
  const tag = `v${proto.version}/${proto.advertInt}s`;

  test(`${tag}: tandem (150) masters keepalived (100), keepalived takes over on crash and on SIGTERM, tandem preempts back`, async (t) => {
    const lab = await withLab(t, { name: `vrrp-ka-tandem-high-v${proto.version}`, realServers: 0 });
    const cfg = (priority: number, routerId: string): string => pairConfig({ routerId, priority, ...proto });
    const { ka } = await startMixedPair(lab, {
      tandem: { board: 'a', config: cfg(150, 'lb-a') }, keepalived: { board: 'b', config: cfg(100, 'ka-b') }, master: 'tandem',
    });
    // keepalived hears tandem's adverts and stays (or goes back to) BACKUP.
    await lab.waitFor(async () => (await vipHolders(lab)).pub.length === 1, { what: 'one public VIP holder' });

    // Crash: keepalived takes both VIPs after Master_Down_Interval.
    let mark = ka.proc.mark();
    await lab.stopBoard('a', 'SIGKILL');
    await waitHolder(lab, 'b', 15_000, false);
    await ka.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 10_000, { from: mark });
    await ka.waitForLog(/\(VI_PRIV\) Entering MASTER STATE/, 10_000, { from: mark });

    // Restart: tandem clears the VIPs the crash left behind and preempts back.
    mark = ka.proc.mark();
    const a2 = await lab.startBoard('a', cfg(150, 'lb-a'), { waitForLog: tandemUp });
    await a2.waitForLog(/removing VIP 203\.0\.113\.1 left behind on eth0/);
    await waitHolder(lab, 'a');
    await ka.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, 10_000, { from: mark });

    // Graceful stop: tandem's priority-0 advert makes keepalived take over at once
    // (keepalived logs it as such; Skew_Time instead of Master_Down_Interval).
    mark = ka.proc.mark();
    const st = await lab.stopBoard('a', 'SIGTERM');
    assert.equal(st?.code, 0);
    await waitHolder(lab, 'b');
    await ka.waitForLog(/\(VI_PUB\) Backup received priority 0 advertisement/, 5_000, { from: mark });
    assert.ok(ka.proc.running, 'keepalived still runs');
  });

  test(`${tag}: keepalived (150) masters tandem (100), tandem takes over on crash and on SIGTERM, keepalived preempts back`, async (t) => {
    const lab = await withLab(t, { name: `vrrp-ka-ka-high-v${proto.version}`, realServers: 0 });
    const cfg = (priority: number, routerId: string): string => pairConfig({ routerId, priority, ...proto });
    const { tandem: b, ka } = await startMixedPair(lab, {
      tandem: { board: 'b', config: cfg(100, 'lb-b') }, keepalived: { board: 'a', config: cfg(150, 'ka-a') }, master: 'keepalived',
    });

    // Crash of keepalived's VRRP process: tandem takes both VIPs.
    let mark = b.proc.mark();
    await ka.crash();
    await waitHolder(lab, 'b', 15_000, false);
    await b.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 10_000, { from: mark });
    await b.waitForLog(/\(VI_PRIV\) Entering MASTER STATE/, 10_000, { from: mark });

    // keepalived comes back (it too removes the VIPs left behind) and preempts: tandem yields.
    mark = b.proc.mark();
    const ka2 = await startKeepalived(lab, 'a', cfg(150, 'ka-a'), { waitForLog: kaUp });
    await waitHolder(lab, 'a');
    await b.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, 10_000, { from: mark });
    await ka2.waitForLog(/\(VI_PUB\) Entering MASTER STATE/);

    // Graceful stop of keepalived: tandem sees priority 0 and takes over at once.
    mark = b.proc.mark();
    await ka2.stop();
    await waitHolder(lab, 'b');
    const line = await b.waitForLog(/\(VI_P(UB|RIV)\) BACKUP -> MASTER: master released \(priority 0\)/, 5_000, { from: mark });
    assert.ok(line);
    assert.ok(b.proc.running, 'tandem still runs');
  });
}
