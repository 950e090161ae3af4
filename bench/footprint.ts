// Footprint of one board as it runs in production: a sync group of two instances, a virtual
// server with TCP checks, MQTT to a real mosquitto (health_interval and keepalive at tandem's
// defaults, 10 s and 30 s, unless --health-s / --keepalive-s) and the serial console on a pty. Measured
// `--after-s` seconds after start: RSS and anonymous memory of the whole process tree (the daemon
// and every helper process it started), per process, and idle CPU over `--idle-s` seconds, at each
// advert interval, on this host's Node.js and as the image runs (`--image DIR`: an unpacked
// image, e.g. dist/firmware/tandem-VERSION-generic-x64 from firmware/build-image.sh generic-x64:
// its bin/node runs its lib/tandem/tandem.js with the raw-socket it built for that Node.js). Beside it, the
// same measurement of keepalived running the same VRRP configuration. Needs root (the lab).
//
//   node --import tsx bench/footprint.ts [--intervals 1,0.1] [--after-s 60] [--idle-s 20] [--image DIR] [--smaps] [--health-s 10] [--keepalive-s 30]
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { createLab, LAB_ADDR, type Lab } from '../test/lab/lab.ts';
import { startKeepalived, keepalivedVersion } from '../test/lab/keepalived.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';
import { mqttBlock, startLabBroker } from '../test/lab/mosquitto.ts';
import { serialBlock, startSocat } from '../test/lab/serial-console.ts';
import { startTcpEcho, tcpCheck, virtualServerBlock } from '../test/lab/lb-helpers.ts';
import { processTree, threadStats, type Stat } from '../test/lab/proc-tree.ts';

const { values: flags } = parseArgs({
  options: {
    intervals: { type: 'string', default: '1,0.1' },
    'after-s': { type: 'string', default: '60' },
    'idle-s': { type: 'string', default: '20' },
    image: { type: 'string' },
    /** Extra Node.js flags for the image's node (experiments: V8 compiler flags). */
    'image-flags': { type: 'string' },
    only: { type: 'string' },
    /** Extra NODE_OPTIONS for the daemon (experiments: V8 heap flags). */
    'node-options': { type: 'string' },
    /** Also where the daemon's memory and idle CPU are: its RSS by mapping (/proc/PID/smaps),
     *  largest first, and its CPU by thread. */
    smaps: { type: 'boolean', default: false },
    /** The mqtt block's health_interval and keepalive: tandem's defaults unless given. */
    'health-s': { type: 'string', default: '10' },
    'keepalive-s': { type: 'string', default: '30' },
  },
});
const INTERVALS = String(flags.intervals).split(',').map(Number).filter((x) => x > 0);
const AFTER_S = Number(flags['after-s']);
const IDLE_S = Number(flags['idle-s']);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Figure { treeRssMiB: number; treeAnonMiB: number; idleCpuPct: number; processes: Array<{ comm: string; rssMiB: number; anonMiB: number }>; daemonByMapping?: Array<[string, number]>; daemonThreadsCpuPct?: Array<[string, number]> }

/** The process's RSS (MiB) by mapping: the file mapped, or [anon], [heap], [stack]. */
async function byMapping(pid: number): Promise<Array<[string, number]>> {
  const by = new Map<string, number>();
  let cur = '';
  for (const l of (await readFile(`/proc/${pid}/smaps`, 'utf8')).split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (m) { cur = m[1] || '[anon]'; continue; }
    const r = /^Rss:\s+(\d+)/.exec(l);
    if (r) by.set(cur, (by.get(cur) ?? 0) + Number(r[1]));
  }
  return [...by].filter(([, k]) => k >= 256).sort((a, b) => b[1] - a[1]).map(([n, k]) => [n, mib(k)]);
}

const mib = (kib: number): number => Math.round(kib / 102.4) / 10;

