// The VRRP worker thread's entry: sockets, state machines and timers, away from everything else
// the daemon does (DESIGN.md: a 100 ms timer sharing a busy thread was measured 388 ms late, in a
// worker 14 ms). raw-socket is loaded here only. Everything in src/vrrp/worker/ runs on this
// thread; the main thread talks to it through src/vrrp/client.ts and the messages of
// src/vrrp/messages.ts.
import { parentPort } from 'node:worker_threads';
import { VrrpEngine } from './engine.ts';
import { RawIpv6Sender, RawVrrpTransport } from './transport.ts';
import { IprouteHostNet } from '../../net/host.ts';
import { LinkMonitor } from '../../net/link-monitor.ts';
import { readFile } from 'node:fs/promises';
import { engineDevices, startupDelayMs, type EngineConfig, type TrackedKind, type TrackedValue } from '../engine-config.ts';
import { applyScheduling, setRealtime, type ThreadScheduling } from './scheduling.ts';
import type { FromWorker, ToWorker } from '../messages.ts';

const port = parentPort;
if (!port) throw new Error('vrrp worker: must run as a worker thread');

function post(m: FromWorker): void {
  port!.postMessage(m);
}

let engine: VrrpEngine | null = null;
let scheduling: ThreadScheduling | null = null;
let config: EngineConfig | null = null;
let raising = false;

function log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void {
  post({ type: 'log', level, msg });
}

/** The thread's scheduling as configured (at start and on reload), before sockets and helpers start. */
async function schedule(cfg: EngineConfig): Promise<void> {
  const want = cfg.scheduling;
  if (!want) return;
  if (scheduling && scheduling.priority === want.rtPriority && scheduling.nice === want.nice) return;
  scheduling = await applyScheduling(want);
  if (scheduling.error) log('warn', `VRRP thread scheduling: ${scheduling.error}; it runs as ${scheduling.policy}`);
  else log('info', `VRRP thread ${scheduling.tid} runs ${scheduling.policy}${scheduling.priority ? ` priority ${scheduling.priority}` : ''}${scheduling.nice !== null ? `, nice ${scheduling.nice}` : ''}`);
}

/** keepalived's max_auto_priority: a timer that fires late raises the realtime priority, once. */
function onLate(lateMs: number): void {
  const want = config?.scheduling;
  const s = scheduling;
  if (!want || !s || s.tid === null || raising || want.maxAutoPriority <= s.priority || lateMs < want.autoDelayMs) return;
  raising = true;
  const to = want.maxAutoPriority;
  void setRealtime(s.tid, to).then((err) => {
    raising = false;
    if (err) {
      log('warn', `VRRP timer fired ${lateMs.toFixed(1)} ms late; raising the thread to realtime priority ${to} failed: ${err}`);
      s.error = err;
      want.maxAutoPriority = s.priority; // do not try again at every late timer
      return;
    }
    log('warn', `VRRP timer fired ${lateMs.toFixed(1)} ms late: realtime priority of the VRRP thread raised to ${to} (max_auto_priority)`);
    scheduling = { ...s, policy: 'SCHED_RR', priority: to, error: null };
  });
}
let transportInUse: RawVrrpTransport | null = null;
let links: LinkMonitor | null = null;
const pendingTracked: Array<{ kind: TrackedKind; name: string; value: TrackedValue }> = [];

/** The system's uptime in ms (/proc/uptime), for vrrp_delay_after_boot; null when unreadable. */
async function uptimeMs(): Promise<number | null> {
  try {
    const s = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
    return Number.isFinite(s) ? s * 1000 : null;
  } catch {
    return null;
  }
}
/** A stop that arrives while starting waits for the start, then stops what it started. */
let starting: Promise<void> = Promise.resolve();

async function start(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  config = msg.config;
  await schedule(msg.config);
  const net = new IprouteHostNet({ ipv6: new RawIpv6Sender(), log: (level, m) => post({ type: 'log', level, msg: m }) });
  const transport = new RawVrrpTransport();
  const e = new VrrpEngine(msg.config, transport, net, {
    log: (level, m) => post({ type: 'log', level, msg: m }),
    stateChanged: (status, from, reason) => post({ type: 'state', status, from, reason }),
    groupChanged: (status, from) => post({ type: 'group', status, from }),
    late: onLate,
    rxLowerPriority: (status, from, priority, splitBrain) => post({ type: 'rxLowerPriority', status, from, priority, splitBrain }),
    priorityChanged: (status) => post({ type: 'priority', status }),
  });
  links = new LinkMonitor(net, engineDevices(msg.config), (dev, up) => e.linkChanged(dev, up));
  try {
    const initial = await links.start();
    const delay = msg.config.startup && (msg.config.startup.delayMs > 0 || msg.config.startup.afterBootMs > 0)
      ? startupDelayMs(msg.config.startup, await uptimeMs()) : 0;
    await e.start(initial, delay);
  } catch (err) {
    // Nothing may stay open, or the worker would never exit (and Node 24 aborts on exit with
    // open handles): the link monitor's child, the sockets opened so far, the ip batch process.
    links.stop();
    links = null;
    transport.close();
    await net.close();
    throw err;
  }
  engine = e;
  transportInUse = transport;
  for (const t of pendingTracked.splice(0)) e.trackedValue(t.kind, t.name, t.value);
  post({ type: 'started', status: e.status() });
}

/** Reloads one at a time: a second reload waits for the first's handovers. */
let reloading: Promise<unknown> = Promise.resolve();

async function reconfigure(msg: Extract<ToWorker, { type: 'reconfigure' }>): Promise<void> {
  await starting;
  const e = engine;
  if (!e) {
    post({ type: 'reconfigured', id: msg.id, ok: false, errors: ['the VRRP engine is not running'], restarted: [] });
    return;
  }
  const errors = await e.preflight(msg.config);
  if (errors.length > 0) {
    post({ type: 'reconfigured', id: msg.id, ok: false, errors, restarted: [] });
    return;
  }
  try {
    config = msg.config;
    await schedule(msg.config);
    const restarted = await e.reconfigure(msg.config);
    links?.watch(engineDevices(msg.config));
    post({ type: 'reconfigured', id: msg.id, ok: true, errors: [], restarted });
  } catch (err) {
    post({ type: 'reconfigured', id: msg.id, ok: false, errors: [err instanceof Error ? err.message : String(err)], restarted: [] });
  }
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'start':
      starting = start(msg).catch((err: unknown) => post({ type: 'startFailed', error: err instanceof Error ? err.message : String(err) }));
      break;
    case 'tracked':
      if (engine) engine.trackedValue(msg.kind, msg.name, msg.value);
      else pendingTracked.push({ kind: msg.kind, name: msg.name, value: msg.value });
      break;
    case 'status': {
      const status = engine?.status() ?? { instances: [], groups: [], unattributed: {} };
      void (transportInUse?.kernelDrops() ?? Promise.resolve(null)).then((socketDrops) => post({ type: 'status', id: msg.id, status: { ...status, socketDrops, ...(scheduling ? { thread: { ...scheduling } } : {}) } }));
      break;
    }
    case 'reconfigure':
      reloading = reloading.then(() => reconfigure(msg));
      break;
    case 'maintenance':
      engine?.setMaintenance(msg.on);
      break;
    case 'stop':
      void starting.then(() => {
        links?.stop();
        return engine ? engine.stop() : undefined;
      }).finally(() => {
        post({ type: 'stopped' });
        port.close();
      });
      break;
  }
});
