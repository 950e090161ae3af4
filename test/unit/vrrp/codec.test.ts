import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressListMatches,
  decodeAdvert,
  encodeAdvert,
  passBytes,
  validateAdvert,
  type Advert,
  type InstanceCheck,
} from '../../../src/vrrp/codec.ts';
import { inetChecksum, vrrpChecksum } from '../../../src/vrrp/checksum.ts';
import { counterForDrop } from '../../../src/vrrp/counters.ts';
import { fixChecksum, ipWrap, loadCorpus, packet } from './helpers.ts';

const corpus = loadCorpus();

test('corpus is there and holds v2, v2 PASS, v3 and priority 0 vectors', () => {
  const names = corpus.map((e) => e.name);
  for (const n of ['ka-v2', 'ka-v2-pass', 'ka-v3', 'ka-v3-prio0', 'frr-v3']) assert.ok(names.includes(n), n);
});

for (const e of corpus) {
  test(`decode corpus vector ${e.name} (${e.source})`, () => {
    const pkt = Buffer.from(e.ip_packet_hex, 'hex');
    const r = decodeAdvert(pkt);
    assert.ok(r.ok, r.ok ? '' : `dropped: ${r.reason}`);
    const a = r.advert;
    const d = e.decoded;
    assert.equal(a.version, d.version);
    assert.equal(a.type, d.type);
    assert.equal(a.vrid, d.vrid);
    assert.equal(a.priority, d.priority);
    assert.equal(a.countIp, d.count_ip_addrs);
    assert.equal(a.checksum, Number(d.checksum));
    assert.deepEqual(a.addresses, d.addresses);
    assert.equal(a.srcIp, e.ip_src);
    assert.equal(a.dstIp, e.ip_dst);
    assert.equal(a.ttl, e.ip_ttl);
    if (d.version === 2) {
      assert.equal(a.authType, d.auth_type);
      assert.equal(a.advertIntRaw, d.adver_int_seconds);
      assert.equal(a.advertIntMs, d.adver_int_seconds! * 1000);
      assert.equal(a.authData!.toString('latin1').replace(/\0+$/, ''), d.auth_data);
    } else {
      assert.equal(a.advertIntRaw, d.max_adver_int_centiseconds);
      assert.equal(a.advertIntMs, d.max_adver_int_centiseconds! * 10);
      assert.equal(a.authData, undefined);
    }
  });

  test(`re-encode corpus vector ${e.name} to the same VRRP bytes`, () => {
    const pkt = Buffer.from(e.ip_packet_hex, 'hex');
    const ihl = (pkt[0]! & 15) * 4;
    const d = e.decoded;
    const out = encodeAdvert({
      version: d.version,
      vrid: d.vrid,
      priority: d.priority,
      advertIntMs: d.version === 2 ? d.adver_int_seconds! * 1000 : d.max_adver_int_centiseconds! * 10,
      addresses: d.addresses,
      authPass: d.auth_type === 1 ? d.auth_data! : null,
      srcIp: e.ip_src,
      dstIp: e.ip_dst,
    });
    assert.equal(out.toString('hex'), pkt.subarray(ihl).toString('hex'));
  });
}