async function measure(root: () => Promise<number[]>): Promise<Figure> {
  await sleep(AFTER_S * 1000);
  const roots = await root();
  const first = await processTree(roots);
  const threads0 = flags.smaps ? await threadStats(roots[0]!) : new Map<number, Stat>();
  await sleep(IDLE_S * 1000);
  const last = await processTree(roots);
  const threads1 = flags.smaps ? await threadStats(roots[0]!) : new Map<number, Stat>();
  // Where the daemon's idle CPU goes, by thread name (main, the VRRP worker, V8's and libuv's).
  const perThread = new Map<string, number>();
  for (const [tid, { comm, ticks }] of threads1) perThread.set(comm, (perThread.get(comm) ?? 0) + ticks - (threads0.get(tid)?.ticks ?? ticks));
  const ticks = last.reduce((s, p) => s + p.ticks - (first.find((q) => q.pid === p.pid)?.ticks ?? p.ticks), 0);
  return {
    ...(flags.smaps ? { daemonByMapping: await byMapping(roots[0]!), daemonThreadsCpuPct: [...perThread].map(([c, t]): [string, number] => [c, Math.round((t / 100 / IDLE_S) * 1000) / 10]) } : {}),
    treeRssMiB: mib(last.reduce((s, p) => s + p.rssKiB, 0)),
    treeAnonMiB: mib(last.reduce((s, p) => s + p.anonKiB, 0)),
    idleCpuPct: Math.round((ticks / 100 / IDLE_S) * 1000) / 10,
    processes: last.map((p) => ({ comm: p.comm, rssMiB: mib(p.rssKiB), anonMiB: mib(p.anonKiB) })),
  };
}

function boardConfig(advertInt: number, extra: string): string {
  const vs = virtualServerBlock({
    address: LAB_ADDR.publicVip, port: 80, lbAlgo: 'mh', delayLoop: 5,
    realServers: [1, 2].map((i) => ({ address: `198.51.100.1${i}`, port: 8080, checker: tcpCheck({ connectTimeout: 2, retry: 1, delayBeforeRetry: 1 }) })),
  });
  return pairConfig({ routerId: 'lb-a', priority: 150, version: advertInt >= 1 ? 2 : 3, advertInt, extra: vs + extra });
}

async function tandem(advertInt: number, image?: string): Promise<Figure> {
  const command = image ? [resolve(image, 'bin/node'), ...String(flags['image-flags'] ?? '').split(' ').filter(Boolean)] : undefined;
  const bundle = image ? resolve(image, 'lib/tandem/tandem.js') : undefined;
  const lab: Lab = await createLab({ name: 'bench-footprint', realServers: 2 });
  try {
    const broker = await startLabBroker(lab);
    const serial = await startSocat(lab, 'a');
    for (const rs of ['rs1', 'rs2'] as const) await startTcpEcho(lab, rs, 8080);
    const h = await lab.startBoard('a', boardConfig(advertInt, mqttBlock(broker.url, { healthIntervalS: Number(flags['health-s']), keepaliveS: Number(flags['keepalive-s']) }) + serialBlock(serial.ttyA)), {
      logLevel: 'info', command, bundle, env: flags['node-options'] ? { NODE_OPTIONS: flags['node-options'] } : undefined, waitForLog: /Entering MASTER STATE/, timeoutMs: 60_000,
    });
    return await measure(async () => [h.proc.pid]);
  } finally {
    await lab.destroy();
  }
}

async function keepalived(advertInt: number): Promise<Figure> {
  const lab = await createLab({ name: 'bench-footprint-ka', realServers: 0 });
  try {
    const k = await startKeepalived(lab, 'a', pairConfig({ routerId: 'lb-a', priority: 150, version: advertInt >= 1 ? 2 : 3, advertInt }), { waitForLog: /Entering MASTER STATE/ });
    return await measure(async () => [k.proc.pid]);
  } finally {
    await lab.destroy();
  }
}

const result: Record<string, unknown> = { bench: 'footprint', afterS: AFTER_S, idleS: IDLE_S, healthIntervalS: Number(flags['health-s']), keepaliveS: Number(flags['keepalive-s']), keepalived: await keepalivedVersion() };
const lines: string[] = [];
for (const i of INTERVALS) {
  const row: Record<string, Figure> = {};
  if (flags.only !== 'keepalived') row[`tandem_node${process.versions.node.split('.')[0]}`] = await tandem(i);
  if (flags.image && flags.only !== 'keepalived') row.tandem_image = await tandem(i, flags.image);
  if (flags.only !== 'tandem') row.keepalived_vrrp_only = await keepalived(i);
  result[`advert_int_${i}`] = row;
  lines.push(`@${i}s ` + Object.entries(row).map(([k, f]) => `${k} ${f.treeRssMiB} MiB (${f.treeAnonMiB} anon) ${f.idleCpuPct}% CPU`).join(', '));
}
console.log(JSON.stringify(result));
console.log(`footprint after ${AFTER_S} s (MQTT health_interval ${String(flags['health-s'])} s; whole process tree; target ≤ 60 MiB RSS, ≤ 20 MiB anonymous, ≤ 0.3 % CPU at 1 s): ${lines.join('; ')}`);
