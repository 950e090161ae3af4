// Memory of one board under load: RSS and anonymous memory of the daemon and of its helper
// processes (ip monitor, nft -i, ip -batch, check scripts: every descendant), sampled every
// `--sample-ms` while, one after the other, on board a of the lab:
//
//   checks   1,000 real servers checked (10 virtual servers × 100 real servers on the private
//            segment, 5 real-server hosts × 200 ports; every 10th an HTTP_GET, the rest
//            TCP_CHECK). The load ends with a reload to a configuration with 2 real servers.
//   broker   the MQTT broker is killed for `--outage-s` while the board keeps publishing:
//            health every second, and 200 real servers (one host) going down and up every
//            `--flap-s` (events and retained changes). The load ends when the broker is back
//            and the board has published again.
//   console  a flood into the serial console (the socat pty's far end, never read, so the
//            daemon's output backs up: a stuck terminal) of random bytes, overlong lines and
//            command lines, and `--ctl-clients` control-socket clients, half of them pipelining
//            `show running-config` without reading an answer, half idle, for `--flood-s`.
//
// Per load: the figures just before it starts, the peak while it runs, and `--settle-s` after it
// ends. Prints one JSON object and a one-line summary. Needs root (the lab) and `./build.sh`.
//
//   node --import tsx bench/memory-load.ts [--outage-s 180] [--flood-s 60] [--ctl-clients 400] [--image DIR]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type Socket } from 'node:net';
import { createLab, LAB_ADDR, type Lab, type LabProcess, type BoardHandle } from '../test/lab/lab.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';
import { mqttBlock, startLabBroker, subscribe, type Subscriber } from '../test/lab/mosquitto.ts';
import { serialBlock, startSocat } from '../test/lab/serial-console.ts';
import { tcpCheck, virtualServerBlock, type RsSpec } from '../test/lab/lb-helpers.ts';
import { processTree } from '../test/lab/proc-tree.ts';

const { values: flags } = parseArgs({
  options: {
    'outage-s': { type: 'string', default: '180' },
    'flap-s': { type: 'string', default: '30' },
    'flood-s': { type: 'string', default: '60' },
    'checks-s': { type: 'string', default: '60' },
    'settle-s': { type: 'string', default: '20' },
    'sample-ms': { type: 'string', default: '500' },
    'ctl-clients': { type: 'string', default: '400' },
    /** off: the console load is the control-socket clients alone. */
    'tty-flood': { type: 'string', default: 'on' },
    only: { type: 'string' },
    /** Extra NODE_OPTIONS for the daemon (diagnosis: --heapsnapshot-near-heap-limit=1). */
    'node-options': { type: 'string' },
    /** An unpacked image (firmware/build-image.sh generic-x64): its Node.js (24) and bundle run the board. */
    image: { type: 'string' },
  },
});
const OUTAGE_S = Number(flags['outage-s']);
const FLAP_S = Number(flags['flap-s']);
const FLOOD_S = Number(flags['flood-s']);
const CHECKS_S = Number(flags['checks-s']);
const SETTLE_S = Number(flags['settle-s']);
const SAMPLE_MS = Number(flags['sample-ms']);
const CTL_CLIENTS = Number(flags['ctl-clients']);
const ONLY = flags.only ? new Set(String(flags.only).split(',')) : null;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (kib: number): number => Math.round(kib / 102.4) / 10;

const RS_HOSTS = 5;
const PORTS_PER_HOST = 200;
const BASE_PORT = 10_000;
const VS_COUNT = 10;
const RS_PER_VS = 100;
const NODE = 'lb-a';

/** argv: FIRST_PORT COUNT. Answers HTTP/1.0 200 on every port of the range; logs "listening N". */
/** argv: TTY. Writes random bytes, overlong lines, command lines and failed logins to TTY for
 *  ever (blocking when the pty is full); prints the bytes written so far every second. */
const TTY_FLOOD_JS = `
const fs = require('fs');
const crypto = require('crypto');
const fd = fs.openSync(process.argv[1], 'r+');
const chunks = [() => crypto.randomBytes(4096), () => Buffer.from('x'.repeat(8192) + '\\r'), () => Buffer.from('show running-config\\r'.repeat(200)), () => Buffer.from('admin\\rwrong\\r'.repeat(100))];
let n = 0, i = 0, last = Date.now();
for (;;) {
  n += fs.writeSync(fd, chunks[i++ % 4]());
  if (Date.now() - last >= 1000) { last = Date.now(); console.log(String(n)); }
}
`;

