// The /metrics exposition (src/report/prometheus.ts) and its server (src/report/metrics-server.ts):
// names and values from the one status model, the text format promtool accepts, and a server
// that answers only GET /metrics to allowed peers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { exposition, labelValue, type ExpositionInput } from '../../../src/report/prometheus.ts';
import { allowed, MetricsServer } from '../../../src/report/metrics-server.ts';
import { createCounters } from '../../../src/vrrp/counters.ts';
import type { VirtualServerStatus, VrrpInstanceStatus } from '../../../src/status.ts';

function instance(over: Partial<VrrpInstanceStatus> = {}): VrrpInstanceStatus {
  return {
    name: 'VI_PUB', interface: 'eth0', vrid: 51, version: 3, state: 'MASTER', priority: 150, effectivePriority: 150,
    vips: ['203.0.113.1/24', '203.0.113.5/24'], masterAddress: '203.0.113.2', since: 1_700_000_000_000, reason: 'master down timer expired',
    fault: null, syncGroup: null, counters: { ...createCounters(), advert_sent: 12, advert_rcvd: 3, become_master: 1, ip_ttl_err: 2 }, ...over,
  };
}

const VS: VirtualServerStatus = {
  name: '203.0.113.1 80', address: '203.0.113.1', port: 80, protocol: 'TCP', scheduler: 'rr', method: 'NAT', forwarder: 'nftables', quorumUp: true,
  realServers: [
    { name: '192.0.2.11 8080', address: '192.0.2.11', port: 8080, up: true, weight: 2, drained: false, lastCheck: 1_700_000_001_000, failures: 0, latencyMs: 1.5, reason: 'ok', connections: 4 },
    { name: '192.0.2.12 8080', address: '192.0.2.12', port: 8080, up: false, weight: 1, drained: false, lastCheck: null, failures: 3, latencyMs: null, reason: 'connection refused', connections: null },
  ],
};

function input(over: Partial<ExpositionInput> = {}): ExpositionInput {
  const lat = { count: 10, lastMs: 1, maxMs: 30, recentMaxMs: 3, sumMs: 40, buckets: [5, 7, 8, 8, 9, 10, 10, 10, 10, 10, 10] };
  return {
    info: { version: '0.1.0', commit: 'abc', node: 'lb-a', board: 'generic' },
    vrrp: { instances: [instance(), instance({ name: 'VI_PRIV', interface: 'eth1', vrid: 52, state: 'BACKUP', vips: ['192.0.2.1/24'] })], groups: [], unattributed: { vrid_err: 5 }, socketDrops: 7, timers: { advert: lat, masterDown: lat } },
    transitions: (n) => (n === 'VI_PUB' ? 3 : 1),
    virtualServers: [VS],
    process: { rssBytes: 50e6, startTimeS: 1_700_000_000, eventLoopLag: { min: 0.001, max: 0.02, mean: 0.002, p50: 0.002, p90: 0.003, p99: 0.01 } },
    refused: { method: 1 },
    ...over,
  };
}

