// The unsolicited neighbour advertisement of an IPv6 VIP (RFC 4861 §4.4, §7.2.6), as keepalived
// sends it: from the VIP to ff02::1, hop limit 255, Override set, Solicited clear, Router as the
// interface forwards, the MAC in the Target Link-Layer Address option; tshark, an independent
// decoder, reads it with a good checksum. And the source address an instance advertises from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseMac, unsolicitedNeighbourAdvert } from '../../../src/net/ndisc.ts';
import { primaryOf } from '../../../src/net/host.ts';
import { onesSum, pseudoHeaderSum } from '../../../src/vrrp/checksum.ts';
import { parseIpv6 } from '../../../src/util/ip.ts';

const run = promisify(execFile);

test('the advertisement: header, flags, target, option and a checksum that sums right', () => {
  const target = parseIpv6('2001:db8:0:1::1')!;
  const mac = parseMac('02:00:5e:00:02:01')!;
  const p = unsolicitedNeighbourAdvert({ target, mac, router: true });
  assert.equal(p.length, 40 + 32);
  assert.equal(p[0]! >> 4, 6);
  assert.equal(p.readUInt16BE(4), 32);
  assert.equal(p[6], 58, 'ICMPv6');
  assert.equal(p[7], 255, 'hop limit 255 (RFC 4861 §7.1.2)');
  assert.deepEqual(p.subarray(8, 24), Buffer.from(target), 'from the VIP (keepalived)');
  assert.equal(p.subarray(24, 40).toString('hex'), 'ff020000000000000000000000000001');
  const icmp = p.subarray(40);
  assert.equal(icmp[0], 136);
  assert.equal(icmp[4], 0xa0, 'Router and Override, not Solicited');
  assert.deepEqual(icmp.subarray(8, 24), Buffer.from(target));
  assert.deepEqual([...icmp.subarray(24, 32)], [2, 1, 0x02, 0x00, 0x5e, 0x00, 0x02, 0x01]);
  assert.equal(onesSum(icmp, 0, icmp.length, pseudoHeaderSum(p.subarray(8, 24), p.subarray(24, 40), 32, 58)), 0xffff);
  assert.equal(unsolicitedNeighbourAdvert({ target, mac, router: false }).subarray(40)[4], 0x20, 'Override only on a host');
  assert.throws(() => unsolicitedNeighbourAdvert({ target: Uint8Array.of(192, 0, 2, 1), mac, router: false }), /16 bytes/);
  assert.equal(parseMac('02:00:5e:00:02'), null);
});

test('tshark reads the advertisement as an unsolicited NA with a good checksum', async (t) => {
  try {
    await run('tshark', ['-v']);
  } catch {
    t.skip('tshark not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tandem-ndisc-'));
  try {
    const p = unsolicitedNeighbourAdvert({ target: parseIpv6('fe80::1')!, mac: parseMac('02:00:5e:00:02:01')!, router: true });
    const head = Buffer.alloc(24);
    head.writeUInt32LE(0xa1b2c3d4, 0);
    head.writeUInt16LE(2, 4);
    head.writeUInt16LE(4, 6);
    head.writeUInt32LE(65535, 16);
    head.writeUInt32LE(101, 20); // LINKTYPE_RAW
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(p.length, 8);
    rec.writeUInt32LE(p.length, 12);
    const file = join(dir, 'na.pcap');
    writeFileSync(file, Buffer.concat([head, rec, p]));
    const { stdout } = await run('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'separator=|',
      '-e', 'icmpv6.type', '-e', 'icmpv6.nd.na.target_address', '-e', 'icmpv6.nd.na.flag.r', '-e', 'icmpv6.nd.na.flag.s', '-e', 'icmpv6.nd.na.flag.o',
      '-e', 'icmpv6.opt.linkaddr', '-e', 'icmpv6.checksum.status', '-e', '_ws.expert.message']);
    const f = stdout.trim().split('|');
    assert.deepEqual(f.slice(0, 7), ['136', 'fe80::1', '1', '0', '1', '02:00:5e:00:02:01', '1'], stdout);
    assert.equal(f[7] ?? '', '', `no expert warnings: ${stdout}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the source of an instance\'s adverts: the primary IPv4 address, or the kernel\'s link-local one, never a VIP', () => {
  const addrs = [
    { address: '192.0.2.1', prefix: 24, secondary: true },
    { address: '192.0.2.2', prefix: 24, secondary: false },
    { address: 'fe80::1', prefix: 64, secondary: false },
    { address: '2001:db8::2', prefix: 64, secondary: false },
    { address: 'fe80::5054:ff:fe12:3456', prefix: 64, secondary: false, tentative: true },
    { address: 'fe80::5054:ff:fe12:3457', prefix: 64, secondary: false },
  ];
  assert.equal(primaryOf(addrs, 4), '192.0.2.2');
  assert.equal(primaryOf(addrs, 4, new Set(['192.0.2.2'])), '192.0.2.1');
  assert.equal(primaryOf(addrs, 6, new Set(['fe80::1'])), 'fe80::5054:ff:fe12:3457', 'not the VIP, not a tentative one while another is ready');
  assert.equal(primaryOf(addrs.slice(0, 5), 6, new Set(['fe80::1'])), 'fe80::5054:ff:fe12:3456', 'a tentative one rather than none');
  assert.equal(primaryOf(addrs.slice(0, 4), 6, new Set(['fe80::1'])), null, 'a global address is no source for multicast adverts');
});
