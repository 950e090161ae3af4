// The load balancer as the daemon runs it: health-check results in, nftables edits and
// conntrack clean-up out. Both boards run this all the time (DESIGN.md "Data plane": both
// boards keep the rules and run the checks; only the VIPs move), so a new MASTER forwards at
// once with warm health state.
import type { VirtualServer, RealServer, Command } from '../config/model.ts';
import { HealthChecker } from '../check/scheduler.ts';
import type { RsStateEvent } from '../check/types.ts';
import { drKeptMode, renderFullTable, renderReload, renderRsChange, renderStop, rsKey, vsKey, vsAliveWeight, schedulableBackends, usesIp6, usesNetdev, type RsLive } from './plan.ts';
import { EMPTY_TOPOLOGY, type DrTopology } from './plan-dr.ts';
import { drEgressDevices, drTopology, type ConfiguredVip } from './dr-topology.ts';
import { TABLE, type NftBackend, type NftTransaction } from './nft.ts';
import { IPV6_FORWARDING_SYSCTLS, SysctlKeeper, drSysctls } from '../net/sysctl.ts';
import { hostInterfaceAddresses } from '../net/interfaces.ts';
import { QuorumTracker } from './quorum.ts';
import { runNotify } from '../util/notify.ts';
import { scriptPolicy, type ScriptPolicy } from '../util/script-user.ts';
import { UserspaceForwarder, chooseDataPlane, probeNftTables, backendOf, type DataPlane } from './forwarder/index.ts';
import type { Backend } from './sched/index.ts';
import type { RealServerStatus, VirtualServerStatus } from '../status.ts';

/** What the controller uses of the health checker (src/check/scheduler.ts HealthChecker). */
export interface CheckerHandle {
  start(): void;
  stop(): void;
  reload(v: VirtualServer[]): void;
  /** Every real server's state now, its last check's time and latency included. */
  states?(): RsStateEvent[];
}

export interface LbHooks {
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  /** A real server's reported state changed (for MQTT `lb/VS/RS` and `events`). */
  rsChanged(vs: VirtualServer, rs: RealServer, state: RealServerStatus): void;
  quorumChanged?(vs: VirtualServer, up: boolean): void;
  /** A real server went up or down (when notify_up / notify_down run; the event FIFOs' RS lines). */
  rsUpDown?(vs: VirtualServer, rs: RealServer, up: boolean): void;
}

export interface LbDeps {
  nft: NftBackend;
  /** Deletes a failed real server's flows; returns how many. */
  deleteFlows(address: string, port: number, protocols: Array<'tcp' | 'udp'>): Promise<number>;
  /** Counts a real server's active flows in the kernel (nftables-served virtual servers). */
  countFlows?(address: string, port: number, protocol: 'tcp' | 'udp'): Promise<number>;
  /** Deletes every flow to VIP:PORT (see conntrack.ts deleteVipFlows). */
  deleteVipFlows?(vip: string, port: number, protocol: 'tcp' | 'udp'): Promise<number>;
  /** Tests inject a checker stand-in; the daemon uses the real HealthChecker. */
  makeChecker?(vss: VirtualServer[], onChange: (ev: RsStateEvent) => void): CheckerHandle;
  /** Whether nftables works here (probed once at start; default: `nft list tables` exits 0). */
  nftAvailable?(): Promise<boolean>;
  /** The userspace forwarder for virtual servers nftables does not serve (default: a UserspaceForwarder). */
  forwarder?: ForwarderLike;
  /** The configuration's VIPs with their interfaces, as of now (lb_kind DR: where clients' packets arrive). */
  vips?(): readonly ConfiguredVip[];
  /** This host's interfaces and their IPv4 addresses (default: `ip -j addr show`). */
  interfaces?(): Promise<ReadonlyMap<string, readonly string[]>>;
  /** The kernel settings DR needs, held and put back on stop (default: /proc/sys). */
  sysctls?: { hold(want: ReadonlyArray<readonly [string, string]>): Promise<void>; restore(): Promise<void> };
}

