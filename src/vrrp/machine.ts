// The VRRP state machine of one instance: RFC 5798 §6.4 (and RFC 3768 §6.4 for v2), with the
// FAULT state and the behaviours keepalived 2.2 adds (vrrp.c, vrrp_scheduler.c). Pure: no I/O,
// no clock; every decision uses the `nowMs` passed in, and timers are absolute deadlines.
//
// ── Contract for the engine (worker thread) ──────────────────────────────────────────────────
//   const m = createMachine(params);
//   for (const a of m.handle(event, now)) perform(a);        // in order
//
// Events (MachineEvent):
//   start {faulty?, trackWeight?}
//                               once, after VIPs left by a crash were removed. faulty: the
//                               interface is down or a tracked thing failed (weight 0).
//                               trackWeight: the tracking weight already in effect (track.ts).
//   advert {priority, srcIp, advertIntMs}
//                               an advertisement that passed the receive path (receive.ts).
//   timer {timer}               a deadline set by a setTimer action was reached. Stale or early
//                               fires are tolerated (ignored, or re-armed).
//   shutdown                    stop: a MASTER hands over (priority 0, VIPs kept for the handover).
//   fault {reason} / faultCleared
//                               the instance's own fault level (interface down, tracked
//                               interface/script with weight 0 failing); the caller aggregates.
//   track {weight}              the sum of tracking weights now in effect (track.ts trackedWeight).
//   maintenance {on}            hand mastership to the peer: priority 1 (the owner, 255, stays);
//                               a MASTER hands over as on shutdown. Off restores the priority.
//   reconfigure {params}        a reload changed what can change in place (priority, interval,
//                               preemption, GARP settings, primary address).
//   force {state, reason, graceful?}
//                               a sync group moves this member (see sync-group.ts); graceful: the
//                               member that moved first handed over on purpose, so this one does too.
//   groupRxLowerPriority        another member of its sync group heard a lower priority: a MASTER
//                               sends its own garp_lower_prio burst too (keepalived vrrp.c: the
//                               other side's members go BACKUP without advertising to us).
// Actions (Action):
//   sendAdvert {priority}       send one advertisement now (0 on stop / fault / handover).
//   setTimer {timer, atMs}      (re)arm a timer: replaces any previous deadline of that timer.
//   cancelTimer {timer}
//   addVips                     virtual_ipaddress (+ _excluded) of this instance.
//   removeVips {handover?}      remove them; with handover {untilMs}: make before break, keep them
//                               until the first advertisement of priority > 0 from another router
//                               for this VRID, or untilMs (timing.ts handoverBoundMs), whichever
//                               comes first. keepalived removes them at once; the clients' outage
//                               shrinks from the peer's Skew_Time to the gap between its advert
//                               and its gratuitous ARP.
//   sendGarp {count}            a burst of gratuitous ARPs for every VIP (count per VIP).
//                               Also when, MASTER, it hears a lower priority (garp_lower_prio_*,
//                               once more after garp_lower_prio_delay), at most once per interval.
//                               The schedule is modelled here (keepalived defaults: 5 at once on
//                               becoming MASTER, 5 more after garp_master_delay 5 s, then every
//                               garp_master_refresh with garp_master_refresh_repeat if set), via
//                               the 'garp' timer. Spacing inside a burst (vrrp_garp_interval) is
//                               the sender's business.
//   stateChanged {from, to, reason, graceful?}
//                               log `(NAME) Entering MASTER STATE` (stateLogLine), notify scripts,
//                               report; also offer it to the sync group.
//   count {counter}             bump the instance counter (keepalived stats names).
//   rxLowerPriority {srcIp, priority, first}
//                               MASTER, it heard another MASTER with a lower priority (only a
//                               MASTER advertises, so the two were split): keepalived's
//                               MASTER_RX_LOWER_PRI event (notify_master_rx_lower_pri, the FIFOs),
//                               at most once per interval. `first`: the first of an episode (none
//                               heard for a Master_Down_Interval before): the other side carried
//                               flows meanwhile, so the engine reports a split brain that healed.
//   priorityChanged {priority}  the effective priority changed (tracking, maintenance, a reload):
//                               notify_priority_changes writes it to the FIFOs.
//
// Preempt delay follows keepalived 2.x (vrrp_state_backup), which needs no timer of its own:
// a BACKUP with preemption that hears a lower priority advert keeps accepting adverts for
// preempt_delay (from the first such advert), after which it ignores them and lets
// Master_Down expire. So a higher-priority board that (re)starts waits preempt_delay plus
// Master_Down_Interval before taking over.

