// The one IP address module: IPv4 and IPv6 text (RFC 4291 §2.2) in, canonical text (RFC 5952)
// out, unsigned comparison, prefixes, multicast; and every caller agreeing on what an address is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  canonicalIp, compareIp, compareIpv4, formatIp, formatIpv4, formatIpv6, inPrefix, ipFamily, ipHex, ipv4Bytes,
  ipv4MaskLength, ipv4OfSocketAddress, ipv4PrefixMask, ipv4ToUint32, isMulticast, isMulticastIpv4, networkOf,
  parseIp, parseIpPrefix, parseIpv4, parseIpv6, prefixMaskBytes, type IpAddress,
} from '../../../src/util/ip.ts';
import { inSubnet, isIpv4 as configIsIpv4, maskToPrefix } from '../../../src/config/net.ts';
import { conntrackDeleteArgv } from '../../../src/lb/conntrack.ts';
import { vsObjectName } from '../../../src/lb/plan.ts';
import { addrNumber } from '../../../src/lb/forwarder/scheduler.ts';
import { ipv4Header } from '../../../src/vrrp/worker/transport.ts';
import { encodeAdvert } from '../../../src/vrrp/codec.ts';

const ip = (s: string): IpAddress => {
  const a = parseIp(s);
  assert.ok(a, `${s} parses`);
  return a;
};
const hex = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString('hex') : null);

test('IPv4: dotted quads of decimal octets; leading zeros, signs, spaces and out-of-range octets refused', () => {
  assert.equal(parseIpv4('0.0.0.0'), 0);
  assert.equal(parseIpv4('192.0.2.1'), 0xc0000201);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4('10.0.0.0'), 0x0a000000);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1.2.3.00', '256.1.1.1', '1.2.3.999', '1..2.3',
    ' 1.2.3.4', '1.2.3.4 ', '+1.2.3.4', '-1.2.3.4', '1e2.1.1.1', '0x1.2.3.4', '1.2.3.4/32', '１.2.3.4', '1.2.3.', '::1']) {
    assert.equal(parseIpv4(bad), null, JSON.stringify(bad));
  }
  assert.throws(() => ipv4ToUint32('010.0.0.1'), /not an IPv4 address: "010.0.0.1"/);
});

test('IPv4: format, bytes and unsigned comparison (RFC 5798 §6.4.3 tie-break across the sign bit)', () => {
  for (const s of ['0.0.0.0', '192.0.2.1', '203.0.113.255', '255.255.255.255']) assert.equal(formatIpv4(ipv4ToUint32(s)), s);
  assert.deepEqual([...ipv4Bytes(0xc0000201)], [192, 0, 2, 1]);
  assert.ok(compareIpv4('128.0.0.0', '127.255.255.255') > 0);
  assert.ok(compareIpv4('192.0.2.1', '192.0.2.10') < 0);
  assert.equal(compareIpv4('192.0.2.1', '192.0.2.1'), 0);
  assert.ok(compareIp(ip('255.0.0.0'), ip('1.0.0.0')) > 0);
});

test('IPv4: multicast is 224.0.0.0/4; masks and prefix lengths', () => {
  for (const s of ['224.0.0.18', '239.255.255.255']) assert.ok(isMulticastIpv4(ipv4ToUint32(s)) && isMulticast(ip(s)), s);
  for (const s of ['223.255.255.255', '240.0.0.0', '192.0.2.1']) assert.ok(!isMulticastIpv4(ipv4ToUint32(s)) && !isMulticast(ip(s)), s);
  assert.equal(ipv4PrefixMask(0), 0);
  assert.equal(ipv4PrefixMask(24), 0xffffff00);
  assert.equal(ipv4PrefixMask(32), 0xffffffff);
  assert.throws(() => ipv4PrefixMask(33), RangeError);
  assert.throws(() => ipv4PrefixMask(1.5), RangeError);
  for (let n = 0; n <= 32; n++) assert.equal(ipv4MaskLength(ipv4PrefixMask(n)), n);
  assert.equal(ipv4MaskLength(ipv4ToUint32('255.0.255.0')), null);
  assert.equal(ipv4MaskLength(ipv4ToUint32('0.255.255.255')), null);
});

