// Figures: time from a real server's death to its removal by the running daemon,
// against keepalived's bound (delay_loop + (1 + retry) × connect_timeout + retry ×
// delay_before_retry), and the time the daemon takes to apply that one real server's change to
// nftables (its own "edit applied … in X ms" debug line; target under 20 ms). Also the time
// from the server's revival to its return. Builds its own lab (one board, three real servers),
// removed at the end even on failure. Needs root.
// Run: node --import tsx bench/lb-failover.ts [--rounds 5]
// Prints one JSON object, then one summary line.
import { createLab, LAB_ADDR, type LabProcess } from '../test/lab/lab.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';
import { waitHolder } from '../test/lab/vrrp-helpers.ts';
import { virtualServerBlock, tcpCheck, removalBoundMs, type TcpCheckSpec } from '../test/lab/lb-helpers.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const rounds = Math.min(20, Math.max(1, Number(arg('rounds', '5'))));

const VIP = LAB_ADDR.publicVip;
const CHECK: TcpCheckSpec = { connectTimeout: 1, retry: 2, delayBeforeRetry: 0.5 };
const DELAY_LOOP = 1;

/** The daemon's own timestamp at the start of a log line (src/log.ts: ISO time first). */
function stamp(line: string): number {
  const t = Date.parse(line.split(' ')[0] ?? '');
  if (!Number.isFinite(t)) throw new Error(`no timestamp in log line: ${line}`);
  return t;
}

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { min: s[0]!, median: Math.round(median * 10) / 10, max: s[s.length - 1]! };
}

async function main(): Promise<void> {
  const lab = await createLab({ name: 'bench-lb-failover', realServers: 3 });
  try {
    const servers: LabProcess[] = [];
    for (let i = 1; i <= 3; i++) servers[i] = await lab.startHttpServer(i, 8080);
    const extra = virtualServerBlock({
      address: VIP, port: 80, lbAlgo: 'mh', delayLoop: DELAY_LOOP,
      realServers: [1, 2, 3].map((i) => ({ address: LAB_ADDR.realServer(i), port: 8080, checker: tcpCheck(CHECK) })),
    });
    const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, version: 3, advertInt: 0.2, extra }),
      { waitForLog: /Entering MASTER STATE/ });
    await waitHolder(lab, 'a');
    await a.waitForLog(/table ip tandem applied/);
    // Let every checker run once (first checks are spread over one delay_loop of warmup).
    await new Promise((r) => setTimeout(r, DELAY_LOOP * 1000 + 500));

    const detectMs: number[] = [];
    const applyMs: number[] = [];
    const reviveMs: number[] = [];
    const rs2 = LAB_ADDR.realServer(2).replace(/\./g, '\\.');
    for (let i = 0; i < rounds; i++) {
      let mark = a.proc.mark();
      const killedAt = Date.now();
      await servers[2]!.stop('SIGTERM');
      const removed = await a.waitForLog(new RegExp(`Removing service \\[${rs2}\\]:8080`), 30_000, { from: mark });
      detectMs.push(stamp(removed) - killedAt);
      const applied = await a.waitForLog(/nftables: edit applied \(1 virtual server\) in [\d.]+ ms/, 10_000, { from: mark });
      applyMs.push(Number(/in ([\d.]+) ms/.exec(applied)![1]));

      mark = a.proc.mark();
      const revivedAt = Date.now();
      servers[2] = await lab.startHttpServer(2, 8080);
      const added = await a.waitForLog(new RegExp(`Adding service \\[${rs2}\\]:8080`), 30_000, { from: mark });
      reviveMs.push(stamp(added) - revivedAt);
      const applied2 = await a.waitForLog(/nftables: edit applied \(1 virtual server\) in [\d.]+ ms/, 10_000, { from: mark });
      applyMs.push(Number(/in ([\d.]+) ms/.exec(applied2)![1]));
    }
    const bound = removalBoundMs(CHECK, DELAY_LOOP);
    const out = {
      bench: 'lb-failover',
      rounds,
      check: { ...CHECK, delayLoop: DELAY_LOOP },
      removal: { ms: detectMs, ...stats(detectMs), boundMs: bound, withinBound: detectMs.every((x) => x <= bound) },
      revival: { ms: reviveMs, ...stats(reviveMs), boundMs: DELAY_LOOP * 1000 + CHECK.connectTimeout * 1000 },
      applyOneChange: { ms: applyMs, ...stats(applyMs), targetMs: 20, met: stats(applyMs).median < 20 },
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    process.stdout.write(`lb-failover: removal median ${out.removal.median} ms (max ${out.removal.max}, bound ${bound} ms: ${out.removal.withinBound ? 'within' : 'EXCEEDED'}); revival median ${out.revival.median} ms; one real-server change applied in median ${out.applyOneChange.median} ms (max ${out.applyOneChange.max}, target < 20 ms)\n`);
  } finally {
    await lab.destroy();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench/lb-failover: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});
