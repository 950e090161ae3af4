// Figures: throughput through the VIP (nftables DNAT on the MASTER, and lb_kind DR) against
// plain routing through the same board, with iperf3 (TCP, and 64-byte UDP packets per second);
// and new TCP connections per second through the VIP against the same server addressed
// directly. Builds its own lab (one board, one real server holding the VIP on lo for DR),
// removed at the end even on failure. Needs root, iperf3 and trafgen (netsniff-ng).
// Run: node --import tsx bench/throughput.ts [--seconds 3] [--rounds 3] [--cps-seconds 3] [--parts tcp,pps,ring,cps]
// Prints one JSON object, then one summary line.
//
// Paths compared (all cross board a, the same veths and bridges):
//   vip (NAT): client → 203.0.113.1:5201 (virtual_server sh) → DNAT → rs1 192.0.2.11:5201
//   dr:        client → 203.0.113.1:5202 (lb_kind DR, sh) → netdev ingress fwd → rs1, whose
//              iperf3 listens on the VIP (on its lo); replies come back through the board
//              (its gateway), notrack
//   routed:    client → 192.0.2.11:5201 directly (the client routes 192.0.2.0/24 via the VIP)
// iperf3 opens a control connection and data connections to one port; sh keeps one client's
// connections on one real server (there is only one here anyway). Packets per second: iperf3
// -u -l 18 -b 0 (18-byte payloads: 46-byte IP packets, 64-byte Ethernet frames), one sender,
// counted where they reach rs1: an nft rule there counts and drops them before any socket
// (iperf3's own receiver, not the path, was the bottleneck: it lost 15-20 % at these rates and
// its figures said more about its socket than about the board). The client-to-server direction
// is all there is, so the figure is the path's per-packet cost: one sender pushes packets as
// fast as the sender, the switches and the board together let it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLab, LAB_ADDR, type Lab } from '../test/lab/lab.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';
import { waitHolder } from '../test/lab/vrrp-helpers.ts';
import { virtualServerBlock, startTcpEcho } from '../test/lab/lb-helpers.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const seconds = Math.min(30, Math.max(1, Number(arg('seconds', '3'))));
const rounds = Math.min(10, Math.max(1, Number(arg('rounds', '3'))));
const cpsSeconds = Math.min(30, Math.max(1, Number(arg('cps-seconds', '3'))));
/** Which figures: tcp (iperf3 Gbit/s), pps (iperf3 senders), ring (trafgen sender), cps. */
const parts = new Set(arg('parts', 'tcp,pps,ring,cps').split(','));

const VIP = LAB_ADDR.publicVip;
const RS1 = LAB_ADDR.realServer(1);

/**
 * argv: ADDR PORT SECONDS CONCURRENCY. Opens connections for SECONDS: connect, send a line,
 * wait for its echo, reset (RST: no TIME_WAIT piling up on the client). Prints
 * {"done":n,"errors":n,"seconds":s} as JSON. Bounded by SECONDS plus the last connections.
 */
const CPS_CLIENT_JS = `
const net = require('net');
const [addr, port, secs, conc] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const t0 = Date.now(), end = t0 + secs * 1000;
let done = 0, errors = 0, active = 0;
function one() {
  if (Date.now() >= end) { if (active === 0) finish(); return; }
  active++;
  const s = net.connect({ host: addr, port });
  let ok = false;
  const timer = setTimeout(() => s.destroy(new Error('timeout')), 3000);
  s.on('connect', () => s.write('x\\n'));
  s.on('data', () => { ok = true; clearTimeout(timer); s.resetAndDestroy(); });
  s.on('error', () => {});
  s.on('close', () => { clearTimeout(timer); active--; if (ok) done++; else errors++; one(); });
}
let finished = false;
function finish() { if (finished) return; finished = true; process.stdout.write(JSON.stringify({ done, errors, seconds: (Date.now() - t0) / 1000 })); }
for (let i = 0; i < conc; i++) one();
`;

interface IperfResult {
  bitsPerSecond: number;
  retransmits: number | null;
}

