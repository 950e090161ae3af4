// The VRRP worker thread's entry: sockets, state machines and timers, away from everything else
// the daemon does (DESIGN.md: a 100 ms timer sharing a busy thread was measured 388 ms late, in a
// worker 14 ms). raw-socket is loaded here only. Everything in src/vrrp/worker/ runs on this
// thread; the main thread talks to it through src/vrrp/client.ts and the messages of
// src/vrrp/messages.ts.
import { parentPort } from 'node:worker_threads';
import { VrrpEngine } from './engine.ts';
import { RawVrrpTransport } from './transport.ts';
import { IprouteHostNet } from '../../net/host.ts';
import { LinkMonitor } from '../../net/link-monitor.ts';
import { engineDevices } from '../engine-config.ts';
import type { FromWorker, ToWorker } from '../messages.ts';

const port = parentPort;
if (!port) throw new Error('vrrp worker: must run as a worker thread');

function post(m: FromWorker): void {
  port!.postMessage(m);
}

let engine: VrrpEngine | null = null;
let transportInUse: RawVrrpTransport | null = null;
let links: LinkMonitor | null = null;
const pendingScripts: Array<{ name: string; up: boolean }> = [];
/** A stop that arrives while starting waits for the start, then stops what it started. */
let starting: Promise<void> = Promise.resolve();

async function start(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const net = new IprouteHostNet();
  const transport = new RawVrrpTransport();
  const e = new VrrpEngine(msg.config, transport, net, {
    log: (level, m) => post({ type: 'log', level, msg: m }),
    stateChanged: (status, from, reason) => post({ type: 'state', status, from, reason }),
    groupChanged: (status, from) => post({ type: 'group', status, from }),
  });
  links = new LinkMonitor(net, engineDevices(msg.config), (dev, up) => e.linkChanged(dev, up));
  try {
    const initial = await links.start();
    await e.start(initial);
  } catch (err) {
    // Nothing may stay open, or the worker would never exit (and Node 24 aborts on exit with
    // open handles): the link monitor's child, the sockets opened so far, the ip batch process.
    links.stop();
    links = null;
    transport.close();
    net.close();
    throw err;
  }
  engine = e;
  transportInUse = transport;
  for (const s of pendingScripts.splice(0)) e.scriptResult(s.name, s.up);
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
    case 'script':
      if (engine) engine.scriptResult(msg.name, msg.up);
      else pendingScripts.push({ name: msg.name, up: msg.up });
      break;
    case 'status': {
      const status = engine?.status() ?? { instances: [], groups: [], unattributed: {} };
      void (transportInUse?.kernelDrops() ?? Promise.resolve(null)).then((socketDrops) => post({ type: 'status', id: msg.id, status: { ...status, socketDrops } }));
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
