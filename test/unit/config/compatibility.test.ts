// docs/compatibility.md and the directive tables agree, and the tables know every keyword of
// keepalived's parsers: a keyword added to one and not the other fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eachBlock, entryFor, type Block, type Directive } from '../../../src/config/directives/engine.ts';
import { TOP } from '../../../src/config/directives/top.ts';
import { compatibilityMarkdown, reasonOf, statusOf, withGenerated } from '../../../src/config/directives/compatibility.ts';
import { FEATURES } from '../../../src/config/directives/features.ts';
import { parseConfigText } from '../../../src/config/index.ts';
import { MINIMAL } from './helpers.ts';

const ROOT = new URL('../../../', import.meta.url);
const DOC = fileURLToPath(new URL('docs/compatibility.md', ROOT));
const ALL = TOP as unknown as Block<object>;

test('docs/compatibility.md is what the directive tables say (regenerate: node --import tsx scripts/compatibility.ts)', () => {
  const doc = readFileSync(DOC, 'utf8');
  assert.ok(doc.includes(compatibilityMarkdown().trimEnd()), 'the generated part is up to date');
  assert.equal(withGenerated(doc), doc);
  assert.match(readFileSync(fileURLToPath(new URL('README.md', ROOT)), 'utf8'), /\(docs\/compatibility\.md\)/, 'the README links it');
});

/** The entry for a keepalived keyword path, or the refused block above it; null when the tables lack it. */
function lookup(path: string[]): { status: string; reason: string } | null {
  let block: Block<object> | null = ALL;
  for (let i = 0; i < path.length; i++) {
    const kw = path[i]!;
    const e: Directive<object> | undefined = block ? entryFor(block, kw) : undefined;
    if (!e) return null;
    if (e.refused !== undefined || i === path.length - 1) return { status: statusOf(e), reason: reasonOf(e) };
    block = e.subs?.find((s: { names: readonly string[] }) => s.names.includes(kw))?.block ?? null;
    if (block === null) return { status: statusOf(e), reason: reasonOf(e) }; // a list block: its lines are values
  }
  return null;
}

test("every keyword of keepalived's parsers has an entry: supported, warned or refused with a reason", () => {
  const paths = readFileSync(fileURLToPath(new URL('keepalived-keywords.txt', import.meta.url)), 'utf8')
    .split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(' > '));
  assert.ok(paths.length > 500, `${paths.length} keywords`);
  const missing = paths.filter((p) => lookup(p) === null).map((p) => p.join(' > '));
  assert.deepEqual(missing, [], 'keepalived keywords without an entry');
  for (const p of paths) {
    const r = lookup(p)!;
    if (r.status !== 'supported') assert.ok(r.reason.length > 10, `${p.join(' > ')}: a reason`);
  }
});

test('every refused or warned entry and feature says why; refused features say how their error starts', () => {
  eachBlock(ALL, (b) => {
    for (const e of b.entries) if (statusOf(e) !== 'supported') assert.ok(reasonOf(e).length > 10, `${b.name} ${e.names[0]}`);
  });
  for (const f of FEATURES) {
    if (f.status !== 'supported') assert.ok(f.reason.length > 10, f.name);
    if (f.status === 'refused') assert.ok(f.message, `${f.name}: message`);
  }
});

test('email/SMTP and SNMP directives are accepted with a warning that tandem reports over MQTT, never silently', () => {
  const text = `global_defs {
  notification_email {
    ops@example.com
  }
  smtp_server 192.0.2.25
  smtp_alert
  enable_snmp_vrrp
  snmp_socket udp:1.2.3.4:705
}
${MINIMAL.replace('priority 100', 'priority 100\n  smtp_alert')}
virtual_server 192.0.2.10 80 {
  lb_algo rr
  smtp_alert
  snmp_name web
  real_server 198.51.100.2 80 {
    smtp_alert
  }
}
`;
  const r = parseConfigText(text, 't.conf');
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  const warned = r.diagnostics.filter((d) => d.severity === 'warning' && /over MQTT instead/.test(d.message)).map((d) => d.pos.line);
  assert.deepEqual(warned, [2, 5, 6, 7, 8, 14, 22, 23, 25]);
});

test("what others are building is refused today with its reason: ipvlan, VMAC by address, BFD; TUN refused, DR listed; IPv6 VRRP, IPv6 virtual servers, VMAC, routes and rules, event FIFOs and file and process tracking supported", () => {
  for (const path of [['vrrp_instance', 'use_ipvlan'], ['vrrp_instance', 'use_vmac_addr'],
    ['vrrp_instance', 'track_bfd'], ['bfd_instance'],
    ['virtual_server', 'ip_family'], ['global_defs', 'lvs_sync_daemon'], ['global_defs', 'net_namespace']]) {
    assert.equal(lookup(path)?.status, 'refused', path.join(' > '));
  }
  assert.equal(lookup(['vrrp_instance', 'native_ipv6'])?.status, 'supported');
  for (const path of [['global_defs', 'notify_fifo'], ['global_defs', 'vrrp_notify_fifo'], ['global_defs', 'lvs_notify_fifo'],
    ['vrrp_instance', 'track_file'], ['track_file'], ['vrrp_track_file'], ['vrrp_instance', 'track_process'], ['vrrp_track_process'],
    ['vrrp_sync_group', 'track_file'], ['vrrp_instance', 'notify_priority_changes'], ['global_defs', 'vrrp_garp_lower_prio_repeat'],
    ['global_defs', 'vrrp_higher_prio_send_advert'], ['global_defs', 'vrrp_mcast_group4'], ['global_defs', 'umask'],
    ['vrrp_instance', 'use_vmac'], ['vrrp_instance', 'vmac_xmit_base'], ['vrrp_instance', 'virtual_routes'], ['vrrp_instance', 'virtual_rules'],
    ['static_ipaddress'], ['static_routes'], ['static_rules'], ['global_defs', 'vrrp_mcast_group6']]) {
    assert.equal(lookup(path)?.status, 'supported', path.join(' > '));
  }
  const f = (name: string) => FEATURES.find((x) => x.name === name);
  assert.equal(f('IPv6 addresses')?.status, 'supported');
  assert.equal(f('IPv6 virtual_server, real_server and sorry_server addresses')?.status, 'supported');
  assert.equal(f('real_server or sorry_server of another family than its virtual_server')?.status, 'refused');
  assert.equal(f('lb_kind TUN')?.status, 'refused');
  assert.equal(f('lb_kind DR')?.status, 'supported');
});
