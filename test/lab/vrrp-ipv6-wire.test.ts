// tandem's VRRP over IPv6 on the wire (the lab with ipv6: true), and what it does with bad IPv6
// input:
//  - tcpdump captures a board's IPv6 advertisements and the neighbour advertisements of its
//    VIPs; tshark, an independent decoder, reads them cleanly: VRRPv3 to ff02::12 from the
//    interface's link-local address with hop limit 255 and a good checksum over the IPv6
//    pseudo-header (RFC 5798 §5.1.2, §5.2.8), priority 0 on a graceful stop; the NAs from each
//    VIP to ff02::1, hop limit 255, Override set, Solicited clear, the board's MAC (RFC 4861).
//  - crafted IPv6 adverts from the client with a wrong hop limit, a bad checksum, a global source
//    on a multicast advert, a truncated address list, VRRPv2 over IPv6 or an unknown VRID are
//    dropped and counted under their reason, through the real sockets (the hop limit and the
//    destination come from ancillary data); nothing changes state, and a valid one does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { LAB_ADDR6, withLab, type Lab } from './lab.ts';
import { runCommand } from './command.ts';
import { pairConfig6 } from './vrrp-configs.ts';
import { waitHolder6 } from './vrrp-helpers.ts';

const started = /Entering (BACKUP|MASTER|FAULT) STATE/;

async function fields(pcap: string, filter: string, names: string[]): Promise<string[][]> {
  const argv = ['-n', '-r', pcap, '-o', 'vrrp.v3_checksum_as_in_v2:FALSE', '-Y', filter, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of names) argv.push('-e', f);
  const r = await runCommand('tshark', argv, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.split('|'));
}

const VRRP_FIELDS = ['ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'vrrp.version', 'vrrp.type', 'vrrp.virt_rtr_id', 'vrrp.prio', 'vrrp.addr_count',
  'vrrp.checksum.status', 'vrrp.short_adver_int', 'vrrp.ipv6_addr', '_ws.expert', '_ws.malformed'];
const NA_FIELDS = ['ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'icmpv6.nd.na.target_address', 'icmpv6.nd.na.flag.s', 'icmpv6.nd.na.flag.o',
  'icmpv6.opt.linkaddr', 'icmpv6.checksum.status', '_ws.expert'];

test('tshark decodes tandem\'s IPv6 adverts (and priority 0) and the VIPs\' neighbour advertisements cleanly', async (t) => {
  const lab = await withLab(t, { name: 'vrrp6-wire-capture', realServers: 0, ipv6: true });
  const pcap = join(lab.tmpDir, 'v6.pcap');
  const cap = lab.spawn('b', ['tcpdump', '-i', 'any', '-n', '-U', '-w', pcap, 'ip6 proto 112 or (icmp6 and ip6[40] == 136)'], { label: 'tcpdump' });
  await cap.waitForLog(/listening on/, 10_000);
  const a = await lab.startBoard('a', pairConfig6({ routerId: 'lb-a', priority: 150, advertInt: 0.2 }), { waitForLog: /\(VI_PRIV6\) Entering MASTER STATE/ });
  await lab.waitFor(async () => {
    const d = await fields(pcap, 'vrrp', ['vrrp.virt_rtr_id', 'vrrp.prio']);
    return ['61', '62'].every((v) => d.filter((p) => p[0] === v && p[1] === '150').length >= 3);
  }, { timeoutMs: 15_000, intervalMs: 300, what: '3 IPv6 adverts per VRID in the capture' });
  const st = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st?.code, 0, a.proc.tail());
  await lab.waitFor(async () => {
    const d = await fields(pcap, 'vrrp', ['vrrp.virt_rtr_id', 'vrrp.prio']);
    return ['61', '62'].every((v) => d.some((p) => p[0] === v && p[1] === '0'));
  }, { timeoutMs: 10_000, intervalMs: 300, what: 'priority-0 IPv6 adverts for both VRIDs' });
  await cap.stop('SIGINT', 5_000);

  const ll = { eth0: await lab.linkLocal('a', 'eth0'), eth1: await lab.linkLocal('a', 'eth1') };
  const adverts = await fields(pcap, 'vrrp', VRRP_FIELDS);
  assert.ok(adverts.length >= 8, `${adverts.length} adverts`);
  for (const f of adverts) {
    const msg = JSON.stringify(f);
    const pub = f[5] === '61';
    assert.equal(f[0], pub ? ll.eth0 : ll.eth1, `from the interface's link-local address: ${msg}`);
    assert.equal(f[1], 'ff02::12', msg);
    assert.equal(f[2], '255', `hop limit 255: ${msg}`);
    assert.equal(f[3], '3', msg);
    assert.equal(f[4], '1', msg);
    assert.ok(f[6] === '150' || f[6] === '0', msg);
    assert.equal(f[8], '1', `checksum good: ${msg}`);
    assert.equal(f[9], '20', `0.2 s in centiseconds: ${msg}`);
    assert.equal(f[10], pub ? LAB_ADDR6.publicVip : `${LAB_ADDR6.gatewayVip},${LAB_ADDR6.privateVip}`, msg);
    assert.equal(f[7], pub ? '1' : '2', msg);
    assert.equal(`${f[11] ?? ''}${f[12] ?? ''}`, '', `no expert info or malformed packet: ${msg}`);
  }
  const nas = await fields(pcap, 'icmpv6.type == 136', NA_FIELDS);
  const macs = { eth0: await lab.mac('a', 'eth0'), eth1: await lab.mac('a', 'eth1') };
  for (const vip of [LAB_ADDR6.publicVip, LAB_ADDR6.gatewayVip, LAB_ADDR6.privateVip]) {
    const mine = nas.filter((f) => f[3] === vip);
    assert.ok(mine.length >= 5, `a burst of neighbour advertisements for ${vip}: ${JSON.stringify(nas)}`);
    for (const f of mine) {
      const msg = JSON.stringify(f);
      assert.deepEqual(f.slice(0, 3), [vip, 'ff02::1', '255'], msg);
      assert.deepEqual(f.slice(4, 6), ['0', '1'], `unsolicited, override: ${msg}`);
      assert.equal(f[6], vip === LAB_ADDR6.publicVip ? macs.eth0 : macs.eth1, msg);
      assert.equal(f[7], '1', `checksum good: ${msg}`);
      assert.equal(f[8] ?? '', '', msg);
    }
  }
  const v = await runCommand('tshark', ['-r', pcap, '-o', 'vrrp.v3_checksum_as_in_v2:FALSE', '-V'], { timeoutMs: 30_000 });
  assert.equal(v.code, 0, v.stderr);
  assert.doesNotMatch(v.stdout, /Malformed|Expert Info \((Warning|Error)|\[Checksum Status: Bad\]/);
});

