// Figures for VRRP: client-seen outage on failover, tandem pair vs keepalived pair, in
// the same lab (test/lab). Figures, not a test. Needs root. See bench/README.md.
//
//   node --import tsx bench/failover.ts [--runs 5 (0: only the per-interval figures)] [--intervals 1,0.1,0.02,0.01] [--spurious-s 60] [--idle-s 10] [--hogs 4] [--churn-mb 50] [--phase after-advert|random] [--only tandem|keepalived] [--family 4|6|both] [--floors on|off] [--vmac off|both] [--scenarios NAME,…]
//
// Outage: the client sends a UDP datagram every 2 ms to the public VIP, where both boards run a
// UDP echo bound to 0.0.0.0; the outage is the longest gap between two replies. Scenarios: the
// master loses power (daemon SIGKILLed, links lose carrier: lab.powerOff) at advert_int 1 (v2)
// and 0.1 (v3), and a graceful stop (SIGTERM: priority 0) at both. Median of --runs runs each.
// Spurious transitions: a v3 / 0.1 s pair for --spurious-s seconds while three busy loops
// saturate the master board's two CPUs. Idle: CPU% and RSS of the master's daemon process(es),
// two instances at advert_int 0.1, over --idle-s seconds.
// --family 6 (or both): the IPv6 variant of the v3 / 0.1 s scenarios on the lab with IPv6
// (test/lab/vrrp-configs.ts pairConfig6: VRRPv3 to ff02::12 from the link-local addresses, the
// public IPv6 VIP announced with unsolicited neighbour advertisements), the probe and the echo
// over UDP/IPv6 to the public IPv6 VIP; with both, the summary gives IPv6 against IPv4.
// --floors off skips the spurious-transition and idle figures.
// --vmac both: the IPv4 v3 / 0.1 s scenarios once more with use_vmac on both instances (the VIPs on
// macvlans with the RFC 5798 virtual MAC, so the client's ARP entry never changes), in the same
// lab setup and interval; the JSON's vmacVsPlain puts each beside the plain one.
// --scenarios NAME,…: only these scenarios (e.g. power_v3_0.1s,power_v3_0.1s_vmac).
// Prints one JSON object, then a one-line summary.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLab, type Lab, type LabProcess } from '../test/lab/lab.ts';
import { startKeepalived, keepalivedVersion, type KeepalivedHandle } from '../test/lab/keepalived.ts';
import { LAB_ADDR, LAB_ADDR6 } from '../test/lab/lab.ts';
import { pairConfig, pairConfig6 } from '../test/lab/vrrp-configs.ts';
import { waitHolder, waitHolder6 } from '../test/lab/vrrp-helpers.ts';
import { procInfo, processTree } from '../test/lab/proc-tree.ts';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'spurious-s': { type: 'string', default: '60' },
    'idle-s': { type: 'string', default: '10' },
    only: { type: 'string' },
    'churn-mb': { type: 'string', default: '50' },
    phase: { type: 'string', default: 'after-advert' },
    /** advert_int values (seconds) of the spurious, idle and extra power-loss figures. */
    intervals: { type: 'string', default: '0.1' },
    /** CPU-bound processes during the spurious run: one in the master's namespace, the rest outside. */
    hogs: { type: 'string', default: '4' },
    /** 4: the IPv4 scenarios (as before); 6: their IPv6 variant; both. */
    family: { type: 'string', default: '4' },
    floors: { type: 'string', default: 'on' },
    vmac: { type: 'string', default: 'off' },
    scenarios: { type: 'string' },
  },
});
const FAMILIES: Array<4 | 6> = flags.family === 'both' ? [4, 6] : flags.family === '6' ? [6] : [4];
const INTERVALS = String(flags.intervals).split(',').map(Number).filter((x) => x > 0);
const HOGS = Number(flags.hogs);
const RUNS = Number(flags.runs);
const SPURIOUS_S = Number(flags['spurious-s']);
const IDLE_S = Number(flags['idle-s']);
/** MB/s of garbage the master's tandem daemon makes on its main thread during the spurious run. */
const CHURN_MB = Number(flags['churn-mb']);
/** When the power goes: right after one of the master's adverts, or at a random phase. */
const PHASE = flags.phase === 'random' ? 'random' : 'after-advert';
const PORT = 9000;