const MULTI_HTTP_JS = `
const net = require('net');
const [first, count] = [Number(process.argv[1]), Number(process.argv[2])];
let up = 0;
for (let p = first; p < first + count; p++) {
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.0 200 OK\\r\\nContent-Length: 3\\r\\nConnection: close\\r\\n\\r\\nok\\n'));
    s.setTimeout(5000, () => s.destroy());
  });
  srv.on('error', (e) => { console.error('error ' + e.message); process.exit(1); });
  srv.listen(p, '0.0.0.0', () => { if (++up === count) console.log('listening ' + count); });
}
process.on('SIGTERM', () => process.exit(0));
`;

function httpGet(): string {
  return [
    '        HTTP_GET {',
    '            url {',
    '                path /',
    '                status_code 200',
    '            }',
    '            connect_timeout 2',
    '            retry 1',
    '            delay_before_retry 1',
    '        }',
  ].join('\n');
}

function realServer(n: number): RsSpec {
  return {
    address: LAB_ADDR.realServer(1 + Math.floor(n / PORTS_PER_HOST)),
    port: BASE_PORT + (n % PORTS_PER_HOST),
    checker: n % 10 === 0 ? httpGet() : tcpCheck({ connectTimeout: 2, retry: 1, delayBeforeRetry: 1 }),
  };
}

function boardConfig(brokerUrl: string, tty: string, many: boolean): string {
  let vs = '';
  if (many) {
    for (let v = 0; v < VS_COUNT; v++) {
      const rs: RsSpec[] = [];
      for (let j = 0; j < RS_PER_VS; j++) rs.push(realServer(v * RS_PER_VS + j));
      vs += virtualServerBlock({ address: LAB_ADDR.publicVip, port: 8001 + v, lbAlgo: 'mh', delayLoop: 3, realServers: rs });
    }
  } else {
    vs = virtualServerBlock({ address: LAB_ADDR.publicVip, port: 8001, lbAlgo: 'mh', delayLoop: 3, realServers: [realServer(0), realServer(1)] });
  }
  return pairConfig({ routerId: NODE, priority: 150, version: 2, advertInt: 1, extra: vs + mqttBlock(brokerUrl, { healthIntervalS: 1 }) + serialBlock(tty) });
}

// ---- sampling ---------------------------------------------------------------------------------

interface Sample { t: number; daemonRssKiB: number; daemonAnonKiB: number; helpersRssKiB: number; helpersAnonKiB: number; helpers: number }

async function sample(pid: number): Promise<Sample> {
  const tree = await processTree([pid]);
  const d = tree.find((p) => p.pid === pid);
  const others = tree.filter((p) => p.pid !== pid);
  return {
    t: Date.now(),
    daemonRssKiB: d?.rssKiB ?? 0,
    daemonAnonKiB: d?.anonKiB ?? 0,
    helpersRssKiB: others.reduce((s, p) => s + p.rssKiB, 0),
    helpersAnonKiB: others.reduce((s, p) => s + p.anonKiB, 0),
    helpers: others.length,
  };
}

class Sampler {
  private samples: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  constructor(private readonly pid: number) {}
  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void sample(this.pid).then((s) => { this.samples.push(s); }, () => undefined).finally(() => { this.busy = false; });
    }, SAMPLE_MS);
  }
  stop(): void { if (this.timer) clearInterval(this.timer); }
  mark(): number { return this.samples.length; }
  since(i: number): Sample[] { return this.samples.slice(i); }
}

interface Figure { daemonRssMiB: number; daemonAnonMiB: number; treeRssMiB: number; treeAnonMiB: number; helpers: number }
const figure = (s: Sample): Figure => ({
  daemonRssMiB: mib(s.daemonRssKiB), daemonAnonMiB: mib(s.daemonAnonKiB),
  treeRssMiB: mib(s.daemonRssKiB + s.helpersRssKiB), treeAnonMiB: mib(s.daemonAnonKiB + s.helpersAnonKiB), helpers: s.helpers,
});
/** The peak of each figure over the samples (they need not peak together). */
function peak(ss: Sample[]): Figure {
  const max = (f: (s: Sample) => number): number => mib(Math.max(0, ...ss.map(f)));
  return {
    daemonRssMiB: max((s) => s.daemonRssKiB), daemonAnonMiB: max((s) => s.daemonAnonKiB),
    treeRssMiB: max((s) => s.daemonRssKiB + s.helpersRssKiB), treeAnonMiB: max((s) => s.daemonAnonKiB + s.helpersAnonKiB),
    helpers: Math.max(0, ...ss.map((s) => s.helpers)),
  };
}

