// The userspace forwarder (src/lb/forwarder/) in network namespaces this file creates:
//
//   client ns  eth0 203.0.113.10 ── eth0 203.0.113.1 + VIP 203.0.113.100   lb ns (forwarder)
//                                   eth1 198.51.100.1 ── eth0 198.51.100.11/.12/.13   rs ns
//
// Each namespace runs one agent: this same file started with TDM_FWD_ROLE=client|lb|rs, taking
// JSON requests on stdin and answering on stdout ("@@" lines), so the test drives real sockets
// in every namespace. Namespaces are named tdm-fwd-<tag>-* and removed in t.after (and by an
// exit hook if the test process dies).
//
//   node --import tsx --test test/lab/forwarder.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '..', '..');
const VIP = '203.0.113.100';
const RS = ['198.51.100.11', '198.51.100.12', '198.51.100.13'];
const MB = 1024 * 1024;

const role = process.env.TDM_FWD_ROLE;
if (role) await runAgent(role);
else registerTests();

// ---------------------------------------------------------------------------------------------
// The test (runs in the host namespace, touches only its own namespaces)

function registerTests(): void {
  test('userspace forwarder in namespaces', { timeout: 240_000 }, async (t) => {
    const { LabProcess } = await import('./process.ts');
    const { ip, runSyncQuiet } = await import('./command.ts');
    const { waitFor } = await import('./wait.ts');

    const tag = randomBytes(3).toString('hex');
    const ns = { client: `tdm-fwd-${tag}-c`, lb: `tdm-fwd-${tag}-lb`, rs: `tdm-fwd-${tag}-rs` };
    const all = Object.values(ns);
    const agents: Array<InstanceType<typeof LabProcess>> = [];
    const removeSync = (): void => {
      for (const a of agents) if (a.running) a.signal('SIGKILL');
      for (const n of all) runSyncQuiet('ip', ['netns', 'del', n]);
    };
    process.once('exit', removeSync);
    t.after(async () => {
      await Promise.all(agents.map((a) => a.stop('SIGTERM', 3_000)));
      for (const n of all) await ip(['netns', 'del', n]).catch(() => undefined);
      process.removeListener('exit', removeSync);
    });

    for (const n of all) await ip(['netns', 'add', n]);
    await ip(['-n', ns.lb, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.client]);
    await ip(['-n', ns.lb, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.rs]);
    await ip(['-n', ns.lb, 'addr', 'add', '203.0.113.1/24', 'dev', 'eth0']);
    await ip(['-n', ns.lb, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth1']);
    await ip(['-n', ns.client, 'addr', 'add', '203.0.113.10/24', 'dev', 'eth0']);
    for (const a of RS) await ip(['-n', ns.rs, 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
    for (const n of all) {
      await ip(['-n', n, 'link', 'set', 'lo', 'up']);
      await ip(['-n', n, 'link', 'set', 'eth0', 'up']);
    }
    await ip(['-n', ns.lb, 'link', 'set', 'eth1', 'up']);

    const start = (r: string, n: string): Agent => {
      const p = new LabProcess(n, [process.execPath, '--import', 'tsx', SELF], { env: { TDM_FWD_ROLE: r }, stdin: true, cwd: REPO, label: r });
      agents.push(p);
      return new Agent(p);
    };
    const lb = start('lb', ns.lb);
    const rs = start('rs', ns.rs);
    const client = start('client', ns.client);
    const lbProc = agents[0];

    // Real servers: "name" servers answer NAME\n then echo; port 8080 stands for the rewritten port.
    for (const [i, a] of RS.entries()) await rs.call('tcpName', { address: a, port: 8080, name: `rs${i + 1}` });
    await rs.call('tcpBlast', { address: RS[0], port: 9000, bytes: 100 * MB });
    await rs.call('tcpHang', { address: RS[0], port: 9001 });
    await rs.call('tcpReset', { address: RS[0], port: 9002 });
    await rs.call('tcpSink', { address: RS[1], port: 9003 });
    for (const [i, a] of RS.slice(0, 2).entries()) await rs.call('udpEcho', { address: a, port: 5353, name: `rs${i + 1}` });

    const rsDef = (address: string, port: number, weight = 1): RsDef => ({ address, port, weight });
    // The forwarder binds the VIP before it is on the interface (ip_nonlocal_bind, set by the
    // forwarder itself), as on a BACKUP board; the VIP arrives afterwards, as on takeover.
    await lb.call('serve', {
      name: 'main',
      limits: {},
      vss: [
        vsDef(80, 'TCP', 'wrr', [rsDef(RS[0], 8080, 2), rsDef(RS[1], 8080), rsDef(RS[2], 8080)]),
        vsDef(81, 'TCP', 'lc', [rsDef(RS[0], 8080), rsDef(RS[1], 8080)]),
        vsDef(82, 'TCP', 'rr', [rsDef(RS[0], 9000)]),
        vsDef(53, 'UDP', 'rr', [rsDef(RS[0], 5353), rsDef(RS[1], 5353)]),
        vsDef(86, 'TCP', 'rr', [rsDef(RS[2], 9999), rsDef(RS[1], 8080)]),
        vsDef(87, 'TCP', 'rr', [rsDef(RS[1], 9003)]),
      ],
    });
    await lb.call('serve', {
      name: 'short',
      limits: { tcpIdleTimeoutMs: 1_500, connectTimeoutMs: 1_000 },
      vss: [vsDef(83, 'TCP', 'rr', [rsDef(RS[0], 9001)]), vsDef(84, 'TCP', 'rr', [rsDef(RS[0], 9002)])],
    });
    await lb.call('serve', { name: 'capped', maxConnections: 2, limits: {}, vss: [vsDef(85, 'TCP', 'rr', [rsDef(RS[1], 8080)])] });
    assert.equal(readFileSync(`/proc/${lbProc.pid}/status`, 'utf8').length > 0, true);
    await ip(['-n', ns.lb, 'addr', 'add', `${VIP}/32`, 'dev', 'eth0']);
    await waitFor(async () => (await client.call('tcpAsk', { host: VIP, port: 80, send: 'ping' })).data.startsWith('rs'), { what: 'first connection through the VIP', timeoutMs: 15_000 });

    await t.test('TCP reaches the real servers by wrr (2:1:1) with the port rewritten, echo both ways', async () => {
      const names: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await client.call('tcpAsk', { host: VIP, port: 80, send: `hello ${i}` });
        assert.equal(r.error, null);
        const [name, echo] = r.data.split('\n');
        assert.equal(echo, `hello ${i}`, 'the request reached the server and its reply came back after the client half-closed');
        names.push(name);
      }
      const c = tally(names);
      assert.deepEqual(c, { rs1: 4, rs2: 2, rs3: 2 });
    });

    await t.test('lc counts open connections; a drained server gets no new ones and keeps its old ones', async () => {
      const held: string[] = [];
      for (let i = 0; i < 4; i++) held.push((await client.call('tcpHold', { host: VIP, port: 81 })).name);
      assert.deepEqual(tally(held), { rs1: 2, rs2: 2 });
      let st = await lb.call('stats', {});
      assert.deepEqual(rsActive(st, 81), { [`${RS[0]}:8080`]: 2, [`${RS[1]}:8080`]: 2 });
      await lb.call('update', { port: 81, protocol: 'TCP', backends: [rsDef(RS[0], 8080, 0), rsDef(RS[1], 8080)] });
      const more = [];
      for (let i = 0; i < 2; i++) more.push((await client.call('tcpHold', { host: VIP, port: 81 })).name);
      assert.deepEqual(more, ['rs2', 'rs2']);
      st = await lb.call('stats', {});
      assert.deepEqual(rsActive(st, 81), { [`${RS[0]}:8080`]: 2, [`${RS[1]}:8080`]: 4 });
      await client.call('closeHeld', {});
      await waitFor(async () => Object.values(rsActive(await lb.call('stats', {}), 81)).every((n) => n === 0), { what: 'lc counts back to 0' });
    });

    await t.test('a real server that refuses: the connection is redispatched to another one', async () => {
      // RS[2]:9999 has no listener (connection refused); rr alternates, every client still gets rs2.
      const names = [];
      for (let i = 0; i < 4; i++) names.push((await client.call('tcpAsk', { host: VIP, port: 86, send: 'r' })).data);
      assert.deepEqual(names, ['rs2\nr', 'rs2\nr', 'rs2\nr', 'rs2\nr']);
    });

    await t.test('UDP: a session per client port, replies from the VIP', async () => {
      const a1 = await client.call('udpAsk', { host: VIP, port: 53, payload: 'q1', bindPort: 40001 });
      const a2 = await client.call('udpAsk', { host: VIP, port: 53, payload: 'q2', bindPort: 40002 });
      const a1again = await client.call('udpAsk', { host: VIP, port: 53, payload: 'q3', bindPort: 40001 });
      for (const a of [a1, a2, a1again]) assert.equal(a.from, `${VIP}:53`, 'reply must come from the VIP');
      assert.deepEqual([a1.data.split(':')[1], a2.data.split(':')[1], a1again.data.split(':')[1]], ['q1', 'q2', 'q3']);
      assert.notEqual(a1.data.split(':')[0], a2.data.split(':')[0], 'rr: two sessions, two servers');
      assert.equal(a1again.data.split(':')[0], a1.data.split(':')[0], 'same client port, same session, same server');
      const st = (await lb.call('stats', {}) as StatsRow[]).find((s) => s.port === 53)!;
      assert.equal(st.active, 2);
    });

    await t.test('a real server that hangs: the client is closed by the idle timeout, others unaffected; a reset is passed on', async () => {
      const hung = client.call('tcpAsk', { host: VIP, port: 83, send: 'anyone?', timeoutMs: 20_000 });
      // While that connection hangs, other clients are served normally.
      for (let i = 0; i < 3; i++) assert.match((await client.call('tcpAsk', { host: VIP, port: 80, send: 'x' })).data, /^rs\d\nx$/);
      const h = await hung;
      assert.equal(h.timedOut, false, 'the forwarder, not the client, must close a hung connection');
      assert.equal(h.data, '');
      const reset = await client.call('tcpAsk', { host: VIP, port: 84, send: 'boom', timeoutMs: 10_000 });
      assert.equal(reset.timedOut, false);
      assert.equal(reset.error, 'ECONNRESET', 'the real server reset; the client sees a reset');
      const st: StatsRow[] = await lb.call('stats', {});
      for (const p of [83, 84]) assert.equal(st.find((s) => s.port === p)!.active, 0);
      assert.equal(st.find((s) => s.port === 83)!.counters.idleClosed, 1);
    });

    await t.test('global connection cap: refused beyond it with one log line, room again after', async () => {
      const mark = lbProc.mark();
      const a = await client.call('tcpHold', { host: VIP, port: 85 });
      const b = await client.call('tcpHold', { host: VIP, port: 85 });
      assert.deepEqual([a.name, b.name], ['rs2', 'rs2']);
      const third = await client.call('tcpAsk', { host: VIP, port: 85, send: 'x', timeoutMs: 10_000 });
      assert.equal(third.data, '', 'the third connection must be closed without reaching a server');
      await lbProc.waitForLog(/connection limit 2 reached/, 5_000, { from: mark });
      await client.call('closeHeld', {});
      await waitFor(async () => (await client.call('tcpAsk', { host: VIP, port: 85, send: 'y' })).data === 'rs2\ny', { what: 'served again below the cap' });
      const st = (await lb.call('stats', {}) as StatsRow[]).find((s) => s.port === 85)!;
      assert.equal(st.counters.refusedCap >= 1, true);
    });

    await t.test('a slow client does not make the forwarder buffer: 100 MB from a server, bounded RSS', async () => {
      const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${lbProc.pid}/status`, 'utf8'))![1]) * 1024;
      const base = rss();
      await client.call('slowStart', { host: VIP, port: 82 });
      // The client reads nothing: the server's writes must stop once the buffers on the path are full.
      let last = -1;
      let stable = 0;
      await waitFor(async () => {
        const w = (await rs.call('blastWritten', {})).written;
        stable = w === last && w > 0 ? stable + 1 : 0;
        last = w;
        return stable >= 5;
      }, { what: 'the real server blocked by backpressure', timeoutMs: 60_000, intervalMs: 200 });
      assert.ok(last < 60 * MB, `server wrote ${(last / MB).toFixed(1)} MB to a client that reads nothing`);
      const paused = rss();
      assert.ok(paused - base < 40 * MB, `forwarder RSS grew by ${((paused - base) / MB).toFixed(1)} MB while the client read nothing`);
      // Now the client reads, slowly; the forwarder's RSS stays bounded throughout.
      let peak = paused;
      const drain = client.call('slowDrain', { mbPerSecond: 40, timeoutMs: 120_000 });
      let done = false;
      void drain.finally(() => { done = true; });
      while (!done) {
        peak = Math.max(peak, rss());
        await new Promise((r) => setTimeout(r, 50));
      }
      const got = await drain;
      assert.equal(got.bytes, 100 * MB, 'every byte arrived');
      t.diagnostic(`server blocked after ${(last / MB).toFixed(1)} MB; forwarder RSS +${((paused - base) / MB).toFixed(1)} MB paused, peak +${((peak - base) / MB).toFixed(1)} MB`);
      assert.ok(peak - base < 50 * MB, `forwarder RSS peaked ${((peak - base) / MB).toFixed(1)} MB above its start while relaying 100 MB`);
    });

    await t.test('a slow real server does not make the forwarder buffer: 100 MB from a client, bounded RSS', async () => {
      const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${lbProc.pid}/status`, 'utf8'))![1]) * 1024;
      const base = rss();
      await client.call('blastStart', { host: VIP, port: 87, bytes: 100 * MB });
      let last = -1;
      let stable = 0;
      await waitFor(async () => {
        const w = (await client.call('blastWritten', {})).written;
        stable = w === last && w > 0 ? stable + 1 : 0;
        last = w;
        return stable >= 5;
      }, { what: 'the client blocked by backpressure', timeoutMs: 60_000, intervalMs: 200 });
      assert.ok(last < 60 * MB, `client wrote ${(last / MB).toFixed(1)} MB to a server that reads nothing`);
      assert.ok(rss() - base < 40 * MB, `forwarder RSS grew by ${((rss() - base) / MB).toFixed(1)} MB while the server read nothing`);
      await rs.call('sinkResume', {});
      await waitFor(async () => (await rs.call('sinkBytes', {})).bytes === 100 * MB, { what: 'all 100 MB at the server', timeoutMs: 120_000, intervalMs: 200 });
      t.diagnostic(`client blocked after ${(last / MB).toFixed(1)} MB; forwarder RSS +${((rss() - base) / MB).toFixed(1)} MB after`);
    });
  });
}

