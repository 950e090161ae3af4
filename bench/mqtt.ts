// Figures for MQTT reporting, in the two-board lab with a real mosquitto inside it:
//
// 1. Latency from a VRRP transition to a subscriber receiving the retained vrrp/INSTANCE
//    message: the subscriber's receive time minus the payload's `since` (the time the VRRP
//    worker changed state), over TRANSITIONS transitions of board b (MASTER when its namespace
//    drops VRRP with nft, BACKUP again when that is removed) — both instances each time.
// 2. The daemon's CPU (utime + stime of every thread, /proc/PID/stat) and RSS (VmRSS) over
//    SECONDS seconds, one board alone, with reporting at a 1 s health interval against no mqtt
//    block at all; the same VRRP configuration both times.
//
//   ./build.sh && node --import tsx bench/mqtt.ts      (root; BENCH_SECONDS, BENCH_TRANSITIONS)
// Prints one JSON object, then a one-line summary. Figures, not a test.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createLab, type Board, type Lab } from '../test/lab/lab.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';
import { waitHolder } from '../test/lab/vrrp-helpers.ts';
import { json, mqttBlock, startLabBroker, subscribe, type LabBroker, type Subscriber } from '../test/lab/mosquitto.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const TRANSITIONS = Number(process.env.BENCH_TRANSITIONS ?? 10);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const started = /Entering (BACKUP|MASTER|FAULT) STATE/;
const NODE: Record<Board, string> = { a: 'lb-a', b: 'lb-b' };

function config(b: Board, broker: LabBroker | null): string {
  return pairConfig({
    routerId: NODE[b],
    priority: b === 'a' ? 150 : 100,
    version: 3,
    advertInt: 1,
    extra: broker ? mqttBlock(broker.url, { keepaliveS: 10, healthIntervalS: 1 }) : '',
  });
}

/** utime + stime in seconds, all threads (fields 14 and 15 of /proc/PID/stat, proc(5)). */
async function cpuSeconds(pid: number): Promise<number> {
  const s = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

async function rssKb(pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function stats(xs: number[]): { n: number; min: number; median: number; p90: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { n: s.length, min: s[0] ?? NaN, median: q(0.5), p90: q(0.9), max: s[s.length - 1] ?? NaN };
}

async function nft(lab: Lab, b: Board, args: string[]): Promise<void> {
  await lab.exec(b, ['nft', ...args], { check: true });
}

async function latency(lab: Lab, sub: Subscriber): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < TRANSITIONS; i++) {
    const toMaster = i % 2 === 0;
    const from = sub.msgs.length;
    if (toMaster) {
      await nft(lab, 'b', ['add', 'table', 'ip', 'blockvrrp']);
      await nft(lab, 'b', ['add', 'chain', 'ip', 'blockvrrp', 'in', '{ type filter hook input priority -10 ; policy accept ; }']);
      await nft(lab, 'b', ['add', 'rule', 'ip', 'blockvrrp', 'in', 'ip', 'protocol', 'vrrp', 'drop']);
    } else {
      await nft(lab, 'b', ['delete', 'table', 'ip', 'blockvrrp']);
    }
    const want = toMaster ? 'MASTER' : 'BACKUP';
    for (const inst of ['VI_PUB', 'VI_PRIV']) {
      const m = await sub.waitMsg(`b ${want} of ${inst}`, (x) => x.topic === `tandem/lb-b/vrrp/${inst}` && json(x).state === want, { from, timeoutMs: 15_000 });
      out.push(m.at - Date.parse(String(json(m).since)));
    }
  }
  return out;
}

async function footprint(lab: Lab, broker: LabBroker | null): Promise<{ cpuPercent: number; cpuSeconds: number; rssKb: number }> {
  const h = await lab.startBoard('a', config('a', broker), { waitForLog: started, logLevel: 'info' });
  await h.waitForLog(/Entering MASTER STATE/, 15_000);
  if (broker) await h.waitForLog(/mqtt: connected/, 15_000);
  // Let start-up work (bundle load, first health sample) settle before measuring.
  await new Promise((r) => setTimeout(r, 3000));
  const c0 = await cpuSeconds(h.proc.pid);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const c1 = await cpuSeconds(h.proc.pid);
  const wall = (Date.now() - t0) / 1000;
  const rss = await rssKb(h.proc.pid);
  await lab.stopBoard('a', 'SIGTERM');
  return { cpuPercent: Math.round(((c1 - c0) / wall) * 1000) / 10, cpuSeconds: Math.round((c1 - c0) * 100) / 100, rssKb: rss };
}

const lab = await createLab({ name: 'bench-mqtt', realServers: 1 });
try {
  const broker = await startLabBroker(lab);
  const sub = await subscribe(broker.localUrl, 'tandem/#');
  try {
    await lab.startBoard('a', config('a', broker), { waitForLog: started, logLevel: 'info' });
    await lab.startBoard('b', config('b', broker), { waitForLog: started, logLevel: 'info' });
    await waitHolder(lab, 'a');
    await sub.waitMsg('b BACKUP', (m) => m.topic === 'tandem/lb-b/vrrp/VI_PUB' && json(m).state === 'BACKUP');
    const lat = await latency(lab, sub);
    await lab.stopBoard('b', 'SIGTERM');
    await lab.stopBoard('a', 'SIGTERM');

    const off = await footprint(lab, null);
    const on = await footprint(lab, broker);
    const l = stats(lat);
    const result = {
      bench: 'mqtt',
      transitionToSubscriberMs: l,
      footprintSeconds: SECONDS,
      reportingOff: off,
      reportingOn1s: on,
      cpuPercentDelta: Math.round((on.cpuPercent - off.cpuPercent) * 10) / 10,
      rssKbDelta: on.rssKb - off.rssKb,
      cores: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
      loadavg1: Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[0]),
      node: process.version,
    };
    console.log(JSON.stringify(result));
    console.log(
      `mqtt: transition→subscriber median ${l.median} ms, p90 ${l.p90} ms, max ${l.max} ms (n=${l.n}); ` +
      `daemon over ${SECONDS} s: reporting off ${off.cpuPercent}% CPU ${Math.round(off.rssKb / 1024)} MiB RSS, ` +
      `on (1 s health) ${on.cpuPercent}% CPU ${Math.round(on.rssKb / 1024)} MiB RSS`,
    );
  } finally {
    await sub.close();
  }
} finally {
  await lab.destroy();
}