test('checksum: v2 plain, v3 with pseudo-header (they differ on the same bytes)', () => {
  const v3 = corpus.find((e) => e.name === 'ka-v3')!;
  const pkt = Buffer.from(v3.ip_packet_hex, 'hex');
  const msg = Buffer.from(pkt.subarray(20));
  const src = pkt.readUInt32BE(12);
  const dst = pkt.readUInt32BE(16);
  assert.equal(vrrpChecksum(3, msg, src, dst), 0xd3cb);
  assert.notEqual(vrrpChecksum(2, msg), 0xd3cb);
  assert.throws(() => vrrpChecksum(3, msg), /source and destination/);
  // RFC 1071 example words 0001 f203 f4f5 f6f7 sum to ddf2 -> checksum 220d.
  assert.equal(inetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex')), 0x220d);
  // Odd length pads with a zero byte.
  assert.equal(inetChecksum(Buffer.from([0x01])), ~0x0100 & 0xffff);
});

test('encode v2 PASS truncates to 8 bytes and pads with zeros', () => {
  assert.deepEqual(passBytes('s3cret'), Buffer.from('s3cret\0\0', 'latin1'));
  assert.deepEqual(passBytes('averylongpassword'), Buffer.from('averylon', 'latin1'));
  const msg = encodeAdvert({ version: 2, vrid: 1, priority: 100, advertIntMs: 1000, addresses: ['192.0.2.9'], authPass: 'averylongpassword' });
  assert.equal(msg.length, 8 + 4 + 8);
  assert.equal(msg[4], 1);
  assert.equal(msg.subarray(12).toString('latin1'), 'averylon');
  const r = decodeAdvert(ipWrap(msg));
  assert.ok(r.ok);
});

test('encode refuses what cannot be on the wire, with a clear error', () => {
  const base = { version: 3 as const, vrid: 1, priority: 100, advertIntMs: 100, addresses: ['192.0.2.1'], srcIp: '192.0.2.1', dstIp: '224.0.0.18' };
  assert.throws(() => encodeAdvert({ ...base, vrid: 0 }), /VRID/);
  assert.throws(() => encodeAdvert({ ...base, priority: 256 }), /priority/);
  assert.throws(() => encodeAdvert({ ...base, advertIntMs: 105 }), /centiseconds/);
  assert.throws(() => encodeAdvert({ ...base, advertIntMs: 41000 }), /centiseconds/);
  assert.throws(() => encodeAdvert({ ...base, version: 2, advertIntMs: 1500 }), /whole seconds/);
  assert.throws(() => encodeAdvert({ ...base, srcIp: undefined }), /srcIp/);
  assert.throws(() => encodeAdvert({ ...base, addresses: ['192.0.2.300'] }), /IPv4/);
});

test('round trip: random valid adverts decode to what was encoded', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  for (let i = 0; i < 500; i++) {
    const version = rnd(2) ? 3 : 2;
    const addresses = Array.from({ length: rnd(20) + 1 }, () => `203.0.113.${rnd(256)}`);
    const p = {
      version: version as 2 | 3,
      vrid: rnd(255) + 1,
      priority: rnd(256),
      advertIntMs: version === 2 ? (rnd(255) + 1) * 1000 : (rnd(4095) + 1) * 10,
      addresses,
      authPass: version === 2 && rnd(2) ? 'pw' + rnd(1000) : null,
    };
    const r = decodeAdvert(packet(p, { src: `198.51.100.${rnd(256)}` }));
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.equal(r.advert.vrid, p.vrid);
    assert.equal(r.advert.priority, p.priority);
    assert.equal(r.advert.advertIntMs, p.advertIntMs);
    assert.deepEqual(r.advert.addresses, addresses);
  }
});

test('IP options (IHL > 5) are skipped', () => {
  // Router Alert option (RFC 2113), 4 bytes.
  const pkt = packet({}, { options: Buffer.from([0x94, 0x04, 0x00, 0x00]) });
  const r = decodeAdvert(pkt);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.deepEqual(r.advert.addresses, ['192.0.2.100']);
});

function dropOf(buf: Buffer): string {
  const r = decodeAdvert(buf);
  return r.ok ? 'ok' : r.reason;
}

test('decode drop reasons', () => {
  const good = packet({ version: 3 });
  assert.equal(dropOf(good), 'ok');
  assert.equal(dropOf(good.subarray(0, 10)), 'packet_len_err', 'shorter than an IP header');
  assert.equal(dropOf(good.subarray(0, 24)), 'packet_len_err', 'no full VRRP header');
  assert.equal(dropOf(good.subarray(0, good.length - 1)), 'packet_len_err', 'truncated address');
  {
    const b = Buffer.from(good);
    b[0] = 0x60 | 5;
    assert.equal(dropOf(b), 'ip_header_err', 'IPv6 version nibble');
  }
  {
    const b = Buffer.from(good);
    b[9] = 51;
    assert.equal(dropOf(b), 'ip_header_err', 'protocol AH');
  }
  {
    const b = Buffer.from(good);
    b[0] = 0x44;
    assert.equal(dropOf(b), 'packet_len_err', 'IHL 4');
  }
  {
    const b = Buffer.from(good);
    b[0] = 0x4f;
    assert.equal(dropOf(b), 'packet_len_err', 'IHL beyond the data');
  }
  {
    const b = Buffer.from(good);
    b.writeUInt16BE(b.length + 40, 2);
    assert.equal(dropOf(b), 'packet_len_err', 'tot_len beyond the buffer');
  }
  {
    const b = Buffer.from(good);
    b[20 + 3] = 2; // count says 2, only 1 address present
    assert.equal(dropOf(fixChecksum(b)), 'packet_len_err', 'count vs length');
  }
  {
    const b = Buffer.from(good);
    b[20 + 3] = 255;
    assert.equal(dropOf(b), 'packet_len_err', 'huge count');
  }
  {
    const b = Buffer.from(good);
    b[20] = 0x41;
    assert.equal(dropOf(fixChecksum(b)), 'version_err');
  }
  {
    const b = Buffer.from(good);
    b[20] = 0x32;
    assert.equal(dropOf(fixChecksum(b)), 'invalid_type');
  }
  {
    const b = Buffer.from(good);
    b[20 + 2] ^= 1;
    assert.equal(dropOf(b), 'checksum_err');
  }
  {
    // A v3 checksum computed without the pseudo-header (v2 style) is wrong.
    const b = Buffer.from(good);
    const msg = b.subarray(20);
    msg.writeUInt16BE(0, 6);
    msg.writeUInt16BE(inetChecksum(msg), 6);
    assert.equal(dropOf(b), 'checksum_err');
  }
  {
    // The same bytes from another source fail the v3 pseudo-header checksum.
    const b = Buffer.from(good);
    b.writeUInt32BE(0xc0000202, 12);
    assert.equal(dropOf(b), 'checksum_err');
  }
  {
    const b = packet({ version: 2 });
    b[20 + 4] = 3;
    assert.equal(dropOf(fixChecksum(b)), 'invalid_authtype');
  }
  {
    // Ethernet padding after a short frame is tolerated, a long tail is not.
    assert.equal(dropOf(Buffer.concat([good, Buffer.alloc(4)])), 'ok');
    const big = packet({ addresses: Array.from({ length: 10 }, (_, i) => `192.0.2.${i}`) });
    assert.equal(dropOf(Buffer.concat([big, Buffer.alloc(4)])), 'packet_len_err');
  }
});

