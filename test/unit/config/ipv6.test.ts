// IPv6 in the configuration, keepalived's rules: one instance is one family (its
// virtual_ipaddress_excluded may hold the other), an IPv6 instance is VRRPv3, a sync group may
// mix an IPv4 and an IPv6 instance, a link-local VIP names its dev, native_ipv6, unicast_peer
// and unicast_src_ip in IPv6, checkers' connect_ip and bindto in IPv6; and every bad input
// the IPv6 issue lists is a located error. Virtual servers of either family (NAT66, DR over IPv6),
// each of one family.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, writeConfig } from '../../../src/config/index.ts';
import type { Config, Diagnostic } from '../../../src/config/model.ts';
import { engineConfigFrom } from '../../../src/vrrp/engine-config.ts';
import { MINIMAL, noPos } from './helpers.ts';

function parse(text: string): { config: Config | null; diags: Diagnostic[] } {
  const r = parseConfigText(text, 't.conf');
  return { config: r.config, diags: r.diagnostics };
}

function ok(text: string): Config {
  const r = parse(text);
  assert.deepEqual(r.diags.filter((d) => d.severity === 'error'), [], text);
  assert.ok(r.config);
  return r.config;
}

/** The errors as "LINE:COL message". */
function errors(text: string): string[] {
  return parse(text).diags.filter((d) => d.severity === 'error').map((d) => `${d.pos.line}:${d.pos.col} ${d.message}`);
}

function one(text: string, re: RegExp, line: number): void {
  const e = errors(text);
  assert.ok(e.length > 0, `an error expected in:\n${text}`);
  assert.ok(e.some((x) => re.test(x) && x.startsWith(`${line}:`)), `expected ${re} at line ${line}, got:\n${e.join('\n')}`);
}

const inst6 = (body: string, name = 'VI_6', vips = '    2001:db8:0:1::1/64\n'): string =>
  `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id 61\n  priority 150\n  advert_int 0.1\n  virtual_ipaddress {\n${vips}  }\n${body}}\n`;

test('an IPv6 instance: family 6, VRRPv3 by default whatever global_defs says, canonical addresses, /128 by default', () => {
  const c = ok('global_defs {\n  vrrp_version 2\n}\n' + inst6('', 'VI_6', '    2001:DB8:0:1:0:0:0:1/64\n    2001:db8:0:1::2\n'));
  const i = c.instances[0]!;
  assert.equal(i.family, 6);
  assert.equal(i.version, 3, 'keepalived: an IPv6 instance is VRRPv3');
  assert.deepEqual(i.virtualIps.map((v) => `${v.address}/${v.prefix}`), ['2001:db8:0:1::1/64', '2001:db8:0:1::2/128']);
  assert.equal(ok(MINIMAL).instances[0]!.family, 4);
  // The writer leaves the inherited version out and reads back the same.
  const text = writeConfig(c);
  assert.doesNotMatch(text, /version/);
  assert.deepEqual(noPos(ok(text)), noPos(c));
});

test('a link-local VIP with its dev (the real servers\' IPv6 gateway) is fine; without dev it is a located error', () => {
  const c = ok(inst6('', 'VI_6', '    fe80::1/64 dev eth1\n    2001:db8:0:2::1/64 dev eth1\n'));
  assert.deepEqual(c.instances[0]!.virtualIps.map((v) => [v.address, v.dev]), [['fe80::1', 'eth1'], ['2001:db8:0:2::1', 'eth1']]);
  one(inst6('', 'VI_6', '    fe80::1/64\n'), /virtual_ipaddress fe80::1 is link-local: give its interface with dev/, 7);
  one(inst6('virtual_ipaddress_excluded {\n    fe80::2/64\n  }\n'), /fe80::2 is link-local/, 10);
});

test('one instance is one family: an address of the other family in virtual_ipaddress is a located error; _excluded may hold it', () => {
  one(inst6('', 'VI_6', '    2001:db8:0:1::1/64\n    192.0.2.10/24\n'), /^8:\d+ virtual_ipaddress 192\.0\.2\.10 is IPv4 but vrrp_instance VI_6 is IPv6 \(its first virtual_ipaddress 2001:db8:0:1::1\): an instance is one family/, 8);
  one(MINIMAL.replace('192.0.2.10/24', '192.0.2.10/24\n    2001:db8::1/64'), /virtual_ipaddress 2001:db8::1 is IPv6 but vrrp_instance VI_1 is IPv4/, 7);
  const c = ok(MINIMAL.replace('  }\n}', '  }\n  virtual_ipaddress_excluded {\n    2001:db8::10/64\n  }\n}'));
  assert.equal(c.instances[0]!.family, 4);
  const e = engineConfigFrom(c).instances[0]!;
  assert.deepEqual(e.vips.map((v) => v.address), ['192.0.2.10', '2001:db8::10'], 'the excluded IPv6 VIP moves with the instance');
  assert.deepEqual(e.advertAddresses, ['192.0.2.10'], 'but is not in the advert');
});