// ---- bad input ----------------------------------------------------------------------------

/** RFC 1071 sum, folded and inverted (written here apart from src/vrrp/checksum.ts). */
function inetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  const all = Buffer.concat(parts);
  for (let i = 0; i < all.length; i += 2) sum += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function v6(s: string): Buffer {
  // Only the forms used here: full groups with one "::".
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(Number.parseInt(g, 16), 2 * i));
  return b;
}

interface Crafted { src: string; hlim?: number; version?: number; vrid?: number; prio: number; addrs: string[]; count?: number; badChecksum?: boolean; cut?: number }

/** A whole IPv6 VRRP packet to ff02::12, independently of src/vrrp/codec.ts. */
function crafted(c: Crafted): Buffer {
  const n = c.addrs.length;
  const vr = Buffer.alloc(8 + 16 * n);
  vr[0] = ((c.version ?? 3) << 4) | 1;
  vr[1] = c.vrid ?? 61;
  vr[2] = c.prio;
  vr[3] = c.count ?? n;
  vr.writeUInt16BE(100, 4); // 1 s
  c.addrs.forEach((a, i) => v6(a).copy(vr, 8 + 16 * i));
  const pseudo = Buffer.concat([v6(c.src), v6('ff02::12'), Buffer.from([0, 0, vr.length >> 8, vr.length & 0xff, 0, 0, 0, 112])]);
  vr.writeUInt16BE(inetChecksum(pseudo, vr), 6);
  if (c.badChecksum) vr[6]! ^= 0x5a;
  const body = c.cut ? vr.subarray(0, vr.length - c.cut) : vr;
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(body.length, 4);
  h[6] = 112;
  h[7] = c.hlim ?? 255;
  v6(c.src).copy(h, 8);
  v6('ff02::12').copy(h, 24);
  return Buffer.concat([h, body]);
}

/** Sends length-prefixed IPv6 packets (header included) from the client's eth0; prints "sent N failed M". */
const SENDER_PY = `
import socket, struct, sys, time
data = open(sys.argv[1], 'rb').read()
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')
idx = socket.if_nametoindex('eth0')
off = sent = failed = 0
while off < len(data):
    n = struct.unpack_from('>H', data, off)[0]
    pkt = data[off + 2: off + 2 + n]
    off += 2 + n
    try:
        s.sendto(pkt, ('ff02::12', 0, 0, idx))
        sent += 1
    except OSError:
        failed += 1
    time.sleep(0.002)
print('sent %d failed %d' % (sent, failed))
`;

