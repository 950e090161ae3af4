// Interface names and VIP labels as the kernel takes them, and whether the interfaces exist on
// the host or on the board the configuration is for: a VIP the kernel refuses at run time
// would leave a MASTER without its address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFile, parseConfigText, type LoadOptions } from '../../../src/config/index.ts';
import type { Diagnostic } from '../../../src/config/model.ts';
import { tempDir } from './helpers.ts';

const conf = (o: { iface?: string; vip?: string; extra?: string } = {}): string =>
  `vrrp_instance VI_1 {\n interface ${o.iface ?? 'eth0'}\n virtual_router_id 51\n virtual_ipaddress {\n  ${o.vip ?? '192.0.2.10/24'}\n }\n${o.extra ?? ''}\n}\n`;

function diags(text: string, opts: LoadOptions = {}): Diagnostic[] {
  return parseConfigText(text, 'i.conf', opts).diagnostics;
}
const errorsOf = (text: string): string[] => diags(text).filter((d) => d.severity === 'error').map((d) => `${d.pos.line}: ${d.message}`);

test('interface names: what Linux accepts (1-15 bytes, no / : or blanks, not . or ..)', () => {
  for (const ok of ['eth0', 'br-lan', 'wan', 'eth0.100', 'enp1s0f1', 'x'.repeat(15), 'veth@x']) {
    assert.deepEqual(errorsOf(conf({ iface: `"${ok}"` })), [], ok);
  }
  for (const bad of ['eth0/1', 'eth0:1', '"a b"', '.', '..', 'x'.repeat(16), '""', '"ethé0ééééééé"']) {
    const e = errorsOf(conf({ iface: bad }));
    assert.equal(e.length, 1, `${bad}: ${JSON.stringify(e)}`);
    assert.match(e[0]!, /^2: interface: '.*' is not a valid interface name/, bad);
  }
});

test('VIP dev and track_interface names follow the same rule', () => {
  assert.match(errorsOf(conf({ vip: '192.0.2.10/24 dev eth0/1' }))[0] ?? '', /^5: virtual_ipaddress dev: 'eth0\/1' is not a valid interface name/);
  assert.match(errorsOf(conf({ vip: '192.0.2.10/24 dev eth0:0' }))[0] ?? '', /is not a valid interface name/);
  assert.match(errorsOf(conf({ extra: ' track_interface {\n  eth1/2\n }' }))[0] ?? '', /^8: track_interface: 'eth1\/2' is not a valid interface name/);
});

test('VIP label: starts with the device name (dev, else the instance interface), at most 15 bytes', () => {
  assert.deepEqual(errorsOf(conf({ vip: '192.0.2.10/24 label eth0:vip' })), []);
  assert.deepEqual(errorsOf(conf({ vip: '192.0.2.10/24 dev eth1 label eth1:1' })), []);
  assert.deepEqual(errorsOf(conf({ vip: '192.0.2.10/24 label eth0' })), []);
  const cases: Array<[string, RegExp]> = [
    ['192.0.2.10/24 label eth1:1', /label 'eth1:1' must start with the device name eth0/],
    ['192.0.2.10/24 dev eth1 label eth0:1', /label 'eth0:1' must start with the device name eth1/],
    ['192.0.2.10/24 label eth0:abcdefghijk', /label 'eth0:abcdefghijk' is longer than 15 bytes/],
    ['192.0.2.10/24 label "eth0:a b"', /label 'eth0:a b' holds a blank or '\/'/],
    ['192.0.2.10/24 label eth0:a/b', /holds a blank or '\/'/],
  ];
  for (const [vip, re] of cases) {
    const e = errorsOf(conf({ vip }));
    assert.equal(e.length, 1, `${vip}: ${JSON.stringify(e)}`);
    assert.match(e[0]!, /^5: virtual_ipaddress /);
    assert.match(e[0]!, re);
  }
});

test('host interfaces given: an unknown interface, VIP dev or tracked interface is a warning', () => {
  const host = new Map([['eth0', ['192.0.2.1/24']], ['eth1', ['198.51.100.1/24']]]);
  const text = conf({ vip: '192.0.2.10/24 dev nosuch0', extra: ' track_interface {\n  eth1\n  gone7\n }' });
  const ds = diags(text, { interfaces: host });
  const warns = ds.filter((d) => d.severity === 'warning').map((d) => `${d.pos.line}: ${d.message}`);
  assert.deepEqual(warns, ['5: virtual_ipaddress dev nosuch0 does not exist on this host', '9: track_interface gone7 does not exist on this host']);
  assert.ok(parseConfigText(text, 'i.conf', { interfaces: host }).config, 'warnings still run');
  assert.ok(!diags(text).some((d) => d.severity === 'warning' && /does not exist/.test(d.message)), 'without interfaces, no existence check');
});

test('board given: interfaces are checked against its NICs, not the host; no subnet warning', () => {
  const board = { name: 'bpi-r3', nics: ['wan', 'br-lan'] };
  const ds = diags(conf({ vip: '192.0.2.10/24 dev br-lan' }), { board });
  assert.deepEqual(ds.map((d) => `${d.severity} ${d.pos.line}: ${d.message}`), ['warning 2: interface eth0 is not a NIC of board bpi-r3 (wan, br-lan)']);
  assert.deepEqual(diags(conf({ iface: 'wan', vip: '192.0.2.10/24 dev br-lan' }), { board }), []);
  const both = diags(conf(), { board, interfaces: new Map([['eth0', ['203.0.113.1/24']]]) });
  assert.ok(both.some((d) => /not a NIC of board bpi-r3/.test(d.message)), 'the board wins over the host');
  assert.ok(!both.some((d) => /does not exist on this host/.test(d.message)));
});

test('checkFile passes the board through', () => {
  const { dir, cleanup } = tempDir();
  try {
    const f = join(dir, 'b.conf');
    writeFileSync(f, conf({ iface: 'nosuch0' }));
    const r = checkFile(f, { board: { name: 'generic-x64', nics: ['eth0', 'eth1'] } });
    assert.equal(r.ok, true);
    assert.deepEqual(r.lines, [`${f}:2:2: warning: interface nosuch0 is not a NIC of board generic-x64 (eth0, eth1)`]);
  } finally { cleanup(); }
});
