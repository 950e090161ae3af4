// Image figures: bundle size, image size per board (tarball and unpacked), cold start
// of `tandem version` with the image's own node on x86_64 (native) and arm64 (qemu-user), and
// cold start of the daemon to BACKUP state with the RSS it then has.
// Prints one JSON document, then one summary line.
//   node --import tsx bench/image.ts [BOARD…]    (default: generic-x64 generic-arm64)
// Uses the bundle in $TANDEM_DIST (default dist/; run node scripts/bundle.mjs first) and writes
// images under a temp dir.
//
// Cold start to BACKUP (needs root: the lab, test/lab/lab.ts): one board, one VRRP instance
// (v2, advert_int 1), no peer, in a lab of its own per runtime; the time from just before the
// spawn to the daemon's "(VI_BENCH) Entering BACKUP STATE" log line, as the lab receives it.
// Measured for the bundle in $TANDEM_DIST under this host's node (`hostBundle`) and for each
// image with its own node (native, or qemu-user for arm64). RSS is VmRSS of the spawned process
// (/proc/PID/status) when BACKUP is logged and again when the board, still alone, becomes MASTER
// (Master_Down_Interval later, VIP added). Under qemu-user that process is qemu itself: guest
// heap plus qemu's translated-code cache, so it says little about a real arm64 board.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, readdir, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { LAB_ADDR, createLab } from '../test/lab/lab.ts';
import { imageCommand } from '../test/lab/firmware-image.ts';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const dist = process.env['TANDEM_DIST'] ?? join(root, 'dist');
const boards = process.argv.slice(2).length ? process.argv.slice(2) : ['generic-x64', 'generic-arm64'];
const RUNS = 5;

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await duBytes(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function coldStart(image: string, arch: string): Promise<{ medianMs: number; runsMs: number[] }> {
  const node = join(image, 'bin/node');
  const args = [join(image, 'lib/tandem/tandem.js'), 'version'];
  const [cmd, full] = arch === 'arm64' ? ['qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', node, ...args]] : [node, args];
  const runsMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await run(cmd, full as string[]);
    runsMs.push(Math.round(performance.now() - t0));
  }
  return { medianMs: median(runsMs), runsMs };
}

const START_RUNS = 3;
const BACKUP_RE = /\(VI_BENCH\) Entering BACKUP STATE/;
const MASTER_RE = /\(VI_BENCH\) Entering MASTER STATE/;
const BENCH_CONFIG = `global_defs {
    router_id bench
}
vrrp_instance VI_BENCH {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority 100
    advert_int 1
    version 2
    virtual_ipaddress {
        ${LAB_ADDR.publicVip}/24
    }
}
`;

interface BackupStart {
  how: string;
  medianMs: number;
  runsMs: number[];
  /** Median VmRSS (KiB) of the spawned process when BACKUP was logged, and when MASTER was. */
  rssAtBackupKiB: number | null;
  rssAtMasterKiB: number | null;
}

async function vmRssKiB(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return m ? Number(m[1]) : null;
}

function medianOrNull(xs: Array<number | null>): number | null {
  const ok = xs.filter((x): x is number => x !== null);
  return ok.length ? median(ok) : null;
}

/** START_RUNS cold starts of `command bundle run …` (command undefined: this host's node). */
async function coldStartBackup(label: string, how: string, bundle: string, command?: string[]): Promise<BackupStart> {
  const lab = await createLab({ name: `bench-image-${label}`, realServers: 0 });
  const runsMs: number[] = [];
  const atBackup: Array<number | null> = [];
  const atMaster: Array<number | null> = [];
  try {
    for (let i = 0; i < START_RUNS; i++) {
      const t0 = Date.now();
      // 120 s: qemu-user takes seconds to start node, more with other lab runs on the machine.
      const h = await lab.startBoard('a', BENCH_CONFIG, { bundle, command, logLevel: 'info', waitForLog: BACKUP_RE, timeoutMs: 120_000 });
      const line = h.proc.lines.find((l) => BACKUP_RE.test(l.text));
      if (!line) throw new Error(`${label}: BACKUP line not kept`);
      runsMs.push(line.at - t0);
      atBackup.push(await vmRssKiB(h.proc.pid));
      await h.waitForLog(MASTER_RE, 120_000);
      atMaster.push(await vmRssKiB(h.proc.pid));
      const st = await lab.stopBoard('a', 'SIGTERM', 60_000);
      if (st?.code !== 0) throw new Error(`${label}: daemon did not stop cleanly (${JSON.stringify(st)})\n${h.proc.tail()}`);
    }
  } finally {
    await lab.destroy();
  }
  return { how, medianMs: median(runsMs), runsMs, rssAtBackupKiB: medianOrNull(atBackup), rssAtMasterKiB: medianOrNull(atMaster) };
}

