// The forwarders' shared scaffolding under the fake clock: binding VIP:port with retry (said
// once per reason, retried every bindRetryMs, the success after a problem said too, stop
// honoured at every step) and the periodic sweep; then the TCP and UDP forwarders on loopback
// with the fake clock, closing an idle connection / session only when the clock says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../fake-clock.ts';
import { RetryingBind } from '../../../src/lb/forwarder/listen.ts';
import { Sweep, sweepPeriodMs } from '../../../src/lb/forwarder/sweep.ts';
import { TcpForwarder } from '../../../src/lb/forwarder/tcp.ts';
import { UdpForwarder } from '../../../src/lb/forwarder/udp.ts';
import { DEFAULT_LIMITS, ConnectionCap, ForwarderScheduler } from '../../../src/lb/forwarder/index.ts';
import type { ForwarderContext, ForwarderLimits } from '../../../src/lb/forwarder/types.ts';

function context(clock: FakeClock, limits: Partial<ForwarderLimits> = {}): ForwarderContext & { logs: string[] } {
  const logs: string[] = [];
  return { limits: { ...DEFAULT_LIMITS, ...limits }, cap: new ConnectionCap(100), capEvent: () => {}, log: (l, m) => logs.push(`${l} ${m}`), clock, logs };
}

/** A socket stand-in whose bind outcome the test scripts: an error code, or success. */
class FakeSocket extends EventEmitter {
  closed = false;
  close(): void {
    this.closed = true;
  }
}

function scripted(outcomes: Array<string | 'ok'>) {
  const made: FakeSocket[] = [];
  return {
    made,
    attempt: (bound: () => void): FakeSocket => {
      const s = new FakeSocket();
      made.push(s);
      const o = outcomes.shift() ?? 'ok';
      setImmediate(() => {
        if (o === 'ok') bound();
        else s.emit('error', Object.assign(new Error(o), { code: o }));
      });
      return s;
    },
  };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('bind retry: each reason said once, retried every bindRetryMs, success after a problem said', async () => {
  const clock = new FakeClock();
  const ctx = context(clock, { bindRetryMs: 1000 });
  const s = scripted(['EADDRNOTAVAIL', 'EADDRNOTAVAIL', 'EADDRINUSE', 'ok']);
  const b = new RetryingBind('listen on 192.0.2.10:80/tcp', '192.0.2.10:80/tcp', ctx, s.attempt);
  await b.start(); // resolves after the first failure
  assert.equal(b.bound, null);
  assert.equal(s.made.length, 1);
  await clock.advance(999);
  assert.equal(s.made.length, 1, 'not before bindRetryMs');
  await clock.advance(1);
  await settle();
  assert.equal(s.made.length, 2);
  await clock.advance(1000);
  await settle();
  await clock.advance(1000);
  await settle();
  assert.equal(s.made.length, 4);
  assert.equal(b.bound, s.made[3]);
  assert.ok(s.made.slice(0, 3).every((x) => x.closed), 'failed sockets closed');
  assert.deepEqual(ctx.logs, [
    'warn forwarder: cannot listen on 192.0.2.10:80/tcp: EADDRNOTAVAIL; retrying every 1000 ms',
    'warn forwarder: cannot listen on 192.0.2.10:80/tcp: EADDRINUSE; retrying every 1000 ms',
    'info forwarder: listening on 192.0.2.10:80/tcp',
  ]);
  // An error after binding is logged, not retried.
  s.made[3]!.emit('error', new Error('boom'));
  await clock.advance(5000);
  assert.equal(s.made.length, 4);
  assert.equal(ctx.logs.at(-1), 'warn forwarder 192.0.2.10:80/tcp: boom');
  assert.equal(b.stop(), s.made[3], 'stop hands the bound socket back for closing');
});

test('bind retry: stop cancels the retry, and a bind completing after stop is closed', async () => {
  const clock = new FakeClock();
  const ctx = context(clock);
  const s = scripted(['EADDRNOTAVAIL']);
  const b = new RetryingBind('bind 192.0.2.10:53/udp', '192.0.2.10:53/udp', ctx, s.attempt);
  await b.start();
  assert.equal(b.stop(), null);
  await clock.advance(10_000);
  assert.equal(s.made.length, 1, 'no retry after stop');
  assert.equal(clock.pending, 0);

  const late = scripted(['ok']);
  const c = new RetryingBind('bind 192.0.2.10:53/udp', '192.0.2.10:53/udp', ctx, late.attempt);
  const started = c.start();
  c.stop();
  await started;
  assert.equal(late.made[0]!.closed, true);
  assert.equal(c.bound, null);
});

test('sweep: every period on the clock, with monotonic time; stop ends it', async () => {
  assert.equal(sweepPeriodMs(900_000), 1000);
  assert.equal(sweepPeriodMs(1000), 250);
  assert.equal(sweepPeriodMs(10), 50);
  const clock = new FakeClock(1_700_000_000_000);
  const seen: number[] = [];
  const sw = new Sweep(clock, 250, (now) => seen.push(now));
  sw.start();
  sw.start(); // once
  clock.tick(1000);
  assert.deepEqual(seen, [250, 500, 750, 1000]);
  sw.stop();
  clock.tick(1000);
  assert.equal(seen.length, 4);
  assert.equal(clock.pending, 0);
});

async function freePort(type: 'tcp' | 'udp'): Promise<number> {
  if (type === 'tcp') {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const p = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return p;
  }
  const u = dgram.createSocket('udp4');
  await new Promise<void>((r) => u.bind(0, '127.0.0.1', () => r()));
  const p = u.address().port;
  await new Promise<void>((r) => u.close(() => r()));
  return p;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), what);
}

