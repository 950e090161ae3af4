// Configuration objects for lb tests, with keepalived's defaults; override what a test needs.
import type { VirtualServer, RealServer, Pos } from '../../../src/config/model.ts';

const pos: Pos = { file: 'test.conf', line: 1, col: 1 };

export function rs(address: string, port: number, over: Partial<RealServer> = {}): RealServer {
  return {
    name: `${address} ${port}`, address, port, weight: 1, inhibitOnFailure: false,
    notifyUp: null, notifyDown: null, checkers: [], pos, ...over,
  };
}

export function vs(address: string, port: number, realServers: RealServer[], over: Partial<VirtualServer> = {}): VirtualServer {
  return {
    name: `${address} ${port}`, address, port, protocol: 'TCP', delayLoopMs: 60_000, scheduler: 'mh',
    method: 'NAT', persistenceTimeoutMs: 0, persistenceGranularity: 32, quorum: 1, hysteresis: 0,
    quorumUp: null, quorumDown: null, sorryServer: null, sorryServerInhibit: false, alpha: false,
    omega: false, inhibitOnFailure: false, haSuspend: false, virtualhost: null, forwarder: 'auto',
    realServers, pos, ...over,
  };
}
