// Captures keepalived's VRRPv3 advertisements over IPv6 in the lab and writes them, with what
// tshark decodes from them, as test vectors for the codec (test/unit/vrrp/fixtures/). Not a
// test: run it again only to refresh the vectors (root, keepalived and tshark needed):
//
//   node --import tsx test/lab/capture-adverts6.ts
//
// keepalived runs on board a (IPv6 on, test/lab/lab.ts), tshark captures on board b's side of
// the same segment, so every vector is a packet as it crossed the wire: source address, hop
// limit and checksum exactly as keepalived sent them.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, LAB_ADDR6, type Lab } from './lab.ts';
import { keepalivedVersion, startKeepalived } from './keepalived.ts';
import { runCommand } from './command.ts';
import type { Ipv6Vector } from '../unit/vrrp/helpers.ts';

const OUT = new URL('../unit/vrrp/fixtures/keepalived-ipv6-adverts.json', import.meta.url);

interface Scenario {
  name: string;
  source: string;
  dev: 'eth0' | 'eth1';
  instance: string;
  /** Which captured advert to keep: the first with priority > 0, or the priority-0 one. */
  pick: 'first' | 'priority0';
}

const V6 = LAB_ADDR6;
const SCENARIOS: Scenario[] = [
  {
    name: 'ka6-v3', dev: 'eth0', pick: 'first',
    source: 'keepalived, VRRPv3 over IPv6 to ff02::12 from the link-local address, advert_int 0.1 (10 centiseconds), one VIP, priority 150',
    instance: `    interface eth0\n    virtual_router_id 61\n    priority 150\n    advert_int 0.1\n    virtual_ipaddress {\n        ${V6.publicVip}/64\n    }\n`,
  },
  {
    name: 'ka6-v3-3vip', dev: 'eth0', pick: 'first',
    source: 'keepalived, VRRPv3 over IPv6, advert_int 1 (100 centiseconds), three VIPs, priority 150',
    instance: `    interface eth0\n    virtual_router_id 62\n    priority 150\n    advert_int 1\n    virtual_ipaddress {\n        ${V6.publicVip}/64\n        2001:db8:0:1::101/64\n        2001:db8:0:1::102/64\n    }\n`,
  },
  {
    name: 'ka6-v3-gateway', dev: 'eth1', pick: 'first',
    source: 'keepalived, VRRPv3 over IPv6 on the private segment, advert_int 0.1, the link-local gateway VIP fe80::1 and a global VIP, priority 150',
    instance: `    interface eth1\n    virtual_router_id 63\n    priority 150\n    advert_int 0.1\n    virtual_ipaddress {\n        ${V6.gatewayVip}/64 dev eth1\n        ${V6.privateVip}/64\n    }\n`,
  },
  {
    name: 'ka6-v3-prio0', dev: 'eth0', pick: 'priority0',
    source: 'keepalived, VRRPv3 over IPv6, the priority-0 advertisement it sends when stopped while MASTER',
    instance: `    interface eth0\n    virtual_router_id 61\n    priority 150\n    advert_int 0.1\n    virtual_ipaddress {\n        ${V6.publicVip}/64\n    }\n`,
  },
  {
    name: 'ka6-v3-unicast', dev: 'eth0', pick: 'first',
    source: 'keepalived, VRRPv3 over IPv6 unicast from unicast_src_ip (a global address) to its unicast_peer, advert_int 0.1, one VIP, priority 150',
    instance: `    interface eth0\n    virtual_router_id 64\n    priority 150\n    advert_int 0.1\n    unicast_src_ip ${V6.board.a.eth0}\n    unicast_peer {\n        ${V6.board.b.eth0}\n    }\n    virtual_ipaddress {\n        ${V6.publicVip}/64\n    }\n`,
  },
];