async function iperf(lab: Lab, target: string, port = 5201): Promise<IperfResult> {
  const r = await lab.exec('client', ['iperf3', '-c', target, '-p', String(port), '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 });
  // iperf3 -J prints its JSON (with an "error" member on failure) on stdout; shape it by hand.
  let j: { error?: string; end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } } };
  try {
    j = JSON.parse(r.stdout) as typeof j;
  } catch {
    throw new Error(`iperf3 to ${target}: exit ${String(r.code)}: ${r.stderr.trim() || r.stdout.slice(0, 200)}`);
  }
  if (j.error || r.code !== 0) throw new Error(`iperf3 to ${target}: ${j.error ?? `exit ${String(r.code)}`}`);
  const bps = j.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') throw new Error(`iperf3 to ${target}: no sum_received in its report`);
  return { bitsPerSecond: bps, retransmits: j.end?.sum_sent?.retransmits ?? null };
}

/** The sink on rs1: 46-byte UDP packets to the iperf3 ports are counted and dropped at prerouting (iperf3's 32-byte handshake passes). */
const SINK = 'table ip bench_sink {\n  chain pre {\n    type filter hook prerouting priority raw; policy accept;\n    ip length 46 udp dport { 5201, 5202 } counter drop\n  }\n}\n';

async function sinkCount(lab: Lab): Promise<number> {
  const r = await lab.exec('rs1', ['nft', '-j', 'list', 'chain', 'ip', 'bench_sink', 'pre']);
  // nft -j output is external data; shaped by hand.
  const j = JSON.parse(r.stdout) as { nftables: Array<{ rule?: { expr: Array<{ counter?: { packets: number } }> } }> };
  for (const o of j.nftables) {
    const c = o.rule?.expr.find((e) => e.counter)?.counter;
    if (c) return c.packets;
  }
  throw new Error('no sink counter on rs1');
}

/** 64-byte UDP frames, as fast as one iperf3 sender goes: packets that reached rs1, per second. */
async function pps(lab: Lab, target: string, port: number): Promise<{ perSecond: number }> {
  const before = await sinkCount(lab);
  const r = await lab.exec('client', ['iperf3', '-c', target, '-p', String(port), '-u', '-l', '18', '-b', '0', '-t', String(seconds), '-J'],
    { timeoutMs: (seconds + 20) * 1000 });
  const after = await sinkCount(lab);
  let j: { error?: string };
  try {
    j = JSON.parse(r.stdout) as typeof j;
  } catch {
    throw new Error(`iperf3 -u to ${target}:${port}: exit ${String(r.code)}: ${r.stderr.trim() || r.stdout.slice(0, 200)}`);
  }
  if (j.error || r.code !== 0) throw new Error(`iperf3 -u to ${target}:${port}: ${j.error ?? `exit ${String(r.code)}`}`);
  return { perSecond: Math.round((after - before) / seconds) };
}

/** The client's MAC and the MAC the VIP answers from (board a's eth0: it holds the VIP), for frames built by hand. */
async function macs(lab: Lab): Promise<{ client: string; vip: string }> {
  return { client: await lab.mac('client', 'eth0'), vip: await lab.mac('a', 'eth0') };
}

/**
 * 64-byte UDP frames from a packet socket (trafgen: a memory-mapped ring, one frame written once
 * and sent over and over, no socket, route or neighbour lookup of the sender's own), for
 * `seconds`: packets that reached rs1, per second, and what the sender offered. The sender then
 * costs little beside the path, so the figure is the path's per-packet cost: the board's share
 * is no longer diluted by a socket sender's. One flow (fixed ports): the NAT path pays a
 * conntrack lookup per packet, not a new entry.
 */
