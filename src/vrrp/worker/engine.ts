// The VRRP engine: wires the pure state machines (machine.ts, sync-group.ts, track.ts) to the
// wire (transport.ts), the host (net/host.ts) and real timers. It runs in the VRRP worker
// thread (worker.ts) so that nothing else the daemon does can delay an advertisement or a
// Master_Down timer (DESIGN.md "VRRP timing is isolated"). Nothing here blocks.
import { decodeAdvert, encodeAdvert, validateAdvert, addressListMatches, VRRP_MCAST_GROUP } from '../codec.ts';
import { createMachine, stateLogLine, type Action, type Machine, type MachineEvent, type TimerName, type VrrpState } from '../machine.ts';
import { SyncGroup, groupLogLine } from '../sync-group.ts';
import { effectivePriority } from '../track.ts';
import { createCounters, bump, counterForDrop, type Counters, type CounterName } from '../counters.ts';
import type { VrrpTransport } from './transport.ts';
import type { HostNet } from '../../net/host.ts';
import type { EngineConfig, EngineInstance } from '../engine-config.ts';
import { systemClock, sleep, type Clock, type TimerHandle } from '../../util/clock.ts';

export interface InstanceStatus {
  name: string;
  dev: string;
  vrid: number;
  version: 2 | 3;
  state: VrrpState;
  priority: number;
  effectivePriority: number;
  vips: string[];
  masterAddress: string | null;
  /** Wall-clock ms of the last state change. */
  since: number;
  counters: Counters;
  syncGroup: string | null;
}

export interface EngineHooks {
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  /** Every state change (for notify scripts, MQTT and the console). */
  stateChanged(status: InstanceStatus, from: VrrpState, reason: string): void;
}

interface Inst {
  cfg: EngineInstance;
  machine: Machine;
  counters: Counters;
  timers: Map<TimerName, TimerHandle>;
  primaryIp: string;
  since: number;
  group: SyncGroup | null;
  scriptUp: Map<string, boolean>;
  /** VIP changes are applied in order, one after another. */
  vipChain: Promise<void>;
  lastFault: string[];
  /** Configured priority; changed in place by a reload that only changes priorities. */
  basePriority: number;
  /** Set while handing mastership over (stop, maintenance): VIP removal waits for the peer. */
  deferRemoval: boolean;
  handover: { release: () => void; done: Promise<void> } | null;
}

export class VrrpEngine {
  private insts = new Map<string, Inst>();
  private byKey = new Map<string, Inst>();
  private groups = new Map<string, SyncGroup>();
  private links = new Map<string, boolean>();
  /** Drops we could not attribute to an instance (unknown VRID, unreadable header). */
  readonly globalDrops: Record<string, number> = {};
  private ownAddrs = new Set<string>();
  private stopped = false;
  private maintenance = false;

