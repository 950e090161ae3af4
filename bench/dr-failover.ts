// Figures: long-lived TCP connections surviving a failover of the MASTER, through lb_kind DR
// (no state at all: both boards compute the same slot tables) and, side by side, through NAT
// (the shared hash plus the mid-stream guard, DESIGN.md "Data plane"). Target for DR: 100 %.
// Builds its own lab (two boards, three real servers with the VIP on lo), removed at the end
// even on failure. Needs root and the bundle (./build.sh).
// Run: node --import tsx bench/dr-failover.ts [--conns 200] [--rounds 2]
// Each round: a graceful handover (SIGTERM of the MASTER), then a power loss (SIGKILL and
// carrier lost); the board comes back between them. Prints one JSON object, then one summary line.
import { createLab, LAB_ADDR, type Lab, type LabProcess } from '../test/lab/lab.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';
import { waitHolder } from '../test/lab/vrrp-helpers.ts';
import { virtualServerBlock, startTcpEcho, report, LONG_TCP_CLIENT_JS, type ConnReport } from '../test/lab/lb-helpers.ts';
import { addSourceRange } from '../test/lab/dr-helpers.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const conns = Math.min(1000, Math.max(1, Number(arg('conns', '200'))));
const rounds = Math.min(10, Math.max(1, Number(arg('rounds', '2'))));

const VIP = LAB_ADDR.publicVip;
const RS = [1, 2, 3].map((i) => LAB_ADDR.realServer(i));
const extra = [
  virtualServerBlock({ address: VIP, port: 7000, lbAlgo: 'mh', lbKind: 'DR', realServers: RS.map((a) => ({ address: a, port: 7000 })) }),
  virtualServerBlock({ address: VIP, port: 7001, lbAlgo: 'mh', realServers: RS.map((a) => ({ address: a, port: 7001 })) }),
].join('\n');
const cfgA = pairConfig({ routerId: 'lb-a', priority: 150, version: 3, advertInt: 0.2, extra });
const cfgB = pairConfig({ routerId: 'lb-b', priority: 100, version: 3, advertInt: 0.2, extra });
const started = /Entering (BACKUP|MASTER|FAULT) STATE/;

/** Connections still echoing (5 more echoes than at the failover) within 20 s, none moved. */
async function survivors(lab: Lab, p: LabProcess, base: ConnReport[]): Promise<number> {
  let last = base;
  const ok = (c: ConnReport, i: number): boolean => !c.closed && c.mismatch === 0 && c.echoes >= base[i]!.echoes + 5;
  await lab.waitFor(async () => {
    last = await report<ConnReport[]>(p);
    return last.every((c, i) => c.closed || ok(c, i));
  }, { timeoutMs: 20_000, intervalMs: 250 }).catch(() => undefined);
  return last.filter(ok).length;
}

async function main(): Promise<void> {
  const lab = await createLab({ name: 'bench-dr-failover', realServers: 3, drVips: [VIP] });
  try {
    for (let i = 1; i <= 3; i++) {
      await startTcpEcho(lab, `rs${i}`, 7000);
      await startTcpEcho(lab, `rs${i}`, 7001);
    }
    const sources = await addSourceRange(lab, 'client', '203.0.113.128', 26, 62);
    const a0 = await lab.startBoard('a', cfgA, { waitForLog: started, logLevel: 'info' });
    const b = await lab.startBoard('b', cfgB, { waitForLog: started, logLevel: 'info' });
    await a0.waitForLog(/table ip tandem applied/);
    await b.waitForLog(/table ip tandem applied/);
    await waitHolder(lab, 'a');
    const results: Array<{ round: number; kind: string; dr: number; nat: number }> = [];
    for (let round = 1; round <= rounds; round++) {
      for (const kind of ['graceful', 'power'] as const) {
        const start = (port: number): LabProcess => lab.spawn('client',
          [process.execPath, '-e', LONG_TCP_CLIENT_JS, VIP, String(port), String(conns), '100', sources.join(',')], { stdin: true, label: `client:${port}` });
        const dr = start(7000);
        const nat = start(7001);
        await dr.waitForLog(/^ready$/, 30_000).catch(async (e: Error) => {
          const r = await report<ConnReport[]>(dr);
          const bad = r.filter((c) => c.echoes === 0);
          throw new Error(`round ${round} ${kind}: ${e.message}: ${bad.length} without an echo, e.g. ${JSON.stringify(bad.slice(0, 3))}`);
        });
        await nat.waitForLog(/^ready$/, 30_000);
        const [d0, n0] = [await report<ConnReport[]>(dr), await report<ConnReport[]>(nat)];
        if (kind === 'graceful') await lab.stopBoard('a', 'SIGTERM');
        else await lab.powerOff('a');
        await waitHolder(lab, 'b', 15_000, kind === 'graceful');
        const [ds, ns] = await Promise.all([survivors(lab, dr, d0), survivors(lab, nat, n0)]);
        results.push({ round, kind, dr: ds, nat: ns });
        dr.child.stdin!.end();
        nat.child.stdin!.end();
        await Promise.all([dr.exited, nat.exited]);
        // a comes back as from a reboot: empty conntrack, daemon started before its links return.
        await lab.exec('a', ['conntrack', '-F']);
        const a = await lab.startBoard('a', cfgA, { waitForLog: started, logLevel: 'info' });
        await a.waitForLog(/table ip tandem applied/);
        if (kind === 'power') await lab.restoreLinks('a');
        await waitHolder(lab, 'a');
      }
    }
    const pct = (n: number): number => Math.round((n / conns) * 1000) / 10;
    const sum = (f: (r: (typeof results)[number]) => number): number => results.reduce((s, r) => s + f(r), 0);
    const out = {
      bench: 'dr-failover',
      connsPerVirtualServer: conns,
      rounds,
      results: results.map((r) => ({ ...r, drPercent: pct(r.dr), natPercent: pct(r.nat) })),
      drSurvivedPercent: Math.round((sum((r) => r.dr) / (conns * results.length)) * 1000) / 10,
      natSurvivedPercent: Math.round((sum((r) => r.nat) / (conns * results.length)) * 1000) / 10,
      drTargetPercent: 100,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    process.stdout.write(`dr-failover: ${conns} connections each, ${results.length} failovers (graceful and power loss): DR ${out.drSurvivedPercent} % survived (target 100 %: ${out.drSurvivedPercent === 100 ? 'met' : 'NOT met'}), NAT ${out.natSurvivedPercent} %\n`);
  } finally {
    await lab.destroy();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench/dr-failover: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});