function scheduler(port: number): ForwarderScheduler {
  const s = new ForwarderScheduler({ scheduler: 'rr', seed: 1, configuredCount: 1, vip: '127.0.0.1', persistenceTimeoutMs: 0, persistenceGranularity: 32 });
  s.setBackends([{ key: `127.0.0.1:${port}`, address: '127.0.0.1', port, weight: 1 }]);
  return s;
}

test('TCP forwarder: an idle connection is closed when the clock passes the idle timeout, not before', async (t) => {
  const echo = net.createServer((c) => c.on('error', () => {}).pipe(c));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => echo.close(() => r())));
  const clock = new FakeClock();
  const ctx = context(clock, { tcpIdleTimeoutMs: 10_000 });
  const port = await freePort('tcp');
  const fwd = new TcpForwarder('127.0.0.1', port, scheduler((echo.address() as AddressInfo).port), ctx);
  await fwd.start();
  t.after(() => fwd.stop());
  assert.ok(fwd.listening);
  const c = net.connect(port, '127.0.0.1');
  let closed = false;
  c.on('close', () => { closed = true; });
  c.on('error', () => {});
  c.setEncoding('utf8');
  const got = new Promise<string>((r) => c.once('data', (d: string) => r(d)));
  c.write('ping');
  assert.equal(await got, 'ping');
  await clock.advance(9_000);
  assert.equal(closed, false);
  assert.equal(fwd.counters.idleClosed, 0);
  await clock.advance(2_000);
  await until(() => closed, 'idle connection closed');
  assert.equal(fwd.counters.idleClosed, 1);
});

test('UDP forwarder: a session ends when the clock passes the idle timeout', async (t) => {
  const echo = dgram.createSocket('udp4');
  echo.on('message', (m, r) => echo.send(m, r.port, r.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => echo.close(() => r())));
  const clock = new FakeClock();
  const ctx = context(clock, { udpIdleTimeoutMs: 10_000 });
  const port = await freePort('udp');
  const fwd = new UdpForwarder('127.0.0.1', port, scheduler(echo.address().port), ctx);
  await fwd.start();
  t.after(() => fwd.stop());
  const client = dgram.createSocket('udp4');
  t.after(() => new Promise<void>((r) => client.close(() => r())));
  const got = new Promise<string>((r) => client.once('message', (m) => r(String(m))));
  client.send('ping', port, '127.0.0.1');
  assert.equal(await got, 'ping');
  assert.equal(fwd.activeSessions, 1);
  await clock.advance(9_000);
  assert.equal(fwd.activeSessions, 1);
  await clock.advance(2_000);
  assert.equal(fwd.activeSessions, 0);
});
