// The directive tables (src/config/directives/): every keyword is one entry that knows how it
// is read, written, defaulted and refused, and those entries are what the build, the writer,
// the console's paths and validation use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eachBlock, type Block, type Directive } from '../../../src/config/directives/engine.ts';
import { TOP } from '../../../src/config/directives/top.ts';
import { GARP_DEFAULTS } from '../../../src/config/directives/global.ts';
import { walk } from '../../../src/config/directives/engine.ts';
import { blockArity, keywordChoices } from '../../../src/config/edit.ts';
import { parseConfigText, writeConfig } from '../../../src/config/index.ts';
import type {
  Authentication, Config, GlobalDefs, HttpCheck, HttpUrl, MetricsSettings, MiscCheck, MqttSettings, NotifyProgramSettings, RealServer, SerialConsoleSettings,
  SyncGroup, TcpCheck, TrackFile, TrackProcess, UdpCheck, VirtualServer, VrrpInstance, VrrpScript,
} from '../../../src/config/model.ts';
import { MINIMAL, RICH, noPos } from './helpers.ts';

const ALL = TOP as unknown as Block<object>;
const blocks: Array<Block<object>> = [];
eachBlock(ALL, (b) => blocks.push(b));

// ---- where each block's example goes: a valid configuration around one directive ----
const SCRIPTS = 'vrrp_script chk_a {\n script /bin/true\n}\nvrrp_script chk_b {\n script /bin/false\n}\n'
  + 'track_file tf_a {\n file /run/a\n}\ntrack_file tf_b {\n file /run/b\n}\n'
  + 'vrrp_track_process tp_a {\n process a\n}\nvrrp_track_process tp_b {\n process b\n}\n';
const instance = (body: string): string =>
  `${SCRIPTS}vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n 192.0.2.10/24\n }\n${body}\n}\n`;
const vs = (body: string): string => MINIMAL + `virtual_server 192.0.2.10 80 {\n lb_algo rr\n${body}\n}\n`;
const rs = (body: string): string => vs(`real_server 198.51.100.2 80 {\n${body}\n}`);
const WRAP: Record<string, (example: string) => string> = {
  '': (ex) => MINIMAL + ex + '\n',
  global_defs: (ex) => `global_defs {\n${ex}\n}\n` + MINIMAL,
  vrrp_instance: instance,
  // authentication has no defaults: the base has none, the example brings the other half.
  authentication: (ex) => instance(ex === '' ? '' : `authentication {\n${ex}\n${ex.startsWith('auth_type') ? 'auth_pass x' : 'auth_type PASS'}\n}`),
  vrrp_sync_group: (ex) => SCRIPTS + MINIMAL + MINIMAL.replace('VI_1', 'VI_2').replace('51', '52') + `vrrp_sync_group G {\n group {\n VI_1\n }\n${ex}\n}\n`,
  vrrp_script: (ex) => `vrrp_script s {\n script /bin/true\n${ex}\n}\n` + MINIMAL,
  virtual_server: vs,
  real_server: rs,
  TCP_CHECK: (ex) => rs(`TCP_CHECK {\n${ex}\n}`),
  HTTP_GET: (ex) => rs(`HTTP_GET {\n url {\n path /\n }\n${ex}\n}`),
  url: (ex) => rs(`HTTP_GET {\n url {\n path /\n${ex}\n }\n}`),
  UDP_CHECK: (ex) => rs(`UDP_CHECK {\n${ex}\n}`),
  MISC_CHECK: (ex) => rs(`MISC_CHECK {\n misc_path /bin/true\n${ex}\n}`),
  mqtt: (ex) => MINIMAL + `mqtt {\n url mqtt://192.0.2.5\n${ex}\n}\n`,
  serial_console: (ex) => MINIMAL + `serial_console {\n${ex}\n}\n`,
  metrics: (ex) => MINIMAL + `metrics {\n listen 127.0.0.1:9650\n${ex}\n}\n`,
  notify_programs: (ex) => MINIMAL + `notify_programs {\n${ex}\n}\n`,
  track_file: (ex) => MINIMAL + `track_file t {\n${ex.startsWith('file ') ? '' : 'file /run/t\n'}${ex}\n}\n`,
  vrrp_track_process: (ex) => MINIMAL + `vrrp_track_process p {\n${ex.startsWith('process ') ? '' : 'process nginx\n'}${ex}\n}\n`,
};

