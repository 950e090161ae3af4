// The instances the engine unit tests start from (engine.test.ts, engine-events.test.ts): the
// public instance VI_PUB on eth0 (VRID 51) and the private one on eth1 (VRID 52).
import type { EngineInstance } from '../../../src/vrrp/engine-config.ts';
import { DEFAULT_GARP, DEFAULT_RIVAL } from '../../../src/vrrp/machine.ts';

export const VIP = '203.0.113.1';
export const PEER = '192.0.2.3';

export function inst(over: Partial<EngineInstance> = {}): EngineInstance {
  return {
    name: 'VI_PUB', dev: 'eth0', vrid: 51, family: 4, version: 3, priority: 100, advertIntMs: 100, nopreempt: false, preemptDelayMs: 0,
    initialState: 'BACKUP', authType: null, authPass: null,
    vips: [{ address: VIP, prefix: 24, dev: 'eth0', label: null, brd: null, scope: null }], advertAddresses: [VIP],
    unicastSrcIp: null, unicastPeers: [], trackInterfaces: [], tracked: [], dontTrackPrimary: false, garp: DEFAULT_GARP,
    rival: DEFAULT_RIVAL, mcastGroup: '224.0.0.18',
    ...over,
  };
}

export const PRIV: Partial<EngineInstance> = {
  name: 'VI_PRIV', dev: 'eth1', vrid: 52,
  vips: [{ address: '198.51.100.1', prefix: 24, dev: 'eth1', label: null, brd: null, scope: null }], advertAddresses: ['198.51.100.1'],
};