interface LoadResult { start: Figure; peak: Figure; after: Figure; seconds: number; notes: Record<string, unknown> }

async function load(name: string, h: BoardHandle, sampler: Sampler, run: () => Promise<Record<string, unknown>>): Promise<LoadResult> {
  const start = await sample(h.proc.pid);
  const from = sampler.mark();
  const t0 = Date.now();
  process.stderr.write(`memory-load: ${name} starts\n`);
  const notes = await run();
  const seconds = Math.round((Date.now() - t0) / 1000);
  const during = sampler.since(from);
  await sleep(SETTLE_S * 1000);
  const after = await sample(h.proc.pid);
  if (!h.proc.running) throw new Error(`the daemon exited during ${name}: ${h.proc.tail()}`);
  process.stderr.write(`memory-load: ${name} done\n`);
  return { start: figure(start), peak: peak([start, ...during]), after: figure(after), seconds, notes };
}

// ---- helpers of the loads ---------------------------------------------------------------------

/** Latest `up` per lb/ topic. */
function upCount(sub: Subscriber): { up: number; known: number } {
  const last = new Map<string, boolean>();
  for (const m of sub.msgs) {
    if (!m.topic.includes('/lb/') || m.payload === '') continue;
    try { last.set(m.topic, (JSON.parse(m.payload) as { up?: boolean }).up === true); } catch { /* not ours */ }
  }
  let up = 0;
  for (const v of last.values()) if (v) up++;
  return { up, known: last.size };
}

async function ctlJson(h: BoardHandle, what: string[]): Promise<unknown> {
  const r = await h.ctl(['--json', 'show', ...what], { timeoutMs: 30_000 });
  return JSON.parse(r.stdout) as unknown;
}

// ---- main -------------------------------------------------------------------------------------

const lab: Lab = await createLab({ name: 'bench-memory-load', realServers: RS_HOSTS });
const result: Record<string, unknown> = { bench: 'memory-load', node: process.versions.node, image: flags.image ?? null, // with an image, its Node.js runs the board, not this one
  sampleMs: SAMPLE_MS, settleS: SETTLE_S };
