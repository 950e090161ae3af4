// VRRPv3 over IPv6 (RFC 5798 §5.1.2, §5.2.9): keepalived's adverts captured in the lab decode to
// what tshark read from them and encode back to the same bytes; the receive checks that IPv6
// adds (hop limit, the link-local source of multicast adverts, 16-byte address lists, the
// IPv6 pseudo-header) drop and name what they drop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressListMatches, decodeAdvert, encodeAdvert, validateAdvert, type Advert, type InstanceCheck } from '../../../src/vrrp/codec.ts';
import { pseudoHeaderSum, vrrpChecksum } from '../../../src/vrrp/checksum.ts';
import { counterForDrop } from '../../../src/vrrp/counters.ts';
import { explainDrop, receiveAdvert, type ReceiveInstance } from '../../../src/vrrp/receive.ts';
import { parseIpv6 } from '../../../src/util/ip.ts';
import { fixChecksum, LL_SRC, loadIpv6Vectors, packet, packet6 } from './helpers.ts';

const vectors = loadIpv6Vectors();

test('the IPv6 vectors are there: multicast, three VIPs, the link-local gateway VIP, priority 0, unicast', () => {
  assert.deepEqual(vectors.map((v) => v.name), ['ka6-v3', 'ka6-v3-3vip', 'ka6-v3-gateway', 'ka6-v3-prio0', 'ka6-v3-unicast']);
  for (const v of vectors) assert.equal(v.decoded.tshark_checksum_status, 'good', v.name);
});

for (const e of vectors) {
  test(`decode keepalived's IPv6 advert ${e.name} (${e.source})`, () => {
    const r = decodeAdvert(Buffer.from(e.ip_packet_hex, 'hex'));
    assert.ok(r.ok, r.ok ? '' : `dropped: ${r.reason}`);
    const a = r.advert;
    const d = e.decoded;
    assert.equal(a.family, 6);
    assert.equal(a.version, d.version);
    assert.equal(a.type, d.type);
    assert.equal(a.vrid, d.vrid);
    assert.equal(a.priority, d.priority);
    assert.equal(a.countIp, d.count_ip_addrs);
    assert.equal(a.checksum, Number(d.checksum));
    assert.deepEqual(a.addresses, d.addresses);
    assert.equal(a.advertIntRaw, d.max_adver_int_centiseconds);
    assert.equal(a.advertIntMs, d.max_adver_int_centiseconds * 10);
    assert.equal(a.srcIp, e.ip_src);
    assert.equal(a.dstIp, e.ip_dst);
    assert.equal(a.ttl, e.ip_hlim);
  });

  test(`re-encode keepalived's IPv6 advert ${e.name} to the same VRRP bytes`, () => {
    const pkt = Buffer.from(e.ip_packet_hex, 'hex');
    const d = e.decoded;
    const out = encodeAdvert({
      version: 3, vrid: d.vrid, priority: d.priority, advertIntMs: d.max_adver_int_centiseconds * 10,
      addresses: d.addresses, srcIp: e.ip_src, dstIp: e.ip_dst,
    });
    assert.equal(out.toString('hex'), pkt.subarray(40).toString('hex'));
  });
}

test('keepalived\'s multicast adverts pass an IPv6 instance\'s checks; its unicast one passes a unicast instance\'s', () => {
  const inst: InstanceCheck = { vrid: 61, family: 6, version: 3, advertIntMs: 100, unicast: false };
  for (const e of vectors) {
    const r = decodeAdvert(Buffer.from(e.ip_packet_hex, 'hex'));
    assert.ok(r.ok);
    const unicast = e.ip_dst !== 'ff02::12';
    assert.equal(validateAdvert(r.advert, { ...inst, vrid: e.decoded.vrid, unicast }), null, e.name);
  }
});

test('the IPv6 pseudo-header (RFC 8200 §8.1) is in the v3 checksum: the same message over IPv4 sums differently', () => {
  const e = vectors[0]!;
  const pkt = Buffer.from(e.ip_packet_hex, 'hex');
  const msg = Buffer.from(pkt.subarray(40));
  const src = parseIpv6(e.ip_src)!;
  const dst = parseIpv6(e.ip_dst)!;
  assert.equal(vrrpChecksum(3, msg, src, dst), Number(e.decoded.checksum));
  assert.notEqual(vrrpChecksum(3, msg, 0xc0000201, 0xe0000012), Number(e.decoded.checksum));
  // Length and next header are words of the sum, as in the IPv4 pseudo-header.
  assert.notEqual(pseudoHeaderSum(src, dst, msg.length, 112), pseudoHeaderSum(src, dst, msg.length, 58));
});

