// Figures: TCP throughput through the userspace forwarder against HAProxy (mode tcp)
// on the same path, with plain routing through the same namespace as the reference, measured
// with iperf3. Namespaces of its own (tdm-fwd-bench-<random>-*), removed at the end even on
// failure; processes it starts are stopped by PID. Needs root, iperf3 and haproxy
// (`apt-get install haproxy`); without haproxy that row is reported as skipped.
//
//   node --import tsx bench/forwarder.ts [--seconds 3] [--streams 1] [--rounds 3]
//
// Each round measures every path in both directions (upload: client → server; download:
// iperf3 -R); the paths take turns, and the median of the rounds is reported, because other
// work on the machine moves single samples by ±30 %. Prints one JSON document, then one
// summary line.
//
//   client ns 203.0.113.10 ── 203.0.113.1 + VIP 203.0.113.100  lb ns  198.51.100.1 ── 198.51.100.11  rs ns (iperf3 -s)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../src/util/spawn.ts';
import type { VirtualServer } from '../src/config/model.ts';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '..');
const VIP = '203.0.113.100';
const RS = '198.51.100.11';
const IPERF_PORT = 5201;
const FWD_PORT = 5301;
const HAPROXY_PORT = 5302;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

if (process.env.TDM_FWD_BENCH_ROLE === 'forwarder') await forwarderRole();
else await main();

/** Inside the lb namespace: one userspace-forwarded virtual server, VIP:FWD_PORT → RS:IPERF_PORT. */
async function forwarderRole(): Promise<void> {
  const { UserspaceForwarder } = await import('../src/lb/forwarder/index.ts');
  const pos = { file: 'bench', line: 1, col: 1 };
  const vs: VirtualServer = {
    name: `${VIP} ${FWD_PORT}`, address: VIP, port: FWD_PORT, protocol: 'TCP', delayLoopMs: 60_000, scheduler: 'rr', method: 'NAT',
    persistenceTimeoutMs: 0, persistenceGranularity: 32, quorum: 1, hysteresis: 0, quorumUp: null, quorumDown: null,
    sorryServer: null, sorryServerInhibit: false, alpha: false, omega: false, inhibitOnFailure: false, haSuspend: false,
    virtualhost: null, forwarder: 'userspace', pos,
    realServers: [{ name: `${RS} ${IPERF_PORT}`, address: RS, port: IPERF_PORT, weight: 1, inhibitOnFailure: false, notifyUp: null, notifyDown: null, checkers: [], pos }],
  };
  const fwd = new UserspaceForwarder({ log: (level, msg) => console.error(`${level} ${msg}`) });
  await fwd.serve([vs]);
  fwd.update(vs, [{ key: `${RS}:${IPERF_PORT}`, address: RS, port: IPERF_PORT, weight: 1 }]);
  console.log('ready');
  process.on('SIGTERM', () => void fwd.stop().then(() => process.exit(0)));
}