/**
 * Keywords whose example in its wrapper is the default: lb_kind DR needs sh or mh and real
 * servers on the VIP's segment, which the virtual_server wrapper has not (its round trip and
 * refusals are in dr.test.ts).
 */
const ONLY_VALUE = new Set(['lb_kind']);

/** Entries whose example needs another wrapper than their block's: native_ipv6 makes the instance IPv6, so its VIP is one. */
const WRAP_ENTRY: Record<string, (example: string) => string> = {
  native_ipv6: (ex) => instance(ex).replace('192.0.2.10/24', '2001:db8::10/64'),
};

function parsed(text: string): Config {
  const r = parseConfigText(text, '/etc/tandem/t.conf');
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], `no errors expected in:\n${text}`);
  assert.ok(r.config);
  return r.config;
}

const live = (e: Directive<object>): boolean => e.refused === undefined && e.ignored === undefined;

test('every block of the table has an example wrapper (so every keyword below is tested)', () => {
  assert.deepEqual(blocks.map((b) => b.name).filter((n) => !Object.hasOwn(WRAP, n)), []);
  assert.ok(blocks.length >= 15, `${blocks.length} blocks`);
});

test('every entry has keywords, a reader and a writer; every value a default; no keyword twice in a block', () => {
  let entries = 0;
  for (const b of blocks) {
    const seen = new Set<string>();
    for (const e of b.entries) {
      entries++;
      assert.ok(e.names.length > 0, `${b.name}: an entry without a keyword`);
      for (const n of e.names) {
        assert.ok(!seen.has(n), `${b.name}: '${n}' is in two entries`);
        seen.add(n);
      }
      assert.equal(typeof e.read, 'function', `${b.name} ${e.names[0]}: reader`);
      assert.equal(typeof e.write, 'function', `${b.name} ${e.names[0]}: writer`);
      assert.ok(e.example.length > 0, `${b.name} ${e.names[0]}: example`);
      if (!live(e)) continue;
      // The value-less exceptions: what a block cannot do without (its closer says it is
      // missing), and global_defs, whose default is the empty block buildModel starts from.
      const exempt = ['script', 'misc_path', 'global_defs'].includes(e.names[0]!);
      assert.ok(exempt || Object.keys(e.defaults).length > 0, `${b.name} ${e.names[0]}: no default`);
    }
  }
  assert.ok(entries > 100, `${entries} entries`);
});