test('encode over IPv6: 16-byte addresses, the family from the source, clear errors for what cannot be sent', () => {
  const msg = encodeAdvert({ version: 3, vrid: 7, priority: 100, advertIntMs: 100, addresses: ['2001:db8::1', 'fe80::1'], srcIp: LL_SRC, dstIp: 'ff02::12' });
  assert.equal(msg.length, 8 + 2 * 16);
  const base = { version: 3 as const, vrid: 7, priority: 100, advertIntMs: 100, addresses: ['2001:db8::1'], srcIp: LL_SRC, dstIp: 'ff02::12' };
  assert.throws(() => encodeAdvert({ ...base, addresses: ['192.0.2.1'] }), /not an IPv6 address/);
  assert.throws(() => encodeAdvert({ ...base, dstIp: '224.0.0.18' }), /dstIp "224\.0\.0\.18" is not an IPv6 address/);
  assert.throws(() => encodeAdvert({ ...base, version: 2, advertIntMs: 1000 }), /VRRPv2 is IPv4 only/);
  // Text forms of the same address encode alike and come back canonical (RFC 5952).
  const r = decodeAdvert(packet6({ addresses: ['2001:DB8:0:0:0:0:0:1'] }));
  assert.ok(r.ok);
  assert.deepEqual(r.advert.addresses, ['2001:db8::1']);
  assert.ok(addressListMatches(r.advert, ['2001:db8::0:1']));
});

function adv(b: Buffer): Advert {
  const r = decodeAdvert(b);
  if (!r.ok) throw new Error(`decode failed: ${r.reason}`);
  return r.advert;
}

test('IPv6 receive checks drop what RFC 5798 §7.1 and §5.1.2 rule out, and count each', () => {
  const mc: InstanceCheck = { vrid: 51, family: 6, version: 3, advertIntMs: 100, unicast: false };
  const uc: InstanceCheck = { ...mc, unicast: true };
  assert.equal(validateAdvert(adv(packet6()), mc), null);
  // Hop limit 255 (§5.1.2.3), not checked for unicast (keepalived).
  assert.equal(validateAdvert(adv(packet6({}, { hlim: 64 })), mc), 'ip_ttl_err');
  assert.equal(validateAdvert(adv(packet6({}, { src: '2001:db8:0:1::2', dst: '2001:db8:0:1::3', hlim: 64 })), uc), null);
  // A multicast advert comes from the link-local address (§5.1.2.1); a unicast one may be global.
  assert.equal(validateAdvert(adv(packet6({}, { src: '2001:db8:0:1::2' })), mc), 'ip_src_err');
  assert.equal(counterForDrop('ip_src_err'), 'ip_src_err');
  // Multicast on a unicast instance and the reverse (keepalived: addr_list_err).
  assert.equal(validateAdvert(adv(packet6()), uc), 'addr_list_err');
  assert.equal(validateAdvert(adv(packet6({}, { dst: '2001:db8:0:1::3' })), mc), 'addr_list_err');
  // The family is the instance's (keepalived: one instance, one family).
  assert.equal(validateAdvert(adv(packet6()), { ...mc, family: 4 }), 'ip_header_err');
  assert.equal(validateAdvert(adv(packet({ version: 3 })), mc), 'ip_header_err');
});

