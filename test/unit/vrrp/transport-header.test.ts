// The IPv4 header the raw-socket transport builds (IP_HDRINCL), checksummed by the one RFC 1071
// implementation: byte for byte the header keepalived sent in the capture corpus. The IPv6
// header it builds (IPV6_HDRINCL) and the one it rebuilds from a received packet's ancillary
// data, against keepalived's IPv6 adverts captured in the lab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv4Header, ipv6Header, rebuildIpv6Packet } from '../../../src/vrrp/worker/transport.ts';
import { decodeAdvert } from '../../../src/vrrp/codec.ts';
import { inetChecksum, onesSum } from '../../../src/vrrp/checksum.ts';
import { loadCorpus, loadIpv6Vectors } from './helpers.ts';

test('RFC 1071 §3 numerical example', () => {
  const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
  assert.equal(onesSum(b), 0xddf2);
  assert.equal(inetChecksum(b), 0x220d);
});

test('transport IPv4 header equals keepalived\'s captured header, checksum included', () => {
  const ka = loadCorpus().filter((e) => e.name.startsWith('ka-'));
  assert.ok(ka.length >= 4);
  for (const e of ka) {
    const pkt = Buffer.from(e.ip_packet_hex, 'hex');
    const want = pkt.subarray(0, 20);
    const h = ipv4Header(e.ip_src, e.ip_dst, pkt.length - 20, want.readUInt16BE(4));
    assert.equal(h.toString('hex'), want.toString('hex'), e.name);
    assert.equal(inetChecksum(h), 0, `${e.name}: a header with its checksum sums to zero`);
  }
});

test('transport IPv4 header checksum over varied addresses, lengths and ids', () => {
  for (const [src, dst, len, id] of [['192.0.2.1', '224.0.0.18', 20, 0], ['203.0.113.254', '198.51.100.9', 1480, 0xffff], ['255.255.255.255', '255.255.255.255', 65515, 0x8001]] as const) {
    const h = ipv4Header(src, dst, len, id);
    assert.equal(onesSum(h), 0xffff, `${src} → ${dst}`);
    assert.equal(h.readUInt16BE(2), 20 + len);
  }
  assert.throws(() => ipv4Header('192.0.2.01', '224.0.0.18', 20, 1), /not an IPv4 address/);
});

test('transport IPv6 header: keepalived\'s captured header apart from the flow label (keepalived\'s is the kernel\'s random one)', () => {
  for (const e of loadIpv6Vectors()) {
    const pkt = Buffer.from(e.ip_packet_hex, 'hex');
    const h = ipv6Header(e.ip_src, e.ip_dst, pkt.length - 40, e.ip_hlim);
    const mask = (b: Buffer): string => { const c = Buffer.from(b.subarray(0, 40)); c[1]! &= 0xf0; c[2] = 0; c[3] = 0; return c.toString('hex'); };
    assert.equal(mask(h), mask(pkt), e.name);
    assert.equal(h.readUInt32BE(0) & 0xfffff, 0, 'flow label 0');
  }
  assert.equal(ipv6Header('fe80::1', 'ff02::12', 24)[7], 255, 'hop limit 255 (RFC 5798 §5.1.2.3)');
  assert.throws(() => ipv6Header('192.0.2.1', 'ff02::12', 24), /IPv6 header needs IPv6 addresses/);
});

test('an IPv6 packet rebuilt from what the socket reports decodes as it was on the wire', () => {
  for (const e of loadIpv6Vectors()) {
    const pkt = Buffer.from(e.ip_packet_hex, 'hex');
    const rebuilt = rebuildIpv6Packet(pkt.subarray(40), `${e.ip_src}%eth0`, e.ip_hlim, e.ip_dst)!;
    const a = decodeAdvert(pkt);
    const b = decodeAdvert(rebuilt);
    assert.ok(a.ok && b.ok, e.name);
    assert.deepEqual({ ...b.advert }, { ...a.advert }, e.name);
  }
  const msg = Buffer.from(loadIpv6Vectors()[0]!.ip_packet_hex, 'hex').subarray(40);
  // No ancillary data: the hop limit is not checked (255) and the destination is not multicast.
  const bare = rebuildIpv6Packet(msg, 'fe80::1', -1, '')!;
  assert.equal(bare[7], 255);
  assert.equal(bare.subarray(24, 40).toString('hex'), '0'.repeat(32));
  assert.equal(rebuildIpv6Packet(msg, 'not-an-address', 255, 'ff02::12'), null);
});
