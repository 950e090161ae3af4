// Fuzz: random and mutated packets into the decoder and validator. Nothing may throw; every
// input is either accepted or dropped with a known reason that maps to a counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAdvert, validateAdvert, type DropReason, type InstanceCheck } from '../../../src/vrrp/codec.ts';
import { COUNTER_NAMES, counterForDrop } from '../../../src/vrrp/counters.ts';
import { explainDrop, receiveAdvert } from '../../../src/vrrp/receive.ts';
import { fixChecksum, loadCorpus, loadIpv6Vectors, packet, packet6 } from './helpers.ts';

/** mulberry32: small, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REASONS = new Set<DropReason>([
  'packet_len_err', 'ip_header_err', 'version_err', 'invalid_type', 'checksum_err', 'invalid_authtype',
  'ip_ttl_err', 'vrid_err', 'auth_type_mismatch', 'auth_failure', 'advert_interval_err', 'addr_list_err',
  'ip_src_err',
]);

test('fuzz: 120,000 random and mutated packets never throw and are all accounted for', () => {
  const rnd = prng(0x7a11de);
  const int = (n: number) => Math.floor(rnd() * n);
  const seeds: Buffer[] = [
    ...loadCorpus().map((e) => Buffer.from(e.ip_packet_hex, 'hex')),
    packet({ version: 2, authPass: 'pw' }),
    packet({ version: 3, addresses: Array.from({ length: 40 }, (_, i) => `198.51.100.${i}`) }),
    packet({ version: 3 }, { options: Buffer.from([0x94, 0x04, 0, 0]) }),
  ];
  const inst2: InstanceCheck = { vrid: 51, version: 2, advertIntMs: 1000, authType: 'PASS', authPass: 's3cret', unicast: false };
  const inst3: InstanceCheck = { vrid: 51, version: 3, advertIntMs: 100, unicast: false };
  const tally = new Map<string, number>();
  const N = 120_000;
  for (let i = 0; i < N; i++) {
    let buf: Buffer;
    const kind = i % 8;
    const base = Buffer.from(seeds[int(seeds.length)]!);
    switch (kind) {
      case 0: // pure random bytes of random length
        buf = Buffer.from(Array.from({ length: int(120) }, () => int(256)));
        break;
      case 1: // truncation
        buf = base.subarray(0, int(base.length + 1));
        break;
      case 2: // random bit flips
        buf = base;
        for (let k = int(4) + 1; k > 0; k--) buf[int(buf.length)]! ^= 1 << int(8);
        break;
      case 3: // bogus or huge address count, checksum fixed so the length check is what fires
        buf = base;
        buf[((buf[0]! & 15) * 4) + 3] = int(256);
        if (rnd() < 0.5) fixChecksum(buf);
        break;
      case 4: // wrong IHL
        buf = base;
        buf[0] = 0x40 | int(16);
        break;
      case 5: // ip tot_len beyond or below the buffer
        buf = base;
        buf.writeUInt16BE(int(0x10000), 2);
        break;
      case 6: // extra or missing bytes at the end
        buf = rnd() < 0.5 ? Buffer.concat([base, Buffer.alloc(int(64))]) : base.subarray(0, Math.max(0, base.length - int(8)));
        break;
      default: // random VRRP header bytes with a correct checksum: deeper paths
        buf = base;
        for (let k = 20; k < Math.min(buf.length, 28); k++) if (rnd() < 0.3) buf[k] = int(256);
        if (buf.length >= 28 && (buf[0]! & 15) === 5) fixChecksum(buf);
    }
    let r;
    try {
      r = decodeAdvert(buf);
    } catch (err) {
      assert.fail(`decode threw on case ${i} (${buf.toString('hex')}): ${String(err)}`);
    }
    let outcome: string;
    if (r.ok) {
      assert.equal(r.advert.addresses.length, r.advert.countIp);
      assert.ok(r.advert.version === 2 || r.advert.version === 3);
      const v = validateAdvert(r.advert, r.advert.version === 2 ? inst2 : inst3);
      if (v !== null) assert.ok(REASONS.has(v), v);
      outcome = v === null ? 'accepted' : `validate:${v}`;
    } else {
      assert.ok(REASONS.has(r.reason), `unknown reason ${r.reason}`);
      assert.ok((COUNTER_NAMES as readonly string[]).includes(counterForDrop(r.reason)));
      outcome = r.reason;
    }
    tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  }
  let total = 0;
  for (const n of tally.values()) total += n;
  assert.equal(total, N);
  // The mutations must reach the interesting checks, not only the first one.
  for (const want of ['packet_len_err', 'checksum_err', 'version_err', 'invalid_type', 'accepted']) {
    assert.ok((tally.get(want) ?? 0) > 0, `no input reached ${want}: ${JSON.stringify([...tally])}`);
  }
});

test('fuzz over IPv6: 60,000 mutated IPv6 adverts never throw and are all accounted for', () => {
  const rnd = prng(0x6c0ffee);
  const int = (n: number) => Math.floor(rnd() * n);
  const seeds: Buffer[] = [
    ...loadIpv6Vectors().map((e) => Buffer.from(e.ip_packet_hex, 'hex')),
    packet6(),
    packet6({ addresses: Array.from({ length: 20 }, (_, i) => `2001:db8::${i + 1}`) }),
    packet6({}, { src: '2001:db8:0:1::2', dst: '2001:db8:0:1::3', hlim: 64 }),
  ];
  const mc: InstanceCheck = { vrid: 61, family: 6, version: 3, advertIntMs: 100, unicast: false };
  const uc: InstanceCheck = { ...mc, unicast: true };
  const tally = new Map<string, number>();
  const N = 60_000;
  for (let i = 0; i < N; i++) {
    let buf = Buffer.from(seeds[int(seeds.length)]!);
    switch (i % 8) {
      case 0: // truncation anywhere, the address list included
        buf = buf.subarray(0, int(buf.length + 1));
        break;
      case 1: // bit flips
        for (let k = int(4) + 1; k > 0; k--) buf[int(buf.length)]! ^= 1 << int(8);
        break;
      case 2: // a wrong hop limit with an otherwise good packet
        buf[7] = int(256);
        break;
      case 3: // count against the list, checksum fixed so the length check is what fires
        buf[43] = int(256);
        if (rnd() < 0.5) fixChecksum(buf);
        break;
      case 4: // payload length beyond or below the packet
        buf.writeUInt16BE(int(0x10000), 4);
        break;
      case 5: // another source: global or random, checksum fixed (the source check fires)
        for (let k = 8; k < 24; k++) buf[k] = rnd() < 0.5 ? int(256) : buf[k]!;
        if (rnd() < 0.5) buf[8] = 0x20;
        fixChecksum(buf);
        break;
      case 6: // bytes added or missing at the end
        buf = rnd() < 0.5 ? Buffer.concat([buf, Buffer.alloc(int(64))]) : buf.subarray(0, Math.max(0, buf.length - int(20)));
        break;
      default: // random VRRP header bytes with a correct checksum: deeper paths
        for (let k = 40; k < Math.min(buf.length, 48); k++) if (rnd() < 0.3) buf[k] = int(256);
        if (buf.length >= 48) fixChecksum(buf);
    }
    let r;
    try {
      r = decodeAdvert(buf);
    } catch (err) {
      assert.fail(`decode threw on IPv6 case ${i} (${buf.toString('hex')}): ${String(err)}`);
    }
    // The whole receive path, the drop's log line included.
    const out = receiveAdvert(buf, (vrid) => ({ name: 'VI_6', vips: ['2001:db8:0:1::1'], ...mc, vrid }));
    if (out.kind === 'drop') assert.equal(typeof explainDrop(buf, out.reason, undefined), 'string');
    let outcome: string;
    if (r.ok) {
      assert.equal(r.advert.family, 6);
      assert.equal(r.advert.addresses.length, r.advert.countIp);
      const v = validateAdvert(r.advert, { ...(r.advert.dstIp.startsWith('ff') ? mc : uc), vrid: r.advert.vrid });
      if (v !== null) assert.ok(REASONS.has(v), v);
      outcome = v === null ? 'accepted' : `validate:${v}`;
    } else {
      assert.ok(REASONS.has(r.reason), `unknown reason ${r.reason}`);
      assert.ok((COUNTER_NAMES as readonly string[]).includes(counterForDrop(r.reason)));
      outcome = r.reason;
    }
    tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  }
  let total = 0;
  for (const n of tally.values()) total += n;
  assert.equal(total, N);
  for (const want of ['packet_len_err', 'checksum_err', 'version_err', 'invalid_type', 'validate:ip_ttl_err', 'validate:ip_src_err', 'accepted']) {
    assert.ok((tally.get(want) ?? 0) > 0, `no IPv6 input reached ${want}: ${JSON.stringify([...tally])}`);
  }
});