import type { CounterName } from './counters.ts';
import { compareIp, parseIp } from '../util/ip.ts';
import { handoverBoundMs, masterDownIntervalMs, skewMinMs, skewTimeMs } from './timing.ts';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';
export type TimerName = 'advert' | 'masterDown' | 'garp' | 'lowerPrioGarp';

/** Asked by the machine when it is in a sync group (see sync-group.ts). */
export interface SyncGate {
  /** keepalived vrrp_sync_can_goto_master: every other member wants MASTER (or is MASTER). */
  mayGoMaster(member: string): boolean;
  /** No other member of the group is in FAULT of its own. */
  mayLeaveFault(member: string): boolean;
}

export interface GarpSettings {
  /** garp_master_repeat: GARPs per VIP in each burst (keepalived default 5). */
  repeat: number;
  /** garp_master_delay: the second burst after becoming MASTER (default 5000; 0 = none). */
  delayMs: number;
  /** garp_master_refresh (0 = off) and garp_master_refresh_repeat (default 1). */
  refreshMs: number;
  refreshRepeat: number;
}

export const DEFAULT_GARP: GarpSettings = { repeat: 5, delayMs: 5000, refreshMs: 0, refreshRepeat: 1 };

/**
 * What a MASTER does on hearing another MASTER (keepalived vrrp.c vrrp_state_master_rx):
 * with a lower priority it advertises at once (RFC 9568 section 6.4.3; unless noAdvert) and sends
 * a gratuitous ARP burst so clients that followed the other come back; with a higher priority it
 * may advertise once before yielding, so that the other sends its burst.
 */
export interface RivalSettings {
  /** garp_lower_prio_repeat: GARPs per VIP on hearing a lower priority (0: none). */
  garpRepeat: number;
  /** garp_lower_prio_delay: the same burst again this much later (0: not again). */
  garpDelayMs: number;
  /** lower_prio_no_advert. */
  noAdvert: boolean;
  /** higher_prio_send_advert. */
  advertBeforeYielding: boolean;
}

/** keepalived's defaults (the garp_master values; no advert before yielding). */
export const DEFAULT_RIVAL: RivalSettings = { garpRepeat: 5, garpDelayMs: 5000, noAdvert: false, advertBeforeYielding: false };

export interface MachineParams {
  /** Instance name, for log lines and sync groups. */
  name: string;
  version: 2 | 3;
  /** Configured priority 1..255 (255: address owner). */
  priority: number;
  /** Configured advert_int in ms. */
  advertIntMs: number;
  nopreempt: boolean;
  preemptDelayMs: number;
  /** `state MASTER|BACKUP`: a hint, as in keepalived (see start). */
  initialState: 'MASTER' | 'BACKUP';
  /** Our primary address on the instance's interface (or unicast_src_ip): the tie-break. Over
   * IPv6 it is the interface's link-local address, the source of our adverts (RFC 5798 §5.1.2.1). */
  primaryIp: string;
  garp?: GarpSettings;
  rival?: RivalSettings;
  sync?: SyncGate;
}

/** What a reload may change without restarting the instance (its identity stays). */
export type ReconfigurableParams = Pick<MachineParams, 'priority' | 'advertIntMs' | 'nopreempt' | 'preemptDelayMs' | 'initialState' | 'primaryIp'> & {
  garp?: GarpSettings;
  rival?: RivalSettings;
};

