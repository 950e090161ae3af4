// The TCP half of the userspace forwarder: one listener per virtual server on VIP:port, a
// connection to a real server per client, bytes piped both ways.
//
// Bounded memory: sockets are created with a small highWaterMark, and Readable.pipe pauses the
// source when the destination's buffer is full (write() returned false) and resumes on 'drain',
// so a slow reader stops the reads from the fast side; the kernel's socket buffers and TCP flow
// control carry the pressure back to the sender. Per connection this holds at most about
// highWaterMark plus one read (libuv reads up to 64 KiB) per direction.
//
// Half-close: both sockets allowHalfOpen; a FIN from one side ends (FIN) the other side once
// its data is flushed (pipe calls end()), the other direction keeps flowing. A reset on one side
// is passed on as a reset (resetAndDestroy), so the peer sees what the real server did.
import net from 'node:net';
import type { TimerHandle } from '../../util/clock.ts';
import type { ForwarderScheduler, Backend } from './scheduler.ts';
import type { ForwarderContext, VsCounters } from './types.ts';
import { zeroCounters } from './types.ts';
import { RetryingBind } from './listen.ts';
import { Sweep, sweepPeriodMs } from './sweep.ts';

interface Conn {
  client: net.Socket;
  upstream: net.Socket | null;
  backend: Backend | null;
  scheduler: ForwarderScheduler;
  /** Bytes read on both sockets at the last sweep, and when that number last changed. */
  seenBytes: number;
  lastActive: number;
  connectTimer: TimerHandle | null;
  connected: boolean;
  done: boolean;
}

export class TcpForwarder {
  readonly counters: VsCounters = zeroCounters();
  private readonly conns = new Set<Conn>();
  private readonly listener: RetryingBind<net.Server>;
  private readonly sweep: Sweep;
  private stopped = false;