test('unicast_peer and unicast_src_ip in IPv6; a peer or source of the other family is a located error', () => {
  const c = ok(inst6('  unicast_src_ip 2001:db8:0:1::2\n  unicast_peer {\n    2001:db8:0:1::3\n  }\n'));
  assert.equal(c.instances[0]!.unicastSrcIp, '2001:db8:0:1::2');
  assert.deepEqual(c.instances[0]!.unicastPeers, ['2001:db8:0:1::3']);
  one(MINIMAL.replace('  virtual_ipaddress', '  unicast_peer {\n    2001:db8::3\n  }\n  virtual_ipaddress'), /unicast_peer 2001:db8::3 is IPv6 but vrrp_instance VI_1 is IPv4/, 5);
  one(inst6('  unicast_src_ip 192.0.2.2\n'), /unicast_src_ip 192\.0\.2\.2 is IPv4 but vrrp_instance VI_6 is IPv6/, 9);
  // Without VIPs the source decides the family, and the peers must follow it.
  const bare = 'vrrp_instance U {\n  interface eth0\n  virtual_router_id 9\n  unicast_src_ip 2001:db8::2\n  unicast_peer {\n    2001:db8::3\n  }\n}\n';
  assert.equal(ok(bare).instances[0]!.family, 6);
});

test('native_ipv6 makes an instance IPv6 (and VRRPv3); with IPv4 addresses it is an error, as in keepalived', () => {
  const c = ok('vrrp_instance N {\n  interface eth0\n  virtual_router_id 9\n  native_ipv6\n}\n');
  assert.equal(c.instances[0]!.family, 6);
  assert.equal(c.instances[0]!.version, 3);
  one(MINIMAL.replace('priority 100', 'priority 100\n  native_ipv6'), /virtual_ipaddress 192\.0\.2\.10 is IPv4 but vrrp_instance VI_1 is IPv6 \(native_ipv6\)/, 7);
});

test('version 2 with IPv6 is a located error (VRRPv2 is IPv4 only)', () => {
  one(inst6('  version 2\n'), /version 2 cannot carry IPv6/, 9);
});

test('malformed and zone-scoped addresses are located errors naming what is wrong', () => {
  one(inst6('', 'VI_6', '    2001:db8::1::2/64\n'), /^7:5 virtual_ipaddress: '2001:db8::1::2' is not a valid IPv6 address/, 7);
  one(inst6('', 'VI_6', '    fe80::1%eth0/64\n'), /^7:5 virtual_ipaddress: 'fe80::1%eth0' carries a zone index \('%eth0'\)/, 7);
  one(inst6('  unicast_peer {\n    fe80::3%eth0\n  }\n'), /unicast_peer: 'fe80::3%eth0' carries a zone index/, 10);
  one(inst6('', 'VI_6', '    2001:db8::1/129\n'), /bad prefix length '\/129' \(0-128 for IPv6\)/, 7);
  one(inst6('', 'VI_6', '    2001:db8::1/64 label eth0:v6\n'), /'label' is for IPv4 addresses only/, 7);
  one(inst6('', 'VI_6', '    2001:db8::1/64 brd 2001:db8::ff\n'), /'brd' is for IPv4 addresses only/, 7);
  one(inst6('', 'VI_6', '    2001:db8::1/64 scope link\n'), /'scope' is for IPv4 addresses only/, 7);
});

test('an IPv4 and an IPv6 instance may share a VRID on one interface; two IPv6 ones may not', () => {
  ok(MINIMAL + inst6('').replace('virtual_router_id 61', 'virtual_router_id 51'));
  one(inst6('') + inst6('', 'VI_7', '    2001:db8:0:1::7/64\n'), /virtual_router_id 61 is used twice on eth0 over IPv6/, 3);
});

test('a sync group may mix an IPv4 and an IPv6 instance (the dual-stack pair), and the engine gets both families', () => {
  const c = ok(MINIMAL + inst6('') + 'vrrp_sync_group G {\n  group {\n    VI_1\n    VI_6\n  }\n}\n');
  const e = engineConfigFrom(c);
  assert.deepEqual(e.instances.map((i) => [i.name, i.family, i.version]), [['VI_1', 4, 2], ['VI_6', 6, 3]]);
  assert.deepEqual(e.syncGroups, [{ name: 'G', members: ['VI_1', 'VI_6'] }]);
});

const VS = (addr: string, rs: string, checker = ''): string =>
  `${MINIMAL}virtual_server ${addr} 80 {\n  lb_algo rr\n  real_server ${rs} 80 {\n${checker}  }\n}\n`;

