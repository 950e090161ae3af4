// The VRRP engine: wires the pure parts (receive.ts, machine.ts, sync-group.ts, track.ts) to the
// wire (transport.ts), the host (net/host.ts) and timers (the Clock). It runs in the VRRP worker
// thread (main.ts) so that nothing else the daemon does can delay an advertisement or a
// Master_Down timer (DESIGN.md "VRRP timing is isolated"). Nothing here blocks.
//
// The engine decides nothing about the protocol: packets go through receiveAdvert, every event
// goes to the instance's machine, and the machine's actions are performed in order. What is
// left here is mechanics: timers, VIP changes applied one after another per instance, the
// make-before-break handover the machine asks for (removeVips with a handover bound), counters,
// status, and the rate-limited log of dropped packets.
import { encodeAdvert, vrrpGroup } from '../codec.ts';
import { ipFamily } from '../../util/ip.ts';
import { createMachine, stateLogLine, type Action, type Machine, type MachineEvent, type TimerName, type VrrpState } from '../machine.ts';
import { explainDrop, packetSource, receiveAdvert, type ReceiveInstance, type ReceiveOutcome } from '../receive.ts';
import { SyncGroup, groupLogLine } from '../sync-group.ts';
import { trackedWeight } from '../track.ts';
import { createCounters, bump, type Counters, type CounterName } from '../counters.ts';
import type { MachineView } from '../machine.ts';
import type { VrrpTransport } from './transport.ts';
import type { HostNet } from '../../net/host.ts';
import {
  advertDev, instanceIdentity, trackedKey, type EngineConfig, type EngineInstance, type EngineRoute, type EngineRule, type EngineStatic, type EngineVip,
  type TrackedKind, type TrackedValue,
} from '../engine-config.ts';
import type { SyncGroupState, SyncGroupStatus, VrrpInstanceStatus, VrrpStatus } from '../../status.ts';
import { systemClock, sleep, type Clock, type TimerHandle } from '../../util/clock.ts';
import { LogThrottle, suppressedNote } from '../../util/log-throttle.ts';
import { advertLateWarning, LatenessMeter } from '../lateness.ts';

export interface EngineHooks {
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  /** Every state change of an instance (for notify scripts, MQTT and the console). */
  stateChanged(status: VrrpInstanceStatus, from: VrrpState, reason: string): void;
  /** A sync group as a whole changed state (keepalived runs the group's notify programs then). */
  groupChanged?(status: SyncGroupStatus, from: SyncGroupState): void;
  /** A timer fired this late (ms, at least 1): the worker may raise its priority (max_auto_priority). */
  late?(lateMs: number): void;
  /**
   * MASTER, an instance heard another MASTER with a lower priority (keepalived's
   * MASTER_RX_LOWER_PRI, at most once per interval). `splitBrain`: the first of an episode, so the
   * other side carried flows meanwhile (the daemon forgets them, once).
   */
  rxLowerPriority?(status: VrrpInstanceStatus, from: string, priority: number, splitBrain: boolean): void;
  /** An instance's effective priority changed (notify_priority_changes). */
  priorityChanged?(status: VrrpInstanceStatus): void;
}

interface Inst {
  cfg: EngineInstance;
  machine: Machine;
  rx: ReceiveInstance;
  counters: Counters;
  timers: Map<TimerName, TimerHandle>;
  primaryIp: string;
  since: number;
  reason: string;
  group: SyncGroup | null;
  /** What it tracks besides interfaces, by trackedKey: the last value its tracker reported. */
  trackedValues: Map<string, TrackedValue>;
  /** VIP changes are applied in order, one after another. */
  vipChain: Promise<void>;
  /** Tracked things down with weight 0 (FAULT). */
  trackFaults: string[];
  /** A VIP the kernel refused: the instance stays in FAULT so the peer carries the VIPs. */
  vipFault: string | null;
  /** A make-before-break removal waiting for the new master's first advertisement. */
  handover: { release: () => void } | null;
  /** The routes and rules being added after the VIPs (a removal waits for them). */
  routeWork: Promise<void>;
  /** Its VIPs are on (a MASTER's, or a handover's); false from their removal on. */
  vipsUp: boolean;
  /** VMAC: the first advert of a takeover, sent once the VIPs are on (perform 'sendAdvert'). */
  deferredAdvert: number | null;
}

function rxOf(c: EngineInstance): ReceiveInstance {
  return {
    name: c.name,
    vrid: c.vrid,
    family: c.family,
    version: c.version,
    advertIntMs: c.advertIntMs,
    authPass: c.authPass,
    authType: c.authType,
    unicast: c.unicastPeers.length > 0,
    unicastPeers: c.unicastPeers,
    vips: c.advertAddresses,
  };
}

export class VrrpEngine {
  private insts = new Map<string, Inst>();
  private byKey = new Map<string, Inst>();
  private groups = new Map<string, SyncGroup>();
  private groupReported = new Map<string, SyncGroupState>();
  private links = new Map<string, boolean>();
  /** Drops we could not attribute to an instance (unknown VRID, unreadable header). */
  private readonly unattributed: Record<string, number> = {};
  private ownAddrs = new Set<string>();
  /** Last value of every tracked script, process and file, so an instance created by a reload starts from it. */
  private trackedResults = new Map<string, TrackedValue>();
  private started = false;
  /** vrrp_startup_delay: instances created but waiting to start, and the timer that starts them. */
  private waiting: Inst[] = [];
  private startTimer: TimerHandle | null = null;
  /** dynamic_interfaces: instances whose interface is not usable yet, why, and since when. */
  private missing = new Map<string, { cfg: EngineInstance; why: string; since: number }>();
  private missingTimer: TimerHandle | null = null;
  private stopped = false;
  private maintenance = false;
  private readonly dropLog: LogThrottle;