  constructor(
    readonly vip: string,
    readonly port: number,
    private scheduler: ForwarderScheduler,
    private readonly ctx: ForwarderContext,
  ) {
    const hwm = ctx.limits.highWaterMark;
    this.listener = new RetryingBind(`listen on ${vip}:${port}/tcp`, `${vip}:${port}/tcp`, ctx, (bound) => {
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true, highWaterMark: hwm }, (s) => this.accept(s));
      server.listen({ host: vip, port, backlog: 1024 }, bound);
      return server;
    });
    this.sweep = new Sweep(ctx.clock, sweepPeriodMs(ctx.limits.tcpIdleTimeoutMs), (now) => this.sweepIdle(now));
  }

  /** Swapped on reload; running connections release their counts on the scheduler they started with. */
  setScheduler(s: ForwarderScheduler): void {
    this.scheduler = s;
  }

  get listening(): boolean {
    return this.listener.bound?.listening ?? false;
  }

  get activeConnections(): number {
    return this.conns.size;
  }

  /** Starts listening; resolves once bound, or after the first failure (it then retries in the background). */
  start(): Promise<void> {
    this.sweep.start();
    return this.listener.start();
  }

  private accept(client: net.Socket): void {
    client.on('error', () => { /* handled by 'close' (hadError) below */ });
    if (this.stopped) {
      client.destroy();
      return;
    }
    const c = this.ctx.cap.acquire();
    if (!c.ok) {
      this.counters.refusedCap++;
      this.ctx.capEvent(c.event);
      client.destroy();
      return;
    }
    const conn: Conn = { client, upstream: null, backend: null, scheduler: this.scheduler, seenBytes: 0, lastActive: 0, connectTimer: null, connected: false, done: false };
    this.conns.add(conn);
    client.on('close', (hadError) => this.sideClosed(conn, client, hadError));
    this.connect(conn, this.ctx.limits.connectRetries, new Set());
  }

  private connect(conn: Conn, retriesLeft: number, tried: Set<string>): void {
    const { client } = conn;
    if (conn.done) return;
    let b = conn.scheduler.pick(client.remoteAddress ?? '', this.ctx.clock.monotonic());
    // Redispatch: a retry after a failed connect avoids the server that just failed when
    // another one is schedulable (hash schedulers would otherwise pick it again).
    if (b && tried.has(b.key)) b = conn.scheduler.schedulable.find((x) => !tried.has(x.key)) ?? null;
    if (!b) {
      if (tried.size === 0) this.counters.noBackend++;
      else this.counters.connectFailed++;
      this.finish(conn, false);
      return;
    }
    tried.add(b.key);
    conn.backend = b;
    conn.scheduler.acquire(b.key);
    // net.Socket passes highWaterMark on to stream.Duplex (Node ≥ 18); @types/node omits it.
    const relay = new ReadRelay(client);
    const opts: net.TcpNetConnectOpts & { highWaterMark: number } = {
      host: b.address, port: b.port, allowHalfOpen: true, noDelay: true, highWaterMark: this.ctx.limits.highWaterMark,
      onread: { buffer: () => relay.buffer(), callback: (n, buf) => relay.data(n, buf as Buffer) },
    };
    const up = net.connect(opts);
    relay.source = up;
    conn.upstream = up;
    const timer = this.ctx.clock.setTimer(() => up.destroy(new Error('connect timeout')), this.ctx.limits.connectTimeoutMs);
    conn.connectTimer = timer;
    const failed = (err: Error): void => {
      this.ctx.clock.clearTimer(timer);
      conn.scheduler.release(b.key);
      conn.backend = null;
      conn.upstream = null;
      this.ctx.log('debug', `forwarder: ${b.address}:${b.port} for ${this.vip}:${this.port}: ${err.message}`);
      if (retriesLeft > 0 && !conn.done) this.connect(conn, retriesLeft - 1, tried);
      else {
        this.counters.connectFailed++;
        this.finish(conn, false);
      }
    };
    up.once('error', failed);
    up.once('connect', () => {
      this.ctx.clock.clearTimer(timer);
      up.removeListener('error', failed);
      up.on('error', () => { /* 'close' (hadError) below */ });
      if (conn.done) {
        up.destroy();
        return;
      }
      this.counters.accepted++;
      conn.connected = true;
      up.on('close', (hadError) => this.sideClosed(conn, up, hadError));
      conn.lastActive = this.ctx.clock.monotonic();
      client.pipe(up);
      // server → client through ReadRelay (reused read buffers); 'end' still arrives as usual.
      up.on('end', () => client.end());
    });
  }

  private sweepIdle(now: number): void {
    this.scheduler.expire(now);
    for (const conn of this.conns) {
      if (!conn.connected || !conn.upstream) continue;
      const bytes = conn.client.bytesRead + conn.upstream.bytesRead;
      if (bytes !== conn.seenBytes) {
        conn.seenBytes = bytes;
        conn.lastActive = now;
      } else if (now - conn.lastActive >= this.ctx.limits.tcpIdleTimeoutMs) {
        this.counters.idleClosed++;
        this.finish(conn, false);
      }
    }
  }

  /** One side is fully closed. An error (reset) is passed on as a reset; a clean close ends the other side. */
  private sideClosed(conn: Conn, side: net.Socket, hadError: boolean): void {
    if (conn.done) return;
    const other = side === conn.client ? conn.upstream : conn.client;
    if (!conn.connected) {
      // The client left while we were still connecting: nothing to pass on.
      this.finish(conn, false);
      return;
    }
    if (!other || other.destroyed) {
      this.finish(conn, false);
      return;
    }
    if (hadError) {
      this.finish(conn, true);
      return;
    }
    // Clean close: pipe has already ended `other` (the FIN went out after the data); `other`
    // closes once its peer's FIN arrives; the idle sweep bounds a peer that never sends one.
    if (!other.writableEnded) other.end();
  }

  /** Tears the connection down once: counters released, both sockets closed. */
  private finish(conn: Conn, reset: boolean): void {
    if (conn.done) return;
    conn.done = true;
    this.conns.delete(conn);
    if (conn.connected) {
      this.counters.bytesFromClients += conn.client.bytesRead;
      this.counters.bytesFromServers += conn.upstream?.bytesRead ?? 0;
    }
    if (conn.connectTimer) this.ctx.clock.clearTimer(conn.connectTimer);
    for (const s of [conn.client, conn.upstream]) {
      if (!s || s.destroyed) continue;
      if (reset) resetSocket(s);
      else s.destroy();
    }
    if (conn.backend) conn.scheduler.release(conn.backend.key);
    this.ctx.capEvent(this.ctx.cap.release());
  }

  /** Closes the connections to one real server (it failed: its clients reconnect elsewhere at once). */
  closeBackend(key: string): number {
    let n = 0;
    for (const c of [...this.conns]) {
      if (c.backend?.key === key) {
        this.finish(c, true);
        n++;
      }
    }
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sweep.stop();
    const server = this.listener.stop();
    for (const c of [...this.conns]) this.finish(c, false);
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

/** RST instead of FIN, so a reset by one peer reaches the other (Node ≥ 18.3). */
function resetSocket(s: net.Socket): void {
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

const READ_SIZE = 64 * 1024;

/**
 * The server → client direction without a fresh Buffer per read: the upstream socket reads
 * (`onread`) into buffers from a small per-connection pool, each returned to the pool when its
 * write to the client has completed. Backpressure as pipe() does it: when the client's write
 * buffer is over its highWaterMark, reading pauses until 'drain'. In flight: at most a few
 * READ_SIZE buffers per connection.
 */
class ReadRelay {
  source: net.Socket | null = null;
  private readonly free: Buffer[] = [];
  private waiting = false;

  constructor(private readonly dest: net.Socket) {}

  buffer(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(READ_SIZE);
  }

  data(n: number, buf: Buffer): boolean {
    if (this.dest.destroyed) return false;
    const ok = this.dest.write(buf.subarray(0, n), () => {
      if (this.free.length < 4) this.free.push(buf);
    });
    if (ok) return true;
    if (!this.waiting) {
      this.waiting = true;
      this.dest.once('drain', () => {
        this.waiting = false;
        this.source?.resume();
      });
    }
    // false pauses the source, like pause() (net.Socket onread contract).
    return false;
  }
}
