import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine, type Action, type Machine, type MachineEvent, type MachineParams } from '../../../src/vrrp/machine.ts';
import { SyncGroup } from '../../../src/vrrp/sync-group.ts';

const NO_GARP = { repeat: 0, delayMs: 0, refreshMs: 0, refreshRepeat: 0 };

/** Two members (public and private VIP) wired the way the engine will wire them. */
function pair(over: Partial<MachineParams> = {}) {
  const group = new SyncGroup('VG', ['VI_PUB', 'VI_PRIV']);
  const machines = new Map<string, Machine>();
  const log: Array<{ member: string; action: Action }> = [];
  for (const name of ['VI_PUB', 'VI_PRIV']) {
    const m = createMachine({
      name,
      version: 3,
      priority: 100,
      advertIntMs: 100,
      nopreempt: false,
      preemptDelayMs: 0,
      initialState: 'BACKUP',
      primaryIp: '192.0.2.2',
      garp: NO_GARP,
      sync: group.gate,
      ...over,
    });
    machines.set(name, m);
    group.attach(name, m);
  }
  const feed = (member: string, ev: MachineEvent, now: number): void => {
    const acts = machines.get(member)!.handle(ev, now);
    for (const a of acts) {
      log.push({ member, action: a });
      if (a.type === 'stateChanged') {
        for (const f of group.onStateChanged(member, a.from, a.to)) feed(f.member, f.event, now);
      }
    }
  };
  const state = (n: string) => machines.get(n)!.view().state;
  const deadline = (n: string) => machines.get(n)!.view().timers.masterDown!;
  return { group, machines, feed, state, deadline, log };
}

test('members become MASTER together only when both want to', () => {
  const p = pair();
  p.feed('VI_PUB', { type: 'start' }, 0);
  p.feed('VI_PRIV', { type: 'start' }, 5);
  // VI_PUB times out first: VI_PRIV still wants BACKUP, so VI_PUB waits (keepalived).
  p.feed('VI_PUB', { type: 'timer', timer: 'masterDown' }, p.deadline('VI_PUB'));
  assert.equal(p.state('VI_PUB'), 'BACKUP');
  assert.equal(p.machines.get('VI_PUB')!.view().wantState, 'MASTER');
  // VI_PRIV times out: now both want MASTER, and both go.
  p.feed('VI_PRIV', { type: 'timer', timer: 'masterDown' }, p.deadline('VI_PRIV'));
  assert.equal(p.state('VI_PRIV'), 'MASTER');
  assert.equal(p.state('VI_PUB'), 'MASTER');
  assert.equal(p.group.state, 'MASTER');
  assert.equal(p.log.filter((l) => l.action.type === 'addVips').length, 2);
});

test('one member hearing a better master takes the whole group to BACKUP', () => {
  const p = pair();
  p.feed('VI_PUB', { type: 'start' }, 0);
  p.feed('VI_PRIV', { type: 'start' }, 0);
  p.feed('VI_PUB', { type: 'timer', timer: 'masterDown' }, p.deadline('VI_PUB'));
  p.feed('VI_PRIV', { type: 'timer', timer: 'masterDown' }, p.deadline('VI_PRIV'));
  assert.equal(p.group.state, 'MASTER');
  p.feed('VI_PUB', { type: 'advert', priority: 200, srcIp: '192.0.2.9', advertIntMs: 100 }, 1000);
  assert.equal(p.state('VI_PUB'), 'BACKUP');
  assert.equal(p.state('VI_PRIV'), 'BACKUP');
  assert.equal(p.group.state, 'BACKUP');
  assert.equal(p.log.filter((l) => l.action.type === 'removeVips').length, 2);
});

test('one member in FAULT takes the group to FAULT; the group leaves FAULT when it clears', () => {
  const p = pair();
  p.feed('VI_PUB', { type: 'start' }, 0);
  p.feed('VI_PRIV', { type: 'start' }, 0);
  p.feed('VI_PUB', { type: 'timer', timer: 'masterDown' }, p.deadline('VI_PUB'));
  p.feed('VI_PRIV', { type: 'timer', timer: 'masterDown' }, p.deadline('VI_PRIV'));
  p.feed('VI_PRIV', { type: 'fault', reason: 'eth1 down' }, 2000);
  assert.equal(p.state('VI_PRIV'), 'FAULT');
  assert.equal(p.state('VI_PUB'), 'FAULT');
  // Both sent priority 0 so the peer board takes both VIPs over at once.
  const zeros = p.log.filter((l) => l.action.type === 'sendAdvert' && l.action.priority === 0).map((l) => l.member);
  assert.deepEqual(zeros.sort(), ['VI_PRIV', 'VI_PUB']);
  // VI_PUB has no fault of its own: a forced BACKUP would not bring it out while VI_PRIV is faulty.
  p.feed('VI_PUB', { type: 'faultCleared' }, 2500);
  assert.equal(p.state('VI_PUB'), 'FAULT');
  p.feed('VI_PRIV', { type: 'faultCleared' }, 3000);
  assert.equal(p.state('VI_PRIV'), 'BACKUP');
  assert.equal(p.state('VI_PUB'), 'BACKUP');
  assert.equal(p.group.state, 'BACKUP');
});

test('a member started faulty keeps the other out of MASTER', () => {
  const p = pair();
  p.feed('VI_PRIV', { type: 'start', faulty: true }, 0);
  p.feed('VI_PUB', { type: 'start' }, 0);
  assert.equal(p.state('VI_PUB'), 'FAULT');
  assert.equal(p.group.state, 'FAULT');
  p.feed('VI_PRIV', { type: 'faultCleared' }, 100);
  assert.equal(p.state('VI_PUB'), 'BACKUP');
  assert.equal(p.state('VI_PRIV'), 'BACKUP');
});