  constructor(
    private cfg: EngineConfig,
    private readonly transport: VrrpTransport,
    private readonly net: HostNet,
    private readonly hooks: EngineHooks,
    private readonly clock: Clock = systemClock,
  ) {
    this.dropLog = new LogThrottle(clock);
  }

  /**
   * Opens sockets, removes VIPs left behind by a crash, then starts every instance, after
   * `delayMs` (vrrp_startup_delay, keepalived vrrp_startup_delay: until then instances stay in
   * INIT and adverts are not looked at).
   */
  async start(links: Map<string, boolean>, delayMs = 0): Promise<void> {
    for (const [k, v] of links) this.links.set(k, v);
    this.transport.onPacket((p) => this.onPacket(p.dev, p.packet));
    this.transport.onError((dev, err) => this.hooks.log('error', `VRRP socket on ${dev}: ${err.message}`));
    for (const g of this.cfg.syncGroups) this.groups.set(g.name, new SyncGroup(g.name, g.members));
    await this.applyStatic(NO_STATIC, this.cfg.static ?? NO_STATIC);
    const created: Inst[] = [];
    for (const c of this.cfg.instances) {
      const inst = await this.createOrWait(c);
      if (inst) created.push(inst);
    }
    this.waiting = created;
    if (delayMs <= 0) {
      this.begin();
      return;
    }
    this.hooks.log('info', `VRRP instances start in ${delayMs / 1000} s (vrrp_startup_delay)`);
    this.startTimer = this.clock.setTimer(() => this.begin(), delayMs);
  }

  private begin(): void {
    this.startTimer = null;
    if (this.stopped) return;
    this.started = true;
    for (const inst of this.waiting.splice(0)) if (this.insts.get(inst.cfg.name) === inst) this.startInstance(inst);
  }

  /** Every VIP of the configuration: never an IPv6 instance's own source address (fe80::1 is link-local too). */
  private vipAddresses(cfg: EngineConfig = this.cfg): Set<string> {
    return new Set(cfg.instances.flatMap((i) => i.vips.map((v) => v.address)));
  }

  /**
   * Where an instance's adverts come from: unicast_src_ip, else the primary address (IPv4) or
   * the link-local one (IPv6), which is never a link-local VIP. An IPv4 VIP may be the primary
   * address (an address owner's, priority 255), so only IPv6 leaves the VIPs out.
   */
  private sourceOf(c: EngineInstance, cfg: EngineConfig = this.cfg): Promise<string | null> {
    if (c.unicastSrcIp !== null) return Promise.resolve(c.unicastSrcIp);
    return c.family === 6 ? this.net.primaryAddress(c.dev, 6, this.vipAddresses(cfg)) : this.net.primaryAddress(c.dev, 4);
  }

