// The userspace forwarder: serves the virtual servers that nftables does not (see select.ts),
// one TcpForwarder or UdpForwarder per virtual server, all under one global connection cap.
// The LB controller (src/lb/controller.ts) owns it: start with the userspace virtual servers,
// update(vs, backends) on every health / drain / quorum change, reload, stop.
//
// Where it listens: on the VIP itself, with net.ipv4.ip_nonlocal_bind=1 set in the board's
// network namespace (system.ts), so the listener exists on MASTER and BACKUP alike and starts
// receiving the moment VRRP adds the VIP, and UDP replies leave from the VIP. Without the
// sysctl (no permission) a VIP that is absent cannot be bound; the listener then retries every
// bindRetryMs and binds once the VIP arrives.
import { ipFamily } from '../../util/ip.ts';
import type { VirtualServer, RealServer } from '../../config/model.ts';
import { vsSeed } from '../sched/index.ts';
import type { Backend } from '../sched/index.ts';
import { ConnectionCap, type CapEvent } from './cap.ts';
import { ForwarderScheduler } from './scheduler.ts';
import { TcpForwarder } from './tcp.ts';
import { UdpForwarder } from './udp.ts';
import { enableNonlocalBind } from './system.ts';
import type { ForwarderContext, ForwarderLimits, LogFn, VsCounters } from './types.ts';
import { systemClock, type Clock } from '../../util/clock.ts';

export type { ForwarderLimits, LogFn, VsCounters } from './types.ts';
export { chooseDataPlane, type DataPlane } from './select.ts';
export { probeNft, probeNftTables } from './system.ts';
export { ForwarderScheduler, type SchedulerOptions } from './scheduler.ts';
export { ConnectionCap } from './cap.ts';
export { ExpiringMap } from './expiring-map.ts';

export const DEFAULT_LIMITS: ForwarderLimits = {
  connectTimeoutMs: 5_000,
  tcpIdleTimeoutMs: 900_000,
  udpIdleTimeoutMs: 300_000,
  maxUdpSessions: 16_384,
  highWaterMark: 64 * 1024,
  maxUdpSendQueue: 256,
  connectRetries: 1,
  bindRetryMs: 1_000,
};

export interface UserspaceForwarderOptions {
  log: LogFn;
  /** Global cap on TCP connections + UDP sessions. Default 16384. */
  maxConnections?: number;
  limits?: Partial<ForwarderLimits>;
  /** Timers and time for idle timeouts, persistence and sessions (the one Clock); default the system clock. */
  clock?: Clock;
  /** Sets ip_nonlocal_bind (of IPv6 with 6); tests swap it. Returns null or why it failed. */
  nonlocalBind?: (family: 4 | 6) => Promise<string | null>;
}

export interface RealServerStats {
  address: string;
  port: number;
  /** Connections (TCP) or sessions (UDP) open to this server now. */
  active: number;
  /** May take new connections now (up, weight > 0, not drained). */
  schedulable: boolean;
}

export interface VirtualServerStats {
  vs: string;
  address: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  listening: boolean;
  active: number;
  counters: VsCounters;
  realServers: RealServerStats[];
}

interface Served {
  vs: VirtualServer;
  scheduler: ForwarderScheduler;
  fwd: TcpForwarder | UdpForwarder;
}

function keyOf(vs: Pick<VirtualServer, 'address' | 'port' | 'protocol'>): string {
  return `${vs.address}:${vs.port}/${vs.protocol}`;
}

/** Backends from real servers with their live weights: the shape ForwarderScheduler takes. */
export function backendOf(rs: Pick<RealServer, 'address' | 'port'>, weight: number): Backend {
  return { key: `${rs.address}:${rs.port}`, address: rs.address, port: rs.port, weight };
}

export class UserspaceForwarder {
  readonly cap: ConnectionCap;
  private readonly limits: ForwarderLimits;
  private readonly ctx: ForwarderContext;
  private readonly served = new Map<string, Served>();
  private nonlocalChecked = false;
  private nonlocal6Checked = false;

  constructor(private readonly opts: UserspaceForwarderOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.cap = new ConnectionCap(opts.maxConnections ?? 16_384);
    const log = opts.log;
    this.ctx = {
      limits: this.limits,
      cap: this.cap,
      log,
      clock: opts.clock ?? systemClock,
      capEvent: (e: CapEvent) => {
        if (e === 'reached') log('warn', `forwarder: connection limit ${this.cap.max} reached; refusing new connections until some close`);
        else if (e === 'relieved') log('info', `forwarder: below the connection limit ${this.cap.max} again (${this.cap.refused} refused so far)`);
      },
    };
  }

  private makeScheduler(vs: VirtualServer): ForwarderScheduler {
    return new ForwarderScheduler({
      scheduler: vs.scheduler,
      seed: vsSeed(vs),
      configuredCount: vs.realServers.length,
      vip: vs.address,
      persistenceTimeoutMs: vs.persistenceTimeoutMs,
      persistenceGranularity: vs.persistenceGranularity,
    });
  }

