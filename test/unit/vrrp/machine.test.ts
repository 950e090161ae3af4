import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine, stateLogLine, type Action, type MachineParams } from '../../../src/vrrp/machine.ts';
import { handoverBoundMs, masterDownIntervalMs, skewTimeMs } from '../../../src/vrrp/timing.ts';

const NO_GARP = { repeat: 0, delayMs: 0, refreshMs: 0, refreshRepeat: 0 };

function params(over: Partial<MachineParams> = {}): MachineParams {
  return {
    name: 'VI_PUB',
    version: 3,
    priority: 100,
    advertIntMs: 1000,
    nopreempt: false,
    preemptDelayMs: 0,
    initialState: 'BACKUP',
    primaryIp: '192.0.2.2',
    ...over,
  };
}

const timerAt = (acts: Action[], timer: string) =>
  acts.find((a): a is Extract<Action, { type: 'setTimer' }> => a.type === 'setTimer' && a.timer === timer)?.atMs;
const has = (acts: Action[], type: Action['type']) => acts.some((a) => a.type === type);
const sent = (acts: Action[]) =>
  acts.filter((a): a is Extract<Action, { type: 'sendAdvert' }> => a.type === 'sendAdvert').map((a) => a.priority);
const counts = (acts: Action[]) =>
  acts.filter((a): a is Extract<Action, { type: 'count' }> => a.type === 'count').map((a) => a.counter);

test('timing numbers: v2 and v3 skew and Master_Down_Interval exactly', () => {
  // RFC 3768: skew (256-100)/256 s = 609.375 ms; MDI = 3 s + skew.
  assert.equal(skewTimeMs(2, 100, 1000), 609.375);
  assert.equal(masterDownIntervalMs(2, 100, 1000), 3609.375);
  // v2 skew ignores the interval.
  assert.equal(masterDownIntervalMs(2, 100, 3000), 9609.375);
  // RFC 5798: skew = (256-100)*100/256 = 60.9375 ms at 100 ms; MDI = 300 + skew.
  assert.equal(skewTimeMs(3, 100, 100), 60.9375);
  assert.equal(masterDownIntervalMs(3, 100, 100), 360.9375);
  assert.equal(masterDownIntervalMs(3, 254, 1000), 3000 + 2000 / 256);
});