  /** Socket, crash recovery and machine of one instance; it starts with startInstance(). */
  private async createInstance(c: EngineInstance): Promise<Inst> {
    const primary = await this.sourceOf(c);
    if (!primary) throw new Error(`(${c.name}) interface ${c.dev} has no ${c.family === 6 ? 'IPv6 link-local' : 'IPv4'} address`);
    this.ownAddrs.add(primary);
    for (const a of await this.net.addresses(c.dev)) this.ownAddrs.add(a.address);
    // The VMAC before the socket: the socket joins the group on it (keepalived vrrp_vmac.c).
    if (c.vmac) {
      await this.net.createVmac(c.vmac);
      this.hooks.log('info', `(${c.name}) VMAC ${c.vmac.name} (${c.vmac.mac}) on ${c.dev}${c.vmac.xmitBase ? ', adverts from ' + c.dev : ''}`);
    }
    await this.transport.open(advertDev(c), c.family, c.mcastGroup);
    await this.removeStaleVips(c);
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
      rival: c.rival,
      sync: group?.gate,
    });
    const inst: Inst = {
      cfg: c,
      machine,
      rx: rxOf(c),
      counters: createCounters(),
      timers: new Map(),
      primaryIp: primary,
      since: this.clock.now(),
      reason: 'initial',
      group,
      trackedValues: this.initialTracked(c),
      vipChain: Promise.resolve(),
      trackFaults: [],
      vipFault: null,
      handover: null,
      routeWork: Promise.resolve(),
      vipsUp: false,
      deferredAdvert: null,
    };
    group?.attach(c.name, machine);
    this.insts.set(c.name, inst);
    this.byKey.set(keyOf(c), inst);
    return inst;
  }

  /**
   * createInstance, except that with dynamic_interfaces an instance whose interface cannot be
   * used yet (missing, no IPv4 address) waits for it in FAULT instead of failing the start
   * (keepalived dynamic_interfaces): its sync group sees a member in FAULT, it is tried again
   * when a link comes up and every MISSING_RETRY_MS.
   */
  private async createOrWait(c: EngineInstance): Promise<Inst | null> {
    try {
      return await this.createInstance(c);
    } catch (err) {
      if (!this.cfg.dynamicInterfaces) throw err;
      const why = err instanceof Error ? err.message : String(err);
      const first = !this.missing.has(c.name);
      this.missing.set(c.name, { cfg: c, why, since: this.clock.now() });
      const group = [...this.groups.values()].find((g) => g.members.includes(c.name));
      group?.attach(c.name, { view: () => missingView(c) });
      if (first) {
        this.hooks.log('warn', `${why}; waiting for interface ${c.dev} in FAULT (dynamic_interfaces)`);
        this.hooks.stateChanged(this.missingStatus(c.name)!, 'INIT', `interface ${c.dev} missing`);
      }
      this.scheduleMissing();
      return null;
    }
  }

  private scheduleMissing(): void {
    if (this.missingTimer || this.missing.size === 0 || this.stopped) return;
    this.missingTimer = this.clock.setTimer(() => {
      this.missingTimer = null;
      void this.retryMissing();
    }, MISSING_RETRY_MS);
  }

  private retrying = false;

  /** Tries the waiting instances again; one that can be created now starts (after the startup delay). */
  private async retryMissing(dev?: string): Promise<void> {
    if (this.retrying || this.stopped) return;
    this.retrying = true;
    try {
      for (const [name, m] of [...this.missing]) {
        if (dev !== undefined && m.cfg.dev !== dev) continue;
        if (!(await this.sourceOf(m.cfg).catch(() => null))) continue;
        this.missing.delete(name);
        const inst = await this.createOrWait(m.cfg);
        if (!inst) continue;
        this.hooks.log('info', `(${name}) interface ${m.cfg.dev} is here: starting`);
        if (this.started) this.startInstance(inst);
        else this.waiting.push(inst);
      }
    } finally {
      this.retrying = false;
      this.scheduleMissing();
    }
  }

  /** A waiting instance in the status model: FAULT, with why. */
  private missingStatus(name: string): VrrpInstanceStatus | null {
    const m = this.missing.get(name);
    if (!m) return null;
    const c = m.cfg;
    const group = [...this.groups.values()].find((g) => g.members.includes(c.name));
    return {
      name: c.name, interface: c.dev, vrid: c.vrid, version: c.version, state: 'FAULT', priority: c.priority, effectivePriority: c.priority,
      vips: c.vips.map((x) => `${x.address}/${x.prefix}`), masterAddress: null, since: m.since, reason: `interface ${c.dev} missing`,
      fault: `${m.why} (dynamic_interfaces: waiting for it)`, syncGroup: group?.name ?? null, counters: createCounters(),
    };
  }

  /** The last reported value of each thing `c` tracks; none yet: down (a file: 0, as keepalived reads a missing one). */
  private initialTracked(c: EngineInstance): Map<string, TrackedValue> {
    return new Map(c.tracked.map((t) => {
      const k = trackedKey(t.kind, t.name);
      return [k, this.trackedResults.get(k) ?? (t.kind === 'file' ? 0 : false)];
    }));
  }

  private startInstance(inst: Inst): void {
    const t = this.track(inst);
    inst.trackFaults = t.faults;
    this.dispatch(inst, { type: 'start', faulty: t.faults.length > 0, trackWeight: t.weight });
  }

  /** Graceful stop of one instance (a MASTER hands over), then it is forgotten. */
  private async removeInstance(inst: Inst): Promise<void> {
    this.dispatch(inst, { type: 'shutdown' });
    for (const t of inst.timers.values()) this.clock.clearTimer(t);
    inst.timers.clear();
    await inst.vipChain;
    if (this.insts.get(inst.cfg.name) === inst) this.insts.delete(inst.cfg.name);
    const key = keyOf(inst.cfg);
    if (this.byKey.get(key) === inst) this.byKey.delete(key);
    const vmac = inst.cfg.vmac;
    if (vmac) await this.safe(() => this.net.removeVmac(vmac.name), `(${inst.cfg.name}) remove VMAC ${vmac.name}`);
  }

  /**
   * Crash recovery: VIPs of configured instances still on their interfaces are removed before
   * the first advertisement, so a restarted BACKUP never answers for a VIP it does not own
   * (keepalived does the same at start-up, clear_diff_address / vrrp_restore_interface).
   */
  private async removeStaleVips(c: EngineInstance): Promise<void> {
    const present = new Map<string, Set<string>>();
    for (const v of c.vips) {
      let on = present.get(v.dev);
      if (!on) {
        on = new Set((await this.net.addresses(v.dev)).map((a) => a.address));
        present.set(v.dev, on);
      }
      if (on.has(v.address)) {
        this.hooks.log('info', `(${c.name}) removing VIP ${v.address} left behind on ${v.dev}`);
        await this.safe(() => this.net.delVip(v), `(${c.name}) remove stale VIP ${v.address}`);
      }
      this.ownAddrs.delete(v.address);
    }
    // Routes and rules of a MASTER that crashed: gone before anything else (none present is fine).
    for (const r of c.rules ?? []) await this.safe(() => this.net.delRule(r), `(${c.name}) remove stale rule`);
    for (const r of c.routes ?? []) await this.safe(() => this.net.delRoute(r), `(${c.name}) remove stale route ${r.to}`);
  }

  /**
   * static_ipaddress, static_routes, static_rules: on either board whatever its state (keepalived
   * sets them at start and removes them at stop); a reload adds the new ones and removes the gone.
   */
  private async applyStatic(prev: EngineStatic, next: EngineStatic): Promise<void> {
    const key = (x: unknown): string => JSON.stringify(x);
    const gone = <T>(a: T[], b: T[]): T[] => { const k = new Set(b.map(key)); return a.filter((x) => !k.has(key(x))); };
    for (const r of gone(prev.rules, next.rules)) await this.safe(() => this.net.delRule(r), 'remove static rule');
    for (const r of gone(prev.routes, next.routes)) await this.safe(() => this.net.delRoute(r), `remove static route ${r.to}`);
    for (const v of gone(prev.ips, next.ips)) await this.safe(() => this.net.delVip(v), `remove static address ${v.address}`);
    for (const v of gone(next.ips, prev.ips)) await this.safe(() => this.net.addVip(v), `static_ipaddress ${v.address}`);
    for (const r of gone(next.routes, prev.routes)) await this.safe(() => this.net.addRoute(r), `static_routes ${r.to}`);
    for (const r of gone(next.rules, prev.rules)) await this.safe(() => this.net.addRule(r), 'static_rules');
  }

  /** Tracking (track.ts, keepalived rules): the weight in effect and what is down with weight 0. */
  private track(inst: Inst): { weight: number; faults: string[] } {
    const c = inst.cfg;
    const ifs = c.trackInterfaces.map((t) => ({ name: t.name, weight: t.weight, up: this.links.get(t.name) ?? false }));
    // The instance's own interface is tracked with weight 0 unless dont_track_primary.
    if (!c.dontTrackPrimary && !c.trackInterfaces.some((t) => t.name === c.dev)) {
      ifs.push({ name: c.dev, weight: 0, up: this.links.get(c.dev) ?? false });
    }
    // Until a script or process has a first result it counts as down: keepalived keeps the
    // instance out of MASTER until then for weight-0 ones; weighted ones add nothing yet.
    const tracked = c.tracked.map((t) => {
      const v = inst.trackedValues.get(trackedKey(t.kind, t.name));
      const name = t.kind === 'script' ? t.name : `${t.kind} ${t.name}`;
      return typeof v === 'number'
        ? { name, weight: t.weight, reverse: t.reverse, up: true, value: v }
        : { name, weight: t.weight, reverse: t.reverse, up: v ?? false };
    });
    const r = trackedWeight(ifs, tracked);
    return inst.vipFault ? { weight: r.weight, faults: [...r.faults, inst.vipFault] } : r;
  }

  private retrack(inst: Inst): void {
    const t = this.track(inst);
    const wasFaulty = inst.trackFaults.length > 0;
    const isFaulty = t.faults.length > 0;
    inst.trackFaults = t.faults;
    this.dispatch(inst, { type: 'track', weight: t.weight });
    if (isFaulty && !wasFaulty) this.dispatch(inst, { type: 'fault', reason: faultReason(t.faults) });
    else if (!isFaulty && wasFaulty) this.dispatch(inst, { type: 'faultCleared', reason: 'tracked interfaces, scripts, processes and files up' });
  }

  linkChanged(dev: string, up: boolean): void {
    if (this.links.get(dev) === up) return;
    this.links.set(dev, up);
    this.hooks.log('info', `Netlink reports ${dev} ${up ? 'up' : 'down'}`);
    if (up && [...this.missing.values()].some((m) => m.cfg.dev === dev)) void this.retryMissing(dev);
    for (const inst of this.insts.values()) {
      const c = inst.cfg;
      // A VIP refused by the kernel is tried again when its interface comes (back) up.
      const vipDev = inst.vipFault !== null && up && c.vips.some((v) => v.dev === dev);
      if (vipDev) inst.vipFault = null;
      if (vipDev || c.dev === dev || c.trackInterfaces.some((t) => t.name === dev)) this.retrack(inst);
    }
  }

  /** A tracker's new value (vrrp_script up/down, track_process quorum, track_file number). */
  trackedValue(kind: TrackedKind, name: string, value: TrackedValue): void {
    const key = trackedKey(kind, name);
    this.trackedResults.set(key, value);
    for (const inst of this.insts.values()) {
      if (!inst.trackedValues.has(key) || inst.trackedValues.get(key) === value) continue;
      inst.trackedValues.set(key, value);
      this.retrack(inst);
    }
  }

  private onPacket(dev: string, packet: Buffer): void {
    // Sockets open one by one at start: a packet for an instance not created yet is not a drop.
    if (!this.started) return;
    if (this.stopped && ![...this.insts.values()].some((i) => i.handover)) return;
    const out = receiveAdvert(packet, (vrid, family) => this.byKey.get(`${dev}/${family}/${vrid}`)?.rx, (ip) => this.ownAddrs.has(ip));
    switch (out.kind) {
      case 'own':
        return;
      case 'drop':
        this.onDrop(dev, packet, out);
        return;
      case 'advert': {
        const inst = this.insts.get(out.instance);
        if (!inst) return;
        for (const c of out.counters) bump(inst.counters, c);
        if (out.unknownPeer) this.throttled('debug', `${inst.cfg.name}/peer`, `(${inst.cfg.name}) unicast advert from ${out.advert.srcIp}, not one of its unicast_peer addresses (accepted, as keepalived without vrrp_check_unicast_src)`);
        // The new master announced itself: the VIPs we kept during a handover go now.
        if (inst.handover && out.advert.priority > 0) inst.handover.release();
        this.dispatch(inst, out.event);
        return;
      }
    }
  }

  private onDrop(dev: string, packet: Buffer, out: Extract<ReceiveOutcome, { kind: 'drop' }>): void {
    const inst = out.instance === null ? undefined : this.insts.get(out.instance);
    if (inst) bump(inst.counters, out.counter);
    else this.unattributed[out.reason] = (this.unattributed[out.reason] ?? 0) + 1;
    const who = inst ? `(${inst.cfg.name})` : `VRRP on ${dev}`;
    const n = this.dropLog.allow(`${inst?.cfg.name ?? dev}/${out.reason}`);
    if (n === null) return;
    const src = packetSource(packet);
    this.hooks.log('info', `${who} dropped advert${src ? ` from ${src}` : ''}: ${out.reason} (${explainDrop(packet, out.reason, inst?.rx)})${suppressedNote(n)}`);
  }

  private throttled(level: 'debug' | 'info' | 'warn', key: string, msg: string): void {
    const n = this.dropLog.allow(key);
    if (n !== null) this.hooks.log(level, msg + suppressedNote(n));
  }

  private timerFired(inst: Inst, timer: TimerName, due: number): void {
    const now = this.clock.monotonic();
    const late = now - due;
    if (late >= 1 && timer !== 'garp' && timer !== 'lowerPrioGarp') this.hooks.late?.(late);
    if (timer === 'advert') {
      this.lateness.advert.record(late, now);
      if (advertLateWarning(late, inst.cfg.advertIntMs)) {
        this.throttled('warn', `${inst.cfg.name}/late`, `(${inst.cfg.name}) advertisement timer fired ${late.toFixed(1)} ms late (advert_int ${inst.cfg.advertIntMs} ms): at about ${2 * inst.cfg.advertIntMs} ms late the peer takes over; give the VRRP thread realtime priority (vrrp_rt_priority) or a longer advert_int`);
      }
      this.dispatch(inst, { type: 'timer', timer });
      return;
    }
    if (timer === 'masterDown') {
      this.lateness.masterDown.record(late, now);
      // Master_Down is acted on after the packets already waiting are read: libuv runs due timers
      // before it polls the sockets, so on a loaded board the master's last advert can sit in the
      // queue while its Master_Down fires. setImmediate runs after this turn's poll phase; an
      // advert read there re-arms the timer and this firing becomes a stale one (machine.ts).
      setImmediate(() => this.dispatch(inst, { type: 'timer', timer }));
      return;
    }
    this.dispatch(inst, { type: 'timer', timer });
  }

  /** How late the advert and Master_Down timers fire (lateness.ts). */
  private readonly lateness = { advert: new LatenessMeter(), masterDown: new LatenessMeter() };

  private dispatch(inst: Inst, ev: MachineEvent): void {
    const actions = inst.machine.handle(ev, this.clock.monotonic());
    for (const a of actions) this.perform(inst, a);
  }

  private perform(inst: Inst, a: Action): void {
    const c = inst.cfg;
    switch (a.type) {
      case 'sendAdvert':
        // From a VMAC, an advert moves the switches' entry for the virtual MAC to this board:
        // the first one of a takeover waits until the VIPs are on the VMAC (a few ms), or the
        // clients' frames would reach a VMAC without its addresses (plain: the GARPs, sent after
        // the VIPs, are what moves the clients).
        if (c.vmac && !c.vmac.xmitBase && !inst.vipsUp && a.priority > 0) inst.deferredAdvert = a.priority;
        else this.sendAdvert(inst, a.priority);
        break;
      case 'setTimer': {
        const old = inst.timers.get(a.timer);
        if (old) this.clock.clearTimer(old);
        const delay = Math.max(0, a.atMs - this.clock.monotonic());
        const due = a.atMs;
        inst.timers.set(
          a.timer,
          this.clock.setTimer(() => {
            inst.timers.delete(a.timer);
            this.timerFired(inst, a.timer, due);
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
        this.addVips(inst, c.vips);
        break;
      case 'removeVips':
        if (a.handover) this.handOver(inst, a.handover.untilMs);
        else this.chain(inst, () => this.removeVips(inst, c.vips));
        break;
      case 'sendGarp': {
        // keepalived's GARP schedule announces IPv6 VIPs too, with unsolicited neighbour
        // advertisements (RFC 4861 §7.2.6; vrrp_ndisc.c), the excluded ones of either family included.
        const vips = c.vips;
        this.chain(inst, async () => {
          await Promise.all(vips.map((v) => ipFamily(v.address) === 6
            ? this.safe(() => this.net.unsolicitedNa(v.dev, v.address, a.count, this.cfg.announce?.gnaIntervalMs ?? 0), `(${c.name}) neighbour advertisement ${v.address}`)
            : this.safe(() => this.net.garp(v.dev, v.address, a.count, this.cfg.announce?.garpIntervalMs ?? 0), `(${c.name}) GARP ${v.address}`)));
        });
        break;
      }
      case 'stateChanged': {
        inst.since = this.clock.now();
        inst.reason = a.reason;
        this.hooks.log('info', stateLogLine(c.name, a.to));
        this.hooks.stateChanged(this.instanceStatus(inst), a.from, a.reason);
        if (inst.group) {
          const prev = inst.group.state;
          const forced = inst.group.onStateChanged(c.name, a.from, a.to, a.graceful === true);
          if (inst.group.state !== prev) this.hooks.log('info', groupLogLine(inst.group.name, inst.group.state));
          for (const f of forced) {
            const target = this.insts.get(f.member);
            if (target) this.dispatch(target, f.event);
          }
          this.reportGroup(inst.group);
        }
        break;
      }
      case 'count':
        bump(inst.counters, a.counter as CounterName);
        break;
      case 'rxLowerPriority': {
        const what = `(${c.name}) Received advert from ${a.srcIp} with lower priority ${a.priority}, ours ${inst.machine.view().effectivePriority}`;
        // keepalived logs each; one line per episode here, the rest at a bounded rate.
        if (a.first) this.hooks.log('info', `${what}: another MASTER, a split brain healing; sending gratuitous ARPs`);
        else this.throttled('info', `${c.name}/rxlower`, what);
        this.hooks.rxLowerPriority?.(this.instanceStatus(inst), a.srcIp, a.priority, a.first);
        // keepalived: the other side's sync-group members yield to our adverts without a word, so
        // our other members refresh the clients' ARP caches too.
        for (const m of inst.group?.members ?? []) {
          const sibling = m === c.name ? undefined : this.insts.get(m);
          if (sibling) this.dispatch(sibling, { type: 'groupRxLowerPriority' });
        }
        break;
      }
      case 'priorityChanged':
        this.hooks.priorityChanged?.(this.instanceStatus(inst));
        break;
    }
  }

  /** All at once: the takeover time is the time of the slowest add, not their sum. A VIP the
   * kernel refuses puts the instance in FAULT: a MASTER without its VIP would black-hole the
   * traffic while the peer, hearing its adverts, stays BACKUP. */
  private addVips(inst: Inst, vips: readonly EngineVip[], routes: readonly EngineRoute[] = inst.cfg.routes ?? [], rules: readonly EngineRule[] = inst.cfg.rules ?? []): void {
    const c = inst.cfg;
    for (const v of vips) this.ownAddrs.add(v.address);
    this.chain(inst, async () => {
      const results = await Promise.allSettled(vips.map((v) => this.net.addVip(v)));
      inst.vipsUp = true;
      const deferred = inst.deferredAdvert;
      inst.deferredAdvert = null;
      if (deferred !== null && inst.machine.view().state === 'MASTER') this.sendAdvert(inst, deferred);
      // Then routes, then rules, as keepalived (vrrp_state_become_master): a route may take a VIP
      // as its source or reach its gateway through a VIP's subnet. Not awaited by the chain, so the
      // gratuitous ARPs queued behind this step leave at once; a removal waits for them (routeWork).
      if (routes.length > 0 || rules.length > 0) {
        inst.routeWork = (async () => {
          await Promise.all(routes.map((r) => this.safe(() => this.net.addRoute(r), `(${c.name}) add route ${r.to}`)));
          await Promise.all(rules.map((r) => this.safe(() => this.net.addRule(r), `(${c.name}) add rule`)));
        })();
      }
      const failed = results.findIndex((r) => r.status === 'rejected');
      if (failed < 0) return;
      const v = vips[failed]!;
      const why = (results[failed] as PromiseRejectedResult).reason;
      const fault = `VIP ${v.address} on ${v.dev}: ${why instanceof Error ? why.message : String(why)}`;
      this.hooks.log('error', `(${c.name}) cannot add ${fault}; entering FAULT so the peer carries the VIPs`);
      if (this.stopped || inst.vipFault !== null) return;
      inst.vipFault = fault;
      this.retrack(inst);
    });
  }

  /** Rules, then routes, then the VIPs (keepalived's order when it leaves MASTER). */
  private async removeVips(inst: Inst, vips: readonly EngineVip[], routes: readonly EngineRoute[] = inst.cfg.routes ?? [], rules: readonly EngineRule[] = inst.cfg.rules ?? []): Promise<void> {
    const name = inst.cfg.name;
    if (vips === inst.cfg.vips) inst.vipsUp = false;
    await inst.routeWork;
    await Promise.all(rules.map((r) => this.safe(() => this.net.delRule(r), `(${name}) remove rule`)));
    await Promise.all(routes.map((r) => this.safe(() => this.net.delRoute(r), `(${name}) remove route ${r.to}`)));
    await Promise.all(vips.map((v) => this.safe(() => this.net.delVip(v), `(${name}) remove VIP ${v.address}`)));
    for (const v of vips) this.ownAddrs.delete(v.address);
  }

  /** Make before break: keep the VIPs until the new master's first advertisement or the bound. */
  private handOver(inst: Inst, untilMs: number): void {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const timer = this.clock.setTimer(() => release(), Math.max(0, untilMs - this.clock.monotonic()));
    inst.handover = {
      release: () => {
        this.clock.clearTimer(timer);
        release();
      },
    };
    const { vips, routes = [], rules = [] } = inst.cfg;
    this.chain(inst, async () => {
      await released;
      inst.handover = null;
      await this.removeVips(inst, vips, routes, rules);
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
    const dsts = c.unicastPeers.length > 0 ? c.unicastPeers : [c.mcastGroup];
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
      const dev = advertDev(c);
      this.transport.send(dev, inst.primaryIp, dst, payload).catch((err: Error) => {
        this.throttled('warn', `${c.name}/send`, `(${c.name}) send advert to ${dst} on ${dev}: ${err.message}`);
      });
    }
  }

  /** keepalived's sync-group states, plus INIT before any member started and STOP once all stopped. */
  private groupState(g: SyncGroup): SyncGroupState {
    const states = g.members.map((m) => this.insts.get(m)?.machine.view().state ?? 'INIT');
    if (states.every((s) => s === 'STOP')) return 'STOP';
    if (states.every((s) => s === 'INIT')) return 'INIT';
    return g.state;
  }

  private reportGroup(g: SyncGroup): void {
    const state = this.groupState(g);
    const from = this.groupReported.get(g.name) ?? 'INIT';
    if (state === from) return;
    this.groupReported.set(g.name, state);
    this.hooks.groupChanged?.({ name: g.name, state, members: [...g.members] }, from);
  }

  private instanceStatus(inst: Inst): VrrpInstanceStatus {
    const v = inst.machine.view();
    return {
      name: inst.cfg.name,
      interface: inst.cfg.dev,
      vrid: inst.cfg.vrid,
      version: inst.cfg.version,
      state: v.state,
      priority: v.basePriority,
      effectivePriority: v.effectivePriority,
      vips: inst.cfg.vips.map((x) => `${x.address}/${x.prefix}`),
      masterAddress: v.state === 'MASTER' ? inst.primaryIp : v.masterIp,
      since: inst.since,
      reason: inst.reason,
      fault: v.state === 'FAULT' ? faultReason(inst.trackFaults) || inst.reason : null,
      syncGroup: inst.group?.name ?? null,
      counters: { ...inst.counters },
    };
  }

  status(): VrrpStatus {
    const now = this.clock.monotonic();
    return {
      instances: [
        ...[...this.insts.values()].map((i) => this.instanceStatus(i)),
        ...[...this.missing.keys()].map((n) => this.missingStatus(n)!),
      ],
      groups: [...this.groups.values()].map((g) => ({ name: g.name, state: this.groupState(g), members: [...g.members] })),
      unattributed: { ...this.unattributed },
      timers: { advert: this.lateness.advert.snapshot(now), masterDown: this.lateness.masterDown.snapshot(now) },
    };
  }

  /**
   * What a reload would have to create (new instances, or ones whose identity changed) and
   * whether it can: each needs its interface with an IPv4 address, or for IPv6 a link-local one
   * (or unicast_src_ip). Checked
   * before anything changes, so a configuration that cannot apply leaves the running one as it
   * was (no failover, no restart).
   */
  async preflight(next: EngineConfig): Promise<string[]> {
    const errors: string[] = [];
    const plan = this.plan(next);
    for (const c of next.instances) {
      if (!plan.create.has(c.name)) continue;
      if (c.unicastSrcIp !== null || next.dynamicInterfaces) continue;
      const primary = await this.sourceOf(c, next).catch(() => null);
      if (!primary) errors.push(`(${c.name}) interface ${c.dev} does not exist or has no ${c.family === 6 ? 'IPv6 link-local' : 'IPv4'} address`);
    }
    return errors;
  }

  /**
   * Which running instances a reload restarts and which it creates. An instance keeps running
   * when its identity (instanceIdentity: interface, VRID, version, source address) and its sync
   * group's membership stay; a sync group moves as one, so when one member restarts, all do.
   */
  private plan(next: EngineConfig): { stop: Set<string>; create: Set<string> } {
    const id = instanceIdentity;
    const groupKey = (cfg: EngineConfig, name: string): string => {
      const g = cfg.syncGroups.find((x) => x.members.includes(name));
      return g ? JSON.stringify([g.name, [...g.members].sort()]) : '';
    };
    const prev = new Map(this.cfg.instances.map((i) => [i.name, i]));
    const now = new Map(next.instances.map((i) => [i.name, i]));
    const stop = new Set<string>();
    for (const [name, p] of prev) {
      const n = now.get(name);
      if (!n || id(n) !== id(p) || groupKey(this.cfg, name) !== groupKey(next, name)) stop.add(name);
    }
    const create = new Set([...now.keys()].filter((n) => !prev.has(n) || stop.has(n)));
    for (let changed = true; changed; ) {
      changed = false;
      for (const cfg of [this.cfg, next]) {
        for (const g of cfg.syncGroups) {
          if (!g.members.some((m) => stop.has(m) || create.has(m))) continue;
          for (const m of g.members) {
            if (prev.has(m) && !stop.has(m)) { stop.add(m); changed = true; }
            if (now.has(m) && !create.has(m)) { create.add(m); changed = true; }
          }
        }
      }
    }
    return { stop, create };
  }

  /**
   * Applies a new configuration. Every instance that keeps its identity is changed in place,
   * whatever else changed: priorities, intervals, preemption and GARP settings go to its machine;
   * VIPs, authentication, unicast peers and tracking change under it (a MASTER adds the new VIPs
   * and removes the old ones at once). An instance whose identity changed, or that left, hands
   * over first (priority 0, VIPs kept until the peer speaks: the same make-before-break as a
   * stop), with its whole sync group; then the new ones start. Returns the restarted instances.
   */
  async reconfigure(next: EngineConfig): Promise<string[]> {
    const plan = this.plan(next);
    for (const c of next.instances) {
      const inst = this.insts.get(c.name);
      if (inst && !plan.stop.has(c.name)) this.applyInPlace(inst, c);
    }
    const leaving = [...plan.stop].map((n) => this.insts.get(n)).filter((i): i is Inst => i !== undefined);
    if (leaving.length > 0) this.hooks.log('info', `Reload: restarting ${leaving.map((i) => i.cfg.name).join(', ')} (interface, VRID, version, source address or sync group changed); handing over first`);
    await Promise.all(leaving.map((i) => this.removeInstance(i)));
    const prevStatic = this.cfg.static ?? NO_STATIC;
    this.cfg = next;
    await this.applyStatic(prevStatic, next.static ?? NO_STATIC);
    // Sync groups: kept when their membership stayed (their members kept running), else new.
    const groups = new Map<string, SyncGroup>();
    for (const g of next.syncGroups) {
      const old = this.groups.get(g.name);
      const same = old && JSON.stringify([...old.members].sort()) === JSON.stringify([...g.members].sort()) && !g.members.some((m) => plan.create.has(m));
      groups.set(g.name, same ? old : new SyncGroup(g.name, g.members));
    }
    for (const name of this.groups.keys()) if (!groups.has(name)) this.groupReported.delete(name);
    this.groups = groups;
    // A rebuilt group reports its state afresh (from INIT, as at start).
    for (const g of groups.values()) if (g.members.some((m) => plan.create.has(m))) this.groupReported.delete(g.name);
    for (const name of [...this.missing.keys()]) if (!next.instances.some((c) => c.name === name) || plan.create.has(name)) this.missing.delete(name);
    const created: Inst[] = [];
    for (const c of next.instances) {
      if (!plan.create.has(c.name)) continue;
      const inst = await this.createOrWait(c);
      if (inst) created.push(inst);
    }
    // During vrrp_startup_delay new instances wait with the others.
    if (this.started) for (const inst of created) this.startInstance(inst);
    else this.waiting.push(...created);
    return [...plan.stop];
  }

  private applyInPlace(inst: Inst, c: EngineInstance): void {
    const prev = inst.cfg;
    if (JSON.stringify(prev) === JSON.stringify(c)) return;
    if (c.priority !== prev.priority) this.hooks.log('info', `(${c.name}) priority changed from ${prev.priority} to ${c.priority}`);
    const holding = inst.machine.view().state === 'MASTER' || inst.handover !== null;
    inst.cfg = c;
    inst.rx = rxOf(c);
    inst.trackedValues = this.initialTracked(c);
    // A VIP the kernel refused is tried again with the new configuration.
    if (JSON.stringify(prev.vips) !== JSON.stringify(c.vips)) inst.vipFault = null;
    if (holding) {
      const key = (v: EngineVip): string => JSON.stringify(v);
      const now = new Set(c.vips.map(key));
      const before = new Set(prev.vips.map(key));
      const gone = prev.vips.filter((v) => !now.has(key(v)));
      const added = c.vips.filter((v) => !before.has(key(v)));
      const k = (x: unknown): string => JSON.stringify(x);
      const without = <T>(a: readonly T[], b: readonly T[]): T[] => { const s = new Set(b.map(k)); return a.filter((x) => !s.has(k(x))); };
      const routesGone = without(prev.routes ?? [], c.routes ?? []);
      const routesAdded = without(c.routes ?? [], prev.routes ?? []);
      const rulesGone = without(prev.rules ?? [], c.rules ?? []);
      const rulesAdded = without(c.rules ?? [], prev.rules ?? []);
      if (gone.length > 0 || routesGone.length > 0 || rulesGone.length > 0) this.chain(inst, () => this.removeVips(inst, gone, routesGone, rulesGone));
      if (added.length > 0 || routesAdded.length > 0 || rulesAdded.length > 0) this.addVips(inst, added, routesAdded, rulesAdded);
    }
    this.dispatch(inst, {
      type: 'reconfigure',
      params: {
        priority: c.priority,
        advertIntMs: c.advertIntMs,
        nopreempt: c.nopreempt,
        preemptDelayMs: c.preemptDelayMs,
        initialState: c.initialState,
        primaryIp: inst.primaryIp,
        garp: c.garp,
        rival: c.rival,
      },
    });
    this.retrack(inst);
  }

  /**
   * Maintenance: hand mastership to the peer cleanly (machine.ts `maintenance`): every instance
   * drops to priority 1, a MASTER hands over with priority 0 and keeps its VIPs until the peer
   * speaks; a sync group hands over as one. Off restores the configured priorities.
   */
  setMaintenance(on: boolean): void {
    if (this.maintenance === on) return;
    this.maintenance = on;
    this.hooks.log('info', `Maintenance ${on ? 'on: handing mastership to the peer' : 'off: configured priorities restored'}`);
    for (const inst of this.insts.values()) this.dispatch(inst, { type: 'maintenance', on });
  }

  /** Graceful stop: a MASTER sends priority 0 and hands over (RFC 5798 §6.4.3, make before break). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.startTimer) this.clock.clearTimer(this.startTimer);
    this.startTimer = null;
    if (this.missingTimer) this.clock.clearTimer(this.missingTimer);
    this.missingTimer = null;
    for (const inst of this.insts.values()) this.dispatch(inst, { type: 'shutdown' });
    this.stopped = true;
    for (const inst of this.insts.values()) {
      for (const t of inst.timers.values()) this.clock.clearTimer(t);
      inst.timers.clear();
    }
    await Promise.all([...this.insts.values()].map((i) => i.vipChain));
    await this.applyStatic(this.cfg.static ?? NO_STATIC, NO_STATIC);
    // Let the priority-0 adverts leave before the sockets close.
    await sleep(this.clock, 20);
    this.transport.close();
    for (const inst of this.insts.values()) {
      const vmac = inst.cfg.vmac;
      if (vmac) await this.safe(() => this.net.removeVmac(vmac.name), `(${inst.cfg.name}) remove VMAC ${vmac.name}`);
    }
    await this.net.close?.();
  }
}

/** An instance's receive key: an IPv4 and an IPv6 instance may share a VRID on one interface. */
function keyOf(c: EngineInstance): string {
  return `${advertDev(c)}/${c.family}/${c.vrid}`;
}

const NO_STATIC: EngineStatic = { ips: [], routes: [], rules: [] };

/** How often an instance waiting for its interface (dynamic_interfaces) is tried again. */
const MISSING_RETRY_MS = 2000;

/** What a sync group sees of a member waiting for its interface: in FAULT of its own. */
function missingView(c: EngineInstance): MachineView {
  return {
    name: c.name, state: 'FAULT', wantState: 'BACKUP', ownFault: true, basePriority: c.priority, maintenance: false,
    effectivePriority: c.priority, masterAdverIntMs: c.advertIntMs, masterIp: null, masterPriority: null, timers: {}, preemptAfterMs: null,
  };
}

function faultReason(faults: readonly string[]): string {
  if (faults.length === 0) return '';
  const vip = faults.find((f) => f.startsWith('VIP '));
  const tracked = faults.filter((f) => f !== vip);
  return [tracked.length > 0 ? `tracked ${tracked.join(', ')} down` : '', vip ?? ''].filter(Boolean).join('; ');
}
