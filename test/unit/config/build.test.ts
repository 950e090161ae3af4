import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.ts';
import type { Config } from '../../../src/config/model.ts';
import { MINIMAL, RICH } from './helpers.ts';

function ok(text: string): Config {
  const r = parseConfigText(text, '/etc/tandem/t.conf');
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], 'no errors expected');
  assert.ok(r.config);
  return r.config;
}

test("keepalived's defaults are filled in", () => {
  const c = ok(MINIMAL + 'virtual_server 192.0.2.10 80 {\n lb_algo rr\n real_server 198.51.100.2 80 {\n TCP_CHECK {\n }\n }\n}\n');
  const g = c.global;
  assert.equal(g.vrrpVersion, 2);
  assert.equal(g.garpMasterDelayMs, 5000);
  assert.equal(g.garpMasterRepeat, 5);
  assert.equal(g.garpMasterRefreshMs, 0);
  assert.equal(g.garpMasterRefreshRepeat, 1);
  assert.equal(g.routerId, null);
  const i = c.instances[0]!;
  assert.equal(i.initialState, 'BACKUP');
  assert.equal(i.advertIntMs, 1000);
  assert.equal(i.priority, 100);
  assert.equal(i.version, 2);
  assert.equal(i.nopreempt, false);
  assert.equal(i.preemptDelayMs, 0);
  assert.equal(i.accept, true);
  assert.equal(i.garpMasterDelayMs, null);
  assert.deepEqual(i.virtualIps.map((v) => [v.address, v.prefix, v.dev]), [['192.0.2.10', 24, null]]);
  const v = c.virtualServers[0]!;
  assert.equal(v.name, '192.0.2.10 80');
  assert.equal(v.delayLoopMs, 60000);
  assert.equal(v.protocol, 'TCP');
  assert.equal(v.quorum, 1);
  assert.equal(v.hysteresis, 0);
  assert.equal(v.persistenceTimeoutMs, 0);
  assert.equal(v.persistenceGranularity, 32);
  assert.equal(v.forwarder, 'auto');
  const rs = v.realServers[0]!;
  assert.equal(rs.weight, 1);
  assert.equal(rs.inhibitOnFailure, false);
  const chk = rs.checkers[0]!;
  assert.equal(chk.kind, 'TCP_CHECK');
  if (chk.kind !== 'TCP_CHECK') return;
  assert.equal(chk.connectTimeoutMs, 5000);
  assert.equal(chk.retry, 1);
  assert.equal(chk.delayBeforeRetryMs, 1000);
  assert.equal(chk.delayLoopMs, null);
  assert.equal(c.mqtt, null);
  assert.equal(c.serialConsole, null);
});

test('vrrp_script defaults: timeout follows interval, weight 0, rise/fall 1', () => {
  const c = ok('vrrp_script s {\n script "/bin/check a"\n interval 3\n}\n' + MINIMAL);
  const s = c.scripts[0]!;
  assert.deepEqual(s.script.argv, ['/bin/check', 'a']);
  assert.equal(s.intervalMs, 3000);
  assert.equal(s.timeoutMs, 3000);
  assert.equal(s.weight, 0);
  assert.equal(s.rise, 1);
  assert.equal(s.fall, 1);
});

test('units: seconds with fractions become milliseconds', () => {
  const c = ok(MINIMAL.replace('priority 100', 'priority 100\n version 3\n advert_int 0.25\n preempt_delay 1.5'));
  assert.equal(c.instances[0]!.advertIntMs, 250);
  assert.equal(c.instances[0]!.preemptDelayMs, 1500);
});

test('instance version follows global_defs even when global_defs comes later; vrrp_strict turns accept off', () => {
  const c = ok(MINIMAL + 'global_defs {\n vrrp_version 3\n vrrp_strict\n}\n');
  assert.equal(c.instances[0]!.version, 3);
  assert.equal(c.instances[0]!.accept, false);
});

test('persistence_timeout without value is 360 s; granularity from a netmask', () => {
  const c = ok(MINIMAL + 'virtual_server 192.0.2.10 80 {\n lb_algo sh\n persistence_timeout\n persistence_granularity 255.255.255.0\n real_server 198.51.100.2 80 {\n }\n}\n');
  assert.equal(c.virtualServers[0]!.persistenceTimeoutMs, 360000);
  assert.equal(c.virtualServers[0]!.persistenceGranularity, 24);
});