// The model's fields, per block. `satisfies` makes tsc fail when a model field is added or
// removed without this list following; the test then checks the built objects against it, so
// the table's defaults (plus the block headers) fill every field.
const FIELDS: Record<string, Record<string, true>> = {
  '': {
    file: true, global: true, syncGroups: true, instances: true, scripts: true, trackFiles: true, trackProcesses: true, virtualServers: true,
    mqtt: true, serialConsole: true, metrics: true, notifyPrograms: true, staticIps: true, staticRoutes: true, staticRules: true,
  } satisfies Record<keyof Config, true>,
  global_defs: {
    routerId: true, vrrpVersion: true, notificationEmail: true, notificationEmailFrom: true, smtpServer: true, smtpConnectTimeoutMs: true,
    garpMasterDelayMs: true, garpMasterRepeat: true, garpMasterRefreshMs: true, garpMasterRefreshRepeat: true, garpIntervalMs: true,
    vrrpSkipCheckAdvAddr: true, vrrpStrict: true, scriptUser: true, scriptGroup: true, enableScriptSecurity: true,
    vrrpRtPriority: true, vrrpPriority: true, maxAutoPriority: true, minAutoPriorityDelayMs: true,
    notifyFifo: true, notifyFifoScript: true, vrrpNotifyFifo: true, vrrpNotifyFifoScript: true, lvsNotifyFifo: true, lvsNotifyFifoScript: true,
    vrrpNotifyPriorityChanges: true, fifoWriteVrrpStatesOnReload: true, garpLowerPrioDelayMs: true, garpLowerPrioRepeat: true,
    lowerPrioNoAdvert: true, higherPrioSendAdvert: true, vrrpMcastGroup4: true, vrrpMcastGroup6: true, gnaIntervalMs: true, vrrpMinGarp: true,
    dynamicInterfaces: true, vrrpStartupDelayMs: true, vrrpDelayAfterBootMs: true, umask: true, pos: true,
  } satisfies Record<keyof GlobalDefs, true>,
  vrrp_sync_group: {
    name: true, group: true, notifyMaster: true, notifyBackup: true, notifyFault: true, notifyStop: true, notify: true, trackScripts: true,
    trackInterfaces: true, trackFiles: true, trackProcesses: true, notifyPriorityChanges: true, pos: true,
  } satisfies Record<keyof SyncGroup, true>,
  vrrp_instance: {
    name: true, initialState: true, interface: true, virtualRouterId: true, priority: true, advertIntMs: true, version: true, nopreempt: true,
    preemptDelayMs: true, authentication: true, virtualIps: true, virtualIpsExcluded: true, unicastSrcIp: true, unicastPeers: true,
    trackInterfaces: true, trackScripts: true, dontTrackPrimary: true, notify: true, notifyMaster: true, notifyBackup: true, notifyFault: true,
    notifyStop: true, garpMasterDelayMs: true, garpMasterRepeat: true, garpMasterRefreshMs: true, garpMasterRefreshRepeat: true,
    smtpAlert: true, accept: true, nativeIpv6: true, family: true, trackFiles: true, trackProcesses: true, notifyMasterRxLowerPri: true, notifyPriorityChanges: true,
    garpLowerPrioDelayMs: true, garpLowerPrioRepeat: true, lowerPrioNoAdvert: true, higherPrioSendAdvert: true,
    vmac: true, vmacXmitBase: true, virtualRoutes: true, virtualRules: true, pos: true,
  } satisfies Record<keyof VrrpInstance, true>,
  authentication: { type: true, pass: true, pos: true } satisfies Record<keyof Authentication, true>,
  vrrp_script: {
    name: true, script: true, intervalMs: true, timeoutMs: true, weight: true, weightReverse: true, rise: true, fall: true, user: true,
    group: true, initFail: true, pos: true,
  } satisfies Record<keyof VrrpScript, true>,
  virtual_server: {
    name: true, address: true, port: true, protocol: true, delayLoopMs: true, scheduler: true, method: true, persistenceTimeoutMs: true,
    persistenceGranularity: true, quorum: true, hysteresis: true, quorumUp: true, quorumDown: true, sorryServer: true,
    sorryServerInhibit: true, alpha: true, omega: true, inhibitOnFailure: true, haSuspend: true, virtualhost: true, forwarder: true,
    realServers: true, pos: true,
  } satisfies Record<keyof VirtualServer, true>,
  real_server: {
    name: true, address: true, port: true, weight: true, inhibitOnFailure: true, notifyUp: true, notifyDown: true, checkers: true, pos: true,
  } satisfies Record<keyof RealServer, true>,
  TCP_CHECK: {
    kind: true, connectTimeoutMs: true, retry: true, delayBeforeRetryMs: true, delayLoopMs: true, warmupMs: true, connectIp: true,
    connectPort: true, bindTo: true, pos: true,
  } satisfies Record<keyof TcpCheck, true>,
  HTTP_GET: {
    kind: true, urls: true, virtualhost: true, enableSni: true, httpProtocol: true, connectTimeoutMs: true, retry: true,
    delayBeforeRetryMs: true, delayLoopMs: true, warmupMs: true, connectIp: true, connectPort: true, bindTo: true, pos: true,
  } satisfies Record<keyof HttpCheck, true>,
  url: { path: true, digest: true, statusCodes: true, virtualhost: true, pos: true } satisfies Record<keyof HttpUrl, true>,
  UDP_CHECK: {
    kind: true, payload: true, requireReply: true, connectTimeoutMs: true, retry: true, delayBeforeRetryMs: true, delayLoopMs: true,
    warmupMs: true, connectIp: true, connectPort: true, bindTo: true, pos: true,
  } satisfies Record<keyof UdpCheck, true>,
  MISC_CHECK: {
    kind: true, path: true, miscTimeoutMs: true, miscDynamic: true, user: true, group: true, delayLoopMs: true, warmupMs: true, retry: true,
    delayBeforeRetryMs: true, pos: true,
  } satisfies Record<keyof MiscCheck, true>,
  mqtt: {
    url: true, prefix: true, node: true, username: true, passwordFile: true, caFile: true, certFile: true, keyFile: true, keepaliveS: true,
    healthIntervalMs: true, protocolVersion: true, offlineQueue: true, enabled: true, homeassistant: true, homeassistantPrefix: true, pos: true,
  } satisfies Record<keyof MqttSettings, true>,
  metrics: { listen: true, allow: true, pos: true } satisfies Record<keyof MetricsSettings, true>,
  serial_console: { device: true, baud: true, idleTimeoutMs: true, enabled: true, pos: true } satisfies Record<keyof SerialConsoleSettings, true>,
  notify_programs: { timeoutMs: true, pos: true } satisfies Record<keyof NotifyProgramSettings, true>,
  track_file: { name: true, file: true, weight: true, weightReverse: true, initFile: true, pos: true } satisfies Record<keyof TrackFile, true>,
  vrrp_track_process: {
    name: true, process: true, paramMatch: true, weight: true, weightReverse: true, quorum: true, quorumMax: true, forkDelayMs: true,
    terminateDelayMs: true, fullCommand: true, pos: true,
  } satisfies Record<keyof TrackProcess, true>,
};