function adv(buf: Buffer): Advert {
  const r = decodeAdvert(buf);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.advert;
}

test('validate drop reasons against an instance', () => {
  const v2: InstanceCheck = { vrid: 51, version: 2, advertIntMs: 1000, authType: 'PASS', authPass: 's3cret', unicast: false };
  const ok2 = adv(packet({ version: 2, authPass: 's3cret' }));
  assert.equal(validateAdvert(ok2, v2), null);
  assert.equal(validateAdvert(adv(packet({ version: 2, authPass: 's3cret', vrid: 52 })), v2), 'vrid_err');
  assert.equal(validateAdvert(adv(packet({ version: 2, authPass: 's3cret' }, { ttl: 64 })), v2), 'ip_ttl_err');
  assert.equal(validateAdvert(adv(packet({ version: 3 })), v2), 'version_err');
  assert.equal(validateAdvert(adv(packet({ version: 2 })), v2), 'auth_type_mismatch');
  assert.equal(validateAdvert(adv(packet({ version: 2, authPass: 'wrong' })), v2), 'auth_failure');
  // keepalived truncates to 8 on both sides: passwords equal in their first 8 bytes match.
  assert.equal(
    validateAdvert(adv(packet({ version: 2, authPass: '12345678abc' })), { ...v2, authPass: '12345678xyz' }),
    null,
  );
  assert.equal(validateAdvert(adv(packet({ version: 2, authPass: 's3cret', advertIntMs: 2000 })), v2), 'advert_interval_err');
  assert.equal(validateAdvert(adv(packet({ version: 2, authPass: 's3cret' }, { dst: '192.0.2.2' })), v2), 'addr_list_err');
  const none2: InstanceCheck = { vrid: 51, version: 2, advertIntMs: 1000, unicast: false };
  assert.equal(validateAdvert(adv(packet({ version: 2, authPass: 's3cret' })), none2), 'auth_type_mismatch');
  assert.equal(validateAdvert(adv(packet({ version: 2 })), none2), null);

  // v3: interval mismatch is not a drop (the backup learns it); unicast skips TTL.
  const v3: InstanceCheck = { vrid: 51, version: 3, advertIntMs: 1000, unicast: false };
  assert.equal(validateAdvert(adv(packet({ version: 3, advertIntMs: 100 })), v3), null);
  const uni: InstanceCheck = { ...v3, unicast: true };
  assert.equal(validateAdvert(adv(packet({ version: 3 }, { dst: '192.0.2.2', ttl: 64 })), uni), null);
  assert.equal(validateAdvert(adv(packet({ version: 3 })), uni), 'addr_list_err', 'multicast on unicast instance');
});

test('address list check (counted, not dropped) and drop counters', () => {
  const a = adv(packet({ addresses: ['192.0.2.100', '192.0.2.101'] }));
  assert.equal(addressListMatches(a, ['192.0.2.101', '192.0.2.100']), true);
  assert.equal(addressListMatches(a, ['192.0.2.100']), false);
  assert.equal(addressListMatches(a, ['192.0.2.100', '192.0.2.102']), false);
  assert.equal(counterForDrop('invalid_type'), 'invalid_type_rcvd');
  assert.equal(counterForDrop('auth_type_mismatch'), 'authtype_mismatch');
  assert.equal(counterForDrop('checksum_err'), 'chk_err');
  assert.equal(counterForDrop('ip_header_err'), 'packet_len_err');
});

test('failed decode names the VRID when the header was readable', () => {
  const b = packet({ vrid: 77 });
  b[22] ^= 0xff;
  const r = decodeAdvert(b);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.vrid, 77);
  const short = decodeAdvert(b.subarray(0, 22));
  assert.equal(!short.ok && short.vrid, undefined);
});

test('raw-socket drops are read from /proc/net/raw for protocol 112 only', async () => {
  const { rawSocketDrops } = await import('../../../src/vrrp/worker/transport.ts');
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
    '  1: 00000000:0070 00000000:0000 07 00000000:00040000 00:00000000 00000000     0        0 81234 2 0000000000000000 50883',
    '  2: 00000000:0070 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81235 2 0000000000000000 17',
    '  3: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81236 2 0000000000000000 999',
  ].join('\n');
  assert.equal(rawSocketDrops(text), 50900);
  assert.equal(rawSocketDrops(''), 0);
});
