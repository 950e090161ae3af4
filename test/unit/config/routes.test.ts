// virtual_routes / static_routes and virtual_rules / static_rules lines, read as keepalived reads
// them (keepalived.conf(5) "static_routes", "static_rules"; vrrp_iproute.c, vrrp_iprule.c), and
// written back so that they read the same; use_vmac's forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, writeConfig } from '../../../src/config/index.ts';
import type { Config } from '../../../src/config/model.ts';
import { MINIMAL, noPos } from './helpers.ts';

function ok(text: string): Config {
  const r = parseConfigText(text, '/etc/tandem/t.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), [], 'no errors expected');
  return r.config!;
}

const withRoutes = (routes: string, rules = ''): string =>
  MINIMAL.replace('priority 100', `priority 100\n virtual_routes {\n${routes}\n }${rules ? `\n virtual_rules {\n${rules}\n }` : ''}`);

test('keepalived\'s route forms: src, [to], via/gw, or, dev, scope, table, metric, blackhole, default, IPv6', () => {
  const c = ok(withRoutes([
    '  src 192.168.100.1 to 192.168.109.0/24 via 192.168.200.254 dev eth1',
    '  192.168.113.0/24 via 192.168.100.252 or 192.168.100.253',
    '  blackhole 192.168.113.1/32',
    '  0.0.0.0/0 gw 192.168.0.1 table 100',
    '  default via 2001:db8::1 dev eth0 metric 5',
    '  192.168.212.0/24 dev eth3 scope site no_track append',
    '  unreachable 10.0.0.0/8 table main',
  ].join('\n')));
  const r = c.instances[0]!.virtualRoutes;
  assert.deepEqual(r.map((x) => [x.family, x.type, x.to, x.src, x.via, x.or, x.dev, x.scope, x.table, x.metric, x.how, x.noTrack]), [
    [4, 'unicast', '192.168.109.0/24', '192.168.100.1', '192.168.200.254', null, 'eth1', null, null, null, 'prepend', false],
    [4, 'unicast', '192.168.113.0/24', null, '192.168.100.252', '192.168.100.253', null, null, null, null, 'prepend', false],
    [4, 'blackhole', '192.168.113.1/32', null, null, null, null, null, null, null, 'prepend', false],
    [4, 'unicast', '0.0.0.0/0', null, '192.168.0.1', null, null, null, '100', null, 'prepend', false],
    [6, 'unicast', '::/0', null, '2001:db8::1', null, 'eth0', null, null, 5, 'prepend', false],
    [4, 'unicast', '192.168.212.0/24', null, null, null, 'eth3', 'site', null, null, 'append', true],
    [4, 'unreachable', '10.0.0.0/8', null, null, null, null, null, 'main', null, 'prepend', false],
  ]);
  assert.deepEqual(noPos(ok(writeConfig(c))), noPos(c), 'written back, it reads the same');
});

test('keepalived\'s rule forms: from, to, table/lookup, preference aliases, fwmark/mask, iif/oif, actions, inet6', () => {
  const c = ok(withRoutes('  192.0.2.0/24 dev eth0', [
    '  from 192.168.28.0/24 to 192.168.29.0/26 table 40 iif eth0 oif eth1 tos 22 fwmark 24/12 preference 39',
    '  to 2001:db8::/32 lookup main priority 7',
    '  inet6 iif eth1 blackhole pref 9',
    '  from 10.0.0.0/8 goto 50 order 20',
    '  from all type prohibit preference 30 no_track',
  ].join('\n')));
  const r = c.instances[0]!.virtualRules;
  assert.deepEqual(r.map((x) => [x.family, x.from, x.to, x.action, x.table, x.priority, x.fwmark, x.iif, x.oif, x.tos, x.gotoTarget]), [
    [4, '192.168.28.0/24', '192.168.29.0/26', 'table', '40', 39, '24/12', 'eth0', 'eth1', 22, null],
    [6, null, '2001:db8::/32', 'table', 'main', 7, null, null, null, null, null],
    [6, null, null, 'blackhole', null, 9, null, 'eth1', null, null, null],
    [4, '10.0.0.0/8', null, 'goto', null, 20, null, null, null, null, 50],
    [4, null, null, 'prohibit', null, 30, null, null, null, null, null],
  ]);
  assert.deepEqual(noPos(ok(writeConfig(c))), noPos(c));
});

test('static_ipaddress, static_routes, static_rules at the top level; use_vmac forms', () => {
  const c = ok('static_ipaddress {\n 192.0.2.9/24 dev eth0 scope global\n}\nstatic_routes {\n 10.0.0.0/8 via 192.0.2.1\n}\nstatic_rules {\n from 10.0.0.0/8 table 3 preference 3\n}\n'
    + MINIMAL.replace('priority 100', 'priority 100\n use_vmac name vmac51\n vmac_xmit_base'));
  assert.deepEqual([c.staticIps.length, c.staticRoutes.length, c.staticRules.length], [1, 1, 1]);
  assert.deepEqual([c.instances[0]!.vmac?.name, c.instances[0]!.vmacXmitBase], ['vmac51', true]);
  assert.deepEqual(noPos(ok(writeConfig(c))), noPos(c));
  assert.equal(ok(MINIMAL.replace('priority 100', 'priority 100\n use_vmac')).instances[0]!.vmac?.name, null);
  const e = parseConfigText(MINIMAL.replace('priority 100', 'priority 100\n use_vmac a b'), 't').diagnostics.filter((d) => d.severity === 'error');
  assert.match(e[0]?.message ?? '', /one interface name expected/);
  const s = parseConfigText('static_ipaddress {\n 192.0.2.9/24\n}\n' + MINIMAL, 't').diagnostics.filter((d) => d.severity === 'error');
  assert.match(s[0]?.message ?? '', /static_ipaddress 192\.0\.2\.9: give its interface with dev/);
});
