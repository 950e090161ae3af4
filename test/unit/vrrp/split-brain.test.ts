// A MASTER that hears another MASTER (keepalived vrrp.c vrrp_state_master_rx): with a lower
// priority it advertises at once (RFC 9568 section 6.4.3; unless lower_prio_no_advert), sends its
// garp_lower_prio burst and again after garp_lower_prio_delay, reports keepalived's
// MASTER_RX_LOWER_PRI event — all at most once per advert interval, whatever a flood sends — and
// says which of those adverts begins a split brain's end; with a higher priority it may advertise
// once before yielding (higher_prio_send_advert).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine, DEFAULT_RIVAL, type Action, type MachineParams, type RivalSettings } from '../../../src/vrrp/machine.ts';
import { masterDownIntervalMs } from '../../../src/vrrp/timing.ts';

const NO_GARP = { repeat: 0, delayMs: 0, refreshMs: 0, refreshRepeat: 0 };
const PEER = '192.0.2.3';

function master(rival: Partial<RivalSettings> = {}, over: Partial<MachineParams> = {}) {
  const m = createMachine({
    name: 'VI_PUB', version: 3, priority: 200, advertIntMs: 1000, nopreempt: false, preemptDelayMs: 0, initialState: 'BACKUP',
    primaryIp: '192.0.2.2', garp: NO_GARP, rival: { ...DEFAULT_RIVAL, ...rival }, ...over,
  });
  const s = m.handle({ type: 'start' }, 0);
  const at = s.find((a): a is Extract<Action, { type: 'setTimer' }> => a.type === 'setTimer' && a.timer === 'masterDown')!.atMs;
  m.handle({ type: 'timer', timer: 'masterDown' }, at);
  assert.equal(m.view().state, 'MASTER');
  return m;
}

const lower = (priority = 100) => ({ type: 'advert' as const, priority, srcIp: PEER, advertIntMs: 1000 });
const sent = (acts: Action[]) => acts.filter((a): a is Extract<Action, { type: 'sendAdvert' }> => a.type === 'sendAdvert').map((a) => a.priority);
const garps = (acts: Action[]) => acts.filter((a): a is Extract<Action, { type: 'sendGarp' }> => a.type === 'sendGarp').map((a) => a.count);
const rx = (acts: Action[]) => acts.filter((a): a is Extract<Action, { type: 'rxLowerPriority' }> => a.type === 'rxLowerPriority');
const timerAt = (acts: Action[], timer: string) =>
  acts.find((a): a is Extract<Action, { type: 'setTimer' }> => a.type === 'setTimer' && a.timer === timer)?.atMs;

test('a lower priority: advert at once, garp_lower_prio_repeat GARPs, the same after garp_lower_prio_delay, and MASTER_RX_LOWER_PRI', () => {
  const m = master();
  const a = m.handle(lower(), 10_000);
  assert.deepEqual(sent(a), [200]);
  assert.deepEqual(garps(a), [5], "keepalived's default repeat");
  assert.deepEqual(rx(a), [{ type: 'rxLowerPriority', srcIp: PEER, priority: 100, first: true }]);
  assert.equal(timerAt(a, 'lowerPrioGarp'), 15_000, "keepalived's default delay, 5 s");
  assert.deepEqual(garps(m.handle({ type: 'timer', timer: 'lowerPrioGarp' }, 15_000)), [5]);
  assert.equal(m.view().state, 'MASTER');
});

test('a flood of lower-priority adverts: at most one advert, one burst and one event per interval; one delayed burst at a time', () => {
  const m = master();
  let adverts = 0;
  let bursts = 0;
  let events = 0;
  let delayed = 0;
  // 1000 adverts in 2 s (one every 2 ms).
  for (let i = 0; i < 1000; i++) {
    const a = m.handle(lower(), 10_000 + i * 2);
    adverts += sent(a).length;
    bursts += garps(a).length;
    events += rx(a).length;
    if (timerAt(a, 'lowerPrioGarp') !== undefined) delayed++;
  }
  assert.equal(adverts, 2);
  assert.equal(bursts, 2);
  assert.equal(events, 2);
  assert.equal(delayed, 1, 'the delayed burst is armed once, not once per advert');
});