type Impl = 'tandem' | 'keepalived';
interface Scenario { name: string; version: 2 | 3; advertInt: number; how: 'power' | 'graceful'; family: 4 | 6; vmac?: boolean }
/** VRRPv2 carries whole seconds only; anything shorter is v3 (RFC 5798 §5.2.7). */
const versionFor = (advertInt: number): 2 | 3 => (Number.isInteger(advertInt) ? 2 : 3);
const SCENARIOS4: Scenario[] = [
  { name: 'power_v2_1s', version: 2, advertInt: 1, how: 'power', family: 4 },
  { name: 'power_v3_0.1s', version: 3, advertInt: 0.1, how: 'power', family: 4 },
  { name: 'graceful_v2_1s', version: 2, advertInt: 1, how: 'graceful', family: 4 },
  { name: 'graceful_v3_0.1s', version: 3, advertInt: 0.1, how: 'graceful', family: 4 },
  ...INTERVALS.filter((i) => i !== 1 && i !== 0.1).map((i): Scenario => ({ name: `power_v3_${i}s`, version: 3, advertInt: i, how: 'power', family: 4 })),
];
/** VRRPv3 only: there is no VRRPv2 over IPv6 (RFC 5798). */
const SCENARIOS6: Scenario[] = [
  { name: 'power_v3_0.1s_ipv6', version: 3, advertInt: 0.1, how: 'power', family: 6 },
  { name: 'graceful_v3_0.1s_ipv6', version: 3, advertInt: 0.1, how: 'graceful', family: 6 },
];
const SCENARIOS_VMAC: Scenario[] = [
  { name: 'power_v3_0.1s_vmac', version: 3, advertInt: 0.1, how: 'power', family: 4, vmac: true },
  { name: 'graceful_v3_0.1s_vmac', version: 3, advertInt: 0.1, how: 'graceful', family: 4, vmac: true },
];
const ONLY_SCENARIOS = flags.scenarios ? new Set(String(flags.scenarios).split(',')) : null;
const SCENARIOS: Scenario[] = [
  ...(FAMILIES.includes(4) ? SCENARIOS4 : []), ...(FAMILIES.includes(6) ? SCENARIOS6 : []),
  ...(flags.vmac === 'both' && FAMILIES.includes(4) ? SCENARIOS_VMAC : []),
].filter((s) => ONLY_SCENARIOS === null || ONLY_SCENARIOS.has(s.name));

/** Quiet UDP echo (the lab's own echo logs every datagram, too much at 500/s). argv: PORT FAMILY. */
const ECHO_JS = `
const six = process.argv[2] === '6';
const s = require('dgram').createSocket(six ? 'udp6' : 'udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(Number(process.argv[1]), six ? '::' : '0.0.0.0', () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * The probe. argv: ADDRESS PORT. Sends a sequence number every 2 ms; on SIGTERM prints
 * {"sent","received","maxGapMs"} where maxGapMs is the longest time between two replies.
 */
const PROBE_JS = `
const s = require('dgram').createSocket(require('net').isIPv6(process.argv[1]) ? 'udp6' : 'udp4');
const [addr, port] = [process.argv[1], Number(process.argv[2])];
let seq = 0, received = 0, last = 0, maxGap = 0;
s.on('message', () => {
  const now = performance.now();
  if (last) maxGap = Math.max(maxGap, now - last);
  last = now; received++;
  if (received === 1) console.log('first reply');
});
s.on('error', () => {});
s.bind(0, () => {
  console.log('ready');
  const b = Buffer.alloc(8);
  setInterval(() => { b.writeDoubleBE(seq++); s.send(b, port, addr, () => {}); }, 2);
});
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ sent: seq, received, maxGapMs: Math.round(maxGap * 10) / 10 }));
  process.exit(0);
});
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A board's VRRP daemon, whichever implementation. */
interface Daemon { pids(): Promise<number[]>; proc: LabProcess; graceful(): Promise<void>; }

async function startDaemon(lab: Lab, impl: Impl, board: 'a' | 'b', version: 2 | 3, advertInt: number, env?: Record<string, string>, family: 4 | 6 = 4, vmac = false): Promise<Daemon> {
  const priority = board === 'a' ? 150 : 100;
  const cfg = family === 6
    ? pairConfig6({ routerId: `${impl}-${board}`, priority, advertInt })
    : pairConfig({ routerId: `${impl}-${board}`, priority, version, advertInt, ...(vmac ? { instanceExtra: '    use_vmac\n' } : {}) });
  if (impl === 'tandem') {
    // info: the bench must not pay for debug logging of every advert.
    const h = await lab.startBoard(board, cfg, { logLevel: 'info', env, waitForLog: /Entering (BACKUP|MASTER) STATE/ });
    return { proc: h.proc, pids: async () => [h.proc.pid], graceful: async () => { await h.proc.stop('SIGTERM'); } };
  }
  const k: KeepalivedHandle = await startKeepalived(lab, board, cfg, { waitForLog: /Entering (BACKUP|MASTER) STATE/ });
  return { proc: k.proc, pids: async () => [k.proc.pid, await k.vrrpPid()], graceful: async () => { await k.stop(); } };
}