/** What the controller needs of the userspace forwarder (src/lb/forwarder/index.ts). */
export interface ForwarderLike {
  serve(vss: readonly VirtualServer[]): Promise<void>;
  update(vs: VirtualServer, backends: readonly Backend[]): void;
  connections(vs: VirtualServer, rs: RealServer): number | null;
  closeConnections(vs: VirtualServer, rs: RealServer): number;
  stop(): Promise<void>;
}

export class LbController {
  private live = new Map<string, RsLive>();
  private views = new Map<string, RealServerStatus>();
  private drained = new Set<string>();
  private quorum = new Map<string, QuorumTracker>();
  private pending = new Set<string>();
  private applying: Promise<void> = Promise.resolve();
  private checker: CheckerHandle | null = null;
  private stopped = false;
  /** Probed once at start; decides `forwarder auto` (src/lb/forwarder/select.ts). */
  private nftWorks = true;
  /** The kernel's table is what the last full apply and the edits since made of it: a reload may edit it. */
  private tableKnown = false;
  private readonly forwarder: ForwarderLike;
  /** lb_kind DR: where packets come in and go out (recomputed at start and on reload). */
  private topo: DrTopology = EMPTY_TOPOLOGY;
  /** `table netdev tandem` was created by this process (so a full apply and the stop remove it). */
  private netdevUsed = false;
  /** `table ip6 tandem` (IPv6 virtual servers) was created by this process, or left by an earlier one. */
  private ip6Used = false;
  /** DR virtual servers (vsKey) in kept mode in the kernel (plan-dr.ts): an edit enters or leaves it. */
  private drKept = new Set<string>();
  private readonly sysctls: NonNullable<LbDeps['sysctls']>;

  constructor(
    private vss: VirtualServer[],
    private readonly deps: LbDeps,
    private readonly hooks: LbHooks,
    /** global_defs' script_user and enable_script_security as they are now (they change on reload). */
    private readonly scripts: () => ScriptPolicy = () => scriptPolicy({ scriptUser: null, scriptGroup: null, enableScriptSecurity: false }),
  ) {
    this.forwarder = deps.forwarder ?? new UserspaceForwarder({ log: (level, msg) => this.hooks.log(level, msg) });
    this.sysctls = deps.sysctls ?? new SysctlKeeper((level, msg) => this.hooks.log(level, msg));
  }

  /**
   * Recomputes where DR packets come in and go out, says what cannot work, and holds the
   * sysctls the interfaces facing DR real servers need (none without DR: what was held goes back),
   * and IPv6 forwarding while an IPv6 virtual server exists.
   */
  private async refreshTopology(): Promise<void> {
    const dr = this.served().filter((vs) => vs.method === 'DR');
    if (dr.length === 0) {
      this.topo = EMPTY_TOPOLOGY;
    } else {
      const r = drTopology(dr, this.deps.vips?.() ?? [], await (this.deps.interfaces ?? hostInterfaceAddresses)());
      for (const p of r.problems) this.hooks.log('error', p);
      this.topo = r.topo;
    }
    const v6 = usesIp6(this.served()) ? IPV6_FORWARDING_SYSCTLS : [];
    await this.sysctls.hold([...drSysctls(drEgressDevices(this.topo)), ...v6]);
  }

  private plane(vs: VirtualServer): DataPlane {
    return chooseDataPlane(vs, this.nftWorks);
  }

  private served(): VirtualServer[] {
    return this.vss.filter((vs) => this.plane(vs) === 'nftables');
  }

  private userspace(): VirtualServer[] {
    return this.vss.filter((vs) => this.plane(vs) === 'userspace');
  }

  /** nftables is in use: it works here, or a virtual server insists on it (then errors say why). */
  private usesNft(): boolean {
    return this.nftWorks || this.served().length > 0;
  }