interface RsDef { address: string; port: number; weight: number }

function vsDef(port: number, protocol: 'TCP' | 'UDP', scheduler: string, rs: RsDef[]): Record<string, unknown> {
  const pos = { file: 'lab', line: 1, col: 1 };
  return {
    name: `${VIP} ${port}`, address: VIP, port, protocol, delayLoopMs: 60_000, scheduler, method: 'NAT',
    persistenceTimeoutMs: 0, persistenceGranularity: 32, quorum: 1, hysteresis: 0, quorumUp: null, quorumDown: null,
    sorryServer: null, sorryServerInhibit: false, alpha: false, omega: false, inhibitOnFailure: false, haSuspend: false,
    virtualhost: null, forwarder: 'userspace', pos,
    realServers: rs.map((r) => ({
      name: `${r.address} ${r.port}`, address: r.address, port: r.port, weight: r.weight, inhibitOnFailure: false,
      notifyUp: null, notifyDown: null, checkers: [], pos,
    })),
  };
}

function tally(xs: string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const x of [...xs].sort()) c[x] = (c[x] ?? 0) + 1;
  return c;
}

interface StatsRow { port: number; active: number; counters: Record<string, number>; realServers: Array<{ address: string; port: number; active: number }> }

function rsActive(st: StatsRow[], port: number): Record<string, number> {
  const row = st.find((s) => s.port === port);
  assert.ok(row, `no stats for port ${port}`);
  return Object.fromEntries(row.realServers.map((r) => [`${r.address}:${r.port}`, r.active]));
}