try {
  const broker = await startLabBroker(lab);
  const serial = await startSocat(lab, 'a');
  const rsProcs: LabProcess[] = [];
  const startRs = async (i: number): Promise<LabProcess> => {
    const p = lab.spawn(`rs${i}`, [process.execPath, '-e', MULTI_HTTP_JS, String(BASE_PORT), String(PORTS_PER_HOST)], { label: `rs${i}:http` });
    await p.waitForLog(/^listening /, 20_000);
    return p;
  };
  for (let i = 1; i <= RS_HOSTS; i++) rsProcs.push(await startRs(i));
  const h = await lab.startBoard('a', boardConfig(broker.url, serial.ttyA, true), {
    logLevel: 'info', waitForLog: /Entering MASTER STATE/, timeoutMs: 90_000, ...(flags['node-options'] ? { env: { NODE_OPTIONS: String(flags['node-options']) } } : {}),
    ...(flags.image ? { command: [resolve(flags.image, 'bin/node')], bundle: resolve(flags.image, 'lib/tandem/tandem.js') } : {}),
  });
  void h.proc.exited.then((st) => process.stderr.write(`memory-load: the daemon exited (${JSON.stringify(st)}):\n${h.proc.tail(60)}\n`));
  const sampler = new Sampler(h.proc.pid);
  sampler.start();
  const sub = await subscribe(broker.localUrl, `tandem/${NODE}/#`);
  const want = (l: string): boolean => ONLY === null || ONLY.has(l);

  const loads: Record<string, LoadResult> = {};
  // 1. checks: from the start until every real server is up, then CHECKS_S more.
  const startFig = await sample(h.proc.pid);
  result.atMaster = figure(startFig);
  const t0 = Date.now();
  await lab.waitFor(() => upCount(sub).up >= VS_COUNT * RS_PER_VS, { timeoutMs: 180_000, intervalMs: 500, what: '1,000 real servers up' });
  result.allUpAfterS = Math.round((Date.now() - t0) / 100) / 10;
  const checksStart = startFig;
  await sleep(CHECKS_S * 1000);
  const checksSteady = await sample(h.proc.pid);
  /** The checks' own window: from MASTER to CHECKS_S after every real server was up. */
  const checksWindow = sampler.since(0);

  // 2. broker outage with real servers flapping.
  if (want('broker')) {
    loads.broker = await load('broker outage', h, sampler, async () => {
      await broker.stop('SIGKILL');
      const end = Date.now() + OUTAGE_S * 1000;
      let flaps = 0;
      let down: LabProcess | null = null;
      while (Date.now() < end) {
        await sleep(Math.min(FLAP_S * 1000, Math.max(0, end - Date.now())));
        if (down === null) {
          down = rsProcs[RS_HOSTS - 1]!;
          await down.stop('SIGKILL');
        } else {
          rsProcs[RS_HOSTS - 1] = await startRs(RS_HOSTS);
          down = null;
        }
        flaps++;
      }
      if (down !== null) rsProcs[RS_HOSTS - 1] = await startRs(RS_HOSTS);
      const mqttBefore = (await ctlJson(h, ['mqtt'])) as Record<string, unknown>;
      const from = sub.msgs.length;
      await broker.start();
      await sub.waitMsg('online after the outage', (m) => m.topic === `tandem/${NODE}/status` && m.payload === 'online', { from, timeoutMs: 120_000 });
      await lab.waitFor(() => upCount(sub).up >= VS_COUNT * RS_PER_VS, { timeoutMs: 120_000, intervalMs: 500, what: 'every real server up again, published' });
      return { outageS: OUTAGE_S, flaps, mqttBeforeReconnect: mqttBefore };
    });
  }

  // 3. console flood and many control-socket clients.
  if (want('console')) {
    loads.console = await load('console flood', h, sampler, async () => {
      // The writer is a process of its own: a write to a pty whose far side nobody drains blocks,
      // and it may block (that is the stuck terminal); killed by PID when the load ends.
      const writer = flags['tty-flood'] === 'off' ? null : lab.spawn('a', [process.execPath, '-e', TTY_FLOOD_JS, serial.ttyB], { label: 'tty-flood' });
      const socks: Socket[] = [];
      let refused = 0;
      let answeredBytes = 0;
      for (let i = 0; i < CTL_CLIENTS; i++) {
        const s = connect(h.controlSocket);
        s.on('error', () => { refused++; });
        if (i % 2 === 0) {
          s.on('connect', () => { s.write('show running-config\n'.repeat(50)); });
          s.pause(); // never reads: the answers wait in the daemon
        } else {
          s.on('data', (b: Buffer) => { answeredBytes += b.length; });
        }
        socks.push(s);
        if (i % 50 === 49) await sleep(100);
      }
      await sleep(FLOOD_S * 1000);
      await writer?.stop('SIGKILL', 3000);
      const floodBytes = Number(/(\d+)\s*$/.exec(writer?.output().trim() ?? '')?.[1] ?? 0);
      let closedByDaemon = 0;
      for (const s of socks) { if (s.destroyed || s.readableEnded) closedByDaemon++; s.destroy(); }
      const health = (await ctlJson(h, ['health']).catch((e: unknown) => ({ error: String(e) })));
      return { floodS: FLOOD_S, floodBytes, ctlClients: CTL_CLIENTS, ctlErrors: refused, ctlClosedByDaemon: closedByDaemon, idleClientBytes: answeredBytes, health };
    });
  }

  // 1 (end). checks load ends: reload to two real servers.
  if (want('checks')) {
    const mark = h.proc.mark();
    await h.reload(boardConfig(broker.url, serial.ttyA, false));
    await h.waitForLog(/Reload: configuration applied|Reload refused|Reload failed/, 60_000, { from: mark });
    await sleep(SETTLE_S * 1000);
    const after = await sample(h.proc.pid);
    loads.checks = {
      start: figure(checksStart),
      peak: peak([checksStart, ...checksWindow, checksSteady]),
      after: figure(after),
      seconds: Math.round((checksSteady.t - checksStart.t) / 1000),
      notes: { realServers: VS_COUNT * RS_PER_VS, steady: figure(checksSteady), afterIs: `${SETTLE_S} s after a reload to 2 real servers, at the end of the run (after the other loads)` },
    };
  }
  sampler.stop();
  await sub.close();
  if (!h.proc.running) throw new Error(`the daemon exited: ${h.proc.tail()}`);
  result.loads = loads;
} finally {
  await lab.destroy();
}
console.log(JSON.stringify(result));
const loads = (result.loads ?? {}) as Record<string, LoadResult>;
const f = (x: Figure): string => `${x.treeRssMiB}/${x.treeAnonMiB}`;
console.log(`memory under load (whole tree, RSS/anon MiB; start → peak → after): ` +
  Object.entries(loads).map(([k, l]) => `${k} ${f(l.start)} → ${f(l.peak)} → ${f(l.after)}`).join('; '));
