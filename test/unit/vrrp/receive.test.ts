import { test } from 'node:test';
import assert from 'node:assert/strict';
import { receiveAdvert, type ReceiveInstance } from '../../../src/vrrp/receive.ts';
import { packet } from './helpers.ts';

const pub: ReceiveInstance = { name: 'VI_PUB', vrid: 51, version: 3, advertIntMs: 100, unicast: false, vips: ['192.0.2.100'] };
const lookup = (vrid: number) => (vrid === 51 ? pub : undefined);

test('a good advert becomes a machine event', () => {
  const r = receiveAdvert(packet({ priority: 120 }, { src: '192.0.2.7' }), lookup);
  assert.equal(r.kind, 'advert');
  assert.ok(r.kind === 'advert');
  assert.deepEqual(r.event, { type: 'advert', priority: 120, srcIp: '192.0.2.7', advertIntMs: 100 });
  assert.deepEqual(r.counters, []);
});

test('address list mismatch is counted, not dropped', () => {
  const r = receiveAdvert(packet({ addresses: ['192.0.2.101'] }), lookup);
  assert.ok(r.kind === 'advert');
  assert.deepEqual(r.counters, ['addr_list_err']);
});

test('drops are attributed to the instance when the VRID is known, else global', () => {
  assert.deepEqual(receiveAdvert(packet({ vrid: 9 }), lookup), { kind: 'drop', instance: null, reason: 'vrid_err', counter: 'vrid_err' });
  assert.deepEqual(receiveAdvert(packet({}, { ttl: 1 }), lookup), { kind: 'drop', instance: 'VI_PUB', reason: 'ip_ttl_err', counter: 'ip_ttl_err' });
  const bad = packet();
  bad[bad.length - 1] ^= 1;
  assert.deepEqual(receiveAdvert(bad, lookup), { kind: 'drop', instance: 'VI_PUB', reason: 'checksum_err', counter: 'chk_err' });
  assert.deepEqual(receiveAdvert(Buffer.alloc(3), lookup), { kind: 'drop', instance: null, reason: 'packet_len_err', counter: 'packet_len_err' });
});