test('the table fills every model field: each built object has exactly its model type\'s fields', () => {
  const c = parsed(RICH);
  const met = new Set<string>();
  walk(ALL, c, { config: c, parent: null }, (b, obj) => {
    met.add(b.name);
    const want = FIELDS[b.name];
    assert.ok(want, `a field list for ${b.name}`);
    assert.deepEqual(Object.keys(obj).sort(), Object.keys(want).sort(), b.name);
    for (const [k, v] of Object.entries(obj)) assert.notEqual(v, undefined, `${b.name}.${k}`);
  });
  assert.deepEqual([...met].sort(), blocks.map((b) => b.name).sort(), 'RICH reaches every block');
});

test('every keyword set to a non-default value round-trips through the writer (aliases read the same)', () => {
  let n = 0;
  for (const b of blocks) {
    const wrap = WRAP[b.name]!;
    const base = noPos(parsed(wrap('')));
    for (const e of b.entries) {
      if (!live(e)) continue;
      const kw = e.names[0]!;
      const wrapEntry = WRAP_ENTRY[kw];
      if (wrapEntry) {
        const base6 = noPos(parsed(wrapEntry('')));
        const a6 = parsed(wrapEntry(e.example));
        assert.notDeepEqual(noPos(a6), base6, `${b.name} ${kw}: the example '${e.example}' changes the model`);
        const written6 = writeConfig(a6);
        assert.deepEqual(noPos(parsed(written6)), noPos(a6), `${b.name} ${kw} round trip:\n${written6}`);
        n++;
        continue;
      }
      const a = parsed(wrap(e.example));
      if (!ONLY_VALUE.has(kw)) assert.notDeepEqual(noPos(a), base, `${b.name} ${kw}: the example '${e.example}' changes the model`);
      const written = writeConfig(a);
      const back = parsed(written);
      assert.deepEqual(noPos(back), noPos(a), `${b.name} ${kw} round trip:\n${written}`);
      assert.equal(writeConfig(back), written, `${b.name} ${kw}: the writer is a fixed point`);
      // The checkers entry's keywords are variants, each with its own block, not aliases.
      const aliases = e.subs !== undefined && e.subs.length > 1 ? [] : e.names.slice(1);
      for (const alias of aliases) {
        // nopreempt's `preempt`, accept's `no_accept` are opposites, not aliases (tested below).
        if (['preempt', 'no_accept'].includes(alias)) continue;
        assert.ok(e.example.startsWith(kw), `${kw}: the example starts with the keyword`);
        const other = parsed(wrap(alias + e.example.slice(kw.length)));
        assert.deepEqual(noPos(other), noPos(a), `${b.name}: '${alias}' reads as '${kw}'`);
      }
      n++;
    }
  }
  assert.ok(n > 100, `${n} keywords round-tripped`);
});