/** name{labels} → value, for the samples of the text. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1).replace('+Inf', 'Infinity')));
  }
  return out;
}

test('VRRP state, priorities, every counter, transitions and last-transition time under the exporters\' names', () => {
  const s = samples(exposition(input()));
  const pub = 'iname="VI_PUB",intf="eth0",vrid="51"';
  assert.equal(s.get(`keepalived_vrrp_state{${pub},ip_address="203.0.113.1"}`), 2, 'MASTER is 2 (mehdy/keepalived-exporter, keepalived vrrp.h)');
  assert.equal(s.get(`keepalived_vrrp_state{${pub},ip_address="203.0.113.5"}`), 2, 'one series per VIP');
  assert.equal(s.get('keepalived_vrrp_state{iname="VI_PRIV",intf="eth1",vrid="52",ip_address="192.0.2.1"}'), 1);
  assert.equal(s.get(`tandem_vrrp_instance_state{${pub},state="MASTER"}`), 1);
  assert.equal(s.get(`tandem_vrrp_instance_state{${pub},state="BACKUP"}`), 0);
  assert.equal(s.get(`keepalived_advertisements_sent_total{${pub}}`), 12);
  assert.equal(s.get(`keepalived_advertisements_received_total{${pub}}`), 3);
  assert.equal(s.get(`keepalived_become_master_total{${pub}}`), 1);
  assert.equal(s.get(`keepalived_ip_ttl_errors_total{${pub}}`), 2);
  for (const n of ['keepalived_packet_length_errors_total', 'keepalived_authentication_failure_total', 'tandem_vrrp_checksum_errors_total', 'tandem_vrrp_vrid_errors_total', 'keepalived_priority_zero_sent_total']) {
    assert.equal(s.get(`${n}{${pub}}`), 0, n);
  }
  assert.equal(s.get(`tandem_vrrp_priority{${pub}}`), 150);
  assert.equal(s.get(`tandem_vrrp_transitions_total{${pub}}`), 3);
  assert.equal(s.get(`tandem_vrrp_last_transition_timestamp_seconds{${pub}}`), 1_700_000_000);
  assert.equal(s.get('tandem_vrrp_unattributed_drops_total{reason="vrid_err"}'), 5);
  assert.equal(s.get('tandem_vrrp_socket_drops_total'), 7);
  assert.equal(s.get('tandem_vrrp_timer_lateness_seconds_bucket{timer="advert",le="0.001"}'), 5);
  assert.equal(s.get('tandem_vrrp_timer_lateness_seconds_bucket{timer="advert",le="+Inf"}'), 10);
  assert.equal(s.get('tandem_vrrp_timer_lateness_seconds_count{timer="master_down"}'), 10);
  assert.equal(s.get('keepalived_up'), 1);
});

test('real servers: up, weight, connections, check latency; process RSS and event-loop lag', () => {
  const s = samples(exposition(input()));
  const a = 'virtual_server="203.0.113.1:80",real_server="192.0.2.11:8080",proto="TCP"';
  const b = 'virtual_server="203.0.113.1:80",real_server="192.0.2.12:8080",proto="TCP"';
  assert.equal(s.get(`tandem_real_server_up{${a}}`), 1);
  assert.equal(s.get(`tandem_real_server_up{${b}}`), 0);
  assert.equal(s.get(`tandem_real_server_weight{${a}}`), 2);
  assert.equal(s.get(`tandem_real_server_connections{${a}}`), 4);
  assert.equal(s.has(`tandem_real_server_connections{${b}}`), false, 'unknown connections are left out, not 0');
  assert.equal(s.get(`tandem_real_server_check_latency_seconds{${a}}`), 0.0015);
  assert.equal(s.get(`tandem_real_server_check_failures{${b}}`), 3);
  assert.equal(s.get('tandem_virtual_server_quorum_up{virtual_server="203.0.113.1:80",proto="TCP"}'), 1);
  assert.equal(s.get('process_resident_memory_bytes'), 50e6);
  assert.equal(s.get('nodejs_eventloop_lag_p99_seconds'), 0.01);
  assert.equal(s.get('tandem_metrics_refused_requests_total{reason="method"}'), 1);
});

test('label values are escaped; every family has HELP and TYPE once; no VRRP at all still exposes the rest', () => {
  assert.equal(labelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const text = exposition(input({ vrrp: { instances: [instance({ name: 'V"I\n1' })], groups: [], unattributed: {} } }));
  assert.match(text, /iname="V\\"I\\n1"/);
  const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
  assert.equal(new Set(types).size, types.length, 'no family twice');
  const none = samples(exposition(input({ vrrp: null, virtualServers: [] })));
  assert.equal(none.get('keepalived_up'), 1);
  assert.ok(![...none.keys()].some((k) => k.startsWith('keepalived_vrrp_state')));
});

test('promtool accepts the exposition without lint problems', (t) => {
  const probe = spawnSync('promtool', ['--version']);
  if (probe.error) {
    t.skip('promtool is not installed (scripts/setup.sh installs Debian\'s prometheus)');
    return;
  }
  const r = spawnSync('promtool', ['check', 'metrics'], { input: exposition(input()) });
  assert.equal(r.status, 0, `promtool: ${r.stdout.toString()}${r.stderr.toString()}`);
});

test('allow: empty allows everyone; networks of both families; IPv4-mapped peers', () => {
  assert.equal(allowed('198.51.100.9', []), true);
  const nets = [{ address: '192.0.2.0', prefix: 24 }, { address: '2001:db8::', prefix: 32 }];
  assert.equal(allowed('192.0.2.77', nets), true);
  assert.equal(allowed('::ffff:192.0.2.77', nets), true);
  assert.equal(allowed('198.51.100.9', nets), false);
  assert.equal(allowed('2001:db8:1::5', nets), true);
  assert.equal(allowed(undefined, nets), false);
});

function http(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the server: GET /metrics only, 405 for other methods, 404 elsewhere, 413 with a body, 403 outside allow; overlapping scrapes share one collection', async (t) => {
  let collections = 0;
  const logs: string[] = [];
  const server = new MetricsServer({ listen: [{ address: '127.0.0.1', port: 0 }], allow: [], pos: { file: 't', line: 1, col: 1 } }, async () => {
    collections++;
    await new Promise((r) => setTimeout(r, 30));
    const i = input();
    return { info: i.info, vrrp: i.vrrp, transitions: i.transitions, virtualServers: i.virtualServers };
  }, { log: (_l, m) => logs.push(m) });
  await server.start();
  t.after(() => server.close());
  const port = server.bound[0]!.port;
  const [a, b] = await Promise.all([http(port, 'GET', '/metrics'), http(port, 'GET', '/metrics')]);
  assert.equal(a.status, 200);
  assert.match(String(a.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.equal(a.body, b.body);
  assert.equal(collections, 1, 'one collection for two overlapping scrapes');
  assert.equal((await http(port, 'POST', '/metrics')).status, 405);
  assert.equal((await http(port, 'DELETE', '/metrics')).status, 405);
  assert.equal((await http(port, 'GET', '/')).status, 404);
  assert.equal((await http(port, 'GET', '/metrics/../etc')).status, 404);
  assert.equal((await http(port, 'GET', '/metrics', { 'content-length': '5' }, 'hello')).status, 413);
  assert.equal((await http(port, 'GET', '/metrics', { 'x-big': 'y'.repeat(20_000) })).status, 431);
  const head = await http(port, 'HEAD', '/metrics');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  const after = samples((await http(port, 'GET', '/metrics')).body);
  assert.equal(after.get('tandem_metrics_refused_requests_total{reason="method"}'), 2);
  assert.equal(after.get('tandem_metrics_refused_requests_total{reason="path"}'), 2);
  assert.equal(after.get('tandem_metrics_refused_requests_total{reason="body"}'), 1);

  const closed = new MetricsServer({ listen: [{ address: '127.0.0.1', port: 0 }], allow: [{ address: '192.0.2.0', prefix: 24 }], pos: { file: 't', line: 1, col: 1 } }, async () => ({ info: input().info, vrrp: null, transitions: () => 0, virtualServers: [] }), { log: () => undefined });
  await closed.start();
  t.after(() => closed.close());
  assert.equal((await http(closed.bound[0]!.port, 'GET', '/metrics')).status, 403, '127.0.0.1 is not in 192.0.2.0/24');
});

test('a listen address that cannot bind is logged; the others serve', async (t) => {
  const logs: string[] = [];
  const server = new MetricsServer({ listen: [{ address: '192.0.2.99', port: 9650 }, { address: '127.0.0.1', port: 0 }], allow: [], pos: { file: 't', line: 1, col: 1 } },
    async () => ({ info: input().info, vrrp: null, transitions: () => 0, virtualServers: [] }), { log: (_l, m) => logs.push(m) });
  await server.start();
  t.after(() => server.close());
  assert.ok(logs.some((l) => /cannot listen on 192\.0\.2\.99:9650/.test(l)), logs.join('\n'));
  assert.equal(server.bound.length, 1);
  assert.equal((await http(server.bound[0]!.port, 'GET', '/metrics')).status, 200);
});