/** The records of a classic pcap file (tshark -F pcap), Ethernet link type. */
function pcapFrames(file: Buffer): Buffer[] {
  if (file.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('not a little-endian classic pcap file');
  if (file.readUInt32LE(20) !== 1) throw new Error(`link type ${file.readUInt32LE(20)}, expected Ethernet (1)`);
  const out: Buffer[] = [];
  for (let o = 24; o + 16 <= file.length; ) {
    const len = file.readUInt32LE(o + 8);
    out.push(file.subarray(o + 16, o + 16 + len));
    o += 16 + len;
  }
  return out;
}

const FIELDS = ['ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'vrrp.version', 'vrrp.type', 'vrrp.virt_rtr_id', 'vrrp.prio', 'vrrp.addr_count', 'vrrp.checksum', 'vrrp.checksum.status', 'vrrp.short_adver_int', 'vrrp.ipv6_addr'];

/** IPv6 adverts are VRRPv3 (RFC 5798 §5.2.1): anything else tshark read is a broken capture. */
function versionThree(field: string | undefined, name: string): 3 {
  if (Number(field) !== 3) throw new Error(`${name}: tshark read VRRP version ${String(field)}, expected 3`);
  return 3;
}

async function capture(lab: Lab, sc: Scenario, dir: string): Promise<Ipv6Vector> {
  const file = join(dir, `${sc.name}.pcap`);
  const cap = lab.spawn('b', ['tshark', '-n', '-i', sc.dev, '-F', 'pcap', '-w', file, '-f', 'ip6 proto 112'], { label: `tshark-${sc.name}` });
  await cap.waitForLog(/Capturing on/, 15_000);
  const config = `global_defs {\n    router_id ka-capture\n}\nvrrp_instance VI_6 {\n    state MASTER\n    version 3\n${sc.instance}}\n`;
  const ka = await startKeepalived(lab, 'a', config, { waitForLog: /\(VI_6\) Entering MASTER STATE/ });
  await new Promise((r) => setTimeout(r, 1_500));
  await ka.stop();
  await new Promise((r) => setTimeout(r, 300));
  await cap.stop('SIGINT');
  const frames = pcapFrames(await readFile(file)).map((f) => f.subarray(14)).filter((p) => p[0]! >> 4 === 6);
  const r = await runCommand('tshark', ['-n', '-r', file, '-o', 'vrrp.v3_checksum_as_in_v2:FALSE', '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=,', ...FIELDS.flatMap((f) => ['-e', f])], { check: true });
  const rows = r.stdout.trim().split('\n').map((l) => l.split('|'));
  if (rows.length !== frames.length) throw new Error(`${sc.name}: tshark read ${rows.length} packets, the pcap holds ${frames.length}`);
  const i = rows.findIndex((row) => (sc.pick === 'priority0' ? row[6] === '0' : row[6] !== '0'));
  if (i < 0) throw new Error(`${sc.name}: no ${sc.pick} advert captured`);
  const f = rows[i]!;
  return {
    name: sc.name,
    source: sc.source,
    ip_src: f[0]!,
    ip_dst: f[1]!,
    ip_hlim: Number(f[2]),
    ip_packet_hex: frames[i]!.toString('hex'),
    decoded: {
      version: versionThree(f[3], sc.name),
      type: Number(f[4]),
      vrid: Number(f[5]),
      priority: Number(f[6]),
      count_ip_addrs: Number(f[7]),
      checksum: f[8]!,
      tshark_checksum_status: f[9] === '1' ? 'good' : `status ${f[9]}`,
      max_adver_int_centiseconds: Number(f[10]),
      addresses: f[11] ? f[11].split(',') : [],
    },
  };
}

const lab = await createLab({ name: 'capture-adverts6', realServers: 0, ipv6: true });
const dir = await mkdtemp(join(tmpdir(), 'tandem-capture6-'));
try {
  const vectors: Ipv6Vector[] = [];
  for (const sc of SCENARIOS) {
    vectors.push(await capture(lab, sc, dir));
    process.stderr.write(`captured ${sc.name}\n`);
  }
  const doc = { captured_with: `${await keepalivedVersion()}, tshark, in the lab's namespaces (test/lab/capture-adverts6.ts)`, vectors };
  await writeFile(OUT, JSON.stringify(doc, null, 1) + '\n');
  process.stderr.write(`wrote ${vectors.length} vectors to ${OUT.pathname}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
  await lab.destroy();
}