test('rich configuration: every supported directive lands in the model', () => {
  const c = ok(RICH);
  assert.equal(c.global.routerId, 'board A');
  assert.equal(c.global.smtpServer, '192.0.2.25 25');
  assert.equal(c.global.garpIntervalMs, 1);
  assert.equal(c.global.scriptGroup, 'nogroup');
  const s = c.scripts[0]!;
  assert.deepEqual(s.script.argv, ['/usr/bin/pgrep', '-x', 'nginx master']);
  assert.deepEqual([s.timeoutMs, s.weight, s.weightReverse, s.rise, s.fall, s.user, s.group, s.initFail], [1500, -20, true, 2, 3, 'www', 'www', true]);
  const g = c.syncGroups[0]!;
  assert.deepEqual(g.group, ['PUBLIC', 'PRIVATE']);
  assert.deepEqual(g.notifyMaster!.argv, ['/etc/tandem/notify.sh', 'MASTER']);
  assert.deepEqual(g.notifyBackup!.argv, ['/etc/tandem/notify.sh', 'BACKUP']);
  const pub = c.instances[0]!;
  assert.deepEqual([pub.initialState, pub.version, pub.advertIntMs, pub.nopreempt, pub.accept, pub.unicastSrcIp], ['MASTER', 3, 500, true, true, '192.0.2.1']);
  assert.deepEqual(pub.unicastPeers, ['192.0.2.2']);
  assert.deepEqual({ ...pub.virtualIps[0]!, pos: null }, { address: '192.0.2.100', prefix: 24, dev: 'eth0', label: 'eth0:vip', brd: '192.0.2.255', scope: 'global', pos: null });
  assert.deepEqual(pub.trackInterfaces.map((t) => [t.name, t.weight]), [['eth1', 0], ['eth2', -10]]);
  assert.deepEqual(pub.trackScripts.map((t) => [t.name, t.weight]), [['chk_nginx', 10], ['chk_plain', null]]);
  assert.equal(pub.garpMasterRefreshMs, 30000);
  const priv = c.instances[1]!;
  assert.equal(priv.version, 2);
  assert.deepEqual([priv.authentication!.type, priv.authentication!.pass], ['PASS', 's3cret']);
  const vs = c.virtualServers[0]!;
  assert.deepEqual([vs.scheduler, vs.persistenceTimeoutMs, vs.persistenceGranularity, vs.quorum, vs.hysteresis, vs.forwarder], ['mh', 300000, 24, 2, 1, 'nftables']);
  assert.deepEqual(vs.sorryServer && [vs.sorryServer.address, vs.sorryServer.port], ['198.51.100.250', 8080]);
  assert.deepEqual(vs.quorumUp!.argv, ['/bin/logger', 'quorum', 'up']);
  const [rs1, rs2] = vs.realServers;
  assert.equal(rs1!.inhibitOnFailure, true, 'inherited from the virtual server');
  assert.equal(rs2!.inhibitOnFailure, false, 'explicitly off');
  const tcp = rs1!.checkers[0]!;
  assert.ok(tcp.kind === 'TCP_CHECK');
  assert.deepEqual([tcp.connectTimeoutMs, tcp.connectPort, tcp.connectIp, tcp.bindTo, tcp.retry, tcp.delayBeforeRetryMs, tcp.delayLoopMs, tcp.warmupMs],
    [3000, 8081, '198.51.100.11', '198.51.100.1', 3, 2000, 4000, 1000]);
  const http = rs1!.checkers[1]!;
  assert.ok(http.kind === 'HTTP_GET');
  assert.deepEqual(http.urls[0]!.statusCodes, [[200, 299], [301, 301], [503, 503]]);
  assert.equal(http.urls[0]!.digest, '640205b7b0fc66c1ea91c463fac6334d');
  assert.equal(http.urls[1]!.path, '/a!b', 'a quoted path (! would start a comment)');
  assert.deepEqual([http.retry, http.httpProtocol, http.virtualhost], [2, '1.1', 'www.example.com']);
  const misc = rs2!.checkers[1]!;
  assert.ok(misc.kind === 'MISC_CHECK');
  assert.deepEqual(misc.path.argv, ['/usr/local/bin/check.sh', '--host', '198.51.100.12']);
  assert.deepEqual([misc.miscTimeoutMs, misc.miscDynamic, misc.user], [7000, true, 'nobody']);
  const udpVs = c.virtualServers[1]!;
  const udp = udpVs.realServers[0]!.checkers[0]!;
  assert.ok(udp.kind === 'UDP_CHECK');
  assert.deepEqual(udp.payload, Buffer.from([0x0a, 0x0b, 0x0c]));
  assert.equal(udp.requireReply, 'ffee');
  const udp2 = udpVs.realServers[0]!.checkers[1]!;
  assert.ok(udp2.kind === 'UDP_CHECK' && udp2.requireReply === '');
  assert.equal(udpVs.realServers[1]!.port, 53, 'real_server without port takes the virtual server port');
  assert.deepEqual(c.mqtt && [c.mqtt.url, c.mqtt.prefix, c.mqtt.node, c.mqtt.keepaliveS, c.mqtt.healthIntervalMs, c.mqtt.protocolVersion, c.mqtt.offlineQueue],
    ['mqtts://broker.example.com:8883', 'fleet', 'lb-a', 15, 5000, 4, 200]);
  assert.deepEqual(c.serialConsole && [c.serialConsole.device, c.serialConsole.baud, c.serialConsole.idleTimeoutMs, c.serialConsole.enabled],
    ['/dev/ttyS1', 57600, 300000, false]);
});

