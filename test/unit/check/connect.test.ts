// The checkers' one connect helper on loopback (no root): target, bindto, connect_timeout over
// the whole attempt, cancellation, exactly one outcome with the socket closed after it; the
// same for the UDP side; and the three checkers using it from a chosen source address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { connectDatagram, connectStream } from '../../../src/check/connect.ts';
import { checkTcp } from '../../../src/check/tcp.ts';
import { checkUdp } from '../../../src/check/udp.ts';
import { checkHttp } from '../../../src/check/http.ts';
import { httpCheck, url } from './fixtures.ts';

const never = new AbortController().signal;
const ends = { timeout: () => 'timeout', cancelled: () => 'cancelled' };

/** A TCP server on 127.0.0.1 recording its peers; `onConn` decides what it does with them. */
async function server(t: { after(fn: () => void | Promise<void>): void }, onConn: (c: Socket) => void = () => {}): Promise<{ port: number; peers: Socket[]; from: string[] }> {
  const peers: Socket[] = [];
  const from: string[] = [];
  const s: Server = createServer((c) => {
    peers.push(c);
    from.push(c.remoteAddress ?? '?');
    c.on('error', () => {});
    onConn(c);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => {
    for (const p of peers) p.destroy();
    s.close(() => r());
  }));
  return { port: (s.address() as AddressInfo).port, peers, from };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), what);
}

const target = (port: number, address = '127.0.0.1') => ({ address, port, virtualhost: null });

test('stream: connects to the target from bindto; finishing closes the socket; only the first outcome counts', async (t) => {
  const srv = await server(t);
  let closedAfter = false;
  const r = await connectStream({ target: target(srv.port), bindTo: '127.0.0.2', timeoutMs: 2000, signal: never }, ends, (a) => {
    a.connected(() => {
      a.finish('first');
      a.finish('second');
      closedAfter = a.socket.destroyed && a.done;
    });
  });
  assert.equal(r, 'first');
  assert.ok(closedAfter, 'socket destroyed at finish');
  await until(() => srv.peers.length === 1, 'one connection');
  assert.deepEqual(srv.from, ['127.0.0.2'], 'from bindto');
});

test('stream: connect_timeout bounds the whole attempt, also after the connect', async (t) => {
  const srv = await server(t); // accepts and never says anything
  const t0 = Date.now();
  let wasConnected = false;
  const r = await connectStream({ target: target(srv.port), bindTo: null, timeoutMs: 200, signal: never }, ends, (a) => {
    a.connected(() => { wasConnected = true; });
  });
  assert.equal(r, 'timeout');
  assert.ok(wasConnected);
  assert.ok(Date.now() - t0 >= 190);
  await until(() => srv.peers[0]?.destroyed === true || srv.peers[0]?.readableEnded === true, 'the server sees the close');
});

test('stream: cancelled by the signal, and no connection at all when it was aborted before', async (t) => {
  const srv = await server(t);
  const ac = new AbortController();
  const p = connectStream({ target: target(srv.port), bindTo: null, timeoutMs: 5000, signal: ac.signal }, ends, (a) => {
    a.connected(() => ac.abort());
  });
  assert.equal(await p, 'cancelled');
  let used = false;
  const pre = await connectStream({ target: target(srv.port), bindTo: null, timeoutMs: 5000, signal: AbortSignal.abort() }, ends, () => { used = true; });
  assert.equal(pre, 'cancelled');
  assert.equal(used, false);
  await new Promise((r) => setTimeout(r, 100)); // asserting an absence: give a stray connect time to arrive
  assert.equal(srv.peers.length, 1);
});

test('stream: a bad target throws at once (the probe turns it into a failed check)', async () => {
  await assert.rejects(connectStream({ target: target(70000), bindTo: null, timeoutMs: 5000, signal: never }, ends, () => {}), /port/i);
});

test('datagram: bound to bindto, connected to the target, then the payload goes out', async (t) => {
  const peer = createSocket('udp4');
  t.after(() => peer.close());
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const port = (peer.address() as AddressInfo).port;
  const from = new Promise<string>((r) => peer.once('message', (_m, rinfo) => r(rinfo.address)));
  const r = await connectDatagram({ target: target(port), bindTo: '127.0.0.3', timeoutMs: 2000, signal: never }, ends, (a) => {
    a.connected(() => a.socket.send(Buffer.from('x'), () => a.finish('sent')));
  });
  assert.equal(r, 'sent');
  assert.equal(await from, '127.0.0.3');
});

test('TCP_CHECK, HTTP_GET and UDP_CHECK honour bindto through the helper', async (t) => {
  const srv = await server(t, (c) => c.end('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n'));
  const tcp = await checkTcp(target(srv.port), { connectTimeoutMs: 2000, bindTo: '127.0.0.4' }, never);
  assert.equal(tcp.ok, true, tcp.detail);
  const http = await checkHttp(target(srv.port), httpCheck({ bindTo: '127.0.0.5', connectTimeoutMs: 2000, urls: [url({ path: '/' })] }), never);
  assert.equal(http.ok, true, http.detail);
  await until(() => srv.peers.length === 2, 'two connections');
  assert.deepEqual(srv.from, ['127.0.0.4', '127.0.0.5']);
  const echo = createSocket('udp4');
  t.after(() => echo.close());
  const seen: string[] = [];
  echo.on('message', (m, rinfo) => {
    seen.push(rinfo.address);
    echo.send(m, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
  const udp = await checkUdp(target((echo.address() as AddressInfo).port), { connectTimeoutMs: 2000, bindTo: '127.0.0.6', payload: Buffer.from('hi'), requireReply: '' }, never);
  assert.equal(udp.ok, true, udp.detail);
  assert.deepEqual(seen, ['127.0.0.6']);
});