  /** What the userspace forwarder may send new connections to; mirrors plan.ts fillVs (quorum lost → sorry server alone). */
  private userspaceBackends(vs: VirtualServer): Backend[] {
    const quorumUp = this.quorum.get(vsKey(vs))?.isUp ?? true;
    if (!quorumUp && vs.sorryServer) return [backendOf(vs.sorryServer, 1)];
    return schedulableBackends(vs, this.planState());
  }

  private async startUserspace(): Promise<void> {
    const vss = this.userspace();
    await this.forwarder.serve(vss);
    for (const vs of vss) this.forwarder.update(vs, this.userspaceBackends(vs));
  }

  /** The state the data plane uses: drained servers get weight 0 (no new flows, old ones stay). */
  private planState(vss: readonly VirtualServer[] = this.vss): Map<string, RsLive> {
    const m = new Map<string, RsLive>();
    for (const vs of vss) {
      for (const rs of vs.realServers) {
        const k = rsKey(vs, rs);
        const l = this.live.get(k) ?? { up: !vs.alpha, weight: rs.weight };
        m.set(k, this.drained.has(k) ? { up: l.up, weight: 0 } : l);
      }
    }
    return m;
  }

  private quorumMap(): Map<string, boolean> {
    const m = new Map<string, boolean>();
    for (const [k, q] of this.quorum) m.set(k, q.isUp);
    return m;
  }

  async start(): Promise<void> {
    // Flows from a mastership before a restart are stale (see dropVipFlows).
    await this.dropVipFlows('start');
    for (const vs of this.vss) {
      const alive = vsAliveWeight(vs, this.planState());
      this.quorum.set(vsKey(vs), new QuorumTracker({ quorum: vs.quorum, hysteresis: vs.hysteresis }, alive >= vs.quorum));
    }
    if (this.deps.nftAvailable) this.nftWorks = await this.deps.nftAvailable();
    else {
      const p = await probeNftTables();
      this.nftWorks = p.works;
      // A netdev table left by an earlier run (killed while its configuration had DR): the full
      // apply removes it even if this configuration has none (a kernel without the netdev
      // family never has one, so the NAT table's apply never depends on it).
      this.netdevUsed = p.tables.includes(`netdev ${TABLE}`);
      this.ip6Used = p.tables.includes(`ip6 ${TABLE}`);
    }
    if (!this.nftWorks) this.hooks.log('warn', 'nftables is not usable here (`nft list tables` failed): virtual servers with `forwarder auto` use the userspace forwarder');
    const dr = this.vss.filter((vs) => vs.method === 'DR').length;
    if (!this.nftWorks && dr > 0) this.hooks.log('error', `lb_kind DR needs nftables (netdev ingress): ${dr} virtual server${dr === 1 ? '' : 's'} cannot be served here`);
    await this.refreshTopology();
    if (this.usesNft()) await this.applyFull();
    await this.startUserspace();
    const make = this.deps.makeChecker ?? ((vss, onChange) => new HealthChecker(vss, this.checkerOptions(onChange)));
    this.checker = make(this.vss, (ev) => this.onCheck(ev));
    this.checker.start();
  }

  /**
   * The health checker's options: MISC_CHECK's default user read at each check (a reload may
   * change script_user), and notify_up/notify_down run here, once per up/down change, as
   * script_user (keepalived check_api.c: notify_up/down on the transition only).
   */
  private checkerOptions(onChange: (ev: RsStateEvent) => void): ConstructorParameters<typeof HealthChecker>[1] {
    const scripts = this.scripts;
    const log = (level: 'warn' | 'debug', msg: string): void => this.hooks.log(level, msg);
    return {
      onChange,
      get scriptUser() { return scripts().scriptUser; },
      get scriptGroup() { return scripts().scriptGroup; },
      get enableScriptSecurity() { return scripts().enableScriptSecurity; },
      notify: (cmd, _ev, signal) => runNotify(cmd, [], scripts(), log, { signal }),
    };
  }