test('IPv6 virtual servers: addresses canonical, real and sorry servers of the same family; other families and link-local addresses are located errors', () => {
  const c = ok(VS('2001:DB8:0:1::0:1', '2001:db8:0:2::11').replace('  real_server', '  sorry_server 2001:db8:0:2::99 8080\n  real_server'));
  const v = c.virtualServers[0]!;
  assert.equal(v.address, '2001:db8:0:1::1');
  assert.equal(v.realServers[0]!.address, '2001:db8:0:2::11');
  assert.deepEqual(v.sorryServer && [v.sorryServer.address, v.sorryServer.port], ['2001:db8:0:2::99', 8080]);
  // No NAT46 / NAT64: a virtual server and its servers are one family, as in keepalived.
  one(VS('2001:db8::1', '192.0.2.20'), /real_server 192\.0\.2\.20 is IPv4 but virtual_server 2001:db8::1 80 is IPv6: NAT and DR keep the packet's family/, 11);
  one(VS('192.0.2.10', '2001:db8::20'), /real_server 2001:db8::20 is IPv6 but virtual_server 192\.0\.2\.10 80 is IPv4/, 11);
  one(VS('2001:db8::1', '2001:db8::20').replace('  real_server', '  sorry_server 192.0.2.99 80\n  real_server'), /sorry_server 192\.0\.2\.99 is IPv4 but virtual_server/, 11);
  one(VS('fe80::1', '2001:db8::20'), /virtual_server fe80::1 is link-local/, 9);
  one(VS('ff02::1', '2001:db8::20'), /virtual_server ff02::1 is a multicast address/, 9);
  one(VS('2001:db8::1', 'fe80::20'), /real_server fe80::20 is link-local/, 11);
  one(VS('2001:db8::1%eth0', '2001:db8::20'), /virtual_server: '2001:db8::1%eth0' carries a zone index/, 9);
  one(VS('2001:db8::zz', '2001:db8::20'), /virtual_server: '2001:db8::zz' is not a valid IPv6 address/, 9);
});

test('persistence_granularity of an IPv6 virtual server is a prefix length up to 128 (default: the whole address), written back as one', () => {
  const p = (line: string): string => VS('2001:db8::1', '2001:db8::20').replace('  lb_algo rr\n', `  lb_algo rr\n  persistence_timeout 60\n${line}`);
  assert.equal(ok(p('')).virtualServers[0]!.persistenceGranularity, 128);
  assert.equal(ok(VS('192.0.2.10', '192.0.2.20')).virtualServers[0]!.persistenceGranularity, 32);
  const c = ok(p('  persistence_granularity 64\n'));
  assert.equal(c.virtualServers[0]!.persistenceGranularity, 64);
  assert.match(writeConfig(c), /persistence_granularity 64\n/);
  assert.doesNotMatch(writeConfig(ok(p(''))), /persistence_granularity/);
  one(p('  persistence_granularity 129\n'), /'129' is not a netmask or prefix length/, 12);
  one(VS('192.0.2.10', '192.0.2.20').replace('  lb_algo rr\n', '  lb_algo rr\n  persistence_granularity 64\n'), /persistence_granularity is out of range 0-32/, 9);
});

test('checkers take IPv6 connect_ip and bindto; bindto of another family than the target is a located error', () => {
  const tcp = '    TCP_CHECK {\n      connect_ip 2001:db8:0:2::11\n      bindto 2001:db8:0:2::2\n    }\n';
  const c = ok(VS('192.0.2.10', '192.0.2.20', tcp));
  const chk = c.virtualServers[0]!.realServers[0]!.checkers[0]!;
  assert.ok(chk.kind === 'TCP_CHECK' && chk.connectIp === '2001:db8:0:2::11' && chk.bindTo === '2001:db8:0:2::2');
  one(VS('192.0.2.10', '192.0.2.20', '    HTTP_GET {\n      url {\n        path /\n      }\n      bindto 2001:db8::2\n    }\n'),
    /bindto 2001:db8::2 is IPv6 but the checker connects to 192\.0\.2\.20, an IPv4 address \(the real server; set connect_ip/, 16);
  one(VS('192.0.2.10', '192.0.2.20', '    UDP_CHECK {\n      connect_ip 2001:db8::9\n      bindto 192.0.2.2\n    }\n'), /bindto 192\.0\.2\.2 is IPv4 but the checker connects to 2001:db8::9/, 14);
});

test('RFC 5798 §5.2.9: the first IPv6 VIP should be link-local: a warning, an error with vrrp_strict (keepalived)', () => {
  const warnings = (text: string): string[] => parse(text).diags.filter((d) => d.severity === 'warning').map((d) => d.message);
  assert.ok(warnings(inst6('')).some((m) => /first IPv6 virtual_ipaddress of vrrp_instance VI_6 should be link-local/.test(m)));
  assert.ok(!warnings(inst6('', 'VI_6', '    fe80::1/64 dev eth0\n    2001:db8:0:1::1/64\n')).some((m) => /should be link-local/.test(m)));
  one('global_defs {\n  vrrp_strict\n}\n' + inst6(''), /should be link-local \(RFC 5798 section 5\.2\.9\); 2001:db8:0:1::1 is not \(vrrp_strict\)/, 10);
});