test('IPv6 decode drops: truncated or overlong address lists, bad checksums, v2 over IPv6, other next headers', () => {
  const good = packet6({ addresses: ['2001:db8::1', '2001:db8::2'] });
  assert.ok(decodeAdvert(good).ok);
  const drop = (b: Buffer): string => { const r = decodeAdvert(b); return r.ok ? 'ok' : r.reason; };
  assert.equal(drop(good.subarray(0, good.length - 1)), 'packet_len_err', 'one byte of the address list missing');
  assert.equal(drop(good.subarray(0, good.length - 16)), 'packet_len_err', 'a whole address missing');
  {
    const b = Buffer.from(good);
    b[40 + 3] = 3; // count says three, two are there
    fixChecksum(b);
    assert.equal(drop(b), 'packet_len_err');
  }
  {
    const b = Buffer.from(good);
    b.writeUInt16BE(b.readUInt16BE(4) + 16, 4); // payload length beyond the packet
    assert.equal(drop(b), 'packet_len_err');
  }
  {
    const b = Buffer.from(good);
    b[b.length - 1]! ^= 1;
    assert.equal(drop(b), 'checksum_err');
    // The same message with the IPv4 pseudo-header's idea of the sum is wrong over IPv6.
    const v4sum = Buffer.from(good);
    v4sum.writeUInt16BE(vrrpChecksum(3, Buffer.concat([v4sum.subarray(40, 46), Buffer.alloc(2), v4sum.subarray(48)]), 0xc0000201, 0xe0000012), 46);
    assert.equal(drop(v4sum), 'checksum_err');
  }
  {
    const b = Buffer.from(good);
    b[40] = 0x21; // VRRPv2
    fixChecksum(b);
    assert.equal(drop(b), 'version_err');
  }
  {
    const b = Buffer.from(good);
    b[6] = 58; // ICMPv6
    assert.equal(drop(b), 'ip_header_err');
  }
  const r = decodeAdvert(good.subarray(0, good.length - 1));
  assert.ok(!r.ok && r.vrid === 51 && r.family === 6, 'the drop names the VRID and the family, so it is counted against the instance');
});

const v6: ReceiveInstance = { name: 'VI_6', vrid: 51, family: 6, version: 3, advertIntMs: 100, unicast: false, vips: ['2001:db8:0:1::1'] };
const v4: ReceiveInstance = { name: 'VI_4', vrid: 51, family: 4, version: 3, advertIntMs: 100, unicast: false, vips: ['192.0.2.100'] };
const byFamily = (vrid: number, family: 4 | 6): ReceiveInstance | undefined => (vrid !== 51 ? undefined : family === 6 ? v6 : v4);

test('an IPv4 and an IPv6 instance share VRID 51 on one interface: each advert finds its own', () => {
  const r6 = receiveAdvert(packet6(), byFamily);
  assert.ok(r6.kind === 'advert' && r6.instance === 'VI_6');
  assert.deepEqual(r6.event, { type: 'advert', priority: 150, srcIp: LL_SRC, advertIntMs: 100 });
  assert.deepEqual(r6.counters, []);
  const r4 = receiveAdvert(packet({ version: 3 }), byFamily);
  assert.ok(r4.kind === 'advert' && r4.instance === 'VI_4');
  const hl = receiveAdvert(packet6({}, { hlim: 1 }), byFamily);
  assert.deepEqual(hl, { kind: 'drop', instance: 'VI_6', reason: 'ip_ttl_err', counter: 'ip_ttl_err' });
  const trunc = receiveAdvert(packet6().subarray(0, 60), byFamily);
  assert.deepEqual(trunc, { kind: 'drop', instance: 'VI_6', reason: 'packet_len_err', counter: 'packet_len_err' });
  assert.equal(receiveAdvert(packet6({}, { src: LL_SRC }), byFamily, (ip) => ip === LL_SRC).kind, 'own');
});

test('explainDrop over IPv6 says what was received and what was expected', () => {
  assert.equal(explainDrop(packet6({}, { hlim: 64 }), 'ip_ttl_err', v6), 'hop limit 64, expected 255 (RFC 5798 section 5.1.2.3)');
  assert.match(explainDrop(packet6({}, { src: '2001:db8::9' }), 'ip_src_err', v6), /^source 2001:db8::9 is not a link-local address/);
  assert.match(explainDrop(packet6().subarray(0, 60), 'packet_len_err', v6), /^60 bytes \(IPv6 payload length 24\), expected 64 for VRRPv3 over IPv6 with 1 addresses$/);
  assert.equal(explainDrop(packet6({}, { dst: '2001:db8::3' }), 'addr_list_err', v6), 'sent to 2001:db8::3, but this instance expects multicast to ff02::12');
  const bad = packet6();
  bad[bad.length - 1]! ^= 1;
  assert.match(explainDrop(bad, 'checksum_err', v6), /^checksum 0x[0-9a-f]{4}, computed 0x[0-9a-f]{4}$/);
  assert.match(explainDrop(packet6({ vrid: 9 }), 'vrid_err', undefined), /VRID 9, no instance has it on this interface over IPv6/);
});