/** JSON-lines RPC to an agent process. */
class Agent {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- replies are op-specific JSON
  constructor(private readonly p: { child: { stdin: NodeJS.WritableStream | null }; onLine(cb: (l: { stream: string; text: string }) => void): () => void; exited: Promise<unknown>; label: string; tail(n?: number): string }) {
    p.onLine((l) => {
      if (l.stream !== 'stdout' || !l.text.startsWith('@@')) return;
      const m = JSON.parse(l.text.slice(2)) as { id: number; ok: boolean; result?: unknown; error?: string };
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`${p.label}: ${m.error}`));
    });
    void p.exited.then(() => {
      for (const w of this.waiting.values()) w.reject(new Error(`${p.label} agent exited:\n${p.tail(20)}`));
      this.waiting.clear();
    });
  }

  // The reply's shape depends on the op; `any` keeps the test readable (agents are this file).
  call(op: string, args: Record<string, unknown>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.p.child.stdin!.write(JSON.stringify({ id, op, args }) + '\n');
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Agents (run inside a namespace)

type Handler = (args: any) => Promise<unknown> | unknown; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON requests

async function runAgent(r: string): Promise<void> {
  const handlers: Record<string, Handler> = r === 'lb' ? await lbAgent() : r === 'rs' ? rsAgent() : clientAgent();
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let req: { id: number; op: string; args: unknown };
    try {
      req = JSON.parse(line) as typeof req;
    } catch {
      return;
    }
    const h = handlers[req.op];
    Promise.resolve()
      .then(() => (h ? h(req.args) : Promise.reject(new Error(`unknown op ${req.op}`))))
      .then(
        (result) => process.stdout.write('@@' + JSON.stringify({ id: req.id, ok: true, result: result ?? null }) + '\n'),
        (err: Error) => process.stdout.write('@@' + JSON.stringify({ id: req.id, ok: false, error: err.stack ?? err.message }) + '\n'),
      );
  });
  rl.on('close', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

async function lbAgent(): Promise<Record<string, Handler>> {
  const { UserspaceForwarder } = await import('../../src/lb/forwarder/index.ts');
  const fwds = new Map<string, InstanceType<typeof UserspaceForwarder>>();
  const vsOwner = new Map<string, { fwd: InstanceType<typeof UserspaceForwarder>; vs: any }>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- VirtualServer JSON
  return {
    async serve(a: { name: string; maxConnections?: number; limits: Record<string, number>; vss: any[] }) { // eslint-disable-line @typescript-eslint/no-explicit-any
      const fwd = new UserspaceForwarder({ log: (level, msg) => console.log(`log ${level} ${msg}`), maxConnections: a.maxConnections, limits: a.limits });
      fwds.set(a.name, fwd);
      await fwd.serve(a.vss);
      for (const vs of a.vss) {
        vsOwner.set(`${vs.port}/${vs.protocol}`, { fwd, vs });
        fwd.update(vs, vs.realServers.map((x: RsDef) => ({ key: `${x.address}:${x.port}`, address: x.address, port: x.port, weight: x.weight })));
      }
    },
    update(a: { port: number; protocol: string; backends: RsDef[] }) {
      const o = vsOwner.get(`${a.port}/${a.protocol}`)!;
      o.fwd.update(o.vs, a.backends.map((x) => ({ key: `${x.address}:${x.port}`, ...x })));
    },
    stats() {
      return [...fwds.values()].flatMap((f) => f.stats());
    },
  };
}

function rsAgent(): Record<string, Handler> {
  let written = 0;
  let sunk = 0;
  const sinks: net.Socket[] = [];
  const listen = (srv: net.Server, address: string, port: number): Promise<void> =>
    new Promise((res, rej) => {
      srv.once('error', rej);
      srv.listen(port, address, () => res());
    });
  return {
    tcpName: (a: { address: string; port: number; name: string }) =>
      listen(net.createServer((s) => {
        s.on('error', () => {});
        s.write(`${a.name}\n`);
        s.pipe(s);
      }), a.address, a.port),
    tcpBlast: (a: { address: string; port: number; bytes: number }) =>
      listen(net.createServer((s) => {
        s.on('error', () => {});
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        let left = a.bytes;
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            // Counted when the kernel took it (write callback), not when queued in Node.
            const ok = s.write(n === chunk.length ? chunk : chunk.subarray(0, n), (err) => { if (!err) written += n; });
            if (!ok) {
              s.once('drain', pump);
              return;
            }
          }
          s.end();
        };
        pump();
      }), a.address, a.port),
    blastWritten: () => ({ written }),
    tcpSink: (a: { address: string; port: number }) =>
      listen(net.createServer((s) => {
        s.on('error', () => {});
        s.pause();
        sinks.push(s);
        s.on('data', (d: Buffer) => { sunk += d.length; });
      }), a.address, a.port),
    sinkResume: () => { for (const s of sinks) s.resume(); },
    sinkBytes: () => ({ bytes: sunk }),
    tcpHang: (a: { address: string; port: number }) =>
      listen(net.createServer((s) => { s.on('error', () => {}); s.pause(); }), a.address, a.port),
    tcpReset: (a: { address: string; port: number }) =>
      listen(net.createServer((s) => {
        s.on('error', () => {});
        s.once('data', () => s.resetAndDestroy());
      }), a.address, a.port),
    udpEcho: (a: { address: string; port: number; name: string }) =>
      new Promise<void>((res, rej) => {
        const u = dgram.createSocket('udp4');
        u.once('error', rej);
        u.on('message', (m, ri) => u.send(Buffer.concat([Buffer.from(`${a.name}:`), m]), ri.port, ri.address));
        u.bind(a.port, a.address, () => res());
      }),
  };
}