test('the opposite keywords: preempt undoes nopreempt, no_accept turns accept off, both round-trip', () => {
  const c = parsed(instance('nopreempt\n preempt\n no_accept'));
  assert.equal(c.instances[0]!.nopreempt, false);
  assert.equal(c.instances[0]!.accept, false);
  assert.equal(parsed(instance('accept')).instances[0]!.accept, true);
  const strict = parsed('global_defs {\n vrrp_strict\n}\n' + instance('accept'));
  assert.equal(strict.instances[0]!.accept, true, 'explicit accept wins over vrrp_strict');
  assert.deepEqual(noPos(parsed(writeConfig(strict))), noPos(strict));
});

test('every refused keyword gives its reason at its line', () => {
  let n = 0;
  for (const b of blocks) {
    const wrap = WRAP[b.name]!;
    for (const e of b.entries) {
      if (e.refused === undefined) continue;
      for (const name of e.names) {
        const text = wrap(name + e.example.slice(e.names[0]!.length));
        const line = text.split('\n').findIndex((l) => new RegExp(`^\\s*${name}(\\s|$|\\{)`).test(l)) + 1;
        const r = parseConfigText(text, 't.conf');
        assert.equal(r.config, null, `${name} is refused`);
        const hit = r.diagnostics.find((d) => d.severity === 'error' && d.message.startsWith(`unsupported directive '${name}' in `));
        assert.ok(hit, `${b.name} ${name}: ${JSON.stringify(r.diagnostics)}`);
        assert.ok(hit.message.endsWith(`: ${e.refused}`), `${name}: reason in '${hit.message}'`);
        assert.equal(hit.pos.line, line, `${name}: at its line`);
        n++;
      }
    }
  }
  assert.ok(n >= 26, `${n} refused keywords`);
});

test('a keyword accepted for compatibility is accepted and leaves the model alone', () => {
  for (const b of blocks) {
    for (const e of b.entries) {
      if (e.ignored === undefined) continue;
      const wrap = WRAP[b.name]!;
      assert.deepEqual(noPos(parsed(wrap(e.example))), noPos(parsed(wrap(''))), e.names[0]);
    }
  }
});

test('the console\'s block paths come from the table (keywords, parents, words naming them)', () => {
  // What set/delete paths relied on before the table; the table knows more blocks (refused ones).
  const expect: Array<[string, number, string[]]> = [
    ['global_defs', 0, ['']], ['vrrp_sync_group', 1, ['']], ['vrrp_instance', 1, ['']], ['vrrp_script', 1, ['']],
    ['virtual_server', 2, ['']], ['virtual_server_group', 1, ['']], ['mqtt', 0, ['']], ['serial_console', 0, ['']], ['metrics', 0, ['']],
    ['real_server', 2, ['virtual_server']], ['TCP_CHECK', 0, ['real_server']], ['HTTP_GET', 0, ['real_server']],
    ['SSL_GET', 0, ['real_server']], ['MISC_CHECK', 0, ['real_server']], ['UDP_CHECK', 0, ['real_server']],
    ['url', 0, ['HTTP_GET', 'SSL_GET']], ['authentication', 0, ['vrrp_instance']], ['virtual_ipaddress', 0, ['vrrp_instance']],
    ['virtual_ipaddress_excluded', 0, ['vrrp_instance']], ['virtual_routes', 0, ['vrrp_instance']], ['unicast_peer', 0, ['vrrp_instance']],
    ['track_interface', 0, ['vrrp_instance', 'vrrp_sync_group']], ['track_script', 0, ['vrrp_instance', 'vrrp_sync_group']],
    ['group', 0, ['vrrp_sync_group']], ['notification_email', 0, ['global_defs']],
  ];
  for (const [kw, arity, parents] of expect) for (const p of parents) assert.equal(blockArity(kw, p), arity, `${kw} in '${p}'`);
  assert.equal(blockArity('url', 'mqtt'), -1, 'url is a plain directive in mqtt');
  assert.equal(blockArity('priority', 'vrrp_instance'), -1);
  assert.equal(blockArity('real_server', ''), -1, 'real_server only inside virtual_server');
});

