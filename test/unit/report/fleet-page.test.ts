// The fleet page's server side: sections rendered and escaped from the model
// (src/report/fleet-view.ts), the HTTP server and its live feed (src/report/fleet-http.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Script } from 'node:vm';
import { applyMessage, newFleet } from '../../../src/report/fleet.ts';
import { birthPayload, realServerPayload, vrrpPayload, type VrrpReport } from '../../../src/report/payloads.ts';
import { renderSections, seriesSince, SECTIONS } from '../../../src/report/fleet-view.ts';
import { FleetHttpServer, parseHttpListen, MAX_CLIENTS } from '../../../src/report/fleet-http.ts';
import { APP_JS, PAGE_HTML } from '../../../src/report/fleet-page.ts';
import { healthWaitMs, DEFAULT_HEALTH_INTERVAL_MS } from '../../../src/report/fleet-cli.ts';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const v = (state: VrrpReport['state'], o: Partial<VrrpReport> = {}): string =>
  vrrpPayload({ state, priority: 100, effectivePriority: 100, vips: ['203.0.113.1/24'], masterAddress: null, since: T0, vrid: 51, interface: 'eth0', reason: 'initial', ...o });

function pairModel(): ReturnType<typeof newFleet> {
  const m = newFleet('tandem', T0);
  for (const n of ['lb-a', 'lb-b']) {
    applyMessage(m, `tandem/${n}/status`, 'online', T0);
    applyMessage(m, `tandem/${n}/birth`, birthPayload({ version: '1.0', board: 'generic', bootTimeMs: T0, bdSeq: 1, interfaces: [] }), T0);
    applyMessage(m, `tandem/${n}/health`, JSON.stringify({ intervalMs: 1000, cpuPercent: 12, temperatureC: 48, conntrackCount: 3, uptimeS: 4000, memory: { usedPercent: 30 } }), T0);
  }
  applyMessage(m, 'tandem/lb-a/vrrp/VI_PUB', v('MASTER', { reason: 'master down timer expired' }), T0);
  applyMessage(m, 'tandem/lb-b/vrrp/VI_PUB', v('BACKUP'), T0);
  applyMessage(m, 'tandem/lb-a/lb/203.0.113.1:80/192.0.2.11:8080', realServerPayload({ up: true, weight: 1, lastCheck: T0, failures: 0, latencyMs: 2 }), T0);
  applyMessage(m, 'tandem/lb-b/lb/203.0.113.1:80/192.0.2.11:8080', realServerPayload({ up: false, weight: 1, lastCheck: T0, failures: 3, latencyMs: null }), T0);
  return m;
}

test('sections: boards, the pair with its MASTER and why, real-server health per board, the timeline', () => {
  const s = renderSections(pairModel(), T0 + 500);
  assert.deepEqual(Object.keys(s), [...SECTIONS]);
  assert.match(s.boards, /<tr data-node="lb-a" data-condition="online">/);
  assert.match(s.boards, /12 %/);
  assert.match(s.pairs, /<tr data-pair="[^"]+" data-vrid="51" data-split-brain="false">/);
  assert.match(s.pairs, /<td class="master"><span class="who" [^>]*>lb-a<\/span><\/td><td class="backup">lb-b BACKUP<\/td><td class="why">master down timer expired<\/td>/);
  assert.match(s.servers, /data-node="lb-a">lb-a UP 2\.0 ms<\/span> <span class="rs down" data-node="lb-b">lb-b DOWN \(3 failed\)/);
  assert.match(s.timeline, /data-node="lb-a" data-kind="vrrp" data-to="MASTER"/);
  assert.match(s.summary, /No alerts/);
  assert.match(s.charts, /data-board-id="1"/);
});