const isRoot = process.getuid?.() === 0;
const tmp = await mkdtemp(join(tmpdir(), 'tandem-bench-image-'));
try {
  // esbuild splits lazily imported commands into chunks: the bundle is every top-level .js.
  const top = (await readdir(dist, { withFileTypes: true })).filter((e) => e.isFile());
  const sizeOf = async (pred: (n: string) => boolean) => {
    let n = 0;
    for (const e of top) if (pred(e.name)) n += (await stat(join(dist, e.name))).size;
    return n;
  };
  const bundle = {
    jsBytes: await sizeOf((n) => n.endsWith('.js')),
    files: top.filter((e) => e.name.endsWith('.js')).length,
    vrrpWorkerJs: (await stat(join(dist, 'vrrp-worker.js'))).size,
    sourceMapBytes: await sizeOf((n) => n.endsWith('.js.map')),
  };
  const version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const images: Record<string, unknown>[] = [];
  for (const board of boards) {
    const out = join(tmp, board);
    await mkdir(out);
    await run('bash', [join(root, 'firmware/build-image.sh'), board], { cwd: root, env: { ...process.env, TANDEM_DIST: dist, TANDEM_FIRMWARE_OUT: out }, maxBuffer: 16 << 20 });
    const name = `tandem-${version}-${board}`;
    const manifest = JSON.parse(await readFile(join(out, name, 'MANIFEST.json'), 'utf8')) as { arch: string };
    const hostArch = process.arch === 'x64' ? 'x64' : 'arm64';
    const canRun = manifest.arch === hostArch || (manifest.arch === 'arm64' && hostArch === 'x64');
    const how = manifest.arch === hostArch ? 'native' : 'qemu-user';
    const imageDir = join(out, name);
    images.push({
      board,
      arch: manifest.arch,
      tarballBytes: (await stat(join(out, `${name}.tar.gz`))).size,
      unpackedBytes: await duBytes(imageDir),
      coldStartVersion: canRun ? { how, ...(await coldStart(imageDir, manifest.arch)) } : null,
      coldStartBackup: canRun && isRoot
        ? await coldStartBackup(board, `${how}, image node`, join(imageDir, 'lib/tandem/tandem.js'), imageCommand(imageDir, manifest.arch === 'arm64' ? 'arm64' : 'x64'))
        : null,
    });
  }
  const hostBundle = isRoot
    ? { bundle: join(dist, 'tandem.js'), node: process.version, arch: process.arch, ...(await coldStartBackup('host', `native, host node ${process.version}`, join(dist, 'tandem.js'))) }
    : null;
  const result = { bench: 'image', bundle, images, hostBundle, ...(isRoot ? {} : { note: 'cold start to BACKUP needs root (the lab): skipped' }) };
  console.log(JSON.stringify(result, null, 2));
  const mb = (n: number) => (n / 1048576).toFixed(1);
  const kib = (n: number | null) => (n === null ? '?' : `${(n / 1024).toFixed(0)} MiB`);
  const backup = (b: BackupStart | null) => (b ? `, BACKUP in ${b.medianMs} ms RSS ${kib(b.rssAtBackupKiB)}` : '');
  console.log(`image: bundle ${(bundle.jsBytes / 1024).toFixed(0)} KiB in ${bundle.files} files; ` + images.map((i) => {
    const cs = i['coldStartVersion'] as { medianMs: number; how: string } | null;
    return `${String(i['board'])} ${mb(i['tarballBytes'] as number)} MiB tar.gz / ${mb(i['unpackedBytes'] as number)} MiB` +
      (cs ? `, version in ${cs.medianMs} ms (${cs.how})` : '') + backup(i['coldStartBackup'] as BackupStart | null);
  }).join('; ') + (hostBundle ? `; dist/tandem.js on host node ${hostBundle.node}: BACKUP in ${hostBundle.medianMs} ms RSS ${kib(hostBundle.rssAtBackupKiB)}` : ''));
} finally {
  await rm(tmp, { recursive: true, force: true });
}
