// tandem's VRRP on the wire, and what it does with bad input:
//  - tcpdump captures a board's advertisements (v2, v2 with PASS, v3, and the priority-0 ones a
//    graceful stop sends) and tshark, an independent decoder, must read them as VRRP with the
//    right fields, a good checksum and no malformed or expert warnings; IP TTL 255, destination
//    224.0.0.18, source the interface's primary address (RFC 3768 §5.1 / RFC 5798 §5.1.1).
//  - a fuzz run sends 100,000 random and mutated protocol-112 packets from the client at a stable
//    pair: no crash, no state change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { LAB_ADDR, withLab, type Lab } from './lab.ts';
import { runCommand } from './command.ts';
import { pairConfig } from './vrrp-configs.ts';
import { vipHolders, waitHolder } from './vrrp-helpers.ts';

const started = /Entering (BACKUP|MASTER|FAULT) STATE/;
const MCAST = '224.0.0.18';

interface Decoded {
  src: string; dst: string; ttl: number; version: number; type: number; vrid: number; prio: number;
  count: number; checksumStatus: string; authType: string; authString: string; advInt: string;
  addrs: string[]; expert: string;
}

const FIELDS = [
  'ip.src', 'ip.dst', 'ip.ttl', 'vrrp.version', 'vrrp.type', 'vrrp.virt_rtr_id', 'vrrp.prio', 'vrrp.addr_count',
  'vrrp.checksum.status', 'vrrp.auth_type', 'vrrp.auth_string', 'vrrp.adver_int', 'vrrp.short_adver_int', 'vrrp.ip_addr',
  '_ws.expert', '_ws.malformed',
];

/** Decodes a pcap's VRRP packets with tshark (v3 checksum over the pseudo-header, RFC 5798 §5.2.8). */
async function decode(pcap: string): Promise<Decoded[]> {
  const argv = ['-r', pcap, '-o', 'vrrp.v3_checksum_as_in_v2:FALSE', '-Y', 'ip.proto == 112', '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of FIELDS) argv.push('-e', f);
  const r = await runCommand('tshark', argv, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => {
    const f = l.split('|');
    const n = (i: number): number => Number(f[i]);
    return {
      src: f[0]!, dst: f[1]!, ttl: n(2), version: n(3), type: n(4), vrid: n(5), prio: n(6), count: n(7),
      checksumStatus: f[8]!, authType: f[9]!, authString: f[10]!, advInt: f[11] || f[12]!,
      addrs: f[13] ? f[13].split(',') : [], expert: `${f[14] ?? ''}${f[15] ?? ''}`,
    };
  });
}

/** Starts tcpdump on every interface of board b's namespace (b runs nothing), VRRP only. */
async function capture(lab: Lab, pcap: string): Promise<{ stop(): Promise<void> }> {
  const p = lab.spawn('b', ['tcpdump', '-i', 'any', '-n', '-U', '-w', pcap, 'ip proto 112'], { label: 'tcpdump' });
  await p.waitForLog(/listening on/, 10_000);
  return { stop: async () => { await p.stop('SIGINT', 5_000); } };
}

interface WireCase {
  name: string;
  version: 2 | 3;
  advertInt: number;
  authPass?: string;
  /** What tshark shows as the advert interval: seconds (v2) or centiseconds (v3). */
  advInt: string;
}

const cases: WireCase[] = [
  { name: 'v2', version: 2, advertInt: 1, advInt: '1' },
  { name: 'v2-pass', version: 2, advertInt: 1, authPass: 'secret', advInt: '1' },
  { name: 'v3', version: 3, advertInt: 0.2, advInt: '20' },
];

test('tshark decodes tandem advertisements (v2, v2 PASS, v3, priority 0) cleanly: right fields, good checksum, TTL 255, primary source', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-wire-capture', realServers: 0 });
  for (const c of cases) {
    const pcap = join(lab.tmpDir, `${c.name}.pcap`);
    const cap = await capture(lab, pcap);
    const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, version: c.version, advertInt: c.advertInt, authPass: c.authPass }),
      { waitForLog: /\(VI_PRIV\) Entering MASTER STATE/ });
    // A few adverts on each segment, then a graceful stop (priority 0 on both).
    await lab.waitFor(async () => {
      const d = await decode(pcap);
      return [51, 52].every((v) => d.filter((p) => p.vrid === v && p.prio === 150).length >= 3);
    }, { timeoutMs: 15_000, intervalMs: 300, what: `3 ${c.name} adverts per VRID in the capture` });
    const st = await lab.stopBoard('a', 'SIGTERM');
    assert.equal(st?.code, 0, a.proc.tail());
    await lab.waitFor(async () => {
      const d = await decode(pcap);
      return [51, 52].every((v) => d.some((p) => p.vrid === v && p.prio === 0));
    }, { timeoutMs: 10_000, intervalMs: 300, what: `${c.name} priority-0 adverts for both VRIDs` });
    await cap.stop();

    const pkts = await decode(pcap);
    assert.ok(pkts.length >= 8, `${c.name}: ${pkts.length} packets`);
    for (const p of pkts) {
      const msg = `${c.name}: ${JSON.stringify(p)}`;
      const pub = p.vrid === 51;
      assert.ok(p.vrid === 51 || p.vrid === 52, msg);
      assert.equal(p.version, c.version, msg);
      assert.equal(p.type, 1, msg);
      assert.ok(p.prio === 150 || p.prio === 0, msg);
      assert.equal(p.ttl, 255, msg);
      assert.equal(p.dst, MCAST, msg);
      // Source: the interface's primary address, never the VIP.
      assert.equal(p.src, pub ? LAB_ADDR.board.a.eth0 : LAB_ADDR.board.a.eth1, msg);
      assert.deepEqual(p.addrs, [pub ? LAB_ADDR.publicVip : LAB_ADDR.privateVip], msg);
      assert.equal(p.count, 1, msg);
      assert.equal(p.checksumStatus, '1', `${msg} (checksum status 1 = good)`);
      assert.equal(p.expert, '', msg);
      assert.equal(p.advInt, c.advInt, msg);
      if (c.version === 2) {
        assert.equal(p.authType, c.authPass ? '1' : '0', msg);
        if (c.authPass) assert.equal(p.authString, c.authPass, msg);
      }
    }
    // The verbose decode has no malformed packet or expert warning anywhere.
    const v = await runCommand('tshark', ['-r', pcap, '-o', 'vrrp.v3_checksum_as_in_v2:FALSE', '-V'], { timeoutMs: 30_000 });
    assert.equal(v.code, 0, v.stderr);
    assert.doesNotMatch(v.stdout, /Malformed|Expert Info \((Warning|Error)|\[Checksum Status: Bad\]/, c.name);
    assert.match(v.stdout, /Virtual Router Redundancy Protocol/);
  }
});

