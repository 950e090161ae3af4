// Figures: the serial console of a running lab board (dist/tandem.js, build first).
//  - command round trip over a socat pty pair: `show version` typed on the far end, timed until
//    the next prompt has arrived (N times; median, p99, max);
//  - the daemon's idle CPU with the serial console enabled vs disabled: utime+stime from
//    /proc/PID/stat (all threads, the VRRP worker included) over S seconds, board alone and MASTER.
// Prints one JSON object, then a one-line summary. Figures, not a test. Needs root (the lab).
//   node --import tsx bench/console.ts [--n 200] [--seconds 20]
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SerialPort } from 'serialport';
import { createLab, type Lab, type LabProcess } from '../test/lab/lab.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200' }, seconds: { type: 'string', default: '20' } } });
const N = Number(values.n);
const SECONDS = Number(values.seconds);
if (!(N >= 1) || !(SECONDS > 0)) throw new Error('--n and --seconds must be positive numbers');
const PASSWORD = 'tandem-bench-1';

/** The far end of the pty; output kept as one string. */
class Terminal {
  out = '';
  private port: SerialPort;
  constructor(path: string) {
    this.port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  }
  async open(): Promise<void> {
    await new Promise<void>((res, rej) => this.port.open((e) => (e ? rej(e) : res())));
    this.port.on('data', (b: Buffer) => { this.out += b.toString('latin1'); });
  }
  /** Types `line` and resolves, with the elapsed ms, once the output after it matches `re`. */
  cmd(line: string, re: RegExp, timeoutMs = 15_000): Promise<number> {
    const mark = this.out.length;
    const t0 = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (re.test(this.out.slice(mark))) {
          this.port.off('data', check);
          clearTimeout(timer);
          resolve(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      };
      const timer = setTimeout(() => {
        this.port.off('data', check);
        reject(new Error(`timed out on ${JSON.stringify(line)}; tail ${JSON.stringify(this.out.slice(-200))}`));
      }, timeoutMs);
      // Checked on each arriving chunk (not polled), so the figure is the pty's, not a timer's.
      this.port.on('data', check);
      this.port.write(Buffer.from(line + '\r', 'latin1'));
    });
  }
  async close(): Promise<void> {
    if (this.port.isOpen) await new Promise<void>((r) => this.port.close(() => r()));
  }
}

async function startSocat(lab: Lab): Promise<{ socat: LabProcess; ttyA: string; ttyB: string }> {
  const dir = join(lab.tmpDir, 'board-a');
  await mkdir(dir, { recursive: true });
  const ttyA = join(dir, 'ttyA');
  const ttyB = join(dir, 'ttyB');
  const socat = lab.spawn('a', ['socat', '-d', '-d', `pty,raw,echo=0,link=${ttyA}`, `pty,raw,echo=0,link=${ttyB}`], { label: 'socat' });
  await lab.waitFor(async () => (await Promise.all([stat(ttyA), stat(ttyB)]).then(() => true, () => false)) && /starting data transfer loop/.test(socat.output()),
    { what: 'socat pty pair' });
  return { socat, ttyA, ttyB };
}

/** CPU seconds (user + system, all threads) of PID so far. */
async function cpuSeconds(pid: number, hz: number): Promise<number> {
  const s = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may hold spaces): utime is the 14th
  // field of the line, i.e. index 11 after ") ".
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / hz;
}

async function idleCpu(p: number): Promise<{ cpuPct: number; cpuSeconds: number }> {
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const c0 = await cpuSeconds(p, hz);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const c1 = await cpuSeconds(p, hz);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return { cpuPct: Math.round(((c1 - c0) / wall) * 10000) / 100, cpuSeconds: Math.round((c1 - c0) * 100) / 100 };
}

function pct(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, i)]! * 100) / 100;
}

const lab = await createLab({ name: 'bench-console', realServers: 0 });
try {
  const { ttyA, ttyB } = await startSocat(lab);
  const base = { routerId: 'lb-a', priority: 150, state: 'MASTER' as const };
  const withConsole = pairConfig({ ...base, extra: `serial_console {\n    device ${ttyA}\n    baud 115200\n}\n` });
  const without = pairConfig(base);
  const started = /Entering MASTER STATE/;

  // 1. Idle CPU without the console, then with it (same board, same VRRP load: MASTER alone,
  //    v2 adverts every second on two instances).
  let h = await lab.startBoard('a', without, { waitForLog: started, logLevel: 'info' });
  await new Promise((r) => setTimeout(r, 3000)); // past start-up work (GARPs, first checks)
  const off = await idleCpu(h.proc.pid);
  await lab.stopBoard('a');

  const term = new Terminal(ttyB);
  await term.open();
  h = await lab.startBoard('a', withConsole, { waitForLog: started, logLevel: 'info' });
  await lab.waitFor(() => /New password: $/.test(term.out), { what: 'first-boot prompt', timeoutMs: 15_000 });
  await new Promise((r) => setTimeout(r, 3000));
  const on = await idleCpu(h.proc.pid);

  // 2. Round trip, logged in.
  await term.cmd(PASSWORD, /Retype new password: $/);
  await term.cmd(PASSWORD, /login: $/);
  await term.cmd('admin', /Password: $/);
  await term.cmd(PASSWORD, /lb-a> $/);
  for (let i = 0; i < 10; i++) await term.cmd('show version', /lb-a> $/); // warm-up
  const rtt: number[] = [];
  for (let i = 0; i < N; i++) rtt.push(await term.cmd('show version', /Node\.js v[\d.]+\r\nlb-a> $/));
  rtt.sort((a, b) => a - b);
  const vrrp = await term.cmd('show vrrp', /lb-a> $/);
  await term.close();

  const result = {
    bench: 'console',
    roundTrip: { command: 'show version', n: N, medianMs: pct(rtt, 0.5), p99Ms: pct(rtt, 0.99), maxMs: pct(rtt, 1), minMs: pct(rtt, 0) },
    idleCpu: { seconds: SECONDS, consoleOff: off, consoleOn: on },
    showVrrpMs: Math.round(vrrp * 100) / 100,
    cores: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    loadavg1: Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[0]),
    node: process.version,
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`console: show version round trip median ${result.roundTrip.medianMs} ms, p99 ${result.roundTrip.p99Ms} ms (n=${N}); ` +
    `idle CPU ${off.cpuPct} % without the serial console, ${on.cpuPct} % with it (${SECONDS} s each, load ${result.loadavg1})`);
} finally {
  await lab.destroy();
}
