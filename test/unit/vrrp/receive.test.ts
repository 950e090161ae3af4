import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainDrop, receiveAdvert, type ReceiveInstance } from '../../../src/vrrp/receive.ts';
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

test('its own advertisements are recognised before the VRID lookup and ignored', () => {
  const own = (ip: string) => ip === '192.0.2.7';
  assert.deepEqual(receiveAdvert(packet({}, { src: '192.0.2.7' }), lookup, own), { kind: 'own' });
  assert.equal(receiveAdvert(packet({}, { src: '192.0.2.8' }), lookup, own).kind, 'advert');
});

test('a unicast instance flags a source that is not one of its peers, and still accepts it', () => {
  const uni: ReceiveInstance = { ...pub, unicast: true, unicastPeers: ['192.0.2.9'] };
  const r = receiveAdvert(packet({}, { src: '192.0.2.7', dst: '192.0.2.2' }), () => uni);
  assert.ok(r.kind === 'advert' && r.unknownPeer);
  const ok = receiveAdvert(packet({}, { src: '192.0.2.9', dst: '192.0.2.2' }), () => uni);
  assert.ok(ok.kind === 'advert' && !ok.unknownPeer);
});

test('explainDrop says what was received and what was expected, and never prints a password', () => {
  assert.equal(explainDrop(packet({}, { ttl: 64 }), 'ip_ttl_err', pub), 'TTL 64, expected 255 (RFC 5798 section 5.1.1.3)');
  const bad = packet();
  bad[bad.length - 1] ^= 1;
  assert.match(explainDrop(bad, 'checksum_err', pub), /^checksum 0x[0-9a-f]{4}, computed 0x[0-9a-f]{4}$/);
  const v2: ReceiveInstance = { name: 'V2', vrid: 51, version: 2, advertIntMs: 1000, unicast: false, vips: ['192.0.2.100'], authType: 'PASS', authPass: 'right' };
  assert.equal(explainDrop(packet({ version: 2, advertIntMs: 1000 }), 'auth_type_mismatch', v2), 'auth type 0 (none), ours 1 (PASS)');
  const wrong = explainDrop(packet({ version: 2, advertIntMs: 1000, authPass: 'sekrit99' }), 'auth_failure', v2);
  assert.ok(!wrong.includes('sekrit') && !wrong.includes('right'), wrong);
  assert.equal(explainDrop(packet({ version: 2, advertIntMs: 3000 }), 'advert_interval_err', v2), 'advert interval 3000 ms, ours 1000 ms (RFC 3768 section 7.1: VRRPv2 routers must agree)');
  assert.match(explainDrop(packet({ version: 3 }), 'version_err', v2), /VRRP version 3, ours 2/);
  assert.equal(explainDrop(Buffer.alloc(3), 'packet_len_err', undefined), 'packet of 3 bytes, shorter than an IPv4 header');
  assert.match(explainDrop(packet().subarray(0, 30), 'packet_len_err', pub), /30 bytes \(IP total length \d+\), expected \d+ for VRRPv3 with 1 addresses/);
});