test('mqtt and serial_console defaults', () => {
  const c = ok(MINIMAL + 'mqtt {\n url mqtt://192.0.2.5\n}\nserial_console {\n}\n');
  assert.deepEqual(c.mqtt && [c.mqtt.prefix, c.mqtt.node, c.mqtt.keepaliveS, c.mqtt.healthIntervalMs, c.mqtt.protocolVersion, c.mqtt.offlineQueue, c.mqtt.enabled],
    ['tandem', null, 30, 10000, 5, 1000, true]);
  assert.deepEqual(c.serialConsole && [c.serialConsole.device, c.serialConsole.baud, c.serialConsole.idleTimeoutMs, c.serialConsole.enabled],
    [null, 115200, 900000, true]);
});

function firstError(text: string): { message: string; line: number } {
  const r = parseConfigText(text, 't.conf');
  const e = r.diagnostics.find((d) => d.severity === 'error');
  assert.ok(e, 'an error expected');
  assert.equal(r.config, null);
  return { message: e.message, line: e.pos.line };
}

test('refusals name the directive and its line', () => {
  const vs = (body: string): string => MINIMAL + `virtual_server 192.0.2.10 80 {\n lb_algo rr\n${body}\n}\n`;
  const cases: Array<[string, RegExp, number]> = [
    [vs(' lb_kind TUN'), /^lb_kind TUN is not supported: the kernels tandem runs on have no IPIP tunnels \(docs\/tun\.md\); use DR or NAT$/, 11],
    [vs(' lvs_method TUN'), /^lvs_method TUN is not supported: the kernels tandem runs on have no IPIP tunnels/, 11],
    [MINIMAL + 'virtual_server fwmark 1 {\n}\n', /virtual_server fwmark is not supported/, 9],
    [MINIMAL + 'virtual_server_group G {\n}\n', /unsupported directive 'virtual_server_group'/, 9],
    [vs(' real_server 198.51.100.2 80 {\n  SMTP_CHECK {\n  }\n }'), /unsupported directive 'SMTP_CHECK'/, 12],
    [vs(' real_server 198.51.100.2 80 {\n  PING_CHECK {\n  }\n }'), /unsupported directive 'PING_CHECK'/, 12],
    [vs(' real_server 198.51.100.2 80 {\n  DNS_CHECK {\n  }\n }'), /unsupported directive 'DNS_CHECK'/, 12],
    [vs(' real_server 198.51.100.2 80 {\n  BFD_CHECK {\n  }\n }'), /unsupported directive 'BFD_CHECK'/, 12],
    [MINIMAL.replace('priority 100', 'priority 100\n use_ipvlan'), /unsupported directive 'use_ipvlan'/, 5],
    [MINIMAL.replace('priority 100', 'priority 100\n virtual_routes {\n  198.51.100.0/24 nexthop via 192.0.2.1\n }'), /virtual_routes: 'nexthop' is not supported by tandem/, 6],
    [MINIMAL + 'track_group G {\n}\n', /unsupported directive 'track_group'/, 9],
    [MINIMAL.replace('priority 100', 'priority 100\n lvs_sync_daemon_interface eth1'), /unsupported directive 'lvs_sync_daemon_interface'/, 5],
    [MINIMAL + 'virtual_server 2001:db8::1 80 {\n lb_algo rr\n ip_family inet6\n}\n', /unsupported directive 'ip_family' in virtual_server 2001:db8::1 80: ip_family gives the family of a fwmark/, 11],
    [MINIMAL.replace('priority 100', 'priority 100\n frobnicate 3'), /^unsupported directive 'frobnicate' in vrrp_instance VI_1$/, 5],
    [vs(' lb_algo lblc'), /lb_algo lblc is not supported/, 11],
    [vs(' protocol SCTP'), /protocol SCTP is not supported/, 11],
    [MINIMAL + 'vrrp_sync_group G {\n group {\n VI_1\n }\n global_tracking\n}\n', /unsupported directive 'global_tracking'/, 13],
  ];
  for (const [text, re, line] of cases) {
    const e = firstError(text);
    assert.match(e.message, re);
    assert.equal(e.line, line, `line of '${e.message}'`);
  }
});

test('argument count and block shape are checked', () => {
  assert.match(firstError(MINIMAL.replace('priority 100', 'priority 100 7')).message, /'priority' takes 1 argument\(s\), got 2/);
  assert.match(firstError(MINIMAL.replace('priority 100', 'nopreempt {\n }')).message, /'nopreempt' takes no \{ \} block/);
  assert.match(firstError(MINIMAL + 'virtual_server 192.0.2.10 80 {\n lb_algo rr\n real_server 198.51.100.2 80\n}\n').message, /'real_server' needs a \{ \} block/);
  assert.match(firstError(MINIMAL.replace('priority 100', 'priority high')).message, /priority: 'high' is not a whole number/);
  assert.match(firstError(MINIMAL.replace('interface eth0', '')).message, /vrrp_instance VI_1 needs 'interface'/);
});
