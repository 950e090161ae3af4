// The IPv4 header the raw-socket transport builds (IP_HDRINCL), checksummed by the one RFC 1071
// implementation: byte for byte the header keepalived sent in the capture corpus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv4Header } from '../../../src/vrrp/worker/transport.ts';
import { inetChecksum, onesSum } from '../../../src/vrrp/checksum.ts';
import { loadCorpus } from './helpers.ts';

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