/** One instance's counters from `show statistics`, as "Section/Key" → n. */
function instanceStats(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  const start = text.indexOf(`VRRP Instance: ${name}\n`);
  if (start < 0) return out;
  const end = text.indexOf('\nVRRP Instance:', start + 1);
  let section = '';
  for (const line of text.slice(start, end < 0 ? undefined : end).split('\n')) {
    const head = /^\s{2}(\S[^:]*):\s*$/.exec(line);
    if (head) { section = head[1]!; continue; }
    const kv = /^\s+([^:]+):\s+(\d+)$/.exec(line);
    if (kv) out.set(`${section}/${kv[1]!.trim()}`, Number(kv[2]));
  }
  return out;
}

async function send(lab: Lab, packets: Buffer[]): Promise<string> {
  const file = join(lab.tmpDir, 'crafted.bin');
  await writeFile(file, Buffer.concat(packets.flatMap((p) => [Buffer.from([p.length >> 8, p.length & 0xff]), p])));
  const script = join(lab.tmpDir, 'send6.py');
  await writeFile(script, SENDER_PY);
  const r = await lab.exec('client', ['python3', script, file], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

test('bad IPv6 adverts (hop limit, checksum, global source, truncated list, v2, unknown VRID) are dropped and counted; a valid one is heard', async (t) => {
  const lab = await withLab(t, { name: 'vrrp6-wire-bad', realServers: 0, ipv6: true });
  const cfg = (priority: number, routerId: string): string => pairConfig6({ routerId, priority, advertInt: 1, noSyncGroup: true });
  const a = await lab.startBoard('a', cfg(150, 'lb-a'), { waitForLog: started });
  const b = await lab.startBoard('b', cfg(100, 'lb-b'), { waitForLog: started });
  await waitHolder6(lab, 'a');
  await a.waitForLog(/\(VI_PUB6\) Entering MASTER STATE/);
  await b.waitForLog(/\(VI_PUB6\) Entering BACKUP STATE/);

  const ll = await lab.linkLocal('client', 'eth0');
  const vip = [LAB_ADDR6.publicVip];
  const N = 20;
  const batch: Array<[string, Crafted]> = [
    ['hop limit 64', { src: ll, hlim: 64, prio: 254, addrs: vip }],
    ['bad checksum', { src: ll, prio: 254, addrs: vip, badChecksum: true }],
    ['global source on a multicast advert', { src: LAB_ADDR6.client, prio: 254, addrs: vip }],
    ['truncated address list', { src: ll, prio: 254, addrs: vip, cut: 8 }],
    ['count says two, one is there', { src: ll, prio: 254, addrs: vip, count: 2 }],
    ['VRRPv2 over IPv6', { src: ll, version: 2, prio: 254, addrs: vip }],
    ['unknown VRID', { src: ll, vrid: 99, prio: 254, addrs: vip }],
  ];
  const before = instanceStats((await a.ctl(['show', 'statistics'])).stdout, 'VI_PUB6');
  const markA = a.proc.mark();
  const out = await send(lab, batch.flatMap(([, c]) => Array.from({ length: N }, () => crafted(c))));
  assert.equal(out, `sent ${batch.length * N} failed 0`);
  // Longer than Master_Down_Interval (3 × 1 s + skew) after the last one: a fixed pause, for it
  // asserts an absence (no transition).
  await new Promise((res) => setTimeout(res, 3_500));
  const text = (await a.ctl(['show', 'statistics'])).stdout;
  const after = instanceStats(text, 'VI_PUB6');
  const delta = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  assert.equal(delta('Packet Errors/TTL'), N, text);
  assert.equal(delta('Other Errors/Checksum'), N, text);
  assert.equal(delta('Other Errors/Source address'), N, text);
  assert.equal(delta('Packet Errors/Length'), 2 * N, text);
  assert.equal(delta('Other Errors/Version'), N, text);
  assert.match(text, /Unattributed drops:\n(\s+\S+: \d+\n)*\s+vrid_err: 20/, text);
  assert.ok(a.proc.lines.slice(markA - (a.proc.mark() - a.proc.lines.length)).every((l) => !/Entering/.test(l.text)), 'no transition on a');
  assert.ok(a.proc.running && b.proc.running);
  assert.ok(a.proc.lines.some((l) => /\(VI_PUB6\) dropped advert from fe80::\S+: ip_ttl_err \(hop limit 64, expected 255/.test(l.text)), a.proc.tail());
  assert.ok(a.proc.lines.some((l) => /dropped advert from 2001:db8:0:1::10: ip_src_err \(source 2001:db8:0:1::10 is not a link-local address/.test(l.text)));

  // Positive control: the same path with valid priority-254 adverts moves a to BACKUP.
  const mark = a.proc.mark();
  assert.equal(await send(lab, Array.from({ length: 3 }, () => crafted({ src: ll, prio: 254, addrs: vip }))), 'sent 3 failed 0');
  await a.waitForLog(/\(VI_PUB6\) Entering BACKUP STATE/, 5_000, { from: mark });
});
