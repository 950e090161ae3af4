// Health metrics, cheap enough for a small ARM board every few seconds: a handful of small
// procfs/sysfs reads, all async (fs/promises), no child processes.
//
// Choices:
// - CPU % from two /proc/stat samples (the aggregate "cpu" line; busy = total - idle - iowait);
//   the first is taken when the collector is made, so the first health payload has CPU too.
// - Per-NIC counters from /proc/net/dev: the same kernel counters as
//   /sys/class/net/*/statistics/* (both come from dev_get_stats()), but one read instead of eight
//   per interface. Link from /sys/class/net/IF/{operstate,carrier}.
// - Temperature from /sys/class/thermal/thermal_zoneN/temp (millidegrees), N from the board
//   profile; without one, the first zone that exists.
// - systeminformation is not used here: its cpuTemperature() may spawn `sensors` and its other
//   calls gather far more than we publish. Everything we need is one file read away.
// - conntrack count from /proc/sys/net/netfilter/nf_conntrack_count; null when the module is not
//   loaded.
// - Event-loop lag from a probe timer (src/util/lag-probe.ts), reset after each sample.

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LagProbe } from '../util/lag-probe.ts';

export interface CpuTimes {
  total: number;
  idle: number;
}

/** The aggregate `cpu` line of /proc/stat (proc(5)). */
export function parseProcStat(text: string): CpuTimes | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return null;
  const f = line.trim().split(/\s+/u).slice(1).map(Number);
  if (f.length < 4 || f.some((x) => !Number.isFinite(x))) return null;
  // user nice system idle iowait irq softirq steal [guest guest_nice are already in user/nice]
  const upto = f.slice(0, 8);
  const total = upto.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { total, idle };
}

/** Busy percentage between two samples, null when not computable. */
export function cpuPercent(prev: CpuTimes | null, cur: CpuTimes | null): number | null {
  if (!prev || !cur) return null;
  const dt = cur.total - prev.total;
  if (dt <= 0) return null;
  const busy = dt - (cur.idle - prev.idle);
  return Math.round(Math.min(100, Math.max(0, (100 * busy) / dt)) * 10) / 10;
}

export interface MemInfo {
  totalKb: number;
  availableKb: number;
  usedPercent: number;
}

export function parseMeminfo(text: string): MemInfo | null {
  const v = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)/u.exec(line);
    if (m && m[1] && m[2]) v.set(m[1], Number(m[2]));
  }
  const total = v.get('MemTotal');
  if (!total) return null;
  // MemAvailable since Linux 3.14; older kernels: free + buffers + cached is the usual estimate.
  const avail = v.get('MemAvailable') ?? (v.get('MemFree') ?? 0) + (v.get('Buffers') ?? 0) + (v.get('Cached') ?? 0);
  return { totalKb: total, availableKb: avail, usedPercent: Math.round((1000 * (total - avail)) / total) / 10 };
}

/** /proc/uptime: seconds since boot (first field). */
export function parseUptime(text: string): number | null {
  const n = Number(text.trim().split(/\s+/u)[0]);
  return Number.isFinite(n) ? n : null;
}

/** thermal_zone temp: millidegrees Celsius. */
export function parseThermal(text: string): number | null {
  const t = text.trim();
  if (!/^-?\d+$/u.test(t)) return null;
  return Math.round(Number(t) / 100) / 10;
}

export interface NicCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** /proc/net/dev: two header lines, then `IF: rx(8 fields) tx(8 fields)`. */
export function parseNetDev(text: string): Map<string, NicCounters> {
  const out = new Map<string, NicCounters>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    const f = line.slice(i + 1).trim().split(/\s+/u).map(Number);
    if (!name || f.length < 16 || f.some((x) => !Number.isFinite(x))) continue;
    out.set(name, {
      rxBytes: f[0] ?? 0,
      rxPackets: f[1] ?? 0,
      rxErrors: f[2] ?? 0,
      rxDropped: f[3] ?? 0,
      txBytes: f[8] ?? 0,
      txPackets: f[9] ?? 0,
      txErrors: f[10] ?? 0,
      txDropped: f[11] ?? 0,
    });
  }
  return out;
}

export interface NicHealth extends NicCounters {
  name: string;
  operstate: string | null;
  /** null when the kernel refuses to say (carrier reads fail while the interface is down). */
  carrier: boolean | null;
}