  /** Which DR virtual servers the state puts in kept mode (what the kernel holds after an apply of it). */
  private keptNow(vss: readonly VirtualServer[], state: Map<string, RsLive>, q: ReadonlyMap<string, boolean>): void {
    for (const vs of vss) {
      if (vs.method !== 'DR') continue;
      if (drKeptMode(vs, state, this.topo, q.get(vsKey(vs)) ?? true)) this.drKept.add(vsKey(vs));
      else this.drKept.delete(vsKey(vs));
    }
  }

  private async applyFull(): Promise<void> {
    this.tableKnown = false;
    const served = this.served();
    const netdev = usesNetdev(served);
    const state = this.planState();
    const q = this.quorumMap();
    const tx = renderFullTable(served, state, { quorumUp: q, dr: this.topo, resetNetdev: this.netdevUsed, resetIp6: this.ip6Used });
    if (netdev) this.netdevUsed = true;
    if (usesIp6(served)) this.ip6Used = true;
    await this.deps.nft.apply(tx);
    this.drKept.clear();
    this.keptNow(served, state, q);
    this.tableKnown = true;
    const v6 = served.filter((vs) => usesIp6([vs])).length;
    this.hooks.log('info', `nftables: table ip tandem applied (${this.served().length} virtual servers)${v6 > 0 ? `, table ip6 tandem with ${v6} IPv6 ones` : ''}`);
  }

  /**
   * A reload as one edit of the table (plan.ts renderReload): virtual servers that did not
   * change keep their objects, and so their persistence sets' clients. The full replace stays
   * for start and for when the table is not known to match (a failed apply or edit before).
   */
  private async applyReload(prev: readonly VirtualServer[], prevQuorum: ReadonlyMap<string, boolean>, prevTopo: DrTopology): Promise<void> {
    if (!this.tableKnown) return this.applyFull();
    const state = this.planState([...prev, ...this.vss]);
    const plan = renderReload(prev, this.served(), state, {
      prevQuorumUp: prevQuorum, quorumUp: this.quorumMap(), prevDr: prevTopo, dr: this.topo,
    });
    if (usesNetdev(this.served())) this.netdevUsed = true;
    if (usesIp6(this.served())) this.ip6Used = true;
    const what = `added ${plan.added.length}, removed ${plan.removed.length}, replaced ${plan.replaced.length}, refilled ${plan.refilled.length}, unchanged ${plan.unchanged.length}`;
    if (plan.tx.isEmpty) {
      this.hooks.log('debug', `nftables: reload changes no virtual server (${what})`);
      return;
    }
    try {
      this.tableKnown = false;
      await this.deps.nft.apply(plan.tx);
      this.drKept.clear();
      this.keptNow(this.served(), state, this.quorumMap());
      this.tableKnown = true;
      this.hooks.log('info', `nftables: reload edit applied (${what})`);
    } catch (err) {
      this.hooks.log('error', `nftables reload edit failed, re-applying the whole table: ${(err as Error).message}`);
      await this.applyFull();
    }
  }

  private find(ev: RsStateEvent): { vs: VirtualServer; rs: RealServer } | null {
    const vs = this.vss.find((v) => v.name === ev.vs && v.protocol === ev.protocol);
    const rs = vs?.realServers.find((r) => r.name === ev.rs);
    return vs && rs ? { vs, rs } : null;
  }