export type MachineEvent =
  | { type: 'start'; faulty?: boolean; trackWeight?: number }
  | { type: 'advert'; priority: number; srcIp: string; advertIntMs: number }
  | { type: 'timer'; timer: TimerName }
  | { type: 'shutdown' }
  | { type: 'fault'; reason: string }
  | { type: 'faultCleared'; reason?: string }
  | { type: 'track'; weight: number }
  | { type: 'maintenance'; on: boolean }
  | { type: 'reconfigure'; params: ReconfigurableParams }
  | { type: 'force'; state: 'MASTER' | 'BACKUP' | 'FAULT'; reason: string; graceful?: boolean }
  | { type: 'groupRxLowerPriority' };

export type Action =
  | { type: 'sendAdvert'; priority: number }
  | { type: 'setTimer'; timer: TimerName; atMs: number }
  | { type: 'cancelTimer'; timer: TimerName }
  | { type: 'addVips' }
  | { type: 'removeVips'; handover?: { untilMs: number } }
  | { type: 'sendGarp'; count: number }
  | { type: 'stateChanged'; from: VrrpState; to: VrrpState; reason: string; graceful?: true }
  | { type: 'count'; counter: CounterName }
  | { type: 'rxLowerPriority'; srcIp: string; priority: number; first: boolean }
  | { type: 'priorityChanged'; priority: number };

/** What the engine, the sync group and reporting can read. */
export interface MachineView {
  name: string;
  state: VrrpState;
  /** The state this instance would be in disregarding its sync group (keepalived wantstate). */
  wantState: 'MASTER' | 'BACKUP';
  /** In FAULT of its own (not only because its sync group is). */
  ownFault: boolean;
  /** The priority in use before tracking: the configured one, or 1 in maintenance. */
  basePriority: number;
  maintenance: boolean;
  effectivePriority: number;
  /** Master_Adver_Interval: learned from the master in v3 (RFC 5798 §6.4.2). */
  masterAdverIntMs: number;
  /** Address of the current master as last heard (null when we are it or unknown). */
  masterIp: string | null;
  masterPriority: number | null;
  /** Armed deadlines. */
  timers: Partial<Record<TimerName, number>>;
  /** When a preempt_delay is running: the time after which lower-priority adverts are ignored. */
  preemptAfterMs: number | null;
}

export interface Machine {
  handle(event: MachineEvent, nowMs: number): Action[];
  view(): MachineView;
}

/** keepalived's log line for a state change: `(VI_PUB) Entering MASTER STATE`. */
export function stateLogLine(name: string, to: VrrpState): string {
  return to === 'STOP' ? `(${name}) Stopped` : `(${name}) Entering ${to} STATE`;
}

/** A timer fired this close before its deadline counts as due (setTimeout rounds to 1 ms). */
const EARLY_TOLERANCE_MS = 1;