  /**
   * Serves exactly these virtual servers from now on: new ones start listening, removed ones stop
   * (their connections close), kept ones keep their listener and connections and get a fresh
   * scheduler (the configuration may have changed it). New schedulers have no backends until
   * update() gives them some.
   */
  async serve(vss: readonly VirtualServer[]): Promise<void> {
    if (vss.length > 0 && !this.nonlocalChecked) {
      this.nonlocalChecked = true;
      const why = await (this.opts.nonlocalBind ?? enableNonlocalBind)(4);
      if (why) this.opts.log('warn', `forwarder: cannot set net.ipv4.ip_nonlocal_bind=1 (${why}); a VIP can be bound only while this board holds it`);
    }
    // IPv6 VIPs have their own setting; asked for only when an IPv6 virtual server is served here.
    if (vss.some((vs) => ipFamily(vs.address) === 6) && !this.nonlocal6Checked) {
      this.nonlocal6Checked = true;
      const why = await (this.opts.nonlocalBind ?? enableNonlocalBind)(6);
      if (why) this.opts.log('warn', `forwarder: cannot set net.ipv6.ip_nonlocal_bind=1 (${why}); an IPv6 VIP can be bound only while this board holds it`);
    }
    const want = new Map(vss.map((vs) => [keyOf(vs), vs]));
    for (const [k, s] of this.served) {
      if (!want.has(k)) {
        this.served.delete(k);
        await s.fwd.stop();
      }
    }
    const starts: Array<Promise<void>> = [];
    for (const [k, vs] of want) {
      const scheduler = this.makeScheduler(vs);
      const old = this.served.get(k);
      if (old) {
        old.fwd.setScheduler(scheduler);
        this.served.set(k, { vs, scheduler, fwd: old.fwd });
        continue;
      }
      const fwd = vs.protocol === 'TCP' ? new TcpForwarder(vs.address, vs.port, scheduler, this.ctx) : new UdpForwarder(vs.address, vs.port, scheduler, this.ctx);
      this.served.set(k, { vs, scheduler, fwd });
      starts.push(fwd.start());
      this.opts.log('info', `forwarder: serving ${vs.address}:${vs.port}/${vs.protocol.toLowerCase()} in userspace (${vs.scheduler})`);
    }
    await Promise.all(starts);
  }

  /** The servers that may take new connections for `vs` now (drained = weight 0 = left out). */
  update(vs: Pick<VirtualServer, 'address' | 'port' | 'protocol'>, backends: readonly Backend[]): void {
    this.served.get(keyOf(vs))?.scheduler.setBackends(backends);
  }

  /**
   * Closes every connection (TCP, with a reset) and session to a real server that failed, as the
   * nftables plane deletes its conntrack entries, so clients reconnect elsewhere at once.
   */
  closeConnections(vs: Pick<VirtualServer, 'address' | 'port' | 'protocol'>, rs: Pick<RealServer, 'address' | 'port'>): number {
    return this.served.get(keyOf(vs))?.fwd.closeBackend(`${rs.address}:${rs.port}`) ?? 0;
  }

  isServing(vs: Pick<VirtualServer, 'address' | 'port' | 'protocol'>): boolean {
    return this.served.has(keyOf(vs));
  }

  /** Open connections (TCP) or sessions (UDP) to one real server of `vs`; null if `vs` is not served here. */
  connections(vs: Pick<VirtualServer, 'address' | 'port' | 'protocol'>, rs: Pick<RealServer, 'address' | 'port'>): number | null {
    const s = this.served.get(keyOf(vs));
    return s ? s.scheduler.activeFor(`${rs.address}:${rs.port}`) : null;
  }

  stats(): VirtualServerStats[] {
    const out: VirtualServerStats[] = [];
    for (const s of this.served.values()) {
      const schedulable = new Set(s.scheduler.schedulable.map((b) => b.key));
      const rss = [...s.vs.realServers, ...(s.vs.sorryServer ? [s.vs.sorryServer] : [])];
      out.push({
        vs: s.vs.name,
        address: s.vs.address,
        port: s.vs.port,
        protocol: s.vs.protocol,
        listening: s.fwd.listening,
        active: s.fwd instanceof TcpForwarder ? s.fwd.activeConnections : s.fwd.activeSessions,
        counters: { ...s.fwd.counters },
        realServers: rss.map((rs) => {
          const k = `${rs.address}:${rs.port}`;
          return { address: rs.address, port: rs.port, active: s.scheduler.activeFor(k), schedulable: schedulable.has(k) };
        }),
      });
    }
    return out;
  }

  async stop(): Promise<void> {
    const all = [...this.served.values()];
    this.served.clear();
    await Promise.all(all.map((s) => s.fwd.stop()));
  }
}