test('hostile names and fields are escaped in every section: no markup, no script, no control characters', () => {
  const m = pairModel();
  const evil = '<img src=x onerror=alert(1)>"\'&\u202e\x1b[2J';
  applyMessage(m, `tandem/${evil}/status`, 'online', T0);
  applyMessage(m, `tandem/${evil}/birth`, birthPayload({ version: evil, board: evil, bootTimeMs: T0, bdSeq: 1, interfaces: [] }), T0);
  applyMessage(m, `tandem/${evil}/vrrp/${encodeURIComponent(evil)}`, JSON.stringify({ state: 'MASTER', vrid: 51, vips: ['203.0.113.1/24', evil], interface: evil, reason: evil, since: evil }), T0);
  applyMessage(m, `tandem/${evil}/lb/${evil}/x`, JSON.stringify({ up: true }), T0);
  applyMessage(m, 'tandem/lb-a/lb/203.0.113.1:80/192.0.2.11:8080', JSON.stringify({ up: 'yes' }), T0); // not a real-server payload: rejected
  const s = renderSections(m, T0);
  for (const id of SECTIONS) {
    assert.doesNotMatch(s[id], /<img|onerror=alert\(1\)>|<script/i, `${id} holds markup from MQTT`);
    assert.doesNotMatch(s[id], /[\u0000-\u0008\u000b-\u001f\u007f\u202e]/, `${id} holds a control or bidi character`);
  }
  assert.match(s.boards, /&lt;img src=x onerror=alert\(1\)&gt;&quot;&#39;&amp;\\u\{202e\}\\x1b\[2J/);
});

test('series: finite numbers by board id only, after a given time', () => {
  const m = pairModel();
  const all = seriesSince(m, -Infinity);
  assert.deepEqual(Object.keys(all).sort(), ['1', '2']);
  assert.deepEqual(all['1'], { t: [T0], cpu: [12], temp: [48], traffic: [null], conntrack: [3] });
  assert.deepEqual(seriesSince(m, T0), {});
});

test('the page and its script: a script that parses, no inline script or style', () => {
  assert.doesNotThrow(() => new Script(APP_JS));
  assert.doesNotMatch(PAGE_HTML, /<script>|\sstyle=|\son[a-z]+=/i);
  for (const id of SECTIONS) assert.match(PAGE_HTML, new RegExp(`id="${id}"`));
});

test('--http listen: port alone binds 127.0.0.1; an address or [IPv6] may be given', () => {
  assert.deepEqual(parseHttpListen('8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseHttpListen('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
  assert.deepEqual(parseHttpListen('[::1]:9000'), { host: '::1', port: 9000 });
  assert.equal(parseHttpListen('::1:9000'), null);
  assert.equal(parseHttpListen('99999'), null);
  assert.equal(parseHttpListen('a:b'), null);
});

test('--once waits one health interval: the longest a board announced, else the default', () => {
  const m = newFleet('tandem', 0);
  assert.equal(healthWaitMs(m), DEFAULT_HEALTH_INTERVAL_MS + 500);
  applyMessage(m, 'tandem/a/health', JSON.stringify({ intervalMs: 2000 }), 0);
  assert.equal(healthWaitMs(m), 2500);
});

function get(port: number, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads server-sent events until `until` returns true. */
function events(port: number, until: (evs: Array<{ event: string; data: unknown }>) => boolean, timeoutMs = 5000): Promise<Array<{ event: string; data: unknown }>> {
  return new Promise((resolve, reject) => {
    const evs: Array<{ event: string; data: unknown }> = [];
    const timer = setTimeout(() => { req.destroy(); reject(new Error(`events: ${JSON.stringify(evs).slice(0, 500)}`)); }, timeoutMs);
    const req = request({ host: '127.0.0.1', port, path: '/events' }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev && data) evs.push({ event: ev, data: JSON.parse(data) });
        }
        if (until(evs)) {
          clearTimeout(timer);
          req.destroy();
          resolve(evs);
        }
      });
    });
    req.on('error', (e) => { if (!req.destroyed) reject(e); });
    req.end();
  });
}

test('the server: page and assets with a strict CSP, read-only, and a live feed of changed sections', async (t) => {
  const m = pairModel();
  let now = T0 + 100;
  const server = new FleetHttpServer({ host: '127.0.0.1', port: 0, model: m, now: () => now });
  const { host, port } = await server.start();
  t.after(() => server.close());
  assert.equal(host, '127.0.0.1');
  const page = await get(port, '/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal((await get(port, '/app.js')).body, APP_JS);
  assert.equal((await get(port, '/snapshot.json')).status, 200);
  assert.equal((await get(port, '/', 'POST')).status, 405);
  assert.equal((await get(port, '/', 'PUT')).status, 405);
  assert.equal((await get(port, '/../../etc/passwd')).status, 404);
  assert.equal((await get(port, '/', 'GET', { 'content-length': '3' })).status, 413);
  assert.equal((await get(port, '/', 'GET', { 'x-pad': 'p'.repeat(10_000) })).status, 431);
  assert.deepEqual(server.refused, { method: 2, path: 1, body: 1 });

  // A viewer gets every section, then only what changes: lb-a loses power, lb-b takes over.
  const feed = events(port, (evs) => evs.some((e) => e.event === 'view' && /lb-b<\/span><\/td>/.test(JSON.stringify(e.data))));
  await new Promise((r) => setTimeout(r, 100));
  now = T0 + 1000;
  applyMessage(m, 'tandem/lb-b/vrrp/VI_PUB', v('MASTER', { since: now, reason: 'master down timer expired' }), now);
  applyMessage(m, 'tandem/lb-a/status', 'lost', now);
  server.changed();
  const evs = await feed;
  const views = evs.filter((e) => e.event === 'view').map((e) => e.data as { seq: number; sections: Record<string, string> });
  assert.deepEqual(Object.keys(views[0]!.sections), [...SECTIONS], 'the first view has every section');
  const last = views[views.length - 1]!;
  assert.ok(!('charts' in last.sections), 'an unchanged section is not sent again');
  assert.match(last.sections.pairs!, /LOST lb-a/);
  assert.match(last.sections.timeline!, /data-node="lb-b" data-kind="vrrp" data-to="MASTER"/);
  assert.ok(evs.some((e) => e.event === 'series'));
});

test('the server: at most MAX_CLIENTS viewers; a flood of changes costs one render per coalescing window', async (t) => {
  const m = pairModel();
  const server = new FleetHttpServer({ host: '127.0.0.1', port: 0, model: m });
  const { port } = await server.start();
  t.after(() => server.close());
  const viewers = await Promise.all(Array.from({ length: MAX_CLIENTS }, () => events(port, (e) => e.length >= 1)));
  assert.equal(viewers.length, MAX_CLIENTS);
  const one = events(port, (e) => e.length >= 1);
  await one;
  const before = server.stats.renders;
  const feed = events(port, (e) => e.filter((x) => x.event === 'view').length >= 2, 5000);
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 5000; i++) {
    applyMessage(m, 'tandem/lb-a/health', JSON.stringify({ intervalMs: 1000, cpuPercent: i % 100 }), Date.now());
    server.changed();
  }
  await feed;
  assert.ok(server.stats.renders - before <= 4, `${server.stats.renders - before} renders for 5000 changes`);
});