function clientAgent(): Record<string, Handler> {
  const held: net.Socket[] = [];
  let blastWritten = 0;
  let slow: { sock: net.Socket; bytes: number; ended: Promise<void> } | null = null;
  return {
    /** Connect, send, half-close, read to the end. */
    tcpAsk: (a: { host: string; port: number; send: string; timeoutMs?: number }) =>
      new Promise((res) => {
        const s = net.connect({ host: a.host, port: a.port });
        let data = '';
        let error: string | null = null;
        const timer = setTimeout(() => { s.destroy(); res({ data, error, timedOut: true }); }, a.timeoutMs ?? 5_000);
        s.setEncoding('utf8');
        s.on('data', (d: string) => { data += d; });
        s.on('error', (e: NodeJS.ErrnoException) => { error = e.code ?? e.message; });
        s.on('close', () => { clearTimeout(timer); res({ data, error, timedOut: false }); });
        s.end(a.send);
      }),
    /** Connect and keep the connection open; answers with the server's name. */
    tcpHold: (a: { host: string; port: number }) =>
      new Promise((res, rej) => {
        const s = net.connect({ host: a.host, port: a.port });
        s.setEncoding('utf8');
        s.on('error', rej);
        s.once('data', (d: string) => { held.push(s); res({ name: d.trim() }); });
        s.once('close', () => rej(new Error('closed before the server answered')));
      }),
    closeHeld: () => {
      for (const s of held.splice(0)) s.destroy();
    },
    udpAsk: (a: { host: string; port: number; payload: string; bindPort: number }) =>
      new Promise((res, rej) => {
        const u = dgram.createSocket({ type: 'udp4', reuseAddr: true });
        const timer = setTimeout(() => { u.close(); rej(new Error('no UDP reply')); }, 5_000);
        u.on('message', (m, ri) => {
          clearTimeout(timer);
          u.close();
          res({ data: m.toString(), from: `${ri.address}:${ri.port}` });
        });
        u.bind(a.bindPort, () => u.send(a.payload, a.port, a.host));
      }),
    /** Connect and send `bytes` as fast as the path takes them. */
    blastStart: (a: { host: string; port: number; bytes: number }) =>
      new Promise<void>((res, rej) => {
        const s = net.connect({ host: a.host, port: a.port });
        s.once('error', rej);
        s.once('connect', () => {
          const chunk = Buffer.alloc(64 * 1024, 0x62);
          let left = a.bytes;
          const pump = (): void => {
            while (left > 0) {
              const n = Math.min(left, chunk.length);
              left -= n;
              const ok = s.write(n === chunk.length ? chunk : chunk.subarray(0, n), (err) => { if (!err) blastWritten += n; });
              if (!ok) {
                s.once('drain', pump);
                return;
              }
            }
            s.end();
          };
          pump();
          res();
        });
      }),
    blastWritten: () => ({ written: blastWritten }),
    /** Connect and read nothing. */
    slowStart: (a: { host: string; port: number }) =>
      new Promise<void>((res, rej) => {
        const sock = net.connect({ host: a.host, port: a.port, highWaterMark: 16 * 1024 } as net.NetConnectOpts);
        sock.pause();
        sock.once('error', rej);
        sock.once('connect', () => {
          let endedRes: () => void = () => {};
          const ended = new Promise<void>((r) => { endedRes = r; });
          sock.on('end', () => endedRes());
          sock.on('close', () => endedRes());
          slow = { sock, bytes: 0, ended };
          res();
        });
      }),
    /** Read everything at about mbPerSecond. */
    slowDrain: async (a: { mbPerSecond: number; timeoutMs: number }) => {
      const st = slow;
      if (!st) throw new Error('no slow connection');
      const sliceBytes = Math.max(64 * 1024, Math.floor((a.mbPerSecond * MB) / 50));
      let sinceTick = 0;
      st.sock.on('data', (d: Buffer) => {
        st.bytes += d.length;
        sinceTick += d.length;
        if (sinceTick >= sliceBytes) {
          sinceTick = 0;
          st.sock.pause();
          setTimeout(() => st.sock.resume(), 20);
        }
      });
      st.sock.resume();
      await Promise.race([st.ended, new Promise((_, rej) => setTimeout(() => rej(new Error(`slow drain timed out at ${st.bytes} bytes`)), a.timeoutMs))]);
      st.sock.destroy();
      return { bytes: st.bytes };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The daemon (dist bundle) in the shared two-board lab: a `forwarder userspace` wlc virtual
// server through the controller, served by the MASTER and, after its power loss, by the BACKUP
// whose listener was bound to the VIP before it had it (ip_nonlocal_bind).

if (!role) {
  test('daemon: a forwarder-userspace wlc virtual server is served on the MASTER and after failover on the BACKUP', { timeout: 180_000 }, async (t) => {
    const { withLab, LAB_ADDR } = await import('./lab.ts');
    const { pairConfig } = await import('./vrrp-configs.ts');
    const { virtualServerBlock, tcpCheck } = await import('./lb-helpers.ts');
    const vip = LAB_ADDR.publicVip;
    const lab = await withLab(t, { name: 'forwarder', realServers: 3 });
    for (let i = 1; i <= 3; i++) await lab.startHttpServer(i, 8080);
    const check = tcpCheck({ connectTimeout: 1, retry: 1, delayBeforeRetry: 0.5, warmup: 0 });
    const extra = virtualServerBlock({
      address: vip, port: 80, lbAlgo: 'wlc', extra: '    forwarder userspace',
      realServers: [1, 2, 3].map((i) => ({ address: LAB_ADDR.realServer(i), port: 8080, checker: check })),
    });
    const fast = { version: 3 as const, advertInt: 0.2, extra };
    await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, ...fast }));
    await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100, ...fast }));
    await lab.waitFor(() => lab.hasAddress('a', 'eth0', vip), { what: 'VIP on a', timeoutMs: 20_000 });
    const get = async (): Promise<string> => {
      const r = await lab.httpGet('client', `http://${vip}:80/`);
      assert.equal(r.status, 200);
      return r.body.trim();
    };
    await lab.waitFor(async () => (await get()).length > 0, { what: 'HTTP through the VIP on a', timeoutMs: 20_000 });
    const seen = new Set<string>();
    for (let i = 0; i < 9; i++) seen.add(await get());
    assert.equal(seen.size, 3, `wlc with sequential requests rotates over all three: ${[...seen].join(',')}`);
    await lab.powerOff('a');
    await lab.waitFor(() => lab.hasAddress('b', 'eth0', vip), { what: 'VIP on b', timeoutMs: 20_000 });
    await lab.waitFor(async () => (await get()).length > 0, { what: 'HTTP through the VIP on b', timeoutMs: 20_000 });
  });
}