test('GARP defaults exported for src/vrrp are the model\'s', () => {
  const g = parsed(MINIMAL).global;
  assert.deepEqual(
    { delayMs: g.garpMasterDelayMs, repeat: g.garpMasterRepeat, refreshMs: g.garpMasterRefreshMs, refreshRepeat: g.garpMasterRefreshRepeat, intervalMs: g.garpIntervalMs },
    { ...GARP_DEFAULTS },
  );
});

test('defaults per checker kind: HTTP_GET delay_before_retry 3 s, MISC_CHECK retry 0; both round-trip when set to the others\' default', () => {
  const c = parsed(rs('HTTP_GET {\n url {\n path /\n }\n delay_before_retry 1\n}\nMISC_CHECK {\n misc_path /bin/true\n retry 1\n}\nTCP_CHECK {\n}'));
  const [http, misc, tcp] = c.virtualServers[0]!.realServers[0]!.checkers;
  assert.ok(http?.kind === 'HTTP_GET' && misc?.kind === 'MISC_CHECK' && tcp?.kind === 'TCP_CHECK');
  assert.deepEqual([http.delayBeforeRetryMs, misc.retry, tcp.delayBeforeRetryMs, tcp.retry], [1000, 1, 1000, 1]);
  assert.deepEqual(noPos(parsed(writeConfig(c))), noPos(c));
  const d = parsed(rs('HTTP_GET {\n url {\n path /\n }\n}\nMISC_CHECK {\n misc_path /bin/true\n}'));
  const [h2, m2] = d.virtualServers[0]!.realServers[0]!.checkers;
  assert.ok(h2?.kind === 'HTTP_GET' && m2?.kind === 'MISC_CHECK');
  assert.deepEqual([h2.delayBeforeRetryMs, m2.retry], [3000, 0]);
  assert.doesNotMatch(writeConfig(d), /delay_before_retry|retry/, 'defaults are left out');
});

test('smtp_server: a quoted argument with a space round-trips', () => {
  const c = parsed('global_defs {\n smtp_server "a b" 25\n}\n' + MINIMAL);
  assert.equal(c.global.smtpServer, 'a b 25');
  assert.deepEqual(noPos(parsed(writeConfig(c))), noPos(c));
  assert.match(writeConfig(parsed('global_defs {\n smtp_server 192.0.2.25 25\n}\n' + MINIMAL)), /smtp_server 192\.0\.2\.25 25\n/);
});

test('keyword choices for the console come from the table, at the block a path names', () => {
  const top = keywordChoices([]);
  assert.deepEqual(top, ['global_defs', 'vrrp_script', 'track_file', 'vrrp_track_file', 'vrrp_track_process', 'vrrp_sync_group', 'vrrp_instance',
    'virtual_server', 'mqtt', 'serial_console', 'metrics', 'notify_programs', 'static_ipaddress', 'static_routes', 'static_rules']);
  const inst = keywordChoices(['vrrp_instance', 'VI_NEW']);
  assert.ok(inst.includes('priority') && inst.includes('vrrp_version') && inst.includes('virtual_ipaddress'));
  assert.ok(!inst.includes('use_ipvlan'), 'refused keywords are not offered');
  assert.deepEqual(keywordChoices(['vrrp_instance']), [], 'still naming the block');
  assert.deepEqual(keywordChoices(['vrrp_instance', 'VI_1', 'virtual_ipaddress']), [], 'list lines are values');
  assert.deepEqual(keywordChoices(['vrrp_instance', 'VI_1', 'priority']), [], 'a directive\'s values');
  assert.ok(keywordChoices(['virtual_server', '192.0.2.1', '80', 'real_server', '198.51.100.1', '80', 'SSL_GET']).includes('enable_sni'));
  assert.deepEqual(keywordChoices(['virtual_server', '192.0.2.1', '80', 'real_server', '198.51.100.1', '80', 'HTTP_GET', 'url']), ['path', 'digest', 'status_code', 'virtualhost']);
  assert.ok(keywordChoices(['mqtt']).includes('url'));
});