test('IPv6: the three text forms of RFC 4291 §2.2', () => {
  // §2.2 item 1 and its examples; item 2's compressed equivalents; item 3's mixed form.
  const same: Array<[string, string]> = [
    ['2001:DB8:0:0:8:800:200C:417A', '2001:DB8::8:800:200C:417A'],
    ['FF01:0:0:0:0:0:0:101', 'FF01::101'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:13.1.68.3', '::13.1.68.3'],
    ['0:0:0:0:0:FFFF:129.144.52.38', '::FFFF:129.144.52.38'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7::'],
  ];
  for (const [a, b] of same) {
    assert.ok(parseIpv6(a), a);
    assert.equal(hex(parseIpv6(a)), hex(parseIpv6(b)), `${a} = ${b}`);
  }
  assert.equal(hex(parseIpv6('::1')), '00000000000000000000000000000001');
  assert.equal(hex(parseIpv6('2001:db8::8:800:200c:417a')), '20010db80000000000080800200c417a');
  assert.equal(hex(parseIpv6('::ffff:192.0.2.1')), '00000000000000000000ffffc0000201');
});

test('IPv6: malformed text is refused', () => {
  for (const bad of ['', ':', ':::', '1:::2', '1::2::3', '::1::', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', ':1::2', '1::2:', '1:2:3:4:5:6:7:8:', 'g::1', '::1.2.3.04', '::256.1.1.1',
    '::1.2.3.4:1', '1.2.3.4::', '::1.2.3', 'fe80::1%eth0', '2001:db8::/32', ' ::1', '::1 ', '[::1]', '1:2:3:4:5:6:7:1.2.3.4',
    '0000:0000:0000:0000:0000:0000:0000:0000:0']) {
    assert.equal(parseIpv6(bad), null, JSON.stringify(bad));
  }
});

test('IPv6: canonical text per RFC 5952 §4 and §5', () => {
  const cases: Array<[string, string]> = [
    ['2001:0db8::0001', '2001:db8::1'], // §4.1 leading zeros
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'], // §4.2.1 shorten as much as possible
    ['2001:db8::0:1', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2 not for one group
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3 the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3 the first of equal runs
    ['2001:DB8::ABCD', '2001:db8::abcd'], // §4.3 lower case
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'], // §5 IPv4-mapped in mixed notation
    ['::FFFF:192.0.2.1', '::ffff:192.0.2.1'],
    ['ff02:0:0:0:0:0:0:12', 'ff02::12'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
  assert.throws(() => formatIpv6(new Uint8Array(4)), RangeError);
});

test('IPv6: random addresses round-trip, and match the WHATWG URL serializer (same compression rules)', () => {
  for (let i = 0; i < 2000; i++) {
    const b = randomBytes(16);
    // Zero runs of random length and place, so compression is exercised.
    const zs = Math.floor(Math.random() * 8) * 2;
    const ze = Math.min(16, zs + Math.floor(Math.random() * 9) * 2);
    b.fill(0, zs, ze);
    if (i % 50 === 0) b.fill(0, 0, 10).fill(0xff, 10, 12); // IPv4-mapped
    const text = formatIpv6(b);
    assert.equal(hex(parseIpv6(text)), b.toString('hex'), text);
    // Uncompressed, upper-case, zero-padded input parses to the same bytes.
    const full = [...Array(8).keys()].map((k) => b.readUInt16BE(2 * k).toString(16).toUpperCase().padStart(4, '0')).join(':');
    assert.equal(hex(parseIpv6(full)), b.toString('hex'), full);
    if (!text.includes('.')) assert.equal(new URL(`http://[${full}]/`).hostname, `[${text}]`, full);
  }
});

test('either family: one value type, family order, prefixes, multicast, hex', () => {
  assert.equal(ipFamily('192.0.2.1'), 4);
  assert.equal(ipFamily('2001:db8::1'), 6);
  assert.equal(ipFamily('example.com'), 0);
  assert.equal(ipFamily('010.0.0.1'), 0);
  assert.equal(formatIp(ip('2001:DB8:0::1')), '2001:db8::1');
  assert.equal(formatIp(ip('192.0.2.1')), '192.0.2.1');
  assert.ok(compareIp(ip('255.255.255.255'), ip('::')) < 0, 'IPv4 sorts first');
  assert.ok(compareIp(ip('8000::'), ip('7fff:ffff::')) > 0, 'unsigned');
  assert.equal(compareIp(ip('2001:db8::1'), ip('2001:DB8:0:0:0:0:0:1')), 0);
  assert.ok(isMulticast(ip('ff02::12')));
  assert.ok(!isMulticast(ip('fe80::1')));
  assert.equal(ipHex(ip('203.0.113.10')), 'cb00710a');
  assert.equal(ipHex(ip('2001:db8::1')), '20010db8000000000000000000000001');

  assert.ok(inPrefix(ip('192.0.2.200'), ip('192.0.2.0'), 24));
  assert.ok(!inPrefix(ip('192.0.3.1'), ip('192.0.2.0'), 24));
  assert.ok(inPrefix(ip('198.51.100.7'), ip('0.0.0.0'), 0));
  assert.ok(inPrefix(ip('2001:db8:1::5'), ip('2001:db8::'), 32));
  assert.ok(!inPrefix(ip('2001:db9::'), ip('2001:db8::'), 32));
  assert.ok(inPrefix(ip('2001:db8::1'), ip('2001:db8::1'), 128));
  assert.ok(!inPrefix(ip('192.0.2.1'), ip('::ffff:192.0.2.0'), 120), 'never across families');
  assert.ok(!inPrefix(ip('192.0.2.1'), ip('192.0.2.0'), 33));
  assert.equal(formatIp(networkOf(ip('2001:db8:abcd:12::1'), 49)), '2001:db8:abcd::');
  assert.equal(formatIp(networkOf(ip('198.51.100.77'), 26)), '198.51.100.64');
  assert.equal(hex(prefixMaskBytes(6, 65)), 'ffffffffffffffff8000000000000000');
  assert.throws(() => prefixMaskBytes(4, 33), RangeError);

  const p = parseIpPrefix('2001:db8::/32');
  assert.ok(p);
  assert.equal(formatIp(p.address), '2001:db8::');
  assert.equal(p.length, 32);
  assert.equal(parseIpPrefix('192.0.2.0/24')?.length, 24);
  for (const bad of ['192.0.2.0', '192.0.2.0/33', '192.0.2.0/024', '2001:db8::/129', '192.0.2.0/', '/24', '192.0.2.0/2x']) {
    assert.equal(parseIpPrefix(bad), null, bad);
  }

  assert.equal(ipv4OfSocketAddress('198.51.100.7'), 0xc6336407);
  assert.equal(ipv4OfSocketAddress('::ffff:198.51.100.7'), 0xc6336407);
  assert.equal(ipv4OfSocketAddress('::1'), null);
  assert.equal(ipv4OfSocketAddress(''), null);
});

test('every caller agrees on what an IPv4 address is (one parser)', () => {
  const inputs = ['192.0.2.1', '0.0.0.0', '255.255.255.255', '192.0.2.01', '010.0.0.1', '256.0.0.1', '1.2.3', '1.2.3.4.5', '::1', ''];
  for (const s of inputs) {
    const want = parseIpv4(s) !== null;
    const accepts = (fn: () => unknown): boolean => {
      try {
        fn();
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(configIsIpv4(s), want, `config ${s}`);
    // conntrack and the nft object names take either family (IPv6 virtual servers): they agree on both.
    const either = parseIp(s) !== null;
    assert.equal(accepts(() => conntrackDeleteArgv(s, 80, 'tcp')), either, `conntrack ${s}`);
    assert.equal(accepts(() => vsObjectName({ address: s, port: 80, protocol: 'TCP' })), either, `nft object name ${s}`);
    assert.equal(!Number.isNaN(addrNumber(s)), want, `forwarder ${s}`);
    assert.equal(accepts(() => ipv4Header(s, '224.0.0.18', 20, 1)), want, `raw-socket header ${s}`);
    assert.equal(accepts(() => encodeAdvert({ version: 2, vrid: 1, priority: 100, advertIntMs: 1000, addresses: [s] })), want, `codec ${s}`);
  }
  // The configuration's helpers on top of it.
  assert.ok(inSubnet('192.0.2.77', '192.0.2.0', 24));
  assert.ok(!inSubnet('192.0.2.077', '192.0.2.0', 24));
  assert.ok(inSubnet('2001:db8::1', '2001:db8::', 32), 'IPv6 prefixes too (VIPs may be IPv6)');
  assert.ok(!inSubnet('2001:db8::1', '192.0.2.0', 24), 'never across families');
  assert.equal(maskToPrefix('255.255.240.0'), 20);
  assert.equal(maskToPrefix('255.255.255.010'), null);
});
