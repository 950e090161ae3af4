// Builders for configuration-model objects used by the checker tests (unit and lab).
import type { Command, HttpCheck, HttpUrl, MiscCheck, Pos, RealServer, TcpCheck, UdpCheck, VirtualServer } from '../../../src/config/model.ts';

export const pos: Pos = { file: 'test.conf', line: 1, col: 1 };

const timing = {
  connectTimeoutMs: 5000, retry: 1, delayBeforeRetryMs: 1000, delayLoopMs: null, warmupMs: 0,
  connectIp: null, connectPort: null, bindTo: null,
};

export function cmd(...argv: string[]): Command {
  return { argv, pos };
}

export function tcpCheck(o: Partial<TcpCheck> = {}): TcpCheck {
  return { kind: 'TCP_CHECK', ...timing, pos, ...o };
}

export function url(o: Partial<HttpUrl> = {}): HttpUrl {
  return { path: '/', digest: null, statusCodes: [], virtualhost: null, pos, ...o };
}

export function httpCheck(o: Partial<HttpCheck> = {}): HttpCheck {
  return { kind: 'HTTP_GET', ...timing, urls: [url()], virtualhost: null, enableSni: false, httpProtocol: '1.0', pos, ...o };
}

export function udpCheck(o: Partial<UdpCheck> = {}): UdpCheck {
  return { kind: 'UDP_CHECK', ...timing, payload: null, requireReply: null, pos, ...o };
}

export function miscCheck(argv: string[], o: Partial<MiscCheck> = {}): MiscCheck {
  return {
    kind: 'MISC_CHECK', path: cmd(...argv), miscTimeoutMs: 5000, miscDynamic: false, user: null, group: null,
    delayLoopMs: null, warmupMs: 0, retry: 0, delayBeforeRetryMs: 1000, pos, ...o,
  };
}

export function realServer(address: string, port: number, o: Partial<RealServer> = {}): RealServer {
  return {
    name: `${address} ${port}`, address, port, weight: 1, inhibitOnFailure: false,
    notifyUp: null, notifyDown: null, checkers: [], pos, ...o,
  };
}

export function virtualServer(realServers: RealServer[], o: Partial<VirtualServer> = {}): VirtualServer {
  return {
    name: '192.0.2.10 80', address: '192.0.2.10', port: 80, protocol: 'TCP', delayLoopMs: 10_000,
    scheduler: 'rr', method: 'NAT', persistenceTimeoutMs: 0, persistenceGranularity: 32,
    quorum: 1, hysteresis: 0, quorumUp: null, quorumDown: null, sorryServer: null,
    sorryServerInhibit: false, alpha: false, omega: false, inhibitOnFailure: false,
    haSuspend: false, virtualhost: null, forwarder: 'auto', realServers, pos, ...o,
  };
}
