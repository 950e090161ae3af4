// Shared types of the userspace forwarder's socket side.
import type { ConnectionCap, CapEvent } from './cap.ts';
import type { Clock } from '../../util/clock.ts';

export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

/** Limits and timeouts; defaults in DEFAULT_LIMITS (src/lb/forwarder/index.ts). */
export interface ForwarderLimits {
  /** TCP connect to a real server (keepalived's connect_timeout default: 5 s). */
  connectTimeoutMs: number;
  /** A TCP connection with no data either way for this long is closed (IPVS: 900 s established). */
  tcpIdleTimeoutMs: number;
  /** A UDP session with no datagram either way for this long expires (IPVS: 300 s udp). */
  udpIdleTimeoutMs: number;
  /** UDP sessions per virtual server. */
  maxUdpSessions: number;
  /** Stream buffer bound per socket and direction, bytes (readable and writable highWaterMark). */
  highWaterMark: number;
  /** Datagrams queued in a UDP socket's send queue beyond which new ones are dropped. */
  maxUdpSendQueue: number;
  /** Another real server is tried this many times when connecting fails (HAProxy's redispatch). */
  connectRetries: number;
  /** Retry interval when the listening address cannot be bound yet. */
  bindRetryMs: number;
}

/** Everything a per-VS forwarder needs from its owner. */
export interface ForwarderContext {
  limits: ForwarderLimits;
  /** The global cap shared by every virtual server (TCP connections + UDP sessions). */
  cap: ConnectionCap;
  /** Called with the cap's transitions, to log them once. */
  capEvent(e: CapEvent): void;
  log: LogFn;
  /** Timers, and monotonic time for idle timeouts and persistence. */
  clock: Clock;
}

export interface VsCounters {
  /** Connections (TCP) or sessions (UDP) accepted and forwarded. */
  accepted: number;
  /** Refused at the global cap. */
  refusedCap: number;
  /** Refused because no real server could take it (all down or drained, no sorry server). */
  noBackend: number;
  /** TCP: connecting to the real server failed or timed out (after retries). */
  connectFailed: number;
  /** Closed by the idle timeout. */
  idleClosed: number;
  /** UDP: datagrams dropped (full send queue, session table full, unexpected source). */
  droppedDatagrams: number;
  /** Bytes relayed (TCP: added when a connection closes; UDP: per datagram). */
  bytesFromClients: number;
  bytesFromServers: number;
}

export function zeroCounters(): VsCounters {
  return { accepted: 0, refusedCap: 0, noBackend: 0, connectFailed: 0, idleClosed: 0, droppedDatagrams: 0, bytesFromClients: 0, bytesFromServers: 0 };
}
