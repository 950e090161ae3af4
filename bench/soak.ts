// Soak: `--seconds` (default 600) of mixed hostile input and reloads against a tandem pair in the
// lab, then the count of spurious transitions (target 0) and the MASTER's memory against its idle
// figure (target: whole process tree within 10 % of idle, measured `--settle-s` after the last
// flood). In rotation, from the lab's client host on the public segment and on the board itself:
//   lower-priority adverts for the pair's VRID, as fast as one sender can (5 s);
//   adverts with TTL 64 (dropped, counted, logged at a bounded rate) (5 s);
//   adverts for a VRID nobody has (5 s);
//   300,000 pipelined `tandem ctl` commands whose answers are never read;
//   a 2 MiB MQTT message to the board's cmd/rebirth topic, and a flood of small ones;
//   a SIGHUP reload (alternately a no-op and a priority change that keeps the MASTER).
// Needs root (the lab).
//
//   node --import tsx bench/soak.ts [--seconds 600] [--settle-s 30] [--only SUBSTRING-OF-AN-ACTIVITY]
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { createLab, LAB_ADDR, type BoardHandle } from '../test/lab/lab.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';
import { waitHolder } from '../test/lab/vrrp-helpers.ts';
import { mqttBlock, startLabBroker } from '../test/lab/mosquitto.ts';
import { flood } from '../test/lab/flood-sender.ts';
import { processTree } from '../test/lab/proc-tree.ts';
import { packet } from '../test/unit/vrrp/helpers.ts';

const { values: flags } = parseArgs({ options: { seconds: { type: 'string', default: '600' }, 'settle-s': { type: 'string', default: '30' }, only: { type: 'string' }, 'node-options': { type: 'string' }, env: { type: 'string' } } });
const SECONDS = Number(flags.seconds);
const SETTLE_S = Number(flags['settle-s']);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function treeKiB(root: number): Promise<{ rss: number; anon: number }> {
  const t = await processTree([root]);
  return { rss: t.reduce((n, p) => n + p.rssKiB, 0), anon: t.reduce((n, p) => n + p.anonKiB, 0) };
}

const transitions = (b: BoardHandle, from: number): string[] =>
  b.proc.lines.slice(Math.max(0, from - (b.proc.mark() - b.proc.lines.length))).map((l) => l.text).filter((t) => /Entering (MASTER|BACKUP|FAULT) STATE/.test(t));

const lab = await createLab({ name: 'bench-soak', realServers: 0 });
try {
  const broker = await startLabBroker(lab);
  const cfg = (priority: number, routerId: string): string =>
    pairConfig({ routerId, priority, version: 3, advertInt: 0.1, extra: mqttBlock(broker.url) });
  const env = { ...(flags['node-options'] ? { NODE_OPTIONS: flags['node-options'] } : {}), ...(flags.env ? (JSON.parse(flags.env) as Record<string, string>) : {}) };
  const a = await lab.startBoard('a', cfg(150, 'lb-a'), { logLevel: 'info', env, waitForLog: /Entering BACKUP STATE/ });
  const b = await lab.startBoard('b', cfg(100, 'lb-b'), { logLevel: 'info', waitForLog: /Entering BACKUP STATE/ });
  await waitHolder(lab, 'a', 20_000);
  await sleep(SETTLE_S * 1000);
  const idle = await treeKiB(a.proc.pid);
  const markA = a.proc.mark();
  const markB = b.proc.mark();
  const vip = [LAB_ADDR.publicVip];
  const activities: Array<[string, () => Promise<unknown>]> = [
    ['low-priority advert flood', () => flood(lab, 'client', packet({ version: 3, vrid: 51, priority: 50, advertIntMs: 100, addresses: vip }, { src: LAB_ADDR.client }), 5)],
    ['TTL-64 flood', () => flood(lab, 'client', packet({ version: 3, vrid: 51, priority: 50, advertIntMs: 100, addresses: vip }, { src: LAB_ADDR.client, ttl: 64 }), 5)],
    ['unknown-VRID flood', () => flood(lab, 'client', packet({ version: 3, vrid: 99, priority: 50, advertIntMs: 100, addresses: vip }, { src: LAB_ADDR.client }), 5)],
    ['300,000 pipelined ctl commands never read', async () => {
      const s = connect(a.controlSocket);
      s.on('error', () => undefined);
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.pause();
      s.write('show version\n'.repeat(300_000));
      await sleep(5000);
      s.destroy();
    }],
    ['MQTT: a 2 MiB message at the board', async () => {
      const c = await mqtt.connectAsync(broker.localUrl, { protocolVersion: 4 });
      await c.publishAsync('tandem/lb-a/cmd/rebirth', Buffer.alloc(2 << 20, 0x61));
      await sleep(3000);
      await c.endAsync(true);
    }],
    ['MQTT: 5,000 small junk messages at the board', async () => {
      const c = await mqtt.connectAsync(broker.localUrl, { protocolVersion: 4 });
      c.setMaxListeners(0);
      for (let i = 0; i < 5000; i++) void c.publishAsync('tandem/lb-a/cmd/rebirth', `x${i}`);
      await sleep(3000);
      await c.endAsync(true);
    }],
    ['reload: no-op', () => a.reload(cfg(150, 'lb-a'))],
    ['reload: priority 150 → 160 → 150', async () => {
      await a.reload(cfg(160, 'lb-a'));
      await sleep(2000);
      await a.reload(cfg(150, 'lb-a'));
    }],
  ];
  const chosen = flags.only ? activities.filter(([n]) => n.includes(flags.only!)) : activities;
  const done: Record<string, number> = {};
  const t0 = performance.now();
  for (let i = 0; (performance.now() - t0) / 1000 < SECONDS; i++) {
    const [name, run] = chosen[i % chosen.length]!;
    await run().catch((err: unknown) => process.stderr.write(`${name}: ${String(err)}\n`));
    done[name] = (done[name] ?? 0) + 1;
    await sleep(1000);
  }
  await sleep(SETTLE_S * 1000);
  const after = await treeKiB(a.proc.pid);
  const spurious = transitions(a, markA).length + transitions(b, markB).length;
  const ratio = Math.round((after.rss / idle.rss) * 1000) / 1000;
  const result = {
    bench: 'soak', seconds: SECONDS, settleS: SETTLE_S, activities: done, spuriousTransitions: spurious,
    idle: { treeRssKiB: idle.rss, treeAnonKiB: idle.anon }, after: { treeRssKiB: after.rss, treeAnonKiB: after.anon }, rssRatio: ratio,
    bothRunning: a.proc.running && b.proc.running,
  };
  console.log(JSON.stringify(result));
  console.log(`soak ${SECONDS} s: ${spurious} spurious transitions (target 0); MASTER tree RSS ${(idle.rss / 1024).toFixed(1)} → ${(after.rss / 1024).toFixed(1)} MiB (×${ratio}, target ≤ 1.1); anon ${(idle.anon / 1024).toFixed(1)} → ${(after.anon / 1024).toFixed(1)} MiB`);
} finally {
  await lab.destroy();
}