async function ppsRing(lab: Lab, m: { client: string; vip: string }, dir: string, target: string, port: number): Promise<{ perSecond: number; offeredPerSecond: number }> {
  const conf = join(dir, `udp-${target}-${port}.cfg`);
  // eth 14 + IPv4 20 + UDP 8 + 18 bytes = 60 (64 with the FCS), as iperf3 -l 18 sends; the
  // sink counts IP length 46.
  await writeFile(conf, `{\n  eth(da=${m.vip}, sa=${m.client}, type=0x0800),\n  ipv4(saddr=${LAB_ADDR.client}, daddr=${target}, ttl=64),\n  udp(sport=40000, dport=${port}),\n  fill(0x41, 18),\n}\n`);
  const before = await sinkCount(lab);
  const r = await lab.exec('client', ['timeout', '-s', 'INT', String(seconds), 'trafgen', '--dev', 'eth0', '--conf', conf, '--cpus', '1'],
    { timeoutMs: (seconds + 20) * 1000 });
  const after = await sinkCount(lab);
  // trafgen prints "N packets outgoing" when SIGINT stops it (exit 0).
  const sent = Number(/(\d+) packets outgoing/.exec(r.stdout + r.stderr)?.[1] ?? NaN);
  if (!Number.isFinite(sent)) throw new Error(`trafgen to ${target}:${port}: exit ${String(r.code)}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
  return { perSecond: Math.round((after - before) / seconds), offeredPerSecond: Math.round(sent / seconds) };
}

async function cps(lab: Lab, target: string, port: number): Promise<{ perSecond: number; done: number; errors: number }> {
  const r = await lab.exec('client', [process.execPath, '-e', CPS_CLIENT_JS, target, String(port), String(cpsSeconds), '16'],
    { timeoutMs: (cpsSeconds + 20) * 1000 });
  if (r.code !== 0) throw new Error(`cps client to ${target}: exit ${String(r.code)}: ${r.stderr.trim()}`);
  const j = JSON.parse(r.stdout) as { done: number; errors: number; seconds: number };
  return { perSecond: Math.round(j.done / j.seconds), done: j.done, errors: j.errors };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const lab = await createLab({ name: 'bench-throughput', realServers: 1, drVips: [VIP] });
  const scratch = await mkdtemp(join(tmpdir(), 'tandem-throughput-'));
  try {
    const iperfServer = lab.spawn('rs1', ['iperf3', '-s', '-p', '5201', '--forceflush'], { label: 'rs1:iperf3' });
    await iperfServer.waitForLog(/Server listening on 5201/, 10_000);
    // DR: the real server answers from the VIP, so its iperf3 listens there (UDP replies of a
    // socket on 0.0.0.0 would leave from its own address).
    const drServer = lab.spawn('rs1', ['iperf3', '-s', '-p', '5202', '-B', VIP, '--forceflush'], { label: 'rs1:iperf3-dr' });
    await drServer.waitForLog(/Server listening on 5202/, 10_000);
    await startTcpEcho(lab, 'rs1', 9000);
    const sink = await lab.exec('rs1', ['nft', '-f', '-'], { input: SINK });
    if (sink.code !== 0) throw new Error(`the sink on rs1: ${sink.stderr.trim()}`);
    // No health checker on 5201/5202: iperf3's server takes one test at a time and would count
    // check connections as failed tests.
    const extra = [
      virtualServerBlock({ address: VIP, port: 5201, lbAlgo: 'sh', realServers: [{ address: RS1, port: 5201 }] }),
      virtualServerBlock({ address: VIP, port: 5201, protocol: 'UDP', lbAlgo: 'sh', realServers: [{ address: RS1, port: 5201 }] }),
      virtualServerBlock({ address: VIP, port: 5202, lbAlgo: 'sh', lbKind: 'DR', realServers: [{ address: RS1, port: 5202 }] }),
      virtualServerBlock({ address: VIP, port: 5202, protocol: 'UDP', lbAlgo: 'sh', lbKind: 'DR', realServers: [{ address: RS1, port: 5202 }] }),
      virtualServerBlock({ address: VIP, port: 9000, lbAlgo: 'rr', realServers: [{ address: RS1, port: 9000 }] }),
    ].join('\n');
    const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, version: 3, advertInt: 0.2, extra }),
      { waitForLog: /Entering MASTER STATE/, logLevel: 'info' });
    await waitHolder(lab, 'a');
    await a.waitForLog(/table ip tandem applied/);

    const vip: number[] = [];
    const dr: number[] = [];
    const routed: number[] = [];
    const ppsVip: number[] = [];
    const ppsDr: number[] = [];
    const ppsRouted: number[] = [];
    const t0 = performance.now();
    // Alternate the paths so a neighbour's load on this shared machine hits them alike.
    for (let i = 0; i < rounds && parts.has('tcp'); i++) {
      vip.push((await iperf(lab, VIP)).bitsPerSecond);
      dr.push((await iperf(lab, VIP, 5202)).bitsPerSecond);
      routed.push((await iperf(lab, RS1)).bitsPerSecond);
    }
    for (let i = 0; i < rounds && parts.has('pps'); i++) {
      ppsVip.push((await pps(lab, VIP, 5201)).perSecond);
      ppsDr.push((await pps(lab, VIP, 5202)).perSecond);
      ppsRouted.push((await pps(lab, RS1, 5201)).perSecond);
    }
    // The same three paths with a packet-socket sender (ppsRing).
    const ringVip: Array<{ perSecond: number; offeredPerSecond: number }> = [];
    const ringDr: typeof ringVip = [];
    const ringRouted: typeof ringVip = [];
    const m = parts.has('ring') ? await macs(lab) : null;
    for (let i = 0; i < rounds && m; i++) {
      ringVip.push(await ppsRing(lab, m, scratch, VIP, 5201));
      ringDr.push(await ppsRing(lab, m, scratch, VIP, 5202));
      ringRouted.push(await ppsRing(lab, m, scratch, RS1, 5201));
    }
    const none = { perSecond: NaN, done: 0, errors: 0 };
    const cpsVip = parts.has('cps') ? await cps(lab, VIP, 9000) : none;
    const cpsRouted = parts.has('cps') ? await cps(lab, RS1, 9000) : none;
    const gbps = (x: number): number => Math.round(x / 1e7) / 100;
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    const ratio = median(vip) / median(routed);
    const perSecond = (xs: Array<{ perSecond: number }>): number => median(xs.map((x) => x.perSecond));
    const ringMedian = { nat: perSecond(ringVip), dr: perSecond(ringDr), routed: perSecond(ringRouted) };
    const out = {
      bench: 'throughput',
      seconds, rounds,
      vipGbps: vip.map(gbps), drGbps: dr.map(gbps), routedGbps: routed.map(gbps),
      vipMedianGbps: gbps(median(vip)), drMedianGbps: gbps(median(dr)), routedMedianGbps: gbps(median(routed)),
      ratio: r3(ratio), ratioTarget: 0.9,
      drToRouted: r3(median(dr) / median(routed)), drToNat: r3(median(dr) / median(vip)),
      packetsPerSecond64: {
        nat: ppsVip, dr: ppsDr, routed: ppsRouted,
        median: { nat: median(ppsVip), dr: median(ppsDr), routed: median(ppsRouted) },
        drToRouted: r3(median(ppsDr) / median(ppsRouted)), drToRoutedTarget: 1,
        drToNat: r3(median(ppsDr) / median(ppsVip)), drToNatTarget: 1.2,
      },
      packetsPerSecond64Ring: {
        sender: 'trafgen (packet socket, one core)',
        nat: ringVip, dr: ringDr, routed: ringRouted,
        median: ringMedian,
        drToRouted: r3(ringMedian.dr / ringMedian.routed), drToRoutedTarget: 1,
        drToNat: r3(ringMedian.dr / ringMedian.nat), drToNatTarget: 1.2,
      },
      newConnectionsPerSecond: { vip: cpsVip, routed: cpsRouted, ratio: Math.round((cpsVip.perSecond / cpsRouted.perSecond) * 1000) / 1000 },
      wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
      cpus: (await import('node:os')).cpus().length,
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    const p = out.packetsPerSecond64;
    const q = out.packetsPerSecond64Ring;
    process.stdout.write(`throughput: NAT ${out.vipMedianGbps} / DR ${out.drMedianGbps} / routed ${out.routedMedianGbps} Gbit/s, NAT/routed ${out.ratio} (target >= 0.9: ${ratio >= 0.9 ? 'met' : 'NOT met'}); 64-byte UDP pps NAT ${p.median.nat} / DR ${p.median.dr} / routed ${p.median.routed}, DR/routed ${p.drToRouted} (target >= 1: ${p.drToRouted >= 1 ? 'met' : 'NOT met'}), DR/NAT ${p.drToNat} (target >= 1.2: ${p.drToNat >= 1.2 ? 'met' : 'NOT met'}) with iperf3 senders; with a packet-socket sender NAT ${q.median.nat} / DR ${q.median.dr} / routed ${q.median.routed}, DR/routed ${q.drToRouted} (target >= 1: ${q.drToRouted >= 1 ? 'met' : 'NOT met'}), DR/NAT ${q.drToNat} (target >= 1.2: ${q.drToNat >= 1.2 ? 'met' : 'NOT met'}); new connections/s VIP ${cpsVip.perSecond} vs routed ${cpsRouted.perSecond}\n`);
  } finally {
    await lab.destroy();
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench/throughput: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});