async function crash(lab: Lab, impl: Impl, d: Daemon, board: 'a' | 'b'): Promise<void> {
  if (impl === 'tandem') {
    await lab.powerOff(board);
  } else {
    // lab.powerOff only knows tandem boards: SIGKILL keepalived's VRRP child and parent, cut links.
    const pids = await d.pids();
    await Promise.all([
      (async () => { for (const p of pids.reverse()) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } } await d.proc.exited; })(),
      lab.cutLinks(board),
    ]);
  }
}

/** waitHolder for a VMAC pair: the VIPs live on vrrp.51 and vrrp.52. */
async function waitVmacHolder(lab: Lab, board: 'a' | 'b', timeoutMs: number, alone: boolean): Promise<void> {
  const holds = async (b: 'a' | 'b'): Promise<boolean> =>
    (await lab.hasAddress(b, 'vrrp.51', LAB_ADDR.publicVip).catch(() => false)) && (await lab.hasAddress(b, 'vrrp.52', LAB_ADDR.privateVip).catch(() => false));
  const other = board === 'a' ? 'b' : 'a';
  await lab.waitFor(async () => (await holds(board)) && (!alone || !(await holds(other))), { timeoutMs, intervalMs: 50, what: `board ${board} holding the VIPs on its VMACs` });
}

async function outageRuns(impl: Impl, sc: Scenario): Promise<number[]> {
  const six = sc.family === 6;
  const lab = await createLab({ name: `bench-failover-${impl}-${sc.name}`, realServers: 0, ipv6: six });
  const holder = (b: 'a' | 'b', timeoutMs: number, alone = true): Promise<void> =>
    sc.vmac ? waitVmacHolder(lab, b, timeoutMs, alone) : (six ? waitHolder6 : waitHolder)(lab, b, timeoutMs, alone);
  try {
    for (const b of ['a', 'b'] as const) {
      const e = lab.spawn(b, [process.execPath, '-e', ECHO_JS, String(PORT), String(sc.family)], { label: `echo-${b}` });
      await e.waitForLog(/listening/);
    }
    await startDaemon(lab, impl, 'b', sc.version, sc.advertInt, undefined, sc.family, sc.vmac);
    let a = await startDaemon(lab, impl, 'a', sc.version, sc.advertInt, undefined, sc.family, sc.vmac);
    // What tcpdump on b waits for before the power goes: one of a's adverts on the public segment.
    const advertFilter = six ? `ip6 proto 112 and src ${await lab.linkLocal('a', 'eth0')}` : `ip proto 112 and src ${LAB_ADDR.board.a.eth0}`;
    const gaps: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await holder('a', 20_000);
      await sleep(500); // GARPs (NAs) out, neighbours settled
      const probe = lab.spawn('client', [process.execPath, '-e', PROBE_JS, six ? LAB_ADDR6.publicVip : LAB_ADDR.publicVip, String(PORT)], { label: 'probe' });
      await probe.waitForLog(/first reply/, 10_000);
      // The outage after a power loss is Master_Down_Interval minus the time since the master's
      // last advert: a random phase spreads single runs by a whole advert interval. With
      // --phase after-advert (the default) the power goes right after an advert seen on the
      // wire, the same moment for both implementations, so the figure compares their takeover
      // and not the dice; --phase random keeps the spread.
      await sleep(300 + Math.random() * sc.advertInt * 1000);
      if (sc.how === 'power' && PHASE === 'after-advert') {
        const seen = lab.spawn('b', ['tcpdump', '-l', '-n', '--immediate-mode', '-i', 'eth0', '-c', '1', advertFilter], { label: 'advert' });
        await seen.waitForLog(/listening on/, 5_000);
        await seen.exited;
      }
      if (sc.how === 'power') await crash(lab, impl, a, 'a');
      else await a.graceful();
      await holder('b', 20_000, sc.how === 'graceful');
      await sleep(1_000);
      await probe.stop('SIGTERM');
      const line = probe.lines.map((l) => l.text).find((l) => l.startsWith('{'));
      if (!line) throw new Error(`probe printed no result\n${probe.tail()}`);
      const r = JSON.parse(line) as { sent: number; received: number; maxGapMs: number };
      gaps.push(r.maxGapMs);
      process.stderr.write(`${impl} ${sc.name} run ${i + 1}: outage ${r.maxGapMs} ms (${r.received}/${r.sent} replies)\n`);
      if (sc.how === 'power') await lab.restoreLinks('a');
      a = await startDaemon(lab, impl, 'a', sc.version, sc.advertInt, undefined, sc.family, sc.vmac);
    }
    return gaps;
  } finally {
    await lab.destroy();
  }
}