interface Row {
  path: string;
  direction: 'upload' | 'download';
  /** Median of the rounds. */
  gbps: number | null;
  samples: number[];
  note?: string;
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '3'));
  const rounds = Number(arg('rounds', '3'));
  const streams = Number(arg('streams', '1'));
  const tag = randomBytes(3).toString('hex');
  const ns = { client: `tdm-fwd-bench-${tag}-c`, lb: `tdm-fwd-bench-${tag}-lb`, rs: `tdm-fwd-bench-${tag}-rs` };
  const procs: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tdm-fwd-bench-'));
  const cleanup = async (): Promise<void> => {
    for (const p of procs) if (p.pid !== undefined && p.exitCode === null) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    for (const n of Object.values(ns)) await run(['ip', 'netns', 'del', n]);
    rmSync(dir, { recursive: true, force: true });
  };
  const sh = async (argv: string[]): Promise<string> => {
    const r = await run(argv, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr.trim() || r.code}`);
    return r.stdout;
  };
  const inNs = (n: string, argv: string[]): string[] => ['ip', 'netns', 'exec', n, ...argv];
  const daemon = (n: string, argv: string[], env: Record<string, string> = {}): ChildProcess => {
    const p = spawn('ip', ['netns', 'exec', n, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO, env: { ...process.env, ...env } });
    procs.push(p);
    return p;
  };
  const untilLine = (p: ChildProcess, re: RegExp, what: string): Promise<void> =>
    new Promise((res, rej) => {
      let buf = '';
      const timer = setTimeout(() => rej(new Error(`timed out waiting for ${what}: ${buf.slice(-500)}`)), 20_000);
      const on = (d: Buffer): void => {
        buf += d.toString();
        if (re.test(buf)) {
          clearTimeout(timer);
          res();
        }
      };
      p.stdout!.on('data', on);
      p.stderr!.on('data', on);
      p.once('exit', (c) => rej(new Error(`${what}: exited ${c}: ${buf.slice(-500)}`)));
    });
  const iperf = async (host: string, port: number, reverse: boolean): Promise<number> => {
    const out = await sh(inNs(ns.client, ['iperf3', '-c', host, '-p', String(port), '-t', String(seconds), '-P', String(streams), '-J', ...(reverse ? ['-R'] : [])]));
    const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
    return round(j.end.sum_received.bits_per_second / 1e9);
  };
  const exitHook = (): void => {
    for (const p of procs) if (p.pid !== undefined && p.exitCode === null) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  process.once('exit', exitHook);

  const rows: Row[] = [];
  try {
    for (const n of Object.values(ns)) await sh(['ip', 'netns', 'add', n]);
    await sh(['ip', '-n', ns.lb, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.client]);
    await sh(['ip', '-n', ns.lb, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.rs]);
    await sh(['ip', '-n', ns.lb, 'addr', 'add', '203.0.113.1/24', 'dev', 'eth0']);
    await sh(['ip', '-n', ns.lb, 'addr', 'add', `${VIP}/32`, 'dev', 'eth0']);
    await sh(['ip', '-n', ns.lb, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth1']);
    await sh(['ip', '-n', ns.client, 'addr', 'add', '203.0.113.10/24', 'dev', 'eth0']);
    await sh(['ip', '-n', ns.rs, 'addr', 'add', `${RS}/24`, 'dev', 'eth0']);
    for (const n of Object.values(ns)) {
      await sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
      await sh(['ip', '-n', n, 'link', 'set', 'eth0', 'up']);
    }
    await sh(['ip', '-n', ns.lb, 'link', 'set', 'eth1', 'up']);
    // Routed reference: the lb namespace forwards between its two sides (per-netns sysctl).
    await sh(inNs(ns.lb, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']));
    await sh(['ip', '-n', ns.client, 'route', 'add', '198.51.100.0/24', 'via', '203.0.113.1']);
    await sh(['ip', '-n', ns.rs, 'route', 'add', 'default', 'via', '198.51.100.1']);

    daemon(ns.rs, ['iperf3', '-s', '-B', RS, '-p', String(IPERF_PORT)]);
    // iperf3 buffers its banner when stdout is a pipe: wait for the socket instead.
    await waitListening(ns.rs, IPERF_PORT);

    const paths: Array<{ path: string; host: string; port: number; note?: string }> = [{ path: 'routed', host: RS, port: IPERF_PORT }];
    const fwd = daemon(ns.lb, [process.execPath, '--import', 'tsx', SELF], { TDM_FWD_BENCH_ROLE: 'forwarder' });
    await untilLine(fwd, /ready/, 'forwarder');
    paths.push({ path: 'userspace-forwarder', host: VIP, port: FWD_PORT });

    const hv = await run(['haproxy', '-v']);
    if (hv.code !== 0) {
      rows.push({ path: 'haproxy', direction: 'upload', gbps: null, samples: [], note: 'haproxy not installed (apt-get install haproxy)' });
    } else {
      const cfg = join(dir, 'haproxy.cfg');
      writeFileSync(cfg, [
        'global', '  maxconn 4096', '', 'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s', '',
        'frontend f', `  bind ${VIP}:${HAPROXY_PORT}`, '  default_backend b', '', 'backend b', `  server s1 ${RS}:${IPERF_PORT}`, '',
      ].join('\n'));
      const hp = daemon(ns.lb, ['haproxy', '-db', '-f', cfg]);
      // haproxy -db logs nothing on success: wait until it listens.
      await waitListening(ns.lb, HAPROXY_PORT);
      void hp;
      paths.push({ path: 'haproxy', host: VIP, port: HAPROXY_PORT, note: hv.stdout.split('\n')[0] });
    }
    const samples = new Map<string, number[]>();
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no path always runs first (or last) in a noisy minute.
      const order = paths.map((_, i) => paths[(i + r) % paths.length]!);
      for (const p of order) {
        for (const dir of ['upload', 'download'] as const) {
          const k = `${p.path}/${dir}`;
          samples.set(k, [...(samples.get(k) ?? []), await iperf(p.host, p.port, dir === 'download')]);
        }
      }
    }
    const fwdRss = await rssOf(fwd.pid);
    for (const p of paths) {
      for (const dir of ['upload', 'download'] as const) {
        const s = samples.get(`${p.path}/${dir}`) ?? [];
        rows.push({ path: p.path, direction: dir, gbps: median(s), samples: s, ...(p.note ? { note: p.note } : {}) });
      }
    }

    // Both directions together: the sum of the medians.
    const get = (p: string): number | null => {
      const rs = rows.filter((r) => r.path === p && r.gbps !== null);
      return rs.length === 0 ? null : round(rs.reduce((a, r) => a + r.gbps!, 0));
    };
    const f = get('userspace-forwarder');
    const h = get('haproxy');
    const r = get('routed');
    const result = {
      bench: 'forwarder',
      seconds,
      streams,
      rounds,
      rows,
      forwarderRssMb: fwdRss === null ? null : round(fwdRss / 1048576),
      ratioForwarderToHaproxy: f !== null && h !== null && h > 0 ? round(f / h) : null,
      ratioForwarderToRouted: f !== null && r !== null && r > 0 ? round(f / r) : null,
      target: 'forwarder >= haproxy',
    };
    console.log(JSON.stringify(result, null, 2));
    const dirs = (p: string): string => rows.filter((x) => x.path === p).map((x) => `${x.gbps ?? '-'}`).join('/');
    console.log(`forwarder (Gbit/s up/down, median of ${rounds}): userspace ${dirs('userspace-forwarder')} vs haproxy ${dirs('haproxy')} (ratio ${result.ratioForwarderToHaproxy ?? '-'}), routed ${dirs('routed')}; ${streams} stream(s) × ${seconds} s`);
  } finally {
    await cleanup();
    process.removeListener('exit', exitHook);
  }
}

/** Waits until something listens on port in the namespace (`ss`), without connecting: a probe
 * connection through haproxy would reach the iperf3 server and disturb its next test. */
async function waitListening(nsName: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await run(['ip', 'netns', 'exec', nsName, 'ss', '-Hltn', 'sport', '=', `:${port}`], { timeoutMs: 3_000 });
    if (r.code === 0 && r.stdout.trim() !== '') return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`nothing listens on port ${port} in ${nsName}`);
}

async function rssOf(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const m = /VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''));
  return m ? Number(m[1]) * 1024 : null;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : round((s[m - 1]! + s[m]!) / 2);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