export interface HealthPayload {
  time: string;
  /** So a viewer can tell "stale" without knowing the configuration. */
  intervalMs: number;
  cpuPercent: number | null;
  memory: MemInfo | null;
  temperatureC: number | null;
  uptimeS: number | null;
  nics: NicHealth[];
  conntrackCount: number | null;
  rssBytes: number;
  eventLoopLagMs: { mean: number; max: number; p99: number } | null;
}

export interface MetricsOptions {
  procRoot?: string;
  sysRoot?: string;
  /** Thermal zone number from the board profile; null picks the first zone present. */
  thermalZone?: number | null;
  /** Only these interfaces (default all except `lo`). */
  interfaces?: string[] | null;
  intervalMs?: number;
  now?: () => number;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

export class MetricsCollector {
  private readonly proc: string;
  private readonly sys: string;
  private prevCpu: CpuTimes | null = null;
  private thermalPath: string | null | undefined;
  private readonly lag = new LagProbe();
  private readonly now: () => number;

  constructor(private readonly opts: MetricsOptions = {}) {
    this.proc = opts.procRoot ?? '/proc';
    this.sys = opts.sysRoot ?? '/sys';
    this.now = opts.now ?? Date.now;
    // CPU % needs two /proc/stat samples: take the first now, so the first health payload
    // (one interval later) already has CPU filled in.
    void readText(join(this.proc, 'stat')).then((t) => {
      if (this.prevCpu === null && t) this.prevCpu = parseProcStat(t);
    });
  }

  /** Stops the event-loop probe. */
  close(): void {
    this.lag.stop();
  }

  private async thermal(): Promise<string | null> {
    if (this.thermalPath !== undefined) return this.thermalPath;
    const base = join(this.sys, 'class/thermal');
    if (this.opts.thermalZone !== undefined && this.opts.thermalZone !== null) {
      this.thermalPath = join(base, `thermal_zone${this.opts.thermalZone}`, 'temp');
      return this.thermalPath;
    }
    let zones: string[] = [];
    try {
      zones = (await readdir(base)).filter((z) => /^thermal_zone\d+$/u.test(z)).sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)));
    } catch {
      zones = [];
    }
    this.thermalPath = zones[0] ? join(base, zones[0], 'temp') : null;
    return this.thermalPath;
  }

  async collect(): Promise<HealthPayload> {
    const thermalPath = await this.thermal();
    const [stat, mem, up, netdev, ct, temp] = await Promise.all([
      readText(join(this.proc, 'stat')),
      readText(join(this.proc, 'meminfo')),
      readText(join(this.proc, 'uptime')),
      readText(join(this.proc, 'net/dev')),
      readText(join(this.proc, 'sys/net/netfilter/nf_conntrack_count')),
      thermalPath ? readText(thermalPath) : Promise.resolve(null),
    ]);
    const cpu = stat ? parseProcStat(stat) : null;
    const pct = cpuPercent(this.prevCpu, cpu);
    if (cpu) this.prevCpu = cpu;

    const counters = netdev ? parseNetDev(netdev) : new Map<string, NicCounters>();
    const wanted = this.opts.interfaces ?? [...counters.keys()].filter((n) => n !== 'lo');
    const nics = await Promise.all(
      wanted.map(async (name): Promise<NicHealth> => {
        const c = counters.get(name);
        const [oper, carrier] = await Promise.all([
          readText(join(this.sys, 'class/net', name, 'operstate')),
          readText(join(this.sys, 'class/net', name, 'carrier')),
        ]);
        return {
          name,
          operstate: oper === null ? null : oper.trim(),
          carrier: carrier === null ? null : carrier.trim() === '1',
          rxBytes: c?.rxBytes ?? 0,
          rxPackets: c?.rxPackets ?? 0,
          rxErrors: c?.rxErrors ?? 0,
          rxDropped: c?.rxDropped ?? 0,
          txBytes: c?.txBytes ?? 0,
          txPackets: c?.txPackets ?? 0,
          txErrors: c?.txErrors ?? 0,
          txDropped: c?.txDropped ?? 0,
        };
      }),
    );

    const ctN = ct === null ? NaN : Number(ct.trim());
    const lag: HealthPayload['eventLoopLagMs'] = this.lag.take();

    return {
      time: new Date(this.now()).toISOString(),
      intervalMs: this.opts.intervalMs ?? 0,
      cpuPercent: pct,
      memory: mem ? parseMeminfo(mem) : null,
      temperatureC: temp ? parseThermal(temp) : null,
      uptimeS: up ? parseUptime(up) : null,
      nics,
      conntrackCount: Number.isFinite(ctN) ? ctN : null,
      rssBytes: process.memoryUsage.rss(),
      eventLoopLagMs: lag,
    };
  }
}

