// Figures for split-brain healing: how long clients go without reaching the VIP after a split
// brain heals, tandem pair vs keepalived pair with its defaults, in the same lab (test/lab).
// Figures, not a test. Needs root. See bench/README.md.
//
//   node --import tsx bench/split-brain.ts [--runs 3] [--watch-s 70] [--only tandem|keepalived]
//
// Each run: a (priority 150) is MASTER, b (100) BACKUP, the same configuration text for both
// implementations (test/lab/vrrp-configs.ts pairConfig: a sync group of the public VIP on eth0
// and the private VIP on eth1, advert_int 1, v2). Forwarding is off on both boards, so a board
// without the VIP does not pass a client's packets on to the one with it: a client whose ARP
// entry still names the old board's MAC is cut off. Both switches then drop VRRP (IP protocol
// 112) and nothing else: b becomes MASTER too, and its gratuitous ARPs take the clients. Six
// seconds later (past b's second GARP burst) VRRP passes again and the pair heals: b yields to
// a. The client on the public segment and a real server on the private one ping their VIP every
// 20 ms; the figure is each one's longest time without a reply in --watch-s seconds after the
// heal (a client left on b's MAC waits for its ARP entry to go stale and be probed: tens of
// seconds). Prints one JSON object, then a one-line summary.
import { parseArgs } from 'node:util';
import { createLab, type Host, type Lab } from '../test/lab/lab.ts';
import { startKeepalived, keepalivedVersion } from '../test/lab/keepalived.ts';
import { LAB_ADDR } from '../test/lab/topology.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';
import { blockVrrp, Pinger, vipHolders, waitHolder } from '../test/lab/vrrp-helpers.ts';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'watch-s': { type: 'string', default: '70' },
    only: { type: 'string' },
  },
});
const RUNS = Number(flags.runs);
const WATCH_MS = Number(flags['watch-s']) * 1000;

type Impl = 'tandem' | 'keepalived';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function start(lab: Lab, impl: Impl, board: 'a' | 'b'): Promise<{ waitForLog(re: RegExp, ms?: number, o?: { from?: number }): Promise<string>; mark(): number }> {
  const cfg = pairConfig({ routerId: `${impl}-${board}`, priority: board === 'a' ? 150 : 100 });
  if (impl === 'tandem') {
    const h = await lab.startBoard(board, cfg, { logLevel: 'info', waitForLog: /Entering (BACKUP|MASTER) STATE/ });
    return { waitForLog: (re, ms, o) => h.waitForLog(re, ms, o), mark: () => h.proc.mark() };
  }
  const k = await startKeepalived(lab, board, cfg, { waitForLog: /Entering (BACKUP|MASTER) STATE/ });
  return { waitForLog: (re, ms, o) => k.waitForLog(re, ms, o), mark: () => k.proc.mark() };
}

interface RunResult { client: number; rs1: number }

async function oneRun(impl: Impl, run: number): Promise<RunResult> {
  const lab = await createLab({ name: `bench-split-brain-${impl}`, realServers: 1 });
  try {
    for (const b of ['a', 'b'] as const) {
      const r = await lab.exec(b, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.forwarding=0']);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    await start(lab, impl, 'b');
    await start(lab, impl, 'a');
    await waitHolder(lab, 'a', 20_000);
    const who: Array<[Host, string]> = [['client', LAB_ADDR.publicVip], ['rs1', LAB_ADDR.privateVip]];
    const pingers = who.map(([h, vip]) => new Pinger(lab, h, vip));
    try {
      await lab.waitFor(() => pingers.every((p) => p.replies.length > 10), { timeoutMs: 10_000, what: 'the clients reaching their VIPs' });
      await blockVrrp(lab, true);
      await lab.waitFor(async () => {
        const h = await vipHolders(lab);
        return h.pub.length === 2 && h.priv.length === 2;
      }, { timeoutMs: 20_000, what: 'both boards MASTER (split brain)' });
      await sleep(6_000);
      const healed = Date.now();
      await blockVrrp(lab, false);
      await waitHolder(lab, 'a', 20_000);
      // Watch until every client has been answered for 2 s in a row, at most --watch-s.
      await lab.waitFor(() => pingers.every((p) => {
        const last = p.replies.at(-1) ?? 0;
        return Date.now() - healed > 3_000 && p.longestGap(Date.now() - 2_000, Date.now()) < 500 && last > healed;
      }), { timeoutMs: WATCH_MS, intervalMs: 200, what: 'every client answered again' }).catch(() => undefined);
      const end = Date.now();
      const [client, rs1] = pingers.map((p) => Math.round(p.longestGap(healed, end)));
      process.stderr.write(`${impl} run ${run}: client ${client} ms, rs1 ${rs1} ms without a reply after the heal\n`);
      return { client: client!, rs1: rs1! };
    } finally {
      await Promise.all(pingers.map((p) => p.stop()));
    }
  } finally {
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  const impls: Impl[] = flags.only === 'tandem' || flags.only === 'keepalived' ? [flags.only] : ['tandem', 'keepalived'];
  const out: Record<string, unknown> = { runs: RUNS, watchS: WATCH_MS / 1000, keepalived: await keepalivedVersion().catch(() => 'unknown') };
  for (const impl of impls) {
    const runs: RunResult[] = [];
    for (let i = 1; i <= RUNS; i++) runs.push(await oneRun(impl, i));
    const all = runs.flatMap((r) => [r.client, r.rs1]);
    out[impl] = { runs, medianMs: median(all), maxMs: Math.max(...all), under1s: all.filter((x) => x < 1000).length, of: all.length };
  }
  console.log(JSON.stringify(out, null, 2));
  const line = impls.map((i) => {
    const r = out[i] as { medianMs: number; maxMs: number; under1s: number; of: number };
    return `${i}: median ${r.medianMs} ms, worst ${r.maxMs} ms, ${r.under1s}/${r.of} clients back within 1 s`;
  }).join('; ');
  console.log(`split brain healed, clients' longest time without the VIP: ${line}`);
}

await main();
