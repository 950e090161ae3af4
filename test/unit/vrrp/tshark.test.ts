// tshark, an independent decoder, must read tandem's advertisements as valid VRRP with good
// checksums (the interoperability check, here offline: a pcap file, no network).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packet, packet6 } from './helpers.ts';

const run = promisify(execFile);

/** A classic pcap file with LINKTYPE_RAW (101): each record is a bare IPv4 or IPv6 packet. */
function pcap(packets: Buffer[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(101, 20);
  const recs = packets.map((p, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(p.length, 8);
    r.writeUInt32LE(p.length, 12);
    return Buffer.concat([r, p]);
  });
  return Buffer.concat([head, ...recs]);
}

test('tshark decodes encoded v2, v2 PASS and v3 adverts with good checksums', async (t) => {
  try {
    await run('tshark', ['-v']);
  } catch {
    t.skip('tshark not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tandem-vrrp-'));
  try {
    const pkts = [
      packet({ version: 2, vrid: 51, priority: 150, advertIntMs: 1000, addresses: ['192.0.2.100'] }),
      packet({ version: 2, vrid: 52, priority: 100, advertIntMs: 3000, addresses: ['198.51.100.1', '198.51.100.2'], authPass: 's3cret' }),
      packet({ version: 3, vrid: 53, priority: 0, advertIntMs: 100, addresses: ['203.0.113.5'] }),
      packet({ version: 3, vrid: 54, priority: 255, advertIntMs: 40950, addresses: ['203.0.113.6', '203.0.113.7', '203.0.113.8'] }, { src: '203.0.113.1' }),
    ];
    const file = join(dir, 'adverts.pcap');
    writeFileSync(file, pcap(pkts));
    const { stdout } = await run('tshark', [
      '-n', '-r', file, '-o', 'vrrp.v3_checksum_as_in_v2:FALSE',
      '-T', 'fields', '-E', 'separator=|',
      '-e', 'vrrp.version', '-e', 'vrrp.virt_rtr_id', '-e', 'vrrp.prio', '-e', 'vrrp.checksum.status',
      '-e', '_ws.expert.message',
    ]);
    const rows = stdout.trim().split('\n').map((l) => l.split('|'));
    assert.equal(rows.length, 4, stdout);
    const want = [['2', '51', '150'], ['2', '52', '100'], ['3', '53', '0'], ['3', '54', '255']];
    rows.forEach((r, i) => {
      assert.deepEqual(r.slice(0, 3), want[i], stdout);
      assert.equal(r[3], '1', `checksum status good (1) for row ${i}: ${stdout}`);
      assert.equal(r[4] ?? '', '', `no expert warnings: ${stdout}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tshark decodes encoded VRRPv3 adverts over IPv6 with good checksums and the IPv6 addresses', async (t) => {
  try {
    await run('tshark', ['-v']);
  } catch {
    t.skip('tshark not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tandem-vrrp6-'));
  try {
    const pkts = [
      packet6({ vrid: 61, priority: 150, advertIntMs: 100, addresses: ['2001:db8:0:1::1'] }),
      packet6({ vrid: 62, priority: 0, advertIntMs: 1000, addresses: ['fe80::1', '2001:db8:0:2::1'] }),
      packet6({ vrid: 63, priority: 255, advertIntMs: 40950, addresses: ['2001:db8::a', '2001:db8::b', '2001:db8::c'] }, { src: '2001:db8:0:1::2', dst: '2001:db8:0:1::3' }),
    ];
    const file = join(dir, 'adverts6.pcap');
    writeFileSync(file, pcap(pkts));
    const { stdout } = await run('tshark', [
      '-n', '-r', file, '-o', 'vrrp.v3_checksum_as_in_v2:FALSE',
      '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=,',
      '-e', 'vrrp.version', '-e', 'vrrp.virt_rtr_id', '-e', 'vrrp.prio', '-e', 'vrrp.short_adver_int', '-e', 'vrrp.ipv6_addr',
      '-e', 'vrrp.checksum.status', '-e', '_ws.expert.message',
    ]);
    const rows = stdout.trim().split('\n').map((l) => l.split('|'));
    assert.equal(rows.length, 3, stdout);
    const want = [
      ['3', '61', '150', '10', '2001:db8:0:1::1'],
      ['3', '62', '0', '100', 'fe80::1,2001:db8:0:2::1'],
      ['3', '63', '255', '4095', '2001:db8::a,2001:db8::b,2001:db8::c'],
    ];
    rows.forEach((r, i) => {
      assert.deepEqual(r.slice(0, 5), want[i], stdout);
      assert.equal(r[5], '1', `checksum status good (1) for row ${i}: ${stdout}`);
      assert.equal(r[6] ?? '', '', `no expert warnings: ${stdout}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