  private onCheck(ev: RsStateEvent): void {
    if (this.stopped) return;
    const f = this.find(ev);
    if (!f) return;
    const { vs, rs } = f;
    const k = rsKey(vs, rs);
    const prev = this.live.get(k);
    this.live.set(k, { up: ev.up, weight: ev.weight });
    const view: RealServerStatus = {
      name: rs.name,
      address: rs.address,
      port: rs.port,
      connections: null,
      up: ev.up,
      weight: ev.weight,
      drained: this.drained.has(k),
      lastCheck: ev.lastCheck,
      failures: ev.failures,
      latencyMs: ev.latencyMs,
      reason: ev.reason,
    };
    this.views.set(k, view);
    this.hooks.rsChanged(vs, rs, view);
    const changed = !prev || prev.up !== ev.up || prev.weight !== ev.weight;
    if (!changed) return;
    // Up or down against what it was, at first what it starts as (down with alpha), as the
    // health checker decides when notify_up / notify_down run.
    if ((prev?.up ?? !vs.alpha) !== ev.up) this.hooks.rsUpDown?.(vs, rs, ev.up);
    if (prev) {
      // keepalived's wording (check_api / ipvswrapper): "Removing service [ADDR]:PORT … from VS"
      this.hooks.log('info', ev.up ? `Adding service [${rs.address}]:${rs.port} to VS [${vs.address}]:${vs.port} (${ev.reason})` : `Removing service [${rs.address}]:${rs.port} from VS [${vs.address}]:${vs.port} (${ev.reason})`);
      // notify_up/notify_down: run by the health checker on the transition (checkerOptions).
    }
    this.updateQuorum(vs);
    this.schedule(vs);
    // A failed server's flows are deleted so its clients reconnect elsewhere at once
    // (DESIGN.md "Data plane"); with inhibit_on_failure they are kept, as keepalived keeps the
    // server in the table at weight 0. DR flows have no conntrack entries: the slot table's
    // edit moved them already.
    if (prev && prev.up && !ev.up && !rs.inhibitOnFailure && vs.method !== 'DR') {
      if (this.plane(vs) === 'userspace') {
        const n = this.forwarder.closeConnections(vs, rs);
        this.hooks.log('info', `forwarder: closed ${n} connections of [${rs.address}]:${rs.port}`);
        return;
      }
      const proto = vs.protocol === 'TCP' ? 'tcp' : 'udp';
      this.deps.deleteFlows(rs.address, rs.port, [proto]).then(
        (n) => this.hooks.log('info', `conntrack: deleted ${n} flows of [${rs.address}]:${rs.port}`),
        (err: Error) => this.hooks.log('warn', `conntrack: ${err.message}`),
      );
    }
  }

  private updateQuorum(vs: VirtualServer): void {
    const q = this.quorum.get(vsKey(vs));
    if (!q) return;
    const r = q.update(vsAliveWeight(vs, this.planState()));
    if (!r.changed) return;
    this.hooks.log('info', r.up ? `Gained quorum ${vs.quorum}+${vs.hysteresis} for VS [${vs.address}]:${vs.port}` : `Lost quorum ${vs.quorum}-${vs.hysteresis} for VS [${vs.address}]:${vs.port}`);
    const cmd: Command | null = r.up ? vs.quorumUp : vs.quorumDown;
    if (cmd) void runNotify(cmd, [], this.scripts(), (level, msg) => this.hooks.log(level, msg));
    this.hooks.quorumChanged?.(vs, r.up);
  }

  /** Coalesces changes: one nft transaction carries every virtual server changed meanwhile. */
  private schedule(vs: VirtualServer): void {
    if (this.plane(vs) === 'userspace') {
      this.forwarder.update(vs, this.userspaceBackends(vs));
      return;
    }
    this.pending.add(vsKey(vs));
    this.applying = this.applying.then(() => this.flush());
  }

  private async flush(): Promise<void> {
    if (this.pending.size === 0 || this.stopped) return;
    const keys = [...this.pending];
    this.pending.clear();
    const state = this.planState();
    const q = this.quorumMap();
    const parts: NftTransaction[] = [];
    const changed: VirtualServer[] = [];
    for (const k of keys) {
      const vs = this.vss.find((v) => vsKey(v) === k);
      if (vs) {
        parts.push(renderRsChange(vs, state, { quorumUp: q, dr: this.topo, drKept: this.drKept }));
        changed.push(vs);
      }
    }
    const text = parts.map((p) => p.render()).join('\n');
    try {
      const t0 = performance.now();
      await this.deps.nft.apply(text);
      this.keptNow(changed, state, q);
      // Measured by bench/lb-failover.ts (one real server's change under 20 ms).
      this.hooks.log('debug', `nftables: edit applied (${keys.length} virtual server${keys.length === 1 ? '' : 's'}) in ${(performance.now() - t0).toFixed(1)} ms`);
    } catch (err) {
      this.tableKnown = false;
      this.hooks.log('error', `nftables edit failed, re-applying the whole table: ${(err as Error).message}`);
      await this.applyFull().catch((e: Error) => this.hooks.log('error', `nftables: ${e.message}`));
    }
  }

