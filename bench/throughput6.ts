// Figures: NAT66 throughput through the IPv6 VIP against routed IPv6 through the same board
// (target ratio >= 0.9, as throughput.ts's IPv4 NAT), with lb_kind DR over IPv6 beside them,
// and the IPv4 NAT path of the same lab for comparison. iperf3 (TCP), alternating paths.
// Builds its own lab (ipv6: true; one board, one real server holding the IPv6 VIP on lo for
// DR), removed at the end even on failure. Needs root and iperf3.
// Run: node --import tsx bench/throughput6.ts [--seconds 3] [--rounds 3]
// Prints one JSON object, then one summary line.
//
// Paths compared (all cross board a, the same veths and bridges):
//   nat66:  client → [2001:db8:0:1::1]:5201 (virtual_server sh) → DNAT (table ip6 tandem) → rs1 [2001:db8:0:2::11]:5201
//   dr6:    client → [2001:db8:0:1::1]:5202 (lb_kind DR, sh) → netdev ingress fwd ip6 → rs1, whose
//           iperf3 listens on the VIP (its lo); replies come back through the board (fe80::1), notrack
//   routed6: client → [2001:db8:0:2::11]:5201 directly (the client routes 2001:db8:0:2::/64 via the VIP)
//   nat4:   client → 203.0.113.1:5201 → DNAT (table ip tandem) → rs1 192.0.2.11:5201
import { performance } from 'node:perf_hooks';
import { createLab, LAB_ADDR, LAB_ADDR6, type Lab } from '../test/lab/lab.ts';
import { pairConfig6 } from '../test/lab/vrrp-configs.ts';
import { waitHolder, waitHolder6 } from '../test/lab/vrrp-helpers.ts';
import { virtualServerBlock } from '../test/lab/lb-helpers.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const seconds = Math.min(30, Math.max(1, Number(arg('seconds', '3'))));
const rounds = Math.min(10, Math.max(1, Number(arg('rounds', '3'))));

const VIP6 = LAB_ADDR6.publicVip;
const RS6 = LAB_ADDR6.realServer(1);
const VIP4 = LAB_ADDR.publicVip;
const RS4 = LAB_ADDR.realServer(1);

async function iperf(lab: Lab, target: string, port: number): Promise<number> {
  const r = await lab.exec('client', ['iperf3', '-c', target, '-p', String(port), '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 });
  // iperf3 -J prints its JSON (with an "error" member on failure) on stdout; shaped by hand.
  let j: { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
  try {
    j = JSON.parse(r.stdout) as typeof j;
  } catch {
    throw new Error(`iperf3 to ${target}: exit ${String(r.code)}: ${r.stderr.trim() || r.stdout.slice(0, 200)}`);
  }
  if (j.error || r.code !== 0) throw new Error(`iperf3 to ${target}: ${j.error ?? `exit ${String(r.code)}`}`);
  const bps = j.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') throw new Error(`iperf3 to ${target}: no sum_received in its report`);
  return bps;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const lab = await createLab({ name: 'bench-throughput6', realServers: 1, ipv6: true, drVips: [VIP6] });
  try {
    // One iperf3 server on every address for NAT and routing; one on the VIP (lo) for DR.
    const s1 = lab.spawn('rs1', ['iperf3', '-s', '-p', '5201', '--forceflush'], { label: 'rs1:iperf3' });
    await s1.waitForLog(/Server listening on 5201/, 10_000);
    const s2 = lab.spawn('rs1', ['iperf3', '-s', '-p', '5202', '-B', VIP6, '--forceflush'], { label: 'rs1:iperf3-dr6' });
    await s2.waitForLog(/Server listening on 5202/, 10_000);
    // No health checker: iperf3's server takes one test at a time and would count check
    // connections as failed tests.
    const extra = [
      virtualServerBlock({ address: VIP6, port: 5201, lbAlgo: 'sh', realServers: [{ address: RS6, port: 5201 }] }),
      virtualServerBlock({ address: VIP6, port: 5202, lbAlgo: 'sh', lbKind: 'DR', realServers: [{ address: RS6, port: 5202 }] }),
      virtualServerBlock({ address: VIP4, port: 5201, lbAlgo: 'sh', realServers: [{ address: RS4, port: 5201 }] }),
    ].join('\n');
    const a = await lab.startBoard('a', pairConfig6({ routerId: 'lb-a', priority: 150, advertInt: 0.2, dualStack: true, extra }),
      { waitForLog: /Entering MASTER STATE/, logLevel: 'info' });
    await waitHolder(lab, 'a');
    await waitHolder6(lab, 'a');
    await a.waitForLog(/table ip6 tandem with 2 IPv6 ones/);

    const nat66: number[] = [];
    const dr6: number[] = [];
    const routed6: number[] = [];
    const nat4: number[] = [];
    const t0 = performance.now();
    // Alternate the paths so a neighbour's load on this shared machine hits them alike.
    for (let i = 0; i < rounds; i++) {
      nat66.push(await iperf(lab, VIP6, 5201));
      routed6.push(await iperf(lab, RS6, 5201));
      dr6.push(await iperf(lab, VIP6, 5202));
      nat4.push(await iperf(lab, VIP4, 5201));
    }
    const gbps = (x: number): number => Math.round(x / 1e7) / 100;
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    const ratio = median(nat66) / median(routed6);
    const out = {
      bench: 'throughput6',
      seconds, rounds,
      nat66Gbps: nat66.map(gbps), routed6Gbps: routed6.map(gbps), dr6Gbps: dr6.map(gbps), nat4Gbps: nat4.map(gbps),
      median: { nat66: gbps(median(nat66)), routed6: gbps(median(routed6)), dr6: gbps(median(dr6)), nat4: gbps(median(nat4)) },
      nat66ToRouted6: r3(ratio), ratioTarget: 0.9,
      // Each round runs NAT66 and routed back to back: the ratio of a pair sees the same load
      // from the neighbours on this shared machine, so their median is steadier than the
      // ratio of the medians when the load swings between rounds.
      pairRatios: nat66.map((x, i) => r3(x / routed6[i]!)),
      pairRatioMedian: r3(median(nat66.map((x, i) => x / routed6[i]!))),
      dr6ToRouted6: r3(median(dr6) / median(routed6)),
      nat66ToNat4: r3(median(nat66) / median(nat4)),
      wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
      cpus: (await import('node:os')).cpus().length,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    process.stdout.write(`throughput6: NAT66 ${out.median.nat66} / routed IPv6 ${out.median.routed6} / DR6 ${out.median.dr6} / NAT IPv4 ${out.median.nat4} Gbit/s, NAT66/routed ${out.nat66ToRouted6} (target >= 0.9: ${ratio >= 0.9 ? 'met' : 'NOT met'}), per-round pairs ${out.pairRatioMedian} (${out.pairRatioMedian >= 0.9 ? 'met' : 'NOT met'})\n`);
  } finally {
    await lab.destroy();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench/throughput6: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});
