// The keywords pairs set for ordered events, split-brain healing, file and process tracking and
// the global_defs defaults, read as keepalived reads them (keepalived.conf(5); global_parser.c,
// vrrp_parser.c, trackers/track_file.c, vrrp.c where defaults are derived).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, writeConfig } from '../../../src/config/index.ts';
import type { Config } from '../../../src/config/model.ts';
import { MINIMAL, noPos } from './helpers.ts';

function ok(text: string): Config {
  const r = parseConfigText(text, '/etc/tandem/t.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), [], 'no errors expected');
  assert.ok(r.config);
  return r.config;
}

function errors(text: string): string[] {
  return parseConfigText(text, '/etc/tandem/t.conf').diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.pos.line}: ${d.message}`);
}

const global = (body: string): string => `global_defs {\n${body}\n}\n${MINIMAL}`;

test('a MASTER hearing a lower priority: keepalived\'s defaults are the vrrp_garp_master_* values; vrrp_strict turns them off', () => {
  const d = ok(MINIMAL).global;
  assert.deepEqual([d.garpLowerPrioRepeat, d.garpLowerPrioDelayMs, d.lowerPrioNoAdvert], [5, 5000, false]);
  // tandem's one deliberate difference: the yielding MASTER advertises once more (see global.ts).
  assert.equal(d.higherPrioSendAdvert, true);
  const g = ok(global('vrrp_garp_master_repeat 3\nvrrp_garp_master_delay 2')).global;
  assert.deepEqual([g.garpLowerPrioRepeat, g.garpLowerPrioDelayMs], [3, 2000], 'follow the garp_master values');
  const s = ok(global('vrrp_strict')).global;
  assert.deepEqual([s.garpLowerPrioRepeat, s.garpLowerPrioDelayMs, s.lowerPrioNoAdvert, s.higherPrioSendAdvert], [0, 0, true, false]);
  const e = ok(global('vrrp_strict\nvrrp_garp_lower_prio_repeat 2\nvrrp_higher_prio_send_advert')).global;
  assert.deepEqual([e.garpLowerPrioRepeat, e.higherPrioSendAdvert], [2, true], 'explicit values win');
  // Written back only where they differ from what keepalived derives.
  assert.doesNotMatch(writeConfig(ok(global('vrrp_garp_master_repeat 3'))), /lower_prio/);
  const i = ok(MINIMAL.replace('priority 100', 'priority 100\n lower_prio_no_advert\n higher_prio_send_advert false\n garp_lower_prio_repeat 0')).instances[0]!;
  assert.deepEqual([i.lowerPrioNoAdvert, i.higherPrioSendAdvert, i.garpLowerPrioRepeat, i.garpLowerPrioDelayMs], [true, false, 0, null]);
});

test('vrrp_min_garp: one GARP, no second burst, no refresh, except where set explicitly', () => {
  const g = ok(global('vrrp_min_garp')).global;
  assert.deepEqual([g.garpMasterRepeat, g.garpMasterDelayMs, g.garpMasterRefreshMs, g.garpMasterRefreshRepeat], [1, 0, 0, 0]);
  assert.equal(g.garpLowerPrioRepeat, 1, 'the lower-priority burst follows the master repeat');
  const h = ok(global('vrrp_min_garp\nvrrp_garp_master_repeat 4')).global;
  assert.deepEqual([h.garpMasterRepeat, h.garpMasterDelayMs], [4, 0]);
  assert.deepEqual(noPos(ok(writeConfig(ok(global('vrrp_min_garp\nvrrp_garp_master_repeat 4'))))), noPos(ok(global('vrrp_min_garp\nvrrp_garp_master_repeat 4'))));
  assert.deepEqual(ok(global('vrrp_min_garp false')).global.garpMasterRepeat, 5);
});

test('event FIFOs: an absolute path with an optional owner; their scripts; priority changes inherit instance, group, global_defs', () => {
  const g = ok(global('notify_fifo /run/ev.fifo\nvrrp_notify_fifo /run/v.fifo nobody nogroup\nlvs_notify_fifo_script "/bin/reader -v"')).global;
  assert.deepEqual(noPos(g.notifyFifo), { path: '/run/ev.fifo', user: null, group: null });
  assert.deepEqual(noPos(g.vrrpNotifyFifo), { path: '/run/v.fifo', user: 'nobody', group: 'nogroup' });
  assert.deepEqual(g.lvsNotifyFifoScript?.argv, ['/bin/reader', '-v']);
  assert.match(errors(global('notify_fifo relative.fifo')).join('\n'), /notify_fifo: 'relative.fifo' is not an absolute path/);
  assert.match(errors(global('notify_fifo /a /b /c /d')).join('\n'), /'notify_fifo' takes 1 to 3 argument/);
  const c = ok(global('vrrp_notify_priority_changes') + 'vrrp_sync_group G {\n group {\n VI_1\n }\n notify_priority_changes false\n}\n');
  assert.deepEqual([c.global.vrrpNotifyPriorityChanges, c.syncGroups[0]!.notifyPriorityChanges, c.instances[0]!.notifyPriorityChanges], [true, false, null]);
});

test('umask as a number (strtol base 0) or as bits joined by |', () => {
  assert.equal(ok(global('umask 022')).global.umask, 0o22);
  assert.equal(ok(global('umask 0x12')).global.umask, 0o22);
  assert.equal(ok(global('umask 18')).global.umask, 0o22);
  assert.equal(ok(global('umask IWGRP|IWOTH')).global.umask, 0o22);
  assert.equal(ok(global('umask IRWXG | IRWXO')).global.umask, 0o77);
  assert.equal(ok(MINIMAL).global.umask, null, 'left alone by default');
  assert.match(errors(global('umask 0999')).join('\n'), /umask: '0999' is not a mode/);
  assert.match(errors(global('umask IWGRP|NOPE')).join('\n'), /umask: 'NOPE' is not one of/);
  assert.match(writeConfig(ok(global('umask IWGRP|IWOTH'))), /umask 022\n/);
});

test('vrrp_mcast_group4 and vrrp_mcast_group6 must be multicast of their family; delays and dynamic_interfaces', () => {
  assert.equal(ok(MINIMAL).global.vrrpMcastGroup4, '224.0.0.18');
  assert.equal(ok(global('vrrp_mcast_group4 239.1.2.3')).global.vrrpMcastGroup4, '239.1.2.3');
  assert.match(errors(global('vrrp_mcast_group4 192.0.2.1')).join('\n'), /is not a multicast address/);
  assert.equal(ok(MINIMAL).global.vrrpMcastGroup6, 'ff02::12');
  assert.equal(ok(global('vrrp_mcast_group6 FF02::0112')).global.vrrpMcastGroup6, 'ff02::112');
  assert.match(errors(global('vrrp_mcast_group6 2001:db8::1')).join('\n'), /is not an IPv6 multicast address/);
  assert.match(errors(global('vrrp_mcast_group6 224.0.0.18')).join('\n'), /is not an IPv6 multicast address/);
  const g = ok(global('vrrp_startup_delay 5.5\nvrrp_delay_after_boot 30\ndynamic_interfaces'));
  assert.deepEqual([g.global.vrrpStartupDelayMs, g.global.vrrpDelayAfterBootMs, g.global.dynamicInterfaces], [5500, 30000, true]);
  assert.match(errors(global('dynamic_interfaces sometimes')).join('\n'), /'sometimes' is not allow_if_changes/);
});

test('track_file and vrrp_track_process blocks, and the instances and groups that name them', () => {
  const text = `track_file tf {\n file /run/prio\n}\nvrrp_track_file old {\n file /run/old\n weight 0\n init_file\n}\n`
    + `vrrp_track_process tp {\n process nginx\n quorum 2\n delay 0.5\n}\nvrrp_track_process hp {\n process haproxy -f /etc/h.cfg\n}\n`
    + MINIMAL.replace('priority 100', 'priority 100\n track_file {\n tf weight -3\n old\n }\n track_process {\n tp weight 5 reverse\n hp\n }');
  const c = ok(text);
  assert.deepEqual(c.trackFiles.map((f) => [f.name, f.file, f.weight, f.initFile]), [['tf', '/run/prio', 1, null], ['old', '/run/old', 0, { value: 0, overwrite: false }]]);
  assert.deepEqual(c.trackProcesses.map((p) => [p.name, p.process, p.paramMatch, p.fullCommand, p.quorum, p.forkDelayMs, p.terminateDelayMs]),
    [['tp', ['nginx'], 'none', false, 2, 500, 500], ['hp', ['haproxy', '-f', '/etc/h.cfg'], 'exact', true, 1, 0, 0]]);
  const i = c.instances[0]!;
  assert.deepEqual(i.trackFiles.map((t) => [t.name, t.weight, t.reverse]), [['tf', -3, null], ['old', null, null]]);
  assert.deepEqual(i.trackProcesses.map((t) => [t.name, t.weight, t.reverse]), [['tp', 5, true], ['hp', null, null]]);
  assert.deepEqual(noPos(ok(writeConfig(c))), noPos(c), 'round trip');

  const bad = errors(MINIMAL.replace('priority 100', 'priority 100\n track_file {\n nope\n }\n track_process {\n nope weight 300\n }')
    + 'track_file t2 {\n weight 2\n}\nvrrp_track_process p2 {\n weight 1\n}\nvrrp_track_process p3 {\n process x\n quorum 3\n quorum_max 2\n}\n');
  assert.ok(bad.some((e) => /track_file 'nope'|track_file nope: no track_file block of that name/.test(e)), bad.join('\n'));
  assert.ok(bad.some((e) => /track_process weight: 300 is out of range/.test(e)), bad.join('\n'));
  assert.ok(bad.some((e) => /track_file t2 needs 'file'/.test(e)), bad.join('\n'));
  assert.ok(bad.some((e) => /vrrp_track_process p2 needs 'process'/.test(e)), bad.join('\n'));
  assert.ok(bad.some((e) => /quorum_max 2 is less than quorum 3/.test(e)), bad.join('\n'));
  assert.match(errors(MINIMAL.replace('priority 100', 'priority 100\n track_bfd {\n b1\n }')).join('\n'), /unsupported directive 'track_bfd' in vrrp_instance VI_1: BFD is not supported yet/);
});

test('notify_programs { timeout } bounds notify programs; absent, 10 s', () => {
  assert.equal(ok(MINIMAL).notifyPrograms, null);
  assert.equal(ok(MINIMAL + 'notify_programs {\n timeout 2.5\n}\n').notifyPrograms?.timeoutMs, 2500);
  assert.match(errors(MINIMAL + 'notify_programs {\n timeout 0\n}\n').join('\n'), /timeout must be greater than 0/);
});

test('a process name longer than the kernel keeps (15 characters) is a warning unless full_command', () => {
  const warns = (body: string) => parseConfigText(MINIMAL + `vrrp_track_process p {\n${body}\n}\n`, 't.conf').diagnostics.filter((d) => d.severity === 'warning').map((d) => d.message);
  assert.ok(warns('process a-very-long-daemon-name').some((m) => /longer than the 15 characters/.test(m)));
  assert.deepEqual(warns('process a-very-long-daemon-name\nfull_command').filter((m) => /15 characters/.test(m)), []);
});