  /**
   * Forgets the flows to our virtual servers. The daemon calls this when this board stops being
   * MASTER (and start() on start-up): when it is MASTER again, clients' packets must create
   * fresh entries that the shared hash sends to the same real servers, not hit entries whose
   * TCP windows went stale while the peer carried the flows.
   */
  async dropVipFlows(why: string): Promise<void> {
    const del = this.deps.deleteVipFlows;
    if (!del) return;
    let n = 0;
    // DR flows are never tracked (notrack): nothing to forget.
    for (const vs of this.vss.filter((v) => v.method !== 'DR')) {
      try {
        n += await del(vs.address, vs.port, vs.protocol === 'TCP' ? 'tcp' : 'udp');
      } catch (err) {
        this.hooks.log('warn', `conntrack: ${(err as Error).message}`);
      }
    }
    if (n > 0) this.hooks.log('info', `conntrack: deleted ${n} flows to the virtual servers (${why})`);
  }

  /** Waits until every queued edit is in the kernel (tests, console). */
  settle(): Promise<void> {
    return this.applying;
  }

  private lookup(vsName: string, rsName: string): { vs: VirtualServer; rs: RealServer } | null {
    const norm = (s: string): string => s.trim().replace(/[\s:]+/g, ' ');
    const vs = this.vss.find((v) => norm(v.name) === norm(vsName));
    const rs = vs?.realServers.find((r) => norm(r.name) === norm(rsName));
    return vs && rs ? { vs, rs } : null;
  }

  /** Operator drain: no new connections to the server; existing ones continue. */
  async setDrained(vsName: string, rsName: string, drained: boolean): Promise<{ ok: boolean; message: string }> {
    const f = this.lookup(vsName, rsName);
    if (!f) return { ok: false, message: `no real server '${rsName}' in virtual server '${vsName}'` };
    const k = rsKey(f.vs, f.rs);
    if (drained) this.drained.add(k);
    else this.drained.delete(k);
    const v = this.views.get(k);
    if (v) v.drained = drained;
    this.hooks.log('info', `${drained ? 'Draining' : 'Enabling'} [${f.rs.address}]:${f.rs.port} in VS [${f.vs.address}]:${f.vs.port}`);
    this.schedule(f.vs);
    await this.settle();
    return { ok: true, message: `${f.rs.name} ${drained ? 'drained' : 'enabled'} in ${f.vs.name}` };
  }

  /**
   * One real server in the one status model (src/status.ts). The checker reports a change of
   * up or weight only; the last check's time, latency and failures come from its live state.
   */
  view(vs: VirtualServer, rs: RealServer, checks: ReadonlyMap<string, RsStateEvent> = this.checkStates()): RealServerStatus {
    const k = rsKey(vs, rs);
    const l = this.live.get(k) ?? { up: !vs.alpha, weight: rs.weight };
    const v = this.views.get(k) ?? {
      name: rs.name, address: rs.address, port: rs.port, up: l.up, weight: l.weight, drained: this.drained.has(k),
      lastCheck: null, failures: 0, latencyMs: null, reason: 'initial', connections: null,
    };
    const c = checks.get(`${vs.name}|${vs.protocol}|${rs.name}`);
    const last = c ? { lastCheck: c.lastCheck, failures: c.failures, latencyMs: c.latencyMs } : {};
    const n = this.forwarder.connections(vs, rs) ?? this.flowCounts.get(k) ?? null;
    return { ...v, ...last, drained: this.drained.has(k), connections: n };
  }

