// How every network checker opens its connection (keepalived layer4.c tcp_connect /
// udp_connect): to the check target (connect_ip / connect_port over the real server's address,
// resolved by probe.ts targetOf), from `bindto` when set, bounded by connect_timeout and
// cancellable by the scheduler's signal. The attempt settles exactly once: the timer, the abort
// listener and the socket go with it.
//
// connect_timeout bounds the whole attempt, not only the connect: keepalived applies it to the
// connect and to each read; one bound over all of it also catches a server that trickles bytes.

import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { ipFamily } from '../util/ip.ts';
import type { CheckTarget } from './types.ts';

export interface ConnectOptions {
  target: CheckTarget;
  /** bindto: the local address to connect from. */
  bindTo: string | null;
  /** connect_timeout. */
  timeoutMs: number;
  signal: AbortSignal;
}

/** What an attempt ends with when nothing else ended it first. */
export interface AttemptEnds<T> {
  /** connect_timeout ran out (evaluated then, so it can say how far the check got). */
  timeout(): T;
  cancelled(): T;
}

/** One open attempt, handed to the checker. */
export interface Attempt<S, T> {
  readonly socket: S;
  /** Settles the attempt (the first call wins) and closes the socket. */
  finish(result: T): void;
  readonly done: boolean;
  /** Runs fn once the connection is up (TCP connected, TLS handshake done, UDP connected). */
  connected(fn: () => void): void;
}

function bounded<S, T>(
  opts: ConnectOptions,
  ends: AttemptEnds<T>,
  open: () => { socket: S; connected(fn: () => void): void; close(): void },
  use: (a: Attempt<S, T>) => void,
): Promise<T> {
  return new Promise<T>((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let conn: ReturnType<typeof open> | undefined;
    const finish = (r: T): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      conn?.close();
      resolve(r);
    };
    const onAbort = (): void => finish(ends.cancelled());
    if (opts.signal.aborted) return onAbort();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => finish(ends.timeout()), opts.timeoutMs);
    let c: ReturnType<typeof open>;
    try {
      c = open();
    } catch (err) {
      // A bad address or port throws at once: nothing is pending then (the caller reports it).
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      throw err;
    }
    conn = c;
    use({
      socket: c.socket,
      finish,
      get done() {
        return done;
      },
      connected: (fn) => c.connected(() => {
        if (!done) fn();
      }),
    });
  });
}

/**
 * A TCP connection, or with `tls` a TLS one (SSL_GET: no certificate verification, as keepalived
 * does not verify; an empty servername sends no SNI extension).
 */
export function connectStream<T>(
  opts: ConnectOptions & { tls?: { servername: string } },
  ends: AttemptEnds<T>,
  use: (a: Attempt<Socket, T>) => void,
): Promise<T> {
  return bounded(opts, ends, () => {
    const common = { host: opts.target.address, port: opts.target.port, ...(opts.bindTo ? { localAddress: opts.bindTo } : {}) };
    const socket = opts.tls ? tlsConnect({ ...common, rejectUnauthorized: false, servername: opts.tls.servername }) : netConnect(common);
    const ready = opts.tls ? 'secureConnect' : 'connect';
    return { socket, connected: (fn) => socket.once(ready, fn), close: () => socket.destroy() };
  }, use);
}

/**
 * A connected UDP socket: bound to bindto first when set. A connected UDP socket reports an
 * ICMP port unreachable as ECONNREFUSED on the next receive (keepalived udp_socket_state).
 */
export function connectDatagram<T>(opts: ConnectOptions, ends: AttemptEnds<T>, use: (a: Attempt<UdpSocket, T>) => void): Promise<T> {
  return bounded(opts, ends, () => {
    const socket = createSocket(ipFamily(opts.target.address) === 6 ? 'udp6' : 'udp4');
    let closed = false;
    const go = (): void => {
      if (!closed) socket.connect(opts.target.port, opts.target.address);
    };
    if (opts.bindTo) socket.bind(0, opts.bindTo, go);
    else go();
    return {
      socket,
      connected: (fn) => socket.once('connect', fn),
      close: () => {
        closed = true;
        try {
          socket.close();
        } catch {
          // already closed
        }
      },
    };
  }, use);
}