  constructor(
    private cfg: EngineConfig,
    private readonly transport: VrrpTransport,
    private readonly net: HostNet,
    private readonly hooks: EngineHooks,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Opens sockets, removes VIPs left behind by a crash, then starts every instance. */
  async start(links: Map<string, boolean>): Promise<void> {
    for (const [k, v] of links) this.links.set(k, v);
    this.transport.onPacket((p) => this.onPacket(p.dev, p.packet));
    this.transport.onError((dev, err) => this.hooks.log('error', `VRRP socket on ${dev}: ${err.message}`));
    for (const g of this.cfg.syncGroups) this.groups.set(g.name, new SyncGroup(g.name, g.members));
    for (const c of this.cfg.instances) {
      const primary = c.unicastSrcIp ?? (await this.net.primaryAddress(c.dev));
      if (!primary) throw new Error(`(${c.name}) interface ${c.dev} has no IPv4 address`);
      this.ownAddrs.add(primary);
      for (const a of await this.net.addresses(c.dev)) this.ownAddrs.add(a.address);
      await this.transport.open(c.dev);
      // Crash recovery: VIPs of configured instances still on the interface are removed before
      // the first advertisement, so a restarted BACKUP never answers for a VIP it does not own
      // (keepalived does the same at start-up, clear_diff_address / vrrp_restore_interface).
      const present = new Set((await this.net.addresses(c.dev)).map((a) => a.address));
      for (const v of c.vips) {
        if (v.dev !== c.dev) {
          const other = new Set((await this.net.addresses(v.dev)).map((a) => a.address));
          if (other.has(v.address)) await this.safe(() => this.net.delVip(v), `remove stale VIP ${v.address}`);
        } else if (present.has(v.address)) {
          this.hooks.log('info', `(${c.name}) removing VIP ${v.address} left behind on ${v.dev}`);
          await this.safe(() => this.net.delVip(v), `remove stale VIP ${v.address}`);
        }
        this.ownAddrs.delete(v.address);
      }
      const group = [...this.groups.values()].find((g) => g.members.includes(c.name)) ?? null;
      const machine = createMachine({
        name: c.name,
        version: c.version,
        priority: c.priority,
        advertIntMs: c.advertIntMs,
        nopreempt: c.nopreempt,
        preemptDelayMs: c.preemptDelayMs,
        initialState: c.initialState,
        primaryIp: primary,
        garp: c.garp,
        sync: group?.gate,
      });
      const inst: Inst = {
        cfg: c,
        machine,
        counters: createCounters(),
        timers: new Map(),
        primaryIp: primary,
        since: this.clock.now(),
        group,
        scriptUp: new Map(c.trackScripts.map((s) => [s.name, false])),
        vipChain: Promise.resolve(),
        lastFault: [],
        basePriority: c.priority,
        deferRemoval: false,
        handover: null,
      };
      group?.attach(c.name, machine);
      this.insts.set(c.name, inst);
      this.byKey.set(`${c.dev}/${c.vrid}`, inst);
    }
    for (const inst of this.insts.values()) {
      const t = this.track(inst);
      inst.lastFault = t.faults;
      this.dispatch(inst, { type: 'start', faulty: t.faults.length > 0, priority: t.priority });
    }
  }

  /** Which tracked things are down, and the effective priority (track.ts, keepalived rules). */
  private track(inst: Inst): { priority: number; faults: string[] } {
    const c = inst.cfg;
    const ifs = c.trackInterfaces.map((t) => ({ name: t.name, weight: t.weight, up: this.links.get(t.name) ?? false }));
    // The instance's own interface is tracked with weight 0 unless dont_track_primary.
    if (!c.dontTrackPrimary && !c.trackInterfaces.some((t) => t.name === c.dev)) {
      ifs.push({ name: c.dev, weight: 0, up: this.links.get(c.dev) ?? false });
    }
    // Until a script has a first result it counts as down, as keepalived keeps the instance
    // out of MASTER until then only for weight-0 scripts; weighted scripts add nothing yet.
    const scripts = c.trackScripts.map((t) => ({ name: t.name, weight: t.weight, reverse: t.reverse, up: inst.scriptUp.get(t.name) ?? false }));
    return effectivePriority(inst.basePriority, ifs, scripts);
  }

  private retrack(inst: Inst): void {
    const t = this.track(inst);
    const wasFaulty = inst.lastFault.length > 0;
    const isFaulty = t.faults.length > 0;
    inst.lastFault = t.faults;
    this.dispatch(inst, { type: 'priority', priority: t.priority });
    if (isFaulty && !wasFaulty) this.dispatch(inst, { type: 'fault', reason: `tracked ${t.faults.join(', ')} down` });
    else if (!isFaulty && wasFaulty) this.dispatch(inst, { type: 'faultCleared', reason: 'tracked interfaces and scripts up' });
  }

  linkChanged(dev: string, up: boolean): void {
    if (this.links.get(dev) === up) return;
    this.links.set(dev, up);
    this.hooks.log('info', `Netlink reports ${dev} ${up ? 'up' : 'down'}`);
    for (const inst of this.insts.values()) {
      const c = inst.cfg;
      if (c.dev === dev || c.trackInterfaces.some((t) => t.name === dev)) this.retrack(inst);
    }
  }

  scriptResult(name: string, up: boolean): void {
    for (const inst of this.insts.values()) {
      if (!inst.scriptUp.has(name) || inst.scriptUp.get(name) === up) continue;
      inst.scriptUp.set(name, up);
      this.retrack(inst);
    }
  }

  private onPacket(dev: string, packet: Buffer): void {
    if (this.stopped && ![...this.insts.values()].some((i) => i.handover)) return;
    const r = decodeAdvert(packet);
    if (!r.ok) {
      const inst = r.vrid !== undefined ? this.byKey.get(`${dev}/${r.vrid}`) : undefined;
      if (inst) bump(inst.counters, counterForDrop(r.reason));
      else this.globalDrops[r.reason] = (this.globalDrops[r.reason] ?? 0) + 1;
      return;
    }
    const a = r.advert;
    // Our own advertisements, looped back by the bridge or another socket of ours.
    if (this.ownAddrs.has(a.srcIp)) return;
    const inst = this.byKey.get(`${dev}/${a.vrid}`);
    if (!inst) {
      this.globalDrops.vrid_err = (this.globalDrops.vrid_err ?? 0) + 1;
      return;
    }
    const c = inst.cfg;
    const unicast = c.unicastPeers.length > 0;
    const drop = validateAdvert(a, {
      vrid: c.vrid,
      version: c.version,
      advertIntMs: c.advertIntMs,
      authPass: c.authPass,
      authType: c.authType,
      unicast,
    });
    if (drop) {
      bump(inst.counters, counterForDrop(drop));
      if (drop === 'advert_interval_err' || drop === 'auth_failure' || drop === 'auth_type_mismatch') {
        this.hooks.log('debug', `(${c.name}) dropped advert from ${a.srcIp}: ${drop}`);
      }
      return;
    }
    if (unicast && !c.unicastPeers.includes(a.srcIp)) {
      // keepalived (check_unicast_src off by default) accepts any source; we are stricter only
      // in logging, not in behaviour.
      this.hooks.log('debug', `(${c.name}) unicast advert from ${a.srcIp}, not a configured peer`);
    }
    // The new master announced itself: the VIPs we kept during a handover go now.
    if (inst.handover && a.priority > 0) inst.handover.release();
    if (this.stopped) return;
    if (!addressListMatches(a, c.advertAddresses)) bump(inst.counters, 'addr_list_err');
    if (a.priority === 0) this.hooks.log('debug', `(${c.name}) received priority 0 advert from ${a.srcIp}: master released`);
    this.dispatch(inst, { type: 'advert', priority: a.priority, srcIp: a.srcIp, advertIntMs: a.advertIntMs });
  }

  private dispatch(inst: Inst, ev: MachineEvent): void {
    const actions = inst.machine.handle(ev, this.clock.monotonic());
    for (const a of actions) this.perform(inst, a);
  }

  private perform(inst: Inst, a: Action): void {
    const c = inst.cfg;
    switch (a.type) {
      case 'sendAdvert':
        this.sendAdvert(inst, a.priority);
        break;
      case 'setTimer': {
        const old = inst.timers.get(a.timer);
        if (old) this.clock.clearTimer(old);
        const delay = Math.max(0, a.atMs - this.clock.monotonic());
        inst.timers.set(
          a.timer,
          this.clock.setTimer(() => {
            inst.timers.delete(a.timer);
            this.dispatch(inst, { type: 'timer', timer: a.timer });
          }, delay),
        );
        break;
      }
      case 'cancelTimer': {
        const old = inst.timers.get(a.timer);
        if (old) this.clock.clearTimer(old);
        inst.timers.delete(a.timer);
        break;
      }
      case 'addVips':
        for (const v of c.vips) this.ownAddrs.add(v.address);
        // All at once: the takeover time is the time of the slowest add, not their sum.
        this.chain(inst, async () => {
          await Promise.all(c.vips.map((v) => this.safe(() => this.net.addVip(v), `(${c.name}) add VIP ${v.address}`)));
        });
        break;
      case 'removeVips':
        if (inst.deferRemoval) {
          inst.deferRemoval = false;
          this.deferVipRemoval(inst);
          break;
        }
        this.chain(inst, async () => {
          await Promise.all(c.vips.map((v) => this.safe(() => this.net.delVip(v), `(${c.name}) remove VIP ${v.address}`)));
          for (const v of c.vips) this.ownAddrs.delete(v.address);
        });
        break;
      case 'sendGarp':
        this.chain(inst, async () => {
          await Promise.all(c.vips.map((v) => this.safe(() => this.net.garp(v.dev, v.address, a.count), `(${c.name}) GARP ${v.address}`)));
        });
        break;
      case 'stateChanged': {
        inst.since = this.clock.now();
        this.hooks.log('info', stateLogLine(c.name, a.to));
        this.hooks.stateChanged(this.status(inst), a.from, a.reason);
        if (inst.group) {
          const prev = inst.group.state;
          const forced = inst.group.onStateChanged(c.name, a.from, a.to);
          if (inst.group.state !== prev) this.hooks.log('info', groupLogLine(inst.group.name, inst.group.state));
          for (const f of forced) {
            const target = this.insts.get(f.member);
            if (target) this.dispatch(target, f.event);
          }
        }
        break;
      }
      case 'count':
        bump(inst.counters, a.counter as CounterName);
        break;
    }
  }

  /**
   * Make before break. When we hand mastership over on purpose (stop, maintenance) we have
   * just sent a priority-0 advertisement; the peer takes over after its Skew_Time (RFC 5798
   * §6.4.2). keepalived removes its VIPs at once, so clients are cut off for that Skew_Time
   * (about 0.6 s at advert_int 1). We keep answering for the VIPs until the new master's first
   * advertisement (which it sends before its gratuitous ARPs) or, with no peer, for the longest
   * time a peer could take (the Skew_Time of priority 1, bounded): the outage shrinks to the
   * few milliseconds between its advertisement and its GARP.
   */
  private deferVipRemoval(inst: Inst): void {
    const c = inst.cfg;
    // A BACKUP that hears priority 0 takes over after its Skew_Time: at most 255/256 of an
    // interval (v3) or of a second (v2). Capped so a stop never lingers.
    const waitMs = Math.min(3000, (c.version === 3 ? (255 * c.advertIntMs) / 256 : (255 * 1000) / 256) + 150);
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const timer = this.clock.setTimer(() => release(), waitMs);
    inst.handover = {
      release: () => {
        this.clock.clearTimer(timer);
        release();
      },
      done: released,
    };
    this.chain(inst, async () => {
      await released;
      inst.handover = null;
      await Promise.all(c.vips.map((v) => this.safe(() => this.net.delVip(v), `(${c.name}) remove VIP ${v.address}`)));
      for (const v of c.vips) this.ownAddrs.delete(v.address);
    });
  }

  private chain(inst: Inst, fn: () => Promise<void>): void {
    inst.vipChain = inst.vipChain.then(fn, fn);
  }

  private async safe(fn: () => Promise<void>, what: string): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.hooks.log('error', `${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private sendAdvert(inst: Inst, priority: number): void {
    const c = inst.cfg;
    const dsts = c.unicastPeers.length > 0 ? c.unicastPeers : [VRRP_MCAST_GROUP];
    for (const dst of dsts) {
      let payload: Buffer;
      try {
        payload = encodeAdvert({
          version: c.version,
          vrid: c.vrid,
          priority,
          advertIntMs: c.advertIntMs,
          addresses: c.advertAddresses,
          authPass: c.authType === 'PASS' ? c.authPass : null,
          srcIp: inst.primaryIp,
          dstIp: dst,
        });
      } catch (err) {
        this.hooks.log('error', `(${c.name}) cannot encode advert: ${(err as Error).message}`);
        return;
      }
      this.transport.send(c.dev, inst.primaryIp, dst, payload).catch((err: Error) => {
        this.hooks.log('warn', `(${c.name}) send advert to ${dst} on ${c.dev}: ${err.message}`);
      });
    }
  }

  private status(inst: Inst): InstanceStatus {
    const v = inst.machine.view();
    return {
      name: inst.cfg.name,
      dev: inst.cfg.dev,
      vrid: inst.cfg.vrid,
      version: inst.cfg.version,
      state: v.state,
      priority: inst.basePriority,
      effectivePriority: v.effectivePriority,
      vips: inst.cfg.vips.map((x) => `${x.address}/${x.prefix}`),
      masterAddress: v.state === 'MASTER' ? inst.primaryIp : v.masterIp,
      since: inst.since,
      counters: { ...inst.counters },
      syncGroup: inst.group?.name ?? null,
    };
  }

  /**
   * Applies a new configuration in place when it differs from the running one only in
   * priorities (what the console's `set … priority` + `commit` does): the advertisements carry
   * the new priority from the next one on, and preemption follows the RFC. Returns false when
   * the change is larger; the caller then restarts the engine.
   */
  reconfigure(next: EngineConfig): boolean {
    const strip = (c: EngineConfig): string =>
      JSON.stringify({ ...c, instances: c.instances.map((i) => ({ ...i, priority: i.priority === 255 ? 255 : 0 })) });
    if (strip(next) !== strip(this.cfg)) return false;
    this.cfg = next;
    for (const c of next.instances) {
      const inst = this.insts.get(c.name);
      if (!inst || inst.cfg.priority === c.priority) continue;
      if (this.maintenance && c.priority !== 255) {
        inst.cfg = c;
        continue;
      }
      this.hooks.log('info', `(${c.name}) priority changed from ${inst.basePriority} to ${c.priority}`);
      inst.basePriority = c.priority;
      inst.cfg = c;
      this.retrack(inst);
      // A MASTER advertises the new priority at once so a better BACKUP can preempt now.
      if (inst.machine.view().state === 'MASTER') {
        this.sendAdvert(inst, this.track(inst).priority);
        bump(inst.counters, 'advert_sent');
      }
    }
    return true;
  }

  /**
   * Maintenance: hand mastership to the peer cleanly. Every instance drops to priority 1 (the
   * owner, 255, cannot be moved), and a MASTER sends a priority-0 advertisement before going
   * BACKUP, so the peer takes over after its Skew_Time (RFC 5798 §6.4.2) whether or not it
   * preempts. Off restores the configured priorities; preemption then decides.
   */
  setMaintenance(on: boolean): void {
    if (this.maintenance === on) return;
    this.maintenance = on;
    this.hooks.log('info', `Maintenance ${on ? 'on: handing mastership to the peer' : 'off: configured priorities restored'}`);
    for (const inst of this.insts.values()) {
      if (inst.cfg.priority === 255) continue;
      inst.basePriority = on ? 1 : inst.cfg.priority;
      this.retrack(inst);
    }
    if (!on) return;
    // Every MASTER is marked and sends its priority 0 before any is forced: forcing the first
    // member of a sync group to BACKUP forces the others too (sync-group.ts), and a member
    // moved that way must still hand over cleanly (priority 0, VIPs kept until the peer speaks).
    const leaving = [...this.insts.values()].filter((i) => i.cfg.priority !== 255 && i.machine.view().state === 'MASTER');
    for (const inst of leaving) {
      this.sendAdvert(inst, 0);
      bump(inst.counters, 'pri_zero_sent');
      inst.deferRemoval = true;
    }
    for (const inst of leaving) {
      if (inst.machine.view().state === 'MASTER') this.dispatch(inst, { type: 'force', state: 'BACKUP', reason: 'maintenance' });
    }
    for (const inst of leaving) inst.deferRemoval = false;
  }

  statuses(): InstanceStatus[] {
    return [...this.insts.values()].map((i) => this.status(i));
  }

  /** Graceful stop: a MASTER sends priority 0 and removes its VIPs (RFC 5798 §6.4.3). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    for (const inst of this.insts.values()) {
      inst.deferRemoval = inst.machine.view().state === 'MASTER';
      this.dispatch(inst, { type: 'shutdown' });
    }
    this.stopped = true;
    for (const inst of this.insts.values()) {
      for (const t of inst.timers.values()) this.clock.clearTimer(t);
      inst.timers.clear();
    }
    await Promise.all([...this.insts.values()].map((i) => i.vipChain));
    // Let the priority-0 adverts leave before the sockets close.
    await sleep(this.clock, 20);
    this.transport.close();
    this.net.close?.();
  }
}