const NONE = { ticks: 0, rssKiB: 0, anonKiB: 0 };
const procStat = async (pid: number) => (await procInfo(pid)) ?? NONE;

interface Floor { idleCpuPct: number; rssMiB: number; treeRssMiB: number; treeAnonMiB: number; spurious: number; spuriousSeconds: number }

async function idleAndSpurious(impl: Impl, advertInt: number): Promise<Floor> {
  const v = versionFor(advertInt);
  const lab = await createLab({ name: `bench-spurious-${impl}`, realServers: 0 });
  try {
    const b = await startDaemon(lab, impl, 'b', v, advertInt);
    const a = await startDaemon(lab, impl, 'a', v, advertInt);
    await waitHolder(lab, 'a', 20_000);
    await sleep(1_000);
    // Idle cost of the master's daemon (for keepalived: parent + VRRP child), and of the whole
    // process tree (tandem's helper processes; keepalived's children).
    const pids = await a.pids();
    const before = await Promise.all(pids.map(procStat));
    const t0 = performance.now();
    await sleep(IDLE_S * 1000);
    const after = await Promise.all(pids.map(procStat));
    const tree = await processTree(pids);
    const secs = (performance.now() - t0) / 1000;
    const hz = 100; // USER_HZ on Linux
    const ticks = after.reduce((s, x, i) => s + x.ticks - before[i]!.ticks, 0);
    const idleCpuPct = Math.round((ticks / hz / secs) * 1000) / 10;
    const mib = (kib: number): number => Math.round(kib / 102.4) / 10;
    const rssMiB = mib(after.reduce((s, x) => s + x.rssKiB, 0));
    const treeRssMiB = mib(tree.reduce((s, x) => s + x.rssKiB, 0));
    const treeAnonMiB = mib(tree.reduce((s, x) => s + x.anonKiB, 0));

    let spurious = 0;
    if (SPURIOUS_S > 0) {
      // The master's daemon also churns its main thread's heap (bench/heap-churn.mjs, preloaded
      // with NODE_OPTIONS): tandem is restarted with it; keepalived has no such thing.
      if (impl === 'tandem') {
        await lab.stopBoard('a', 'SIGTERM');
        await waitHolder(lab, 'b', 20_000);
        const preload = fileURLToPath(new URL('./heap-churn.mjs', import.meta.url));
        await startDaemon(lab, impl, 'a', v, advertInt, { NODE_OPTIONS: `--import ${preload}`, TANDEM_DEBUG_HEAP_CHURN_MB: String(CHURN_MB) });
        await waitHolder(lab, 'a', 20_000);
        await sleep(1_000);
      }
      const aNow = impl === 'tandem' ? lab.board('a')!.proc : a.proc;
      const markA = aNow.mark();
      const markB = b.proc.mark();
      // One hog in the master's namespace, the others outside any board: all compete for the
      // same two CPUs.
      const inA = HOGS > 0 ? [lab.spawn('a', [process.execPath, '-e', 'for(;;){}'], { label: 'hog-a' })] : [];
      const outside = Array.from({ length: Math.max(0, HOGS - 1) }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
      try {
        await sleep(SPURIOUS_S * 1000);
      } finally {
        for (const h of outside) h.kill('SIGKILL');
        await Promise.all(inA.map((h) => h.stop('SIGKILL')));
      }
      const count = (p: LabProcess, from: number): number =>
        p.lines.slice(Math.max(0, from - (p.mark() - p.lines.length))).filter((l) => /Entering (MASTER|BACKUP|FAULT) STATE/.test(l.text)).length;
      spurious = count(aNow, markA) + count(b.proc, markB);
    }
    return { idleCpuPct, rssMiB, treeRssMiB, treeAnonMiB, spurious, spuriousSeconds: SPURIOUS_S };
  } finally {
    await lab.destroy();
  }
}

const impls: Impl[] = flags.only ? [flags.only as Impl] : ['tandem', 'keepalived'];
const result: Record<string, unknown> = {
  bench: 'vrrp-failover', runs: RUNS, phase: PHASE, probeIntervalMs: 2, node: process.version, keepalived: await keepalivedVersion(),
};
const onlyFloor = flags.runs === '0';
const withFloors = flags.floors !== 'off';
result.families = FAMILIES;
for (const impl of impls) {
  const r: Record<string, unknown> = {};
  if (!onlyFloor) {
    for (const sc of SCENARIOS) {
      const gaps = await outageRuns(impl, sc);
      r[sc.name] = { medianMs: median(gaps), runsMs: gaps };
    }
  }
  if (withFloors) {
    const floors: Record<string, Floor> = {};
    for (const i of INTERVALS) floors[String(i)] = await idleAndSpurious(impl, i);
    r.atInterval = floors;
  }
  result[impl] = r;
}
const medianOf = (impl: Impl, sc: string): number | null =>
  (result[impl] as Record<string, { medianMs: number }> | undefined)?.[sc]?.medianMs ?? null;
// The IPv6 figures against the IPv4 ones of the same run: RFC 5798 timing is the same, so the
// outage should be within 5 % or 10 ms (whichever is larger) of IPv4's.
if (FAMILIES.length === 2 && !onlyFloor) {
  const cmp: Record<string, unknown> = {};
  for (const impl of impls) {
    for (const how of ['power', 'graceful']) {
      const v4 = medianOf(impl, `${how}_v3_0.1s`);
      const v6 = medianOf(impl, `${how}_v3_0.1s_ipv6`);
      if (v4 === null || v6 === null) continue;
      const diff = Math.round((v6 - v4) * 10) / 10;
      cmp[`${impl}_${how}`] = { ipv4Ms: v4, ipv6Ms: v6, diffMs: diff, within: Math.abs(diff) <= Math.max(10, 0.05 * v4) };
    }
  }
  result.ipv6VsIpv4 = cmp;
}
// VMAC against plain, same lab setup and interval: the outage should be at most equal.
if (SCENARIOS.some((s) => s.vmac) && !onlyFloor) {
  const cmp: Record<string, unknown> = {};
  for (const impl of impls) {
    for (const how of ['power', 'graceful']) {
      const plain = medianOf(impl, `${how}_v3_0.1s`);
      const vmac = medianOf(impl, `${how}_v3_0.1s_vmac`);
      if (plain === null || vmac === null) continue;
      cmp[`${impl}_${how}`] = { plainMs: plain, vmacMs: vmac, diffMs: Math.round((vmac - plain) * 10) / 10, atMostEqual: vmac <= plain };
    }
  }
  result.vmacVsPlain = cmp;
}
console.log(JSON.stringify(result));
const med = (impl: Impl, sc: string): string => `${medianOf(impl, sc) ?? '-'}`;
const sum = impls.map((impl) => {
  const f = (result[impl] as { atInterval?: Record<string, Floor> }).atInterval ?? {};
  const floors = Object.entries(f).map(([i, x]) => `@${i}s ${x.spurious} spurious/${x.spuriousSeconds}s, ${x.idleCpuPct}% CPU, tree ${x.treeRssMiB} MiB (${x.treeAnonMiB} anon)`).join(', ');
  const v4 = FAMILIES.includes(4) ? `power ${med(impl, 'power_v2_1s')}/${med(impl, 'power_v3_0.1s')} ms, graceful ${med(impl, 'graceful_v2_1s')}/${med(impl, 'graceful_v3_0.1s')} ms` : '';
  const v6 = FAMILIES.includes(6) ? `IPv6 power ${med(impl, 'power_v3_0.1s_ipv6')} ms, graceful ${med(impl, 'graceful_v3_0.1s_ipv6')} ms` : '';
  const vm = SCENARIOS.some((x) => x.vmac) ? `VMAC power ${med(impl, 'power_v3_0.1s_vmac')} ms, graceful ${med(impl, 'graceful_v3_0.1s_vmac')} ms` : '';
  return `${impl}: ${[v4, v6, vm].filter(Boolean).join('; ')}${floors ? `; ${floors}` : ''}`;
});
console.log(`failover outage (median of ${RUNS}; advert_int 1 v2 / 0.1 v3) — ${sum.join('; ')}`);
