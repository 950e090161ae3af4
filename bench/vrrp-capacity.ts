// What one VRRP advertisement costs the VRRP thread, sent and received: the measurement behind
// the board profiles' `capacity.vrrpPacketsPerSecond` (board/README.md "Capacity").
//
// A tandem pair in the lab with `--instances` VRRPv3 instances on eth0 at `--advert-int`: board a
// (priority 150) is MASTER of all and sends, board b (priority 100) is BACKUP of all and
// receives. Over `--window-s` seconds, the CPU time (utime + stime, /proc/PID/task/TID/stat) of
// each daemon's VRRP thread (the one running SCHED_RR) divided by the adverts it sent or
// received gives µs per packet; transitions in the window are counted (a figure that holds only
// with transitions is no capacity). Run it on a board itself (root) to calibrate its profile.
//
//   node --import tsx bench/vrrp-capacity.ts [--instances 20,50,100] [--advert-int 0.01] [--window-s 20]
import { parseArgs } from 'node:util';
import { createLab, type BoardHandle, type LabProcess } from '../test/lab/lab.ts';
import { threadStats } from '../test/lab/proc-tree.ts';

const { values: flags } = parseArgs({
  options: {
    instances: { type: 'string', default: '20,50,100' },
    'advert-int': { type: 'string', default: '0.01' },
    'window-s': { type: 'string', default: '20' },
  },
});
const COUNTS = String(flags.instances).split(',').map(Number).filter((n) => n > 0 && n <= 200);
const AI = Number(flags['advert-int']);
const WINDOW_S = Number(flags['window-s']);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function config(routerId: string, priority: number, n: number): string {
  let s = `global_defs {\n    router_id ${routerId}\n    vrrp_garp_master_delay 0\n}\n`;
  for (let i = 0; i < n; i++) {
    // VIPs 203.0.113.100 + i/4 … : documentation range, inside the lab only; a /32 each.
    s += `vrrp_instance VI_${i + 1} {
    state BACKUP
    interface eth0
    virtual_router_id ${i + 1}
    priority ${priority}
    advert_int ${AI}
    version 3
    virtual_ipaddress {
        203.0.113.${100 + (i % 150)}/32
    }
}
`;
  }
  return s;
}

interface Thread { tids: number[]; ticks: number }

/**
 * The daemon's SCHED_RR threads (policy 2, field 41 of /proc/…/stat) and their CPU ticks summed:
 * the VRRP thread and the threads it started (they inherit its policy), which work for it.
 */
async function vrrpThread(pid: number): Promise<Thread | null> {
  const out: Thread = { tids: [], ticks: 0 };
  for (const [tid, st] of await threadStats(pid)) {
    if (st.policy !== 2) continue;
    out.tids.push(tid);
    out.ticks += st.ticks;
  }
  return out.tids.length > 0 ? out : null;
}

function transitions(p: LabProcess, from: number): number {
  return p.lines.slice(Math.max(0, from - (p.mark() - p.lines.length))).filter((l) => /Entering (MASTER|BACKUP|FAULT) STATE/.test(l.text)).length;
}

interface Row { instances: number; advertInt: number; packetsPerSecond: number; sendUsPerPacket: number; recvUsPerPacket: number; sendCpuPct: number; recvCpuPct: number; transitionsInWindow: number }

async function one(n: number): Promise<Row> {
  const lab = await createLab({ name: 'bench-vrrp-capacity', realServers: 0 });
  try {
    const a: BoardHandle = await lab.startBoard('a', config('cap-a', 150, n), { logLevel: 'info', timeoutMs: 60_000 });
    const b: BoardHandle = await lab.startBoard('b', config('cap-b', 100, n), { logLevel: 'info', timeoutMs: 60_000 });
    await lab.waitFor(() => a.proc.lines.filter((l) => /Entering MASTER STATE/.test(l.text)).length >= n, { timeoutMs: 60_000, what: `${n} instances MASTER on a` });
    await sleep(3000);
    const [ta0, tb0] = [await vrrpThread(a.proc.pid), await vrrpThread(b.proc.pid)];
    if (!ta0 || !tb0) throw new Error('no SCHED_RR thread found (run as root)');
    const ma = a.proc.mark();
    const mb = b.proc.mark();
    await sleep(WINDOW_S * 1000);
    const [ta1, tb1] = [await vrrpThread(a.proc.pid), await vrrpThread(b.proc.pid)];
    const pps = n / AI;
    const packets = pps * WINDOW_S;
    const us = (t0: Thread, t1: Thread | null): number => Math.round((((t1?.ticks ?? t0.ticks) - t0.ticks) * 10_000) / packets * 10) / 10;
    const pct = (t0: Thread, t1: Thread | null): number => Math.round((((t1?.ticks ?? t0.ticks) - t0.ticks) / (WINDOW_S * 100)) * 1000) / 10;
    return {
      instances: n, advertInt: AI, packetsPerSecond: pps,
      sendUsPerPacket: us(ta0, ta1), recvUsPerPacket: us(tb0, tb1),
      sendCpuPct: pct(ta0, ta1), recvCpuPct: pct(tb0, tb1),
      transitionsInWindow: transitions(a.proc, ma) + transitions(b.proc, mb),
    };
  } finally {
    await lab.destroy();
  }
}

const rows: Row[] = [];
for (const n of COUNTS) rows.push(await one(n));
console.log(JSON.stringify({ bench: 'vrrp-capacity', node: process.versions.node, windowS: WINDOW_S, rows }));
console.log('VRRP thread cost per advert (µs sent / received, CPU % of one core): ' +
  rows.map((r) => `${r.instances}×${r.advertInt}s = ${r.packetsPerSecond}/s: ${r.sendUsPerPacket}/${r.recvUsPerPacket} µs, ${r.sendCpuPct}/${r.recvCpuPct} %, ${r.transitionsInWindow} transitions`).join('; '));
