// /metrics on two lab boards (metrics { listen …; allow … }): promtool accepts the exposition,
// and its values are the lab's: A MASTER and B BACKUP per VIP, advertisement counters moving
// between two scrapes, real servers up, then down on both boards after the server is killed;
// a scraper outside `allow` is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { withLab, LAB_ADDR, type Board, type Lab } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { waitHolder } from './vrrp-helpers.ts';
import { tcpCheck, virtualServerBlock } from './lb-helpers.ts';

const started = /Entering (BACKUP|MASTER|FAULT) STATE/;
const PORT = 9650;

const VS = virtualServerBlock({
  address: LAB_ADDR.publicVip, port: 80, lbAlgo: 'rr', delayLoop: 1,
  realServers: [1, 2].map((i) => ({ address: LAB_ADDR.realServer(i), port: 8080, checker: tcpCheck({ connectTimeout: 1, retry: 0, delayBeforeRetry: 1, warmup: 0 }) })),
});

const METRICS = (b: Board): string => `
metrics {
    listen ${LAB_ADDR.board[b].eth0}:${PORT}
    listen ${LAB_ADDR.board[b].eth1}:${PORT}
    allow ${LAB_ADDR.client}/32
}
`;

/** name{labels} → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function scrape(lab: Lab, b: Board): Promise<{ text: string; s: Map<string, number> }> {
  const r = await lab.httpGet('client', `http://${LAB_ADDR.board[b].eth0}:${PORT}/metrics`);
  assert.equal(r.status, 200, `scrape of ${b}: ${r.body.slice(0, 200)}`);
  return { text: r.body, s: samples(r.body) };
}

const inst = (name: string, intf: string, vrid: number): string => `iname="${name}",intf="${intf}",vrid="${vrid}"`;
const rsLabels = (i: number): string => `virtual_server="${LAB_ADDR.publicVip}:80",real_server="${LAB_ADDR.realServer(i)}:8080",proto="TCP"`;

test('/metrics: promtool-clean, the lab\'s VRRP states and counters, real servers up and then down after a kill, allow enforced', async (t) => {
  const lab = await withLab(t, { name: 'metrics', realServers: 2 });
  const servers = await Promise.all([1, 2].map((i) => lab.startHttpServer(i, 8080)));
  const cfg = (b: Board): string => pairConfig({ routerId: `lb-${b}`, priority: b === 'a' ? 150 : 100, version: 3, advertInt: 0.2, extra: VS + METRICS(b) });
  await lab.startBoard('a', cfg('a'), { waitForLog: started });
  await lab.startBoard('b', cfg('b'), { waitForLog: started });
  await waitHolder(lab, 'a');
  await lab.board('a')!.waitForLog(/metrics: serving \/metrics on 203\.0\.113\.2:9650/);

  // Both real servers up on both boards once their first checks pass.
  for (const b of ['a', 'b'] as const) {
    await lab.waitFor(async () => {
      const { s } = await scrape(lab, b);
      return s.get(`tandem_real_server_up{${rsLabels(1)}}`) === 1 && s.get(`tandem_real_server_up{${rsLabels(2)}}`) === 1;
    }, { timeoutMs: 10_000, what: `both real servers up on ${b}` });
  }

  const a1 = await scrape(lab, 'a');
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: a1.text });
  assert.ok(!lint.error, `promtool: ${String(lint.error)} (scripts/setup.sh installs Debian's prometheus)`);
  assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout.toString()}${lint.stderr.toString()}`);
  const b1 = await scrape(lab, 'b');
  assert.equal(spawnSync('promtool', ['check', 'metrics'], { input: b1.text }).status, 0);

  const pubA = inst('VI_PUB', 'eth0', 51);
  assert.equal(a1.s.get(`keepalived_vrrp_state{${pubA},ip_address="${LAB_ADDR.publicVip}"}`), 2, 'a MASTER of the public VIP');
  assert.equal(a1.s.get(`keepalived_vrrp_state{${inst('VI_PRIV', 'eth1', 52)},ip_address="${LAB_ADDR.privateVip}"}`), 2);
  assert.equal(b1.s.get(`keepalived_vrrp_state{${pubA},ip_address="${LAB_ADDR.publicVip}"}`), 1, 'b BACKUP');
  assert.equal(a1.s.get(`tandem_vrrp_priority{${pubA}}`), 150);
  assert.ok((a1.s.get(`tandem_vrrp_transitions_total{${pubA}}`) ?? 0) >= 1);
  assert.ok((a1.s.get(`keepalived_become_master_total{${pubA}}`) ?? 0) >= 1);
  const since = a1.s.get(`tandem_vrrp_last_transition_timestamp_seconds{${pubA}}`) ?? 0;
  assert.ok(Math.abs(Date.now() / 1000 - since) < 120, `last transition ${since}`);
  assert.ok((a1.s.get('process_resident_memory_bytes') ?? 0) > 10e6);
  assert.ok(a1.s.has('tandem_vrrp_timer_lateness_seconds_count{timer="advert"}'));
  assert.ok((a1.s.get(`tandem_real_server_check_latency_seconds{${rsLabels(1)}}`) ?? -1) >= 0, a1.text.split("\n").filter((l) => l.includes("real_server")).join("\n"));

  // Counters move: a sends, b receives, five advertisements a second.
  await new Promise((r) => setTimeout(r, 1200)); // a fixed wait: the counters are asserted to have grown in it
  const a2 = await scrape(lab, 'a');
  const b2 = await scrape(lab, 'b');
  const sent = (a2.s.get(`keepalived_advertisements_sent_total{${pubA}}`) ?? 0) - (a1.s.get(`keepalived_advertisements_sent_total{${pubA}}`) ?? 0);
  const rcvd = (b2.s.get(`keepalived_advertisements_received_total{${pubA}}`) ?? 0) - (b1.s.get(`keepalived_advertisements_received_total{${pubA}}`) ?? 0);
  t.diagnostic(`in ~1.2 s: a sent ${sent} adverts, b received ${rcvd}`);
  assert.ok(sent >= 3, `a sent ${sent}`);
  assert.ok(rcvd >= 3, `b received ${rcvd}`);
  assert.equal(a2.s.get(`keepalived_ip_ttl_errors_total{${pubA}}`), 0);

  // Kill real server 2: both boards' checks fail and /metrics says so.
  await servers[1]!.stop('SIGKILL');
  for (const b of ['a', 'b'] as const) {
    await lab.waitFor(async () => (await scrape(lab, b)).s.get(`tandem_real_server_up{${rsLabels(2)}}`) === 0, { timeoutMs: 10_000, what: `rs2 down on ${b}` });
  }
  const a3 = await scrape(lab, 'a');
  assert.equal(a3.s.get(`tandem_real_server_up{${rsLabels(1)}}`), 1);
  assert.ok((a3.s.get(`tandem_real_server_check_failures{${rsLabels(2)}}`) ?? 0) >= 1);

  // Outside `allow` (a real server on the private segment): refused, and counted.
  const rs = await lab.httpGet('rs1', `http://${LAB_ADDR.board.a.eth1}:${PORT}/metrics`);
  assert.equal(rs.status, 403);
  const a4 = await scrape(lab, 'a');
  assert.equal(a4.s.get('tandem_metrics_refused_requests_total{reason="not-allowed"}'), 1);
});
