// The link monitor with a fake event source and fake link states under the fake clock: a netlink
// line makes it read the interface at once (and again 100 ms later, as sysfs can lag the event),
// the poll catches what no event announced, a dead event source is restarted, and watch() adds
// and drops interfaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkMonitor, type LinkEvents } from '../../../src/net/link-monitor.ts';
import type { HostNet } from '../../../src/net/host.ts';
import { FakeClock } from '../fake-clock.ts';

class Source implements LinkEvents {
  lines: Array<(l: string) => void> = [];
  closes: Array<() => void> = [];
  stopped = false;
  onLine(fn: (l: string) => void): void {
    this.lines.push(fn);
  }
  onClose(fn: () => void): void {
    this.closes.push(fn);
  }
  stop(): void {
    this.stopped = true;
  }
  emit(l: string): void {
    for (const f of this.lines) f(l);
  }
  die(): void {
    for (const f of this.closes) f();
  }
}

function fakeNet(up: Map<string, boolean>): Pick<HostNet, 'linkUp'> & Partial<HostNet> {
  return {
    linkUp: async (dev) => up.get(dev) ?? false,
    addVip: async () => {}, delVip: async () => {}, addresses: async () => [], primaryAddress: async () => null, garp: async () => {}, unsolicitedNa: async () => {},
  };
}

test('a netlink line reads the interface at once, the poll catches the rest, watch() adds and drops interfaces', async () => {
  const clock = new FakeClock();
  const up = new Map([['eth0', true], ['eth1', true]]);
  const sources: Source[] = [];
  const seen: string[] = [];
  const m = new LinkMonitor(fakeNet(up), ['eth0'], (dev, u) => seen.push(`${dev} ${u ? 'up' : 'down'}`), {
    clock, pollMs: 2000, events: () => { const s = new Source(); sources.push(s); return s; },
  });
  assert.deepEqual([...(await m.start())], [['eth0', true]]);
  up.set('eth0', false);
  sources[0]!.emit('3: eth0@if12: <BROADCAST,MULTICAST> mtu 1500 state DOWN');
  await clock.advance(1);
  assert.deepEqual(seen, ['eth0 down'], 'read at once on the event');
  sources[0]!.emit('4: other0: <UP> state UP');
  // No event: the poll notices within its period.
  up.set('eth0', true);
  await clock.advance(1999);
  assert.deepEqual(seen, ['eth0 down', 'eth0 up']);
  // The event source dies: it is started again a second later.
  sources[0]!.die();
  await clock.advance(1000);
  assert.equal(sources.length, 2);
  up.set('eth1', false);
  m.watch(['eth0', 'eth1']);
  await clock.advance(1);
  assert.deepEqual(seen.slice(2), ['eth1 down']);
  m.watch(['eth1']);
  up.set('eth0', false);
  await clock.advance(5000);
  assert.equal(seen.lastIndexOf('eth0 down'), 0, 'an interface no longer watched is not reported');
  m.stop();
  assert.ok(sources[1]!.stopped);
  const n = seen.length;
  up.set('eth1', true);
  await clock.advance(10_000);
  assert.equal(seen.length, n, 'nothing after stop');
});