test('start as BACKUP, master down after Master_Down_Interval (v2 and v3)', () => {
  for (const version of [2, 3] as const) {
    const m = createMachine(params({ version, advertIntMs: 1000 }));
    const a = m.handle({ type: 'start' }, 10_000);
    assert.equal(m.view().state, 'BACKUP');
    assert.deepEqual(a.at(-1), { type: 'stateChanged', from: 'INIT', to: 'BACKUP', reason: 'start' });
    const want = 10_000 + (version === 2 ? 3609.375 : 3000 + (156 * 1000) / 256);
    assert.equal(timerAt(a, 'masterDown'), want);
    // Firing before the deadline (beyond 1 ms tolerance) only re-arms it.
    const early = m.handle({ type: 'timer', timer: 'masterDown' }, want - 100);
    assert.deepEqual(early, [{ type: 'setTimer', timer: 'masterDown', atMs: want }]);
    const b = m.handle({ type: 'timer', timer: 'masterDown' }, want);
    assert.equal(m.view().state, 'MASTER');
    assert.deepEqual(sent(b), [100]);
    assert.equal(b[0]!.type, 'sendAdvert', 'advert goes out before the VIPs are added');
    assert.ok(has(b, 'addVips'));
    assert.equal(timerAt(b, 'advert'), want + 1000);
    assert.deepEqual(b.at(-1), { type: 'stateChanged', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' });
    assert.ok(counts(b).includes('become_master'));
    // Advert timer: send and re-arm.
    const c = m.handle({ type: 'timer', timer: 'advert' }, want + 1000);
    assert.deepEqual(sent(c), [100]);
    assert.equal(timerAt(c, 'advert'), want + 2000);
  }
});

test('election by priority: backup hearing a higher or equal priority resets Master_Down', () => {
  const m = createMachine(params({ priority: 100 }));
  m.handle({ type: 'start' }, 0);
  const a = m.handle({ type: 'advert', priority: 150, srcIp: '192.0.2.1', advertIntMs: 1000 }, 2000);
  assert.equal(timerAt(a, 'masterDown'), 2000 + masterDownIntervalMs(3, 100, 1000));
  assert.deepEqual(counts(a), ['advert_rcvd']);
  const b = m.handle({ type: 'advert', priority: 100, srcIp: '192.0.2.1', advertIntMs: 1000 }, 3000);
  assert.equal(timerAt(b, 'masterDown'), 3000 + masterDownIntervalMs(3, 100, 1000));
  assert.equal(m.view().masterIp, '192.0.2.1');
  assert.equal(m.view().state, 'BACKUP');
});

test('preempt: backup ignores a lower priority advert and takes over when Master_Down expires', () => {
  const m = createMachine(params({ priority: 200 }));
  const s = m.handle({ type: 'start' }, 0);
  const down = timerAt(s, 'masterDown')!;
  const a = m.handle({ type: 'advert', priority: 100, srcIp: '192.0.2.1', advertIntMs: 1000 }, 1000);
  assert.equal(timerAt(a, 'masterDown'), undefined, 'timer not reset');
  m.handle({ type: 'timer', timer: 'masterDown' }, down);
  assert.equal(m.view().state, 'MASTER');
});

test('nopreempt: backup keeps accepting a lower priority master', () => {
  const m = createMachine(params({ priority: 200, nopreempt: true }));
  m.handle({ type: 'start' }, 0);
  const a = m.handle({ type: 'advert', priority: 100, srcIp: '192.0.2.1', advertIntMs: 1000 }, 1000);
  assert.equal(timerAt(a, 'masterDown'), 1000 + masterDownIntervalMs(3, 200, 1000));
  assert.equal(m.view().state, 'BACKUP');
});

test('preempt_delay: lower priority adverts are accepted for preempt_delay, then ignored', () => {
  const m = createMachine(params({ priority: 200, preemptDelayMs: 10_000 }));
  m.handle({ type: 'start' }, 0);
  let t = 500;
  const lower = () => m.handle({ type: 'advert', priority: 100, srcIp: '192.0.2.1', advertIntMs: 1000 }, t);
  assert.ok(timerAt(lower(), 'masterDown') !== undefined);
  assert.equal(m.view().preemptAfterMs, 10_500);
  for (t = 1500; t < 10_500; t += 1000) assert.ok(timerAt(lower(), 'masterDown') !== undefined, `accepted at ${t}`);
  const lastReset = t - 1000;
  t = 10_500;
  assert.equal(timerAt(lower(), 'masterDown'), undefined, 'ignored once the delay is over');
  const due = m.view().timers.masterDown!;
  assert.equal(due, lastReset + masterDownIntervalMs(3, 200, 1000));
  m.handle({ type: 'timer', timer: 'masterDown' }, due);
  assert.equal(m.view().state, 'MASTER');
  // A higher priority advert during the delay cancels it.
  const n = createMachine(params({ priority: 200, preemptDelayMs: 10_000 }));
  n.handle({ type: 'start' }, 0);
  n.handle({ type: 'advert', priority: 100, srcIp: '192.0.2.1', advertIntMs: 1000 }, 100);
  n.handle({ type: 'advert', priority: 250, srcIp: '192.0.2.1', advertIntMs: 1000 }, 200);
  assert.equal(n.view().preemptAfterMs, null);
});

test('priority 0: backup takes over after Skew_Time only', () => {
  const m = createMachine(params({ priority: 100, advertIntMs: 100 }));
  m.handle({ type: 'start' }, 0);
  m.handle({ type: 'advert', priority: 150, srcIp: '192.0.2.1', advertIntMs: 100 }, 50);
  const a = m.handle({ type: 'advert', priority: 0, srcIp: '192.0.2.1', advertIntMs: 100 }, 120);
  assert.equal(timerAt(a, 'masterDown'), 120 + 60.9375);
  assert.deepEqual(counts(a), ['advert_rcvd', 'pri_zero_rcvd']);
  const b = m.handle({ type: 'timer', timer: 'masterDown' }, 120 + 60.9375);
  assert.equal(m.view().state, 'MASTER');
  assert.match((b.at(-1) as { reason: string }).reason, /priority 0/);
  // v2: skew is (256-p)/256 s whatever the interval.
  const v2 = createMachine(params({ version: 2, priority: 100 }));
  v2.handle({ type: 'start' }, 0);
  assert.equal(timerAt(v2.handle({ type: 'advert', priority: 0, srcIp: '192.0.2.1', advertIntMs: 1000 }, 10), 'masterDown'), 10 + 609.375);
});

function master(over: Partial<MachineParams> = {}) {
  const m = createMachine(params({ garp: NO_GARP, ...over }));
  const s = m.handle({ type: 'start' }, 0);
  m.handle({ type: 'timer', timer: 'masterDown' }, timerAt(s, 'masterDown')!);
  assert.equal(m.view().state, 'MASTER');
  return m;
}

test('master hearing priority 0 advertises at once and resets its advert timer', () => {
  const m = master();
  const a = m.handle({ type: 'advert', priority: 0, srcIp: '192.0.2.1', advertIntMs: 1000 }, 5000);
  assert.deepEqual(sent(a), [100]);
  assert.equal(timerAt(a, 'advert'), 6000);
  assert.equal(m.view().state, 'MASTER');
});

test('master hearing higher priority becomes BACKUP and removes its VIPs (no priority 0)', () => {
  const m = master();
  const a = m.handle({ type: 'advert', priority: 150, srcIp: '192.0.2.1', advertIntMs: 1000 }, 5000);
  assert.equal(m.view().state, 'BACKUP');
  assert.deepEqual(sent(a), []);
  assert.ok(has(a, 'removeVips'));
  assert.ok(a.some((x) => x.type === 'cancelTimer' && x.timer === 'advert'));
  assert.ok(counts(a).includes('release_master'));
  assert.equal(timerAt(a, 'masterDown'), 5000 + masterDownIntervalMs(3, 100, 1000));
});

test('tie-break: equal priority, the higher primary address wins', () => {
  const hi = master({ primaryIp: '192.0.2.20' });
  hi.handle({ type: 'advert', priority: 100, srcIp: '192.0.2.3', advertIntMs: 1000 }, 5000);
  assert.equal(hi.view().state, 'MASTER');
  const lo = master({ primaryIp: '192.0.2.3' });
  // Numeric, not string comparison: .20 > .3.
  lo.handle({ type: 'advert', priority: 100, srcIp: '192.0.2.20', advertIntMs: 1000 }, 5000);
  assert.equal(lo.view().state, 'BACKUP');
});

test('master hearing a lower priority re-asserts with an advert at once', () => {
  const m = master({ priority: 200 });
  const a = m.handle({ type: 'advert', priority: 100, srcIp: '192.0.2.1', advertIntMs: 1000 }, 5000);
  assert.deepEqual(sent(a), [200]);
  assert.equal(m.view().state, 'MASTER');
});

test('v3: backup learns the master advert interval; v2 does not', () => {
  const m = createMachine(params({ advertIntMs: 1000 }));
  m.handle({ type: 'start' }, 0);
  const a = m.handle({ type: 'advert', priority: 150, srcIp: '192.0.2.1', advertIntMs: 100 }, 10);
  assert.equal(m.view().masterAdverIntMs, 100);
  assert.equal(timerAt(a, 'masterDown'), 10 + masterDownIntervalMs(3, 100, 100));
  // Becoming master goes back to our own interval.
  const b = m.handle({ type: 'timer', timer: 'masterDown' }, 10 + masterDownIntervalMs(3, 100, 100));
  assert.equal(m.view().masterAdverIntMs, 1000);
  assert.equal(timerAt(b, 'advert'), 10 + masterDownIntervalMs(3, 100, 100) + 1000);
  const v2 = createMachine(params({ version: 2 }));
  v2.handle({ type: 'start' }, 0);
  v2.handle({ type: 'advert', priority: 150, srcIp: '192.0.2.1', advertIntMs: 2000 }, 10);
  assert.equal(v2.view().masterAdverIntMs, 1000);
});

test('owner priority 255 goes MASTER at once; state MASTER is only a hint for others', () => {
  const o = createMachine(params({ priority: 255, garp: NO_GARP }));
  const a = o.handle({ type: 'start' }, 0);
  assert.equal(o.view().state, 'MASTER');
  assert.deepEqual(sent(a), [255]);
  // Tracking never changes the owner.
  o.handle({ type: 'track', weight: -50 }, 10);
  assert.equal(o.view().effectivePriority, 255);

  const h = createMachine(params({ initialState: 'MASTER', advertIntMs: 1000 }));
  const b = h.handle({ type: 'start' }, 0);
  assert.equal(h.view().state, 'BACKUP');
  // keepalived: one interval plus the minimum skew (1/256 of it in v3).
  assert.equal(timerAt(b, 'masterDown'), 1000 + 1000 / 256);
  const v2 = createMachine(params({ version: 2, initialState: 'MASTER' }));
  assert.equal(timerAt(v2.handle({ type: 'start' }, 0), 'masterDown'), 1000 + 1000 / 256);
});

test('shutdown from MASTER sends priority 0 and removes VIPs; from BACKUP it only stops', () => {
  const m = master();
  const a = m.handle({ type: 'shutdown' }, 9000);
  assert.deepEqual(sent(a), [0]);
  assert.ok(has(a, 'removeVips'));
  assert.ok(counts(a).includes('pri_zero_sent'));
  assert.deepEqual(a.at(-1), { type: 'stateChanged', from: 'MASTER', to: 'STOP', reason: 'shutdown' });
  assert.deepEqual(m.handle({ type: 'timer', timer: 'advert' }, 10_000), [], 'nothing after stop');
  const b = createMachine(params());
  b.handle({ type: 'start' }, 0);
  const s = b.handle({ type: 'shutdown' }, 10);
  assert.deepEqual(sent(s), []);
  assert.ok(s.some((x) => x.type === 'cancelTimer' && x.timer === 'masterDown'));
});

test('fault in and out: MASTER sends priority 0 on fault, comes back as BACKUP', () => {
  const m = master();
  const a = m.handle({ type: 'fault', reason: 'eth0 down' }, 7000);
  assert.equal(m.view().state, 'FAULT');
  assert.deepEqual(sent(a), [0]);
  assert.ok(has(a, 'removeVips'));
  assert.deepEqual(m.handle({ type: 'advert', priority: 50, srcIp: '192.0.2.1', advertIntMs: 1000 }, 7100), []);
  assert.deepEqual(m.handle({ type: 'timer', timer: 'advert' }, 8000), [], 'advert timer was cancelled');
  const b = m.handle({ type: 'faultCleared' }, 9000);
  assert.equal(m.view().state, 'BACKUP');
  assert.equal(timerAt(b, 'masterDown'), 9000 + masterDownIntervalMs(3, 100, 1000));
  // Fault at start.
  const f = createMachine(params());
  f.handle({ type: 'fault', reason: 'script' }, 0);
  f.handle({ type: 'start' }, 1);
  assert.equal(f.view().state, 'FAULT');
  const s = createMachine(params());
  s.handle({ type: 'start', faulty: true }, 0);
  assert.equal(s.view().state, 'FAULT');
});

test('effective priority changes move a running Master_Down deadline and change adverts', () => {
  const m = createMachine(params({ priority: 100 }));
  const s = m.handle({ type: 'start' }, 0);
  const before = timerAt(s, 'masterDown')!;
  const a = m.handle({ type: 'track', weight: 50 }, 100);
  assert.equal(timerAt(a, 'masterDown'), before - (50 * 1000) / 256);
  m.handle({ type: 'track', weight: 899 }, 100);
  assert.equal(m.view().effectivePriority, 254, 'clamped to 254');
  const mm = master({ priority: 100 });
  mm.handle({ type: 'track', weight: -20 }, 6000);
  assert.deepEqual(sent(mm.handle({ type: 'timer', timer: 'advert' }, mm.view().timers.advert!)), [80]);
});

test('gratuitous ARP schedule: 5 at once, 5 more after 5 s, refresh when set', () => {
  const m = createMachine(params({ garp: { repeat: 5, delayMs: 5000, refreshMs: 60_000, refreshRepeat: 2 } }));
  const s = m.handle({ type: 'start' }, 0);
  const t0 = timerAt(s, 'masterDown')!;
  const a = m.handle({ type: 'timer', timer: 'masterDown' }, t0);
  assert.deepEqual(a.filter((x) => x.type === 'sendGarp'), [{ type: 'sendGarp', count: 5 }]);
  assert.equal(timerAt(a, 'garp'), t0 + 5000);
  const b = m.handle({ type: 'timer', timer: 'garp' }, t0 + 5000);
  assert.deepEqual(b.filter((x) => x.type === 'sendGarp'), [{ type: 'sendGarp', count: 5 }]);
  assert.equal(timerAt(b, 'garp'), t0 + 65_000);
  const c = m.handle({ type: 'timer', timer: 'garp' }, t0 + 65_000);
  assert.deepEqual(c.filter((x) => x.type === 'sendGarp'), [{ type: 'sendGarp', count: 2 }]);
  // Leaving MASTER cancels the GARP timer.
  const d = m.handle({ type: 'advert', priority: 200, srcIp: '192.0.2.1', advertIntMs: 1000 }, t0 + 70_000);
  assert.ok(d.some((x) => x.type === 'cancelTimer' && x.timer === 'garp'));
  // Defaults are keepalived's.
  const k = createMachine(params());
  const ks = k.handle({ type: 'start' }, 0);
  const ka = k.handle({ type: 'timer', timer: 'masterDown' }, timerAt(ks, 'masterDown')!);
  assert.deepEqual(ka.filter((x) => x.type === 'sendGarp'), [{ type: 'sendGarp', count: 5 }]);
  assert.equal(timerAt(ka, 'garp'), timerAt(ks, 'masterDown')! + 5000);
});

test('stale timers are ignored and log lines match keepalived', () => {
  const m = createMachine(params());
  m.handle({ type: 'start' }, 0);
  assert.deepEqual(m.handle({ type: 'timer', timer: 'advert' }, 100), []);
  assert.equal(stateLogLine('VI_PUB', 'MASTER'), '(VI_PUB) Entering MASTER STATE');
  assert.equal(stateLogLine('VI_PUB', 'BACKUP'), '(VI_PUB) Entering BACKUP STATE');
  assert.throws(() => createMachine(params({ priority: 0 })), /priority/);
  assert.throws(() => createMachine(params({ primaryIp: 'eth0' })), /not IPv4/);
});

test('two machines wired back to back elect one master and fail over', () => {
  // A tiny simulated segment: every sendAdvert reaches the other machine.
  const A = createMachine(params({ name: 'A', priority: 150, primaryIp: '192.0.2.1', advertIntMs: 100, garp: NO_GARP }));
  const B = createMachine(params({ name: 'B', priority: 100, primaryIp: '192.0.2.2', advertIntMs: 100, garp: NO_GARP }));
  const nodes = [
    { m: A, ip: '192.0.2.1', timers: new Map<string, number>(), up: true },
    { m: B, ip: '192.0.2.2', timers: new Map<string, number>(), up: true },
  ];
  const queue: Array<{ to: number; at: number; priority: number; src: string }> = [];
  const apply = (i: number, acts: Action[], now: number) => {
    for (const a of acts) {
      if (a.type === 'setTimer') nodes[i]!.timers.set(a.timer, a.atMs);
      else if (a.type === 'cancelTimer') nodes[i]!.timers.delete(a.timer);
      else if (a.type === 'sendAdvert' && nodes[i]!.up) queue.push({ to: 1 - i, at: now + 1, priority: a.priority, src: nodes[i]!.ip });
    }
  };
  apply(1, B.handle({ type: 'start' }, 0), 0);
  apply(0, A.handle({ type: 'start' }, 50), 50);
  let transitions = 0;
  const run = (until: number, t0: number) => {
    for (let now = t0; now <= until; now += 1) {
      for (let i = 0; i < 2; i++) {
        if (!nodes[i]!.up) continue;
        for (const [timer, at] of [...nodes[i]!.timers]) {
          if (at <= now) {
            nodes[i]!.timers.delete(timer);
            const acts = nodes[i]!.m.handle({ type: 'timer', timer: timer as 'advert' }, now);
            transitions += acts.filter((a) => a.type === 'stateChanged').length;
            apply(i, acts, now);
          }
        }
      }
      for (const p of queue.filter((q) => q.at <= now)) {
        queue.splice(queue.indexOf(p), 1);
        if (!nodes[p.to]!.up) continue;
        apply(p.to, nodes[p.to]!.m.handle({ type: 'advert', priority: p.priority, srcIp: p.src, advertIntMs: 100 }, now), now);
      }
    }
  };
  run(2000, 0);
  assert.equal(A.view().state, 'MASTER');
  assert.equal(B.view().state, 'BACKUP');
  const settled = transitions;
  run(5000, 2001);
  assert.equal(transitions, settled, 'no flapping once settled');
  // A loses power: B takes over after Master_Down_Interval (300 + skew ms).
  nodes[0]!.up = false;
  run(5500, 5001);
  assert.equal(B.view().state, 'MASTER');
  // A comes back (restart) and preempts.
  nodes[0]!.up = true;
  nodes[0]!.timers.clear();
  const A2 = createMachine(params({ name: 'A', priority: 150, primaryIp: '192.0.2.1', advertIntMs: 100, garp: NO_GARP }));
  nodes[0]!.m = A2;
  apply(0, A2.handle({ type: 'start' }, 5501), 5501);
  run(7000, 5502);
  assert.equal(A2.view().state, 'MASTER');
  assert.equal(B.view().state, 'BACKUP');
});

test('maintenance: a MASTER hands over with priority 0 and a handover bound, waits at priority 1; off restores it', () => {
  const m = master({ priority: 100 });
  const a = m.handle({ type: 'maintenance', on: true }, 9000);
  assert.deepEqual(sent(a), [0]);
  const rm = a.find((x): x is Extract<Action, { type: 'removeVips' }> => x.type === 'removeVips');
  assert.deepEqual(rm?.handover, { untilMs: 9000 + handoverBoundMs(3, 1000) });
  assert.deepEqual(a.at(-1), { type: 'stateChanged', from: 'MASTER', to: 'BACKUP', reason: 'maintenance', graceful: true });
  assert.equal(m.view().basePriority, 1);
  assert.equal(m.view().effectivePriority, 1);
  assert.equal(m.view().maintenance, true);
  assert.deepEqual(m.handle({ type: 'maintenance', on: true }, 9001), [], 'twice is once');
  m.handle({ type: 'maintenance', on: false }, 9500);
  assert.equal(m.view().effectivePriority, 100);
  // The owner cannot be moved.
  const o = createMachine(params({ priority: 255, garp: NO_GARP }));
  o.handle({ type: 'start' }, 0);
  assert.deepEqual(o.handle({ type: 'maintenance', on: true }, 10), []);
  assert.equal(o.view().state, 'MASTER');
});

test('shutdown of a MASTER keeps its VIPs for the handover bound (make before break)', () => {
  const m = master({ version: 2, advertIntMs: 1000 });
  const a = m.handle({ type: 'shutdown' }, 5000);
  const rm = a.find((x): x is Extract<Action, { type: 'removeVips' }> => x.type === 'removeVips');
  assert.deepEqual(rm?.handover, { untilMs: 5000 + handoverBoundMs(2, 1000) });
  assert.equal(handoverBoundMs(2, 1000), (255 * 1000) / 256 + 150);
  assert.equal(handoverBoundMs(3, 100), (255 * 100) / 256 + 150);
  assert.equal(handoverBoundMs(2, 10_000), (255 * 1000) / 256 + 150, 'v2 skew ignores the interval');
  // A fault is not a handover: the VIPs go at once.
  const f = master();
  const b = f.handle({ type: 'fault', reason: 'eth0 down' }, 100);
  assert.deepEqual(b.find((x) => x.type === 'removeVips'), { type: 'removeVips' });
});

test('reconfigure: a MASTER advertises a new priority at once; a BACKUP moves its Master_Down deadline; the interval changes the advert timer', () => {
  const m = master({ priority: 100 });
  const a = m.handle({ type: 'reconfigure', params: { ...params({ priority: 120 }) } }, 7000);
  assert.deepEqual(sent(a), [120]);
  assert.equal(timerAt(a, 'advert'), 8000);
  const c = m.handle({ type: 'reconfigure', params: { ...params({ priority: 120, advertIntMs: 2000 }) } }, 7100);
  assert.deepEqual(sent(c), [], 'same priority: nothing to announce early');
  assert.equal(timerAt(c, 'advert'), 9100);
  const b = createMachine(params({ priority: 100 }));
  const s = b.handle({ type: 'start' }, 0);
  const down = timerAt(s, 'masterDown')!;
  const r = b.handle({ type: 'reconfigure', params: { ...params({ priority: 200 }) } }, 10);
  assert.equal(timerAt(r, 'masterDown'), down - (100 * 1000) / 256);
  assert.throws(() => b.handle({ type: 'reconfigure', params: { ...params({ priority: 0 }) } }, 20), /priority/);
});

test('a sync group member that hands over gracefully takes the others with it gracefully', async () => {
  const { SyncGroup } = await import('../../../src/vrrp/sync-group.ts');
  const g = new SyncGroup('G', ['A', 'B']);
  const A = createMachine(params({ name: 'A', garp: NO_GARP, sync: g.gate }));
  const B = createMachine(params({ name: 'B', garp: NO_GARP, sync: g.gate }));
  g.attach('A', A);
  g.attach('B', B);
  const all: Array<{ who: string; a: Action }> = [];
  const feed = (who: string, m: typeof A, ev: Parameters<typeof A.handle>[0], now: number): void => {
    for (const a of m.handle(ev, now)) {
      all.push({ who, a });
      if (a.type === 'stateChanged') {
        for (const f of g.onStateChanged(who, a.from, a.to, a.graceful === true)) feed(f.member, f.member === 'A' ? A : B, f.event, now);
      }
    }
  };
  feed('A', A, { type: 'start' }, 0);
  feed('B', B, { type: 'start' }, 0);
  // keepalived: a member goes MASTER only when every member wants to.
  feed('A', A, { type: 'timer', timer: 'masterDown' }, 10_000);
  feed('B', B, { type: 'timer', timer: 'masterDown' }, 10_000);
  assert.equal(A.view().state, 'MASTER');
  assert.equal(B.view().state, 'MASTER');
  all.length = 0;
  feed('A', A, { type: 'maintenance', on: true }, 11_000);
  assert.equal(B.view().state, 'BACKUP');
  const zeroes = all.filter((x) => x.a.type === 'sendAdvert' && x.a.priority === 0).map((x) => x.who).sort();
  assert.deepEqual(zeroes, ['A', 'B']);
  const handovers = all.filter((x) => x.a.type === 'removeVips' && x.a.handover !== undefined).map((x) => x.who).sort();
  assert.deepEqual(handovers, ['A', 'B']);
});