test('first: the first lower-priority advert after a quiet Master_Down_Interval begins an episode; becoming MASTER again starts afresh', () => {
  const m = master();
  assert.equal(rx(m.handle(lower(), 10_000))[0]!.first, true);
  assert.equal(rx(m.handle(lower(), 11_000))[0]!.first, false, 'the same episode, one interval later');
  const quiet = 11_000 + masterDownIntervalMs(3, 200, 1000) + 1;
  assert.equal(rx(m.handle(lower(), quiet))[0]!.first, true, 'after a quiet Master_Down_Interval');
  // Leaves MASTER and comes back: a new mastership, a new episode at once.
  m.handle({ type: 'advert', priority: 250, srcIp: PEER, advertIntMs: 1000 }, quiet + 100);
  assert.equal(m.view().state, 'BACKUP');
  const t = m.handle({ type: 'advert', priority: 0, srcIp: PEER, advertIntMs: 1000 }, quiet + 200);
  m.handle({ type: 'timer', timer: 'masterDown' }, timerAt(t, 'masterDown')!);
  assert.equal(m.view().state, 'MASTER');
  assert.equal(rx(m.handle(lower(), quiet + 1000))[0]!.first, true);
});

test('lower_prio_no_advert: the GARPs and the event, no advert; garp_lower_prio_repeat 0: no burst; no delay: no second burst', () => {
  const a = master({ noAdvert: true }).handle(lower(), 10_000);
  assert.deepEqual([sent(a), garps(a), rx(a).length], [[], [5], 1]);
  const b = master({ garpRepeat: 0 }).handle(lower(), 10_000);
  assert.deepEqual([sent(b), garps(b), timerAt(b, 'lowerPrioGarp')], [[200], [], undefined]);
  const c = master({ garpDelayMs: 0 }).handle(lower(), 10_000);
  assert.deepEqual([garps(c), timerAt(c, 'lowerPrioGarp')], [[5], undefined]);
});

test('leaving MASTER cancels the delayed burst; a stale one sends nothing', () => {
  const m = master();
  m.handle(lower(), 10_000);
  const y = m.handle({ type: 'advert', priority: 250, srcIp: PEER, advertIntMs: 1000 }, 11_000);
  assert.ok(y.some((a) => a.type === 'cancelTimer' && a.timer === 'lowerPrioGarp'));
  assert.deepEqual(garps(m.handle({ type: 'timer', timer: 'lowerPrioGarp' }, 15_000)), []);
});

test('higher_prio_send_advert: one advert at our priority before yielding; off (keepalived\'s default): none', () => {
  const on = master({ advertBeforeYielding: true });
  const a = on.handle({ type: 'advert', priority: 250, srcIp: PEER, advertIntMs: 1000 }, 10_000);
  assert.deepEqual(sent(a), [200]);
  assert.equal(a.findIndex((x) => x.type === 'sendAdvert') < a.findIndex((x) => x.type === 'removeVips'), true, 'before the VIPs go');
  assert.equal(on.view().state, 'BACKUP');
  const off = master({ advertBeforeYielding: false });
  assert.deepEqual(sent(off.handle({ type: 'advert', priority: 250, srcIp: PEER, advertIntMs: 1000 }, 10_000)), []);
});

test('a sync group sibling that heard a lower priority makes a MASTER member send its burst too, rate-limited; a BACKUP nothing', () => {
  const m = master();
  assert.deepEqual(garps(m.handle({ type: 'groupRxLowerPriority' }, 10_000)), [5]);
  assert.deepEqual(garps(m.handle({ type: 'groupRxLowerPriority' }, 10_500)), []);
  assert.deepEqual(garps(m.handle({ type: 'groupRxLowerPriority' }, 11_000)), [5]);
  const b = createMachine({
    name: 'B', version: 3, priority: 100, advertIntMs: 1000, nopreempt: false, preemptDelayMs: 0, initialState: 'BACKUP', primaryIp: '192.0.2.2',
  });
  b.handle({ type: 'start' }, 0);
  assert.deepEqual(b.handle({ type: 'groupRxLowerPriority' }, 10), []);
});

test('priorityChanged: each change of the effective priority, not a repeat of the same', () => {
  const m = master();
  const a = m.handle({ type: 'track', weight: -20 }, 10_000);
  assert.deepEqual(a.filter((x) => x.type === 'priorityChanged'), [{ type: 'priorityChanged', priority: 180 }]);
  assert.deepEqual(m.handle({ type: 'track', weight: -20 }, 10_001).filter((x) => x.type === 'priorityChanged'), []);
  assert.deepEqual(m.handle({ type: 'maintenance', on: true }, 10_002).filter((x) => x.type === 'priorityChanged'), [{ type: 'priorityChanged', priority: 1 }]);
});