export function createMachine(params: MachineParams): Machine {
  let p: MachineParams = { ...params };
  checkParams(p);
  const owner = (): boolean => p.priority === 255;
  const garp = (): GarpSettings => p.garp ?? DEFAULT_GARP;
  const rival = (): RivalSettings => p.rival ?? DEFAULT_RIVAL;

  let state: VrrpState = 'INIT';
  // keepalived: `state MASTER` sets wantstate MASTER from the start; nopreempt overrides it.
  let wantState: 'MASTER' | 'BACKUP' = p.initialState === 'MASTER' && !p.nopreempt ? 'MASTER' : 'BACKUP';
  let ownFault = false;
  let maintenance = false;
  let trackWeight = 0;
  let eff = p.priority;
  let masterAdverInt = p.advertIntMs;
  let masterIp: string | null = null;
  let masterPriority: number | null = null;
  let preemptAfter: number | null = null;
  let garpPhase: 'second' | 'refresh' = 'second';
  let lastReassert: number | null = null;
  /** Last lower-priority advert heard as MASTER (rate-limited or not): where an episode ends. */
  let lastLowerHeard: number | null = null;
  /** Last garp_lower_prio burst: at most one per advert interval, whatever asks for it. */
  let lastLowerGarp: number | null = null;
  const timers: Partial<Record<TimerName, number>> = {};

  // Skew uses 255 for the owner whatever tracking did (keepalived VRRP_TIMER_SKEW).
  const skewPriority = (): number => (owner() ? 255 : eff);
  const mdi = (): number => masterDownIntervalMs(p.version, skewPriority(), masterAdverInt);
  const skew = (): number => skewTimeMs(p.version, skewPriority(), masterAdverInt);
  const base = (): number => (maintenance && !owner() ? 1 : p.priority);
  // keepalived vrrp_set_effective_priority: the owner is never changed by tracking.
  const effective = (): number => (owner() ? 255 : clampPriority(base() + trackWeight));

  function set(out: Action[], timer: TimerName, atMs: number): void {
    timers[timer] = atMs;
    out.push({ type: 'setTimer', timer, atMs });
  }
  function cancel(out: Action[], timer: TimerName): void {
    if (timers[timer] !== undefined) {
      delete timers[timer];
      out.push({ type: 'cancelTimer', timer });
    }
  }
  function advert(out: Action[], priority: number): void {
    out.push({ type: 'sendAdvert', priority });
    out.push({ type: 'count', counter: 'advert_sent' });
    if (priority === 0) out.push({ type: 'count', counter: 'pri_zero_sent' });
  }
  function change(out: Action[], to: VrrpState, reason: string, graceful = false): void {
    const from = state;
    state = to;
    out.push(graceful ? { type: 'stateChanged', from, to, reason, graceful: true } : { type: 'stateChanged', from, to, reason });
  }

  // RFC 5798 §6.4.1/§6.4.2 "transition to Master"; keepalived vrrp_state_master_tx: the
  // advert goes first so the old master drops the VIPs before our GARPs.
  function becomeMaster(out: Action[], now: number, reason: string): void {
    cancel(out, 'masterDown');
    masterAdverInt = p.advertIntMs; // keepalived vrrp_state_become_master
    wantState = 'MASTER';
    masterIp = null;
    masterPriority = null;
    preemptAfter = null;
    lastReassert = null;
    lastLowerHeard = null;
    lastLowerGarp = null;
    advert(out, eff);
    set(out, 'advert', now + p.advertIntMs);
    out.push({ type: 'addVips' });
    const g = garp();
    if (g.repeat > 0) out.push({ type: 'sendGarp', count: g.repeat });
    if (g.delayMs > 0 && g.repeat > 0) {
      garpPhase = 'second';
      set(out, 'garp', now + g.delayMs);
    } else if (g.refreshMs > 0) {
      garpPhase = 'refresh';
      set(out, 'garp', now + g.refreshMs);
    }
    out.push({ type: 'count', counter: 'become_master' });
    change(out, 'MASTER', reason);
  }

  // keepalived vrrp_state_leave_master: priority 0 when stopping or entering FAULT
  // (RFC 5798 §6.4.3 "If a Shutdown event is received": send priority 0), VIPs removed.
  // `graceful`: we hand over on purpose (stop, maintenance): priority 0 in every case, and the
  // VIPs stay until the new master has announced itself (make before break, see Action).
  function leaveMaster(out: Action[], now: number, to: 'BACKUP' | 'FAULT' | 'STOP', reason: string, graceful = false): void {
    if (to !== 'BACKUP' || graceful) advert(out, 0);
    cancel(out, 'advert');
    cancel(out, 'garp');
    cancel(out, 'lowerPrioGarp');
    out.push(graceful ? { type: 'removeVips', handover: { untilMs: now + handoverBoundMs(p.version, p.advertIntMs) } } : { type: 'removeVips' });
    out.push({ type: 'count', counter: 'release_master' });
    if (to === 'BACKUP') set(out, 'masterDown', now + mdi());
    change(out, to, reason, graceful && to === 'BACKUP');
  }

  function enterBackupFromFault(out: Action[], now: number, reason: string): void {
    // keepalived vrrp_state_leave_fault / try_up_instance: Master_Adver_Interval back to ours;
    // the owner waits one interval plus skew, others the whole Master_Down_Interval.
    masterAdverInt = p.advertIntMs;
    const wait = owner() ? masterAdverInt + skew() : mdi();
    set(out, 'masterDown', now + wait);
    wantState = owner() ? 'MASTER' : 'BACKUP';
    change(out, 'BACKUP', reason);
  }

  /** A new effective priority: keepalived moves a running Master_Down deadline by the change. */
  function setEffective(out: Action[], next: number): void {
    if (next === eff) return;
    const oldMdi = mdi();
    eff = next;
    const down = timers.masterDown;
    if (state === 'BACKUP' && down !== undefined) set(out, 'masterDown', down + (mdi() - oldMdi));
    out.push({ type: 'priorityChanged', priority: eff });
  }

  /** The garp_lower_prio burst, and its repeat after garp_lower_prio_delay; once per interval. */
  function lowerPrioGarp(out: Action[], now: number): void {
    const r = rival();
    if (r.garpRepeat <= 0) return;
    if (lastLowerGarp !== null && now - lastLowerGarp < p.advertIntMs) return;
    lastLowerGarp = now;
    out.push({ type: 'sendGarp', count: r.garpRepeat });
    if (r.garpDelayMs > 0 && timers.lowerPrioGarp === undefined) set(out, 'lowerPrioGarp', now + r.garpDelayMs);
  }

  function onStart(out: Action[], now: number, ev: { faulty?: boolean; trackWeight?: number }): void {
    if (ev.trackWeight !== undefined) trackWeight = ev.trackWeight;
    eff = effective();
    if (ev.faulty || ownFault) {
      ownFault = true;
      change(out, 'FAULT', 'fault at start');
      return;
    }
    // RFC 5798 §6.4.1: the owner (255) goes MASTER at once. keepalived does the same through
    // a 1 µs Master_Down (vrrp_init_state), unless its sync group keeps it back.
    if (owner() && (!p.sync || p.sync.mayGoMaster(p.name))) {
      becomeMaster(out, now, 'address owner (priority 255) at start');
      return;
    }
    // keepalived vrrp_init_state: `state MASTER` (not owner) is only a hint: start BACKUP and
    // wait one advert interval plus the minimum skew so that an existing master is heard first;
    // otherwise the full Master_Down_Interval (RFC 5798 §6.4.1).
    const wait = wantState === 'MASTER' ? masterAdverInt + skewMinMs(p.version, masterAdverInt) : mdi();
    set(out, 'masterDown', now + wait);
    change(out, 'BACKUP', 'start');
  }

  function onAdvert(out: Action[], now: number, ev: { priority: number; srcIp: string; advertIntMs: number }): void {
    if (state !== 'BACKUP' && state !== 'MASTER') return;
    out.push({ type: 'count', counter: 'advert_rcvd' });
    if (ev.priority === 0) out.push({ type: 'count', counter: 'pri_zero_rcvd' });
    if (state === 'BACKUP') {
      if (ev.priority === 0) {
        // RFC 5798 §6.4.2: the master stopped: Master_Down_Timer = Skew_Time (fast takeover).
        masterIp = ev.srcIp;
        masterPriority = 0;
        set(out, 'masterDown', now + skew());
        return;
      }
      const preemptHolding = p.preemptDelayMs > 0 && (preemptAfter === null || preemptAfter > now);
      if (p.nopreempt || ev.priority >= eff || preemptHolding) {
        // RFC 5798 §6.4.2: accept: learn Master_Adver_Interval (v3), reset Master_Down_Timer.
        if (p.version === 3 && ev.advertIntMs > 0) masterAdverInt = ev.advertIntMs;
        masterIp = ev.srcIp;
        masterPriority = ev.priority;
        if (p.preemptDelayMs > 0) {
          if (ev.priority >= eff) preemptAfter = null;
          else if (preemptAfter === null) preemptAfter = now + p.preemptDelayMs;
        }
        wantState = 'BACKUP';
        set(out, 'masterDown', now + mdi());
      } else {
        // Lower priority and we preempt: discard and let Master_Down expire (RFC 5798 §6.4.2).
        masterIp = ev.srcIp;
        masterPriority = ev.priority;
      }
      return;
    }
    // MASTER, RFC 5798 §6.4.3.
    if (ev.priority === 0) {
      // Another router stopped: advertise at once and reset the Adver_Timer.
      advert(out, eff);
      set(out, 'advert', now + p.advertIntMs);
      return;
    }
    // RFC 5798 §6.4.3: equal priorities, the higher primary address wins, compared as unsigned
    // numbers of the family's width (IPv6: the link-local sources).
    const cmp = compareAddresses(ev.srcIp, p.primaryIp);
    if (ev.priority > eff || (ev.priority === eff && cmp > 0)) {
      // A better master: become BACKUP, learning its interval (v3). With higher_prio_send_advert
      // one advert at our own priority goes first: after a split brain the other MASTER then
      // hears a lower priority and sends its gratuitous ARPs, which bring back the clients that
      // followed us (keepalived vrrp_state_master_rx).
      if (rival().advertBeforeYielding) advert(out, eff);
      if (p.version === 3 && ev.advertIntMs > 0) masterAdverInt = ev.advertIntMs;
      masterIp = ev.srcIp;
      masterPriority = ev.priority;
      wantState = 'BACKUP';
      const why = ev.priority > eff
        ? `higher priority ${ev.priority} advert from ${ev.srcIp}, ours ${eff}`
        : `same priority ${ev.priority} but higher IP address ${ev.srcIp}`;
      leaveMaster(out, now, 'BACKUP', why);
      return;
    }
    if (ev.priority === eff && cmp === 0) return; // our own address: a loop, ignore (keepalived warns)
    // Lower priority (or equal with a lower address): another MASTER. keepalived re-asserts at
    // once so the other side sees us and goes back to BACKUP ("forcing new election"), and
    // sends gratuitous ARPs so that clients which followed the other come back (its
    // garp_lower_prio_*). At most once per advert interval: a flood of low-priority adverts
    // must not make us reflect one advert or one burst each (our regular adverts carry the
    // same message every interval anyway).
    const first = lastLowerHeard === null || now - lastLowerHeard > mdi();
    lastLowerHeard = now;
    if (lastReassert !== null && now - lastReassert < p.advertIntMs) return;
    lastReassert = now;
    if (!rival().noAdvert) advert(out, eff);
    lowerPrioGarp(out, now);
    out.push({ type: 'rxLowerPriority', srcIp: ev.srcIp, priority: ev.priority, first });
  }

  function onTimer(out: Action[], now: number, timer: TimerName): void {
    const due = timers[timer];
    if (due === undefined) return; // stale: cancelled or replaced
    if (now + EARLY_TOLERANCE_MS < due) {
      out.push({ type: 'setTimer', timer, atMs: due }); // early: re-arm the same deadline
      return;
    }
    delete timers[timer];
    if (timer === 'masterDown') {
      if (state !== 'BACKUP') return;
      if (p.sync && !p.sync.mayGoMaster(p.name)) {
        // keepalived vrrp_sync_can_goto_master: prefer BACKUP until every member wants MASTER.
        wantState = 'MASTER';
        set(out, 'masterDown', now + mdi());
        return;
      }
      becomeMaster(out, now, masterPriority === 0 ? 'master released (priority 0)' : 'master down timer expired');
    } else if (timer === 'advert') {
      if (state !== 'MASTER') return;
      advert(out, eff);
      set(out, 'advert', now + p.advertIntMs);
    } else if (timer === 'lowerPrioGarp') {
      // keepalived vrrp_lower_prio_gratuitous_arp_thread: the same burst once more.
      if (state !== 'MASTER') return;
      const r = rival();
      if (r.garpRepeat > 0) out.push({ type: 'sendGarp', count: r.garpRepeat });
    } else {
      if (state !== 'MASTER') return;
      const g = garp();
      if (garpPhase === 'second') {
        out.push({ type: 'sendGarp', count: g.repeat });
        if (g.refreshMs > 0) {
          garpPhase = 'refresh';
          set(out, 'garp', now + g.refreshMs);
        }
      } else {
        out.push({ type: 'sendGarp', count: g.refreshRepeat });
        set(out, 'garp', now + g.refreshMs);
      }
    }
  }

  function onFault(out: Action[], now: number, reason: string): void {
    ownFault = true;
    if (state === 'MASTER') leaveMaster(out, now, 'FAULT', reason);
    else if (state === 'BACKUP') {
      cancel(out, 'masterDown');
      change(out, 'FAULT', reason);
    }
  }

  function onFaultCleared(out: Action[], now: number, reason: string): void {
    ownFault = false;
    if (state !== 'FAULT') return;
    if (p.sync && !p.sync.mayLeaveFault(p.name)) return; // still held by the group
    enterBackupFromFault(out, now, reason);
  }

  function onTrack(out: Action[], weight: number): void {
    trackWeight = Number.isFinite(weight) ? weight : 0;
    setEffective(out, effective());
  }

  // Maintenance: hand mastership to the peer cleanly. Priority 1 (the owner cannot be moved), and
  // a MASTER hands over as on shutdown (priority 0, RFC 5798 §6.4.2 makes the peer take over after
  // its Skew_Time whether or not it preempts), then waits as BACKUP. Off restores the configured
  // priority; preemption then decides.
  function onMaintenance(out: Action[], now: number, on: boolean): void {
    if (maintenance === on) return;
    maintenance = on;
    if (owner()) return;
    setEffective(out, effective());
    if (on && state === 'MASTER') {
      wantState = 'BACKUP';
      leaveMaster(out, now, 'BACKUP', 'maintenance', true);
    }
  }

  function onReconfigure(out: Action[], now: number, next: ReconfigurableParams): void {
    const prev = p;
    const candidate: MachineParams = { ...p, ...next, garp: next.garp ?? p.garp, rival: next.rival ?? p.rival };
    checkParams(candidate);
    p = candidate;
    const wasEff = eff;
    if (state === 'BACKUP' && masterIp === null) masterAdverInt = p.advertIntMs;
    setEffective(out, effective());
    if (state === 'MASTER') {
      // The advertisements carry the new priority and interval from now on; a MASTER
      // advertises at once when its priority changed, so a better BACKUP can preempt now.
      if (p.advertIntMs !== prev.advertIntMs) {
        masterAdverInt = p.advertIntMs;
        set(out, 'advert', now + p.advertIntMs);
      }
      if (eff !== wasEff) {
        advert(out, eff);
        set(out, 'advert', now + p.advertIntMs);
      }
      if (garp().refreshMs === 0 && garpPhase === 'refresh') cancel(out, 'garp');
    }
  }

  function onForce(out: Action[], now: number, ev: { state: 'MASTER' | 'BACKUP' | 'FAULT'; reason: string; graceful?: boolean }): void {
    const { state: to, reason } = ev;
    if (to === 'MASTER') {
      if (state === 'BACKUP') becomeMaster(out, now, reason);
    } else if (to === 'BACKUP') {
      if (state === 'MASTER') {
        wantState = 'BACKUP';
        leaveMaster(out, now, 'BACKUP', reason, ev.graceful === true);
      } else if (state === 'FAULT' && !ownFault) enterBackupFromFault(out, now, reason);
    } else {
      if (state === 'MASTER') leaveMaster(out, now, 'FAULT', reason);
      else if (state === 'BACKUP') {
        cancel(out, 'masterDown');
        change(out, 'FAULT', reason);
      }
    }
  }

  function onShutdown(out: Action[], now: number): void {
    if (state === 'STOP') return;
    if (state === 'MASTER') {
      leaveMaster(out, now, 'STOP', 'shutdown', true);
      return;
    }
    for (const t of ['advert', 'masterDown', 'garp', 'lowerPrioGarp'] as const) cancel(out, t);
    change(out, 'STOP', 'shutdown');
  }

  return {
    handle(event: MachineEvent, nowMs: number): Action[] {
      const out: Action[] = [];
      if (state === 'STOP') return out;
      if (state === 'INIT' && event.type !== 'start' && event.type !== 'shutdown') {
        // Before start only the fault level, tracking, maintenance and settings are remembered.
        if (event.type === 'fault') ownFault = true;
        else if (event.type === 'faultCleared') ownFault = false;
        else if (event.type === 'track') trackWeight = Number.isFinite(event.weight) ? event.weight : 0;
        else if (event.type === 'maintenance') maintenance = event.on;
        else if (event.type === 'reconfigure') {
          const candidate: MachineParams = { ...p, ...event.params, garp: event.params.garp ?? p.garp, rival: event.params.rival ?? p.rival };
          checkParams(candidate);
          p = candidate;
          masterAdverInt = p.advertIntMs;
        }
        eff = effective();
        return out;
      }
      switch (event.type) {
        case 'start':
          if (state === 'INIT') onStart(out, nowMs, event);
          break;
        case 'advert':
          onAdvert(out, nowMs, event);
          break;
        case 'timer':
          onTimer(out, nowMs, event.timer);
          break;
        case 'shutdown':
          onShutdown(out, nowMs);
          break;
        case 'fault':
          onFault(out, nowMs, event.reason);
          break;
        case 'faultCleared':
          onFaultCleared(out, nowMs, event.reason ?? 'fault cleared');
          break;
        case 'track':
          onTrack(out, event.weight);
          break;
        case 'maintenance':
          onMaintenance(out, nowMs, event.on);
          break;
        case 'reconfigure':
          onReconfigure(out, nowMs, event.params);
          break;
        case 'force':
          onForce(out, nowMs, event);
          break;
        case 'groupRxLowerPriority':
          if (state === 'MASTER') lowerPrioGarp(out, nowMs);
          break;
      }
      return out;
    },
    view(): MachineView {
      return {
        name: p.name,
        state,
        wantState,
        ownFault,
        basePriority: base(),
        maintenance,
        effectivePriority: eff,
        masterAdverIntMs: masterAdverInt,
        masterIp,
        masterPriority,
        timers: { ...timers },
        preemptAfterMs: preemptAfter,
      };
    },
  };
}

function checkParams(p: MachineParams): void {
  if (!Number.isInteger(p.priority) || p.priority < 1 || p.priority > 255) {
    throw new RangeError(`(${p.name}) priority must be 1..255, got ${p.priority}`);
  }
  if (!(p.advertIntMs > 0)) throw new RangeError(`(${p.name}) advert interval must be > 0`);
  if (parseIp(p.primaryIp) === null) throw new RangeError(`(${p.name}) primary address ${JSON.stringify(p.primaryIp)} is not IPv4 or IPv6`);
}

/** Unsigned comparison of two addresses; one that does not parse sorts lowest (it cannot be a master's). */
function compareAddresses(a: string, b: string): number {
  const x = parseIp(a);
  const y = parseIp(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  return compareIp(x, y);
}

/** keepalived vrrp_set_effective_priority: tracked priority is kept within 1..254. */
function clampPriority(n: number): number {
  if (!Number.isFinite(n)) return 1;
  return Math.min(254, Math.max(1, Math.round(n)));
}