  private checkStates(): Map<string, RsStateEvent> {
    return new Map((this.checker?.states?.() ?? []).map((e) => [`${e.vs}|${e.protocol}|${e.rs}`, e]));
  }

  /** Every virtual server and its real servers, in the one status model. */
  status(): VirtualServerStatus[] {
    const checks = this.checkStates();
    return this.vss.map((vs) => ({
      name: vs.name,
      address: vs.address,
      port: vs.port,
      protocol: vs.protocol,
      scheduler: vs.scheduler,
      forwarder: this.plane(vs),
      method: vs.method,
      quorumUp: this.quorumUp(vs),
      realServers: vs.realServers.map((rs) => this.view(vs, rs, checks)),
    }));
  }

  private flowCounts = new Map<string, number>();

  /**
   * Refreshes the connection counts of nftables-served real servers from conntrack (the
   * userspace forwarder counts its own). Run on demand by the console, not on a timer: it
   * spawns conntrack once per real server.
   */
  async refreshConnectionCounts(): Promise<void> {
    const count = this.deps.countFlows;
    if (!count) return;
    // DR flows are not in conntrack (notrack): their count stays unknown.
    await Promise.all(
      this.vss.filter((vs) => vs.method !== 'DR').flatMap((vs) =>
        vs.realServers.map(async (rs) => {
          try {
            this.flowCounts.set(rsKey(vs, rs), await count(rs.address, rs.port, vs.protocol === 'TCP' ? 'tcp' : 'udp'));
          } catch {
            this.flowCounts.delete(rsKey(vs, rs));
          }
        }),
      ),
    );
  }

  quorumUp(vs: VirtualServer): boolean {
    return this.quorum.get(vsKey(vs))?.isUp ?? true;
  }

  virtualServers(): VirtualServer[] {
    return this.vss;
  }

  async reload(vss: VirtualServer[]): Promise<void> {
    const prevServed = this.served();
    const prevQuorum = this.quorumMap();
    const prevTopo = this.topo;
    this.vss = vss;
    // A changed quorum or hysteresis takes effect now (the tracker keeps its state otherwise);
    // trackers of removed virtual servers go.
    const keep = new Map<string, QuorumTracker>();
    for (const vs of vss) {
      const old = this.quorum.get(vsKey(vs));
      const same = old?.settings.quorum === vs.quorum && old.settings.hysteresis === vs.hysteresis;
      keep.set(vsKey(vs), same && old ? old : new QuorumTracker({ quorum: vs.quorum, hysteresis: vs.hysteresis }, vsAliveWeight(vs, this.planState()) >= vs.quorum));
    }
    this.quorum = keep;
    const work = this.applying.then(async () => {
      await this.refreshTopology();
      if (this.usesNft()) await this.applyReload(prevServed, prevQuorum, prevTopo);
      await this.startUserspace();
    });
    // The queue itself must stay resolved: a rejected `applying` would make every later
    // schedule()'s `.then(flush)` skip its edit and reject unhandled (a crash on Node 20).
    this.applying = work.catch(() => undefined);
    try {
      await work;
    } finally {
      this.checker?.reload(vss);
    }
  }

  /** Removes the table: nothing of ours stays in the kernel (DESIGN.md). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.checker?.stop();
    await this.applying.catch(() => undefined);
    await this.forwarder.stop().catch((err: Error) => this.hooks.log('warn', `forwarder: stopping: ${err.message}`));
    if (this.usesNft()) {
      await this.deps.nft.apply(renderStop({ netdev: this.netdevUsed, ip6: this.ip6Used })).catch((err: Error) => this.hooks.log('warn', `nftables: removing table: ${err.message}`));
      this.deps.nft.close?.();
    }
    await this.sysctls.restore();
  }
}
