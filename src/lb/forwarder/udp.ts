// The UDP half of the userspace forwarder. A socket bound to VIP:port receives the clients'
// datagrams; each client address:port is a session with its own upstream socket to the real
// server chosen when the session began (so a server's replies map back to exactly one client,
// as a conntrack entry would), and replies go out of the VIP-bound socket, hence from the VIP:
// that is why the forwarder binds the VIP itself rather than 0.0.0.0 (a wildcard socket would
// answer from the route's source address, and Node cannot set IP_PKTINFO).
//
// Bounded: at most maxUdpSessions sessions per virtual server (plus the global cap), sessions
// expire after udpIdleTimeoutMs without a datagram either way (IPVS's udp timeout), and a
// datagram is dropped (counted) when a socket's send queue is already long, so a slow path
// never queues without bound inside libuv.
import { ipFamily } from '../../util/ip.ts';
import dgram from 'node:dgram';
import type { ForwarderScheduler, Backend } from './scheduler.ts';
import type { ForwarderContext, VsCounters } from './types.ts';
import { zeroCounters } from './types.ts';
import { ExpiringMap } from './expiring-map.ts';
import { RetryingBind } from './listen.ts';
import { Sweep, sweepPeriodMs } from './sweep.ts';

interface Session {
  clientAddress: string;
  clientPort: number;
  backend: Backend;
  scheduler: ForwarderScheduler;
  upstream: dgram.Socket;
  closed: boolean;
}

export class UdpForwarder {
  readonly counters: VsCounters = zeroCounters();
  private readonly sessions: ExpiringMap<Session>;
  private readonly listener: RetryingBind<dgram.Socket>;
  private readonly sweep: Sweep;
  private tableFullLogged = false;

  constructor(
    readonly vip: string,
    readonly port: number,
    private scheduler: ForwarderScheduler,
    private readonly ctx: ForwarderContext,
  ) {
    this.sessions = new ExpiringMap<Session>({ idleMs: ctx.limits.udpIdleTimeoutMs, max: ctx.limits.maxUdpSessions, whenFull: 'refuse' });
    this.listener = new RetryingBind(`bind ${vip}:${port}/udp`, `${vip}:${port}/udp`, ctx, (bound) => {
      const s = dgram.createSocket({ type: ipFamily(vip) === 6 ? 'udp6' : 'udp4' });
      s.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
      s.bind({ address: vip, port }, bound);
      return s;
    });
    // A session lives at most ~1.25 × its idle timeout.
    this.sweep = new Sweep(ctx.clock, sweepPeriodMs(ctx.limits.udpIdleTimeoutMs), (now) => this.expire(now));
  }

  /** The VIP-bound socket, once bound: clients' datagrams arrive and replies leave by it. */
  private get socket(): dgram.Socket | null {
    return this.listener.bound;
  }

  setScheduler(s: ForwarderScheduler): void {
    this.scheduler = s;
  }

  get listening(): boolean {
    return this.socket !== null;
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  start(): Promise<void> {
    this.sweep.start();
    return this.listener.start();
  }

  private fromClient(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const now = this.ctx.clock.monotonic();
    const key = `${rinfo.address}:${rinfo.port}`;
    let sess = this.sessions.touch(key, now);
    if (!sess) {
      const made = this.open(key, rinfo, now);
      if (!made) return;
      sess = made;
    }
    this.counters.bytesFromClients += msg.length;
    if (sess.upstream.getSendQueueCount() >= this.ctx.limits.maxUdpSendQueue) {
      this.counters.droppedDatagrams++;
      return;
    }
    sess.upstream.send(msg, sess.backend.port, sess.backend.address);
  }

  private open(key: string, rinfo: dgram.RemoteInfo, now: number): Session | null {
    const b = this.scheduler.pick(rinfo.address, now);
    if (!b) {
      this.counters.noBackend++;
      return null;
    }
    const c = this.ctx.cap.acquire();
    if (!c.ok) {
      this.counters.refusedCap++;
      this.ctx.capEvent(c.event);
      return null;
    }
    const upstream = dgram.createSocket({ type: ipFamily(b.address) === 6 ? 'udp6' : 'udp4' });
    const sess: Session = { clientAddress: rinfo.address, clientPort: rinfo.port, backend: b, scheduler: this.scheduler, upstream, closed: false };
    const evicted = this.sessions.set(key, sess, now);
    for (const [, old] of evicted ?? []) this.close(old);
    if (evicted === null) {
      upstream.close();
      this.ctx.capEvent(this.ctx.cap.release());
      this.counters.droppedDatagrams++;
      if (!this.tableFullLogged) this.ctx.log('warn', `forwarder ${this.vip}:${this.port}/udp: session table full (${this.ctx.limits.maxUdpSessions}), dropping datagrams of new clients`);
      this.tableFullLogged = true;
      return null;
    }
    this.tableFullLogged = false;
    this.counters.accepted++;
    sess.scheduler.acquire(b.key);
    upstream.on('error', (err) => {
      this.ctx.log('debug', `forwarder ${this.vip}:${this.port}/udp session ${key}: ${err.message}`);
      this.sessions.delete(key);
      this.close(sess);
    });
    upstream.on('message', (m, r) => {
      // Only the chosen real server's replies belong to this session.
      if (r.address !== b.address || r.port !== b.port || sess.closed || !this.socket) {
        this.counters.droppedDatagrams++;
        return;
      }
      this.sessions.touch(key, this.ctx.clock.monotonic());
      this.counters.bytesFromServers += m.length;
      if (this.socket.getSendQueueCount() >= this.ctx.limits.maxUdpSendQueue) {
        this.counters.droppedDatagrams++;
        return;
      }
      this.socket.send(m, sess.clientPort, sess.clientAddress);
    });
    return sess;
  }

  private close(sess: Session): void {
    if (sess.closed) return;
    sess.closed = true;
    try {
      sess.upstream.close();
    } catch {
      /* already closed */
    }
    sess.scheduler.release(sess.backend.key);
    this.ctx.capEvent(this.ctx.cap.release());
  }

  private expire(now: number): void {
    this.scheduler.expire(now);
    for (const [, s] of this.sessions.expire(now)) this.close(s);
  }

  /** Ends the sessions of one real server; the clients' next datagrams start new sessions elsewhere. */
  closeBackend(key: string): number {
    const gone = this.sessions.values().filter((s) => s.backend.key === key);
    this.sessions.deleteWhere((s) => s.backend.key === key);
    for (const s of gone) this.close(s);
    return gone.length;
  }

  async stop(): Promise<void> {
    this.sweep.stop();
    const s = this.listener.stop();
    for (const sess of this.sessions.values()) this.close(sess);
    this.sessions.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
