import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { parseProcStat, cpuPercent, parseMeminfo, parseUptime, parseThermal, parseNetDev, MetricsCollector } from '../../../src/report/metrics.ts';

const STAT1 = 'cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0 0 0\nintr 1\n';
const STAT2 = 'cpu  200 0 150 950 100 0 0 0 0 0\ncpu0 1 1 1 1 1 0 0 0 0 0\n';
const MEMINFO = 'MemTotal:        1000000 kB\nMemFree:          100000 kB\nMemAvailable:     250000 kB\nBuffers: 1 kB\n';
const NETDEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 123456    789    1    2    0     0          0         3   654321    987    4    5    0     0       0          0
`;

test('parsers read sample /proc and /sys text', () => {
  const a = parseProcStat(STAT1);
  const b = parseProcStat(STAT2);
  assert.deepEqual(a, { total: 1000, idle: 800 });
  // 400 jiffies passed, 250 idle → 37.5 % busy
  assert.equal(cpuPercent(a, b), 37.5);
  assert.equal(cpuPercent(b, b), null);
  assert.equal(cpuPercent(null, b), null);
  assert.equal(parseProcStat('garbage'), null);
  assert.deepEqual(parseMeminfo(MEMINFO), { totalKb: 1000000, availableKb: 250000, usedPercent: 75 });
  assert.equal(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nCached: 400 kB\n')?.availableKb, 500, 'pre-3.14 kernels');
  assert.equal(parseMeminfo(''), null);
  assert.equal(parseUptime('12345.67 2345.00\n'), 12345.67);
  assert.equal(parseUptime('x'), null);
  assert.equal(parseThermal('48312\n'), 48.3);
  assert.equal(parseThermal('-5000'), -5);
  assert.equal(parseThermal('n/a'), null);
  const nd = parseNetDev(NETDEV);
  assert.deepEqual(nd.get('eth0'), { rxBytes: 123456, rxPackets: 789, rxErrors: 1, rxDropped: 2, txBytes: 654321, txPackets: 987, txErrors: 4, txDropped: 5 });
  assert.equal(nd.size, 2);
});

test('collector reads a fake /proc and /sys tree; missing conntrack is null', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'tandem-metrics-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  const put = (p: string, s: string): void => {
    mkdirSync(dirname(join(d, p)), { recursive: true });
    writeFileSync(join(d, p), s);
  };
  put('proc/stat', STAT1);
  put('proc/meminfo', MEMINFO);
  put('proc/uptime', '100.5 50.0\n');
  put('proc/net/dev', NETDEV);
  put('sys/class/net/eth0/operstate', 'up\n');
  put('sys/class/net/eth0/carrier', '1\n');
  put('sys/class/thermal/thermal_zone1/temp', '51000\n');
  put('sys/class/thermal/thermal_zone0/temp', '40000\n');
  const m = new MetricsCollector({ procRoot: join(d, 'proc'), sysRoot: join(d, 'sys'), intervalMs: 5000, now: () => 0 });
  t.after(() => m.close());
  const h1 = await m.collect();
  assert.equal(h1.cpuPercent, null, 'no CPU % from a single sample');
  assert.equal(h1.temperatureC, 40, 'first zone when the board names none');
  assert.equal(h1.conntrackCount, null);
  assert.equal(h1.intervalMs, 5000);
  assert.deepEqual(h1.nics.map((n) => [n.name, n.operstate, n.carrier, n.rxBytes]), [['eth0', 'up', true, 123456]]);
  put('proc/stat', STAT2);
  put('proc/sys/net/netfilter/nf_conntrack_count', '42\n');
  const h2 = await m.collect();
  assert.equal(h2.cpuPercent, 37.5);
  assert.equal(h2.conntrackCount, 42);
  assert.ok(h2.rssBytes > 0);

  const z = new MetricsCollector({ procRoot: join(d, 'proc'), sysRoot: join(d, 'sys'), thermalZone: 1 });
  t.after(() => z.close());
  assert.equal((await z.collect()).temperatureC, 51);
  const empty = new MetricsCollector({ procRoot: join(d, 'nothing'), sysRoot: join(d, 'nothing') });
  t.after(() => empty.close());
  const h3 = await empty.collect();
  assert.equal(h3.memory, null);
  assert.deepEqual(h3.nics, []);
});

test('the lag probe: how late its timer ran, mean, max, p99, then afresh', async () => {
  const { LagProbe } = await import('../../../src/util/lag-probe.ts');
  const { FakeClock } = await import('../fake-clock.ts');
  const clock = new FakeClock();
  const p = new LagProbe(500, clock);
  assert.equal(p.take(), null);
  clock.tick(500);
  clock.lag = 30;
  clock.tick(2000);
  const s = p.take()!;
  assert.equal(s.max, 30);
  assert.ok(s.mean > 0 && s.mean <= 30);
  assert.equal(p.take(), null, 'afresh after take()');
  p.stop();
  assert.equal(clock.pending, 0);
});