// ---- fuzz ---------------------------------------------------------------------------------

/**
 * Sum of a board's receive-side counters from `tandem ctl show statistics` (keepalived's stats
 * layout): advertisements received, every packet and authentication error, and the drops that
 * could not be attributed to an instance. Sent counters and transitions are left out.
 */
async function counted(board: { ctl(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> }): Promise<number> {
  const r = await board.ctl(['show', 'statistics']);
  assert.equal(r.code, 0, r.stderr);
  let total = 0;
  let section = '';
  for (const line of r.stdout.split('\n')) {
    const head = /^\s{2}(\S[^:]*):\s*$/.exec(line);
    if (head) {
      section = head[1]!;
      continue;
    }
    const kv = /^\s+([^:]+):\s+(\d+)$/.exec(line);
    if (!kv) continue;
    const key = kv[1]!.trim();
    if (section === 'Advertisements' && key === 'Received') total += Number(kv[2]);
    else if (['Packet Errors', 'Authentication Errors', 'Other Errors', 'Unattributed drops'].includes(section)) total += Number(kv[2]);
    else if (/^Unattributed/.test(section)) total += Number(kv[2]);
  }
  return total;
}

/** xorshift32: the fuzz corpus is the same on every run, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function ipv4(s: string): number[] {
  return s.split('.').map(Number);
}

/** RFC 1071 ones-complement sum over the buffers, folded and inverted. */
function inetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  const all = Buffer.concat(parts);
  for (let i = 0; i < all.length; i += 2) sum += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

interface AdvertSpec {
  version: number; type?: number; vrid: number; prio: number; addrs: string[]; count?: number;
  advInt?: number; src: string;
}

/** The VRRP part of an advert, written here independently of src/vrrp/codec.ts. */
function vrrpPart(s: AdvertSpec): Buffer {
  const n = s.addrs.length;
  const v3 = s.version === 3;
  const b = Buffer.alloc(8 + 4 * n + (v3 ? 0 : 8));
  b[0] = ((s.version & 0xf) << 4) | ((s.type ?? 1) & 0xf);
  b[1] = s.vrid;
  b[2] = s.prio;
  b[3] = s.count ?? n;
  if (v3) b.writeUInt16BE((s.advInt ?? 100) & 0x0fff, 4); // centiseconds (RFC 5798 §5.2.7)
  else { b[4] = 0; b[5] = s.advInt ?? 1; }
  s.addrs.forEach((a, i) => Buffer.from(ipv4(a)).copy(b, 8 + 4 * i));
  fixChecksum(b, s.version, s.src);
  return b;
}

function fixChecksum(b: Buffer, version: number, src: string): void {
  if (b.length < 8) return;
  b.writeUInt16BE(0, 6);
  const pseudo = version === 3
    ? Buffer.from([...ipv4(src), ...ipv4(MCAST), 0, 112, (b.length >> 8) & 0xff, b.length & 0xff])
    : Buffer.alloc(0);
  b.writeUInt16BE(inetChecksum(pseudo, b), 6);
}

/** Whether a receiver would accept the checksum (v3 rules when the version nibble says 3). */
function checksumValid(b: Buffer, src: string): boolean {
  if (b.length < 8) return false;
  const v3 = b[0]! >> 4 === 3;
  const pseudo = v3 ? Buffer.from([...ipv4(src), ...ipv4(MCAST), 0, 112, (b.length >> 8) & 0xff, b.length & 0xff]) : Buffer.alloc(0);
  return inetChecksum(pseudo, b) === 0;
}

/** IPv4 header (the kernel fills total length and header checksum for IP_HDRINCL sockets). */
function ipHeader(src: string, ttl: number, options = 0): Buffer {
  const h = Buffer.alloc(20 + options, 1); // option bytes: NOP (1)
  h[0] = 0x45 + options / 4;
  h.fill(0, 1, 20);
  h[8] = ttl;
  h[9] = 112;
  Buffer.from(ipv4(src)).copy(h, 12);
  Buffer.from(ipv4(MCAST)).copy(h, 16);
  return h;
}

/**
 * The corpus. Nothing in it may be an acceptable advert that changes state: every packet that
 * claims a priority above the master's is invalid in some way the RFCs require a drop for (TTL,
 * version, type, checksum, length, VRID); the otherwise well-formed ones carry priority 50, below
 * both boards, which a master ignores (RFC 5798 §6.4.3) and a preempting backup discards.
 */
function corpus(count: number, seed: number): { packets: Buffer[]; kinds: Record<string, number> } {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const src = LAB_ADDR.client;
  const kinds: Record<string, number> = {};
  const packets: Buffer[] = [];
  const base = (prio: number, version = 3): AdvertSpec => {
    const vrid = r() < 0.5 ? 51 : 52;
    return { version, vrid, prio, addrs: [vrid === 51 ? LAB_ADDR.publicVip : LAB_ADDR.privateVip], src };
  };
  for (let i = 0; i < count; i++) {
    let kind: string;
    let ttl = 255;
    let body: Buffer;
    let options = 0;
    switch (i % 12) {
      case 0: kind = 'random'; body = Buffer.from(Array.from({ length: int(80) }, () => int(256))); break;
      case 1: { kind = 'truncated'; const b = vrrpPart(base(254)); body = b.subarray(0, int(b.length)); break; }
      case 2: {
        kind = 'bitflips';
        body = vrrpPart(base(r() < 0.5 ? 254 : 0));
        for (let k = 1 + int(4); k > 0; k--) body[int(body.length)] ^= 1 << int(8);
        // Flips can cancel out in the ones-complement sum (the same bit set in one word and
        // cleared in another), leaving a valid advert with, say, priority 254; break those.
        if (checksumValid(body, src)) body[6] ^= 0x55;
        break;
      }
      case 3: { kind = 'bad_checksum'; body = vrrpPart(base(254)); body[6] ^= 1 + int(255); break; }
      case 4: {
        kind = 'bogus_count'; const s = base(254); s.count = (2 + int(254)) & 0xff || 2;
        body = vrrpPart(s); // checksum right, count does not match the length
        break;
      }
      case 5: {
        kind = 'huge_address_list';
        const s = base(50);
        s.addrs = Array.from({ length: 100 + int(156) }, (_, k) => `198.51.100.${k % 256}`);
        if (r() < 0.5) s.count = int(256); // and sometimes a count that does not match
        body = vrrpPart(s);
        break;
      }
      case 6: { kind = 'wrong_vrid'; const s = base(254); s.vrid = [1, 50, 53, 255][int(4)]!; body = vrrpPart(s); break; }
      case 7: { kind = 'wrong_ttl'; ttl = [1, 64, 128, 254][int(4)]!; body = vrrpPart(base(254)); break; }
      case 8: { kind = 'wrong_version'; const s = base(254); s.version = [0, 1, 2, 4, 15][int(5)]!; body = vrrpPart(s); break; }
      case 9: { kind = 'wrong_type'; const s = base(254); s.type = [0, 2, 3, 15][int(4)]!; body = vrrpPart(s); break; }
      case 10: { kind = 'ip_options_low_prio'; options = 4 * (1 + int(3)); body = vrrpPart(base(50)); break; }
      default: { kind = 'v3_low_prio_odd_interval'; const s = base(50); s.advInt = int(4096); body = vrrpPart(s); break; }
    }
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    packets.push(Buffer.concat([ipHeader(src, ttl, options), body]));
  }
  return { packets, kinds };
}

/**
 * The sender, run inside the client's namespace: reads length-prefixed IPv4 packets and sends
 * each on an IPPROTO_RAW socket (IP_HDRINCL implied) to 224.0.0.18, paced in bursts so that the
 * test is about bad input rather than a flood. Prints "sent N failed M".
 */
const SENDER_PY = `
import socket, struct, sys, time
data = open(sys.argv[1], 'rb').read()
burst = int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')
off = sent = failed = 0
while off < len(data):
    n = struct.unpack_from('>H', data, off)[0]
    pkt = data[off + 2: off + 2 + n]
    off += 2 + n
    try:
        s.sendto(pkt, ('224.0.0.18', 0))
        sent += 1
    except OSError:
        failed += 1
    if (sent + failed) % burst == 0:
        time.sleep(0.005)
print('sent %d failed %d' % (sent, failed))
`;

test('fuzz: 100,000 random and mutated protocol-112 packets at a stable pair: no crash, no state change', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-wire-fuzz', realServers: 0 });
  const cfg = (priority: number, routerId: string): string => pairConfig({ routerId, priority, version: 3, advertInt: 1 });
  const a = await lab.startBoard('a', cfg(150, 'lb-a'), { waitForLog: started });
  const b = await lab.startBoard('b', cfg(100, 'lb-b'), { waitForLog: started });
  await waitHolder(lab, 'a');
  await a.waitForLog(/\(VI_PRIV\) Entering MASTER STATE/);
  await b.waitForLog(/\(VI_PRIV\) Entering BACKUP STATE/);

  const N = 100_000;
  const { packets, kinds } = corpus(N, 0x7a4d3);
  const file = join(lab.tmpDir, 'fuzz.bin');
  await writeFile(file, Buffer.concat(packets.flatMap((p) => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(p.length);
    return [len, p];
  })));
  const script = join(lab.tmpDir, 'send.py');
  await writeFile(script, SENDER_PY);
  const route = await lab.exec('client', ['ip', 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
  assert.equal(route.code, 0, route.stderr);

  const countedBefore = await counted(a);
  const markA = a.proc.mark();
  const markB = b.proc.mark();
  const r = await lab.exec('client', ['python3', script, file, '50'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const m = /sent (\d+) failed (\d+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  t.diagnostic(`fuzz corpus: ${JSON.stringify(kinds)}; ${r.stdout.trim()}`);
  assert.ok(Number(m[1]) >= N * 0.99, `at least 99% of ${N} sent: ${r.stdout}`);

  // Several Master_Down intervals (3 × 1 s + skew) after the last packet: a must still be
  // advertising, or b would have taken over (a fixed pause: it asserts an absence).
  await new Promise((res) => setTimeout(res, 4_000));
  assert.ok(a.proc.running, `a crashed\n${a.proc.tail()}`);
  assert.ok(b.proc.running, `b crashed\n${b.proc.tail()}`);
  const changed = (p: typeof a.proc, from: number): string[] =>
    p.lines.slice(Math.max(0, from - (p.mark() - p.lines.length))).map((l) => l.text).filter((l) => /Entering|error|ERROR/.test(l));
  assert.deepEqual(changed(a.proc, markA), [], 'no transition or error on a');
  assert.deepEqual(changed(b.proc, markB), [], 'no transition or error on b');
  assert.deepEqual(await vipHolders(lab), { pub: ['a'], priv: ['a'] });
  // Every packet that reached a's raw socket is accounted for: received as an advertisement
  // (the well-formed low-priority ones) or dropped and counted under its reason. The kernel
  // itself drops a few (IP header it cannot parse) before any socket sees them, hence ≥ 95 %.
  const countedAfter = await counted(a);
  const delta = countedAfter - countedBefore;
  t.diagnostic(`a counted ${delta} of ${m[1]} fuzz packets (show statistics)`);
  assert.ok(delta >= Number(m[1]) * 0.95, `a counted only ${delta} of ${m[1]} packets`);

  // Positive control, so the silence above means something: the same sender path with valid
  // priority-254 adverts from the client does move a to BACKUP (RFC 5798 §6.4.3).
  const control = Array.from({ length: 5 }, () =>
    Buffer.concat([ipHeader(LAB_ADDR.client, 255), vrrpPart({ version: 3, vrid: 51, prio: 254, addrs: [LAB_ADDR.publicVip], src: LAB_ADDR.client })]));
  await writeFile(file, Buffer.concat(control.flatMap((p) => [Buffer.from([p.length >> 8, p.length & 0xff]), p])));
  const mark2 = a.proc.mark();
  const r2 = await lab.exec('client', ['python3', script, file, '1'], { timeoutMs: 30_000 });
  assert.match(r2.stdout, /sent 5 failed 0/, r2.stderr);
  await a.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, 5_000, { from: mark2 });
});
