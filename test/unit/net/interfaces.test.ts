import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpAddrJson } from '../../../src/net/interfaces.ts';

test('ip -j addr show: every interface, down or without addresses too, with its IPv4 and IPv6 addresses but link-local ones; junk skipped', () => {
  const text = JSON.stringify([
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet6', local: '::1', prefixlen: 128 }] },
    // No carrier: libuv would leave it out; the configuration checks need it.
    { ifindex: 2, ifname: 'eth1', flags: ['NO-CARRIER', 'BROADCAST', 'UP'], operstate: 'DOWN', addr_info: [{ family: 'inet', local: '192.0.2.2', prefixlen: 24 }, { family: 'inet', local: '192.0.2.1', prefixlen: 24 }] },
    { ifindex: 3, ifname: 'eth2', addr_info: [] },
    { ifindex: 5, ifname: 'eth0', addr_info: [{ family: 'inet6', local: '2001:db8:0:1::2', prefixlen: 64 }, { family: 'inet6', local: 'fe80::1', prefixlen: 64 }, { family: 'inet6', local: 'FEB0::1', prefixlen: 64 }] },
    { ifindex: 4, addr_info: [] },
    'nonsense',
    { ifname: 'eth3', addr_info: [{ family: 'inet', local: 5, prefixlen: 24 }] },
  ]);
  assert.deepEqual([...parseIpAddrJson(text)], [
    ['lo', ['127.0.0.1/8', '::1/128']], ['eth1', ['192.0.2.2/24', '192.0.2.1/24']], ['eth2', []], ['eth0', ['2001:db8:0:1::2/64']], ['eth3', []],
  ]);
  assert.deepEqual([...parseIpAddrJson('not json')], []);
  assert.deepEqual([...parseIpAddrJson('{}')], []);
});
