// Figures for the fleet page and /metrics, in the two-board lab with a real mosquitto:
//
// 1. Transition → visible on the page: board b is made MASTER (its namespace drops VRRP with
//    nft) TRANSITIONS times; for each, the time from a subscriber receiving b's retained
//    vrrp/VI_PUB MASTER to the page (headless Chromium, a MutationObserver) showing lb-b in the
//    MASTER column. Target: under 500 ms.
// 2. A page with BOARDS simulated boards (status, birth, two instances, two real servers each;
//    health from every board every second): time from opening the page to every board's row,
//    the browser's JS heap and DOM size, and the viewer's (`tandem fleet --http`) CPU and RSS
//    over SECONDS seconds of that health.
// 3. /metrics on board a (two instances, three real servers): scrape time (median, p95, max of
//    SCRAPES scrapes from the client host), and the daemon's CPU over SECONDS seconds scraped every
//    5 s against the same time not scraped.
//
//   ./build.sh && node --import tsx bench/fleet.ts    (root; BENCH_TRANSITIONS, BENCH_BOARDS, BENCH_SECONDS, BENCH_SCRAPES)
// Prints one JSON object, then a one-line summary. Figures, not a test.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createLab, LAB_ADDR, type Board, type Lab } from '../test/lab/lab.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';
import { waitHolder } from '../test/lab/vrrp-helpers.ts';
import { tcpCheck, virtualServerBlock } from '../test/lab/lb-helpers.ts';
import { json, mqttBlock, startLabBroker, subscribe, type Subscriber } from '../test/lab/mosquitto.ts';
import { openBrowser, type Browser } from '../test/lab/browser.ts';
import { startFleetViewer, type FleetViewer } from '../test/lab/fleet-viewer.ts';
import { birthPayload, realServerPayload, vrrpPayload } from '../src/report/payloads.ts';

const TRANSITIONS = Number(process.env.BENCH_TRANSITIONS ?? 10);
const BOARDS = Number(process.env.BENCH_BOARDS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 50);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const NODE: Record<Board, string> = { a: 'lb-a', b: 'lb-b' };
const started = /Entering (BACKUP|MASTER|FAULT) STATE/;

async function cpuSeconds(pid: number): Promise<number> {
  const s = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

async function rssKb(pid: number): Promise<number> {
  return Number(/^VmRSS:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

function stats(xs: number[]): { median: number; p95: number; max: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { median: at(0.5), p95: at(0.95), max: s[s.length - 1] ?? NaN, n: s.length };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * In the page: resolves with Date.now() once `node` is a live MASTER of VRID 51. Passed as text:
 * tsx's transform would add helpers to a function's source that the page does not have.
 */
function whenMaster(browser: Browser, node: string): Promise<number> {
  return browser.page.evaluate(`new Promise((resolve) => {
    const want = ${JSON.stringify(node)};
    const root = document.getElementById('pairs');
    const check = () => {
      const cells = root.querySelectorAll('tr[data-vrid="51"] td.master .who:not(.historic)');
      if (![...cells].some((c) => c.textContent === want)) return false;
      resolve(Date.now());
      return true;
    };
    if (check()) return;
    const mo = new MutationObserver(() => { if (check()) mo.disconnect(); });
    mo.observe(root, { childList: true, subtree: true, characterData: true });
  })`) as Promise<number>;
}

async function transitions(lab: Lab, sub: Subscriber, browser: Browser): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < TRANSITIONS; i++) {
    const from = sub.msgs.length;
    const seen = whenMaster(browser, 'lb-b');
    await lab.exec('b', ['nft', 'add', 'table', 'ip', 'blockvrrp'], { check: true });
    await lab.exec('b', ['nft', 'add', 'chain', 'ip', 'blockvrrp', 'in', '{ type filter hook input priority -10 ; policy accept ; }'], { check: true });
    await lab.exec('b', ['nft', 'add', 'rule', 'ip', 'blockvrrp', 'in', 'ip', 'protocol', 'vrrp', 'drop'], { check: true });
    const msg = await sub.waitMsg('b MASTER', (m) => m.topic === 'tandem/lb-b/vrrp/VI_PUB' && json(m).state === 'MASTER', { from });
    const pageAt = await seen;
    out.push(pageAt - msg.at);
    const back = sub.msgs.length;
    await lab.exec('b', ['nft', 'delete', 'table', 'ip', 'blockvrrp'], { check: true });
    await sub.waitMsg('b BACKUP', (m) => m.topic === 'tandem/lb-b/vrrp/VI_PUB' && json(m).state === 'BACKUP', { from: back });
    await sleep(500);
  }
  return out;
}

async function manyBoards(sub: Subscriber, viewer: FleetViewer): Promise<Record<string, number>> {
  const node = (i: number): string => `sim-${String(i).padStart(3, '0')}`;
  const pubs: Array<Promise<void>> = [];
  for (let i = 0; i < BOARDS; i++) {
    const n = node(i);
    const vip = `198.51.100.${(Math.floor(i / 2) % 250) + 1}/24`;
    pubs.push(sub.publish(`tandem/${n}/status`, 'online', { retain: true }));
    pubs.push(sub.publish(`tandem/${n}/birth`, birthPayload({ version: '0.1.0', board: 'sim', bootTimeMs: Date.now(), bdSeq: 1, interfaces: [] }), { retain: true }));
    for (const [inst, vrid] of [['VI_PUB', 100 + Math.floor(i / 2)], ['VI_PRIV', 300 + Math.floor(i / 2)]] as const) {
      pubs.push(sub.publish(`tandem/${n}/vrrp/${inst}`, vrrpPayload({ state: i % 2 ? 'BACKUP' : 'MASTER', priority: 100, effectivePriority: 100, vips: [vip], masterAddress: null, since: Date.now(), vrid, interface: 'eth0', reason: 'initial' }), { retain: true }));
    }
    for (const rs of [11, 12]) pubs.push(sub.publish(`tandem/${n}/lb/203.0.113.1:80/192.0.2.${rs}:8080`, realServerPayload({ up: true, weight: 1, lastCheck: Date.now(), failures: 0, latencyMs: 1 }), { retain: true }));
  }
  await Promise.all(pubs);
  let k = 0;
  const health = setInterval(() => {
    for (let i = 0; i < BOARDS; i++) {
      void sub.publish(`tandem/${node(i)}/health`, JSON.stringify({ intervalMs: 1000, cpuPercent: (k + i) % 100, temperatureC: 45 + (i % 10), conntrackCount: i, uptimeS: 1000 + k, memory: { usedPercent: 30 }, nics: [{ name: 'eth0', rxBytes: k * 1000, txBytes: k * 500 }] }));
    }
    k++;
  }, 1000);
  try {
    await sleep(2000);
    const browser = await openBrowser(`bench-fleet-${BOARDS}`);
    try {
      const t0 = Date.now();
      await browser.page.goto(viewer.url);
      await browser.page.locator('#boards tr[data-node^="sim-"]').nth(BOARDS - 1).waitFor({ timeout: 60_000 });
      const renderMs = Date.now() - t0;
      const pid = viewer.proc.pid!;
      const cpu0 = await cpuSeconds(pid);
      await sleep(SECONDS * 1000);
      const cpu1 = await cpuSeconds(pid);
      const cdp = await browser.context.newCDPSession(browser.page);
      await cdp.send('Performance.enable');
      const { metrics } = await cdp.send('Performance.getMetrics');
      const m = (name: string): number => metrics.find((x) => x.name === name)?.value ?? NaN;
      const screenshot = await browser.screenshot(`${BOARDS}-boards`);
      console.error(`screenshot: ${screenshot}`);
      return {
        boards: BOARDS, renderMs, jsHeapUsedMB: Math.round(m('JSHeapUsedSize') / 1e5) / 10, domNodes: m('Nodes'),
        viewerCpuPercent: Math.round((1000 * (cpu1 - cpu0)) / SECONDS) / 10, viewerRssMB: Math.round((await rssKb(pid)) / 102.4) / 10,
      };
    } finally {
      await browser.close();
    }
  } finally {
    clearInterval(health);
  }
}

/** argv: URL COUNT INTERVAL_MS. Scrapes COUNT times INTERVAL_MS apart; prints the durations (ms) as JSON. */
const SCRAPER_JS = `
const [url, count, every] = process.argv.slice(1);
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true });
const one = () => new Promise((res, rej) => {
  const t0 = process.hrtime.bigint();
  http.get(url, { agent }, (r) => { r.resume(); r.on('end', () => res(Number(process.hrtime.bigint() - t0) / 1e6)); }).on('error', rej);
});
(async () => {
  const out = [];
  for (let i = 0; i < Number(count); i++) { out.push(await one()); if (Number(every) > 0) await new Promise((r) => setTimeout(r, Number(every))); }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

async function metrics(lab: Lab): Promise<Record<string, unknown>> {
  const url = `http://${LAB_ADDR.board.a.eth0}:9650/metrics`;
  const r = await lab.exec('client', [process.execPath, '-e', SCRAPER_JS, url, String(SCRAPES), '0'], { check: true, timeoutMs: 120_000 });
  const times = JSON.parse(r.stdout) as number[];
  const pid = lab.board('a')!.proc.pid;
  const idle0 = await cpuSeconds(pid);
  await sleep(SECONDS * 1000);
  const idle = (await cpuSeconds(pid)) - idle0;
  const busy0 = await cpuSeconds(pid);
  await lab.exec('client', [process.execPath, '-e', SCRAPER_JS, url, String(Math.max(1, Math.floor(SECONDS / 5))), '5000'], { check: true, timeoutMs: SECONDS * 1000 + 60_000 });
  const busy = (await cpuSeconds(pid)) - busy0;
  const size = (await lab.httpGet('client', url)).body.length;
  return {
    scrapeMs: stats(times.slice(1)), firstScrapeMs: times[0], bytes: size,
    daemonCpuPercentNotScraped: Math.round((1000 * idle) / SECONDS) / 10,
    daemonCpuPercentScrapedEvery5s: Math.round((1000 * busy) / SECONDS) / 10,
  };
}

async function main(): Promise<void> {
  const lab = await createLab({ name: 'bench-fleet', realServers: 3 });
  let viewer: FleetViewer | null = null;
  let browser: Browser | null = null;
  try {
    for (const i of [1, 2, 3]) await lab.startHttpServer(i, 8080);
    const broker = await startLabBroker(lab);
    const sub = await subscribe(broker.localUrl, 'tandem/+/vrrp/#');
    const vs = virtualServerBlock({
      address: LAB_ADDR.publicVip, port: 80, lbAlgo: 'rr', delayLoop: 2,
      realServers: [1, 2, 3].map((i) => ({ address: LAB_ADDR.realServer(i), port: 8080, checker: tcpCheck({ connectTimeout: 1, retry: 0, delayBeforeRetry: 1 }) })),
    });
    const cfg = (b: Board): string => pairConfig({
      routerId: NODE[b], priority: b === 'a' ? 150 : 100, version: 3, advertInt: 0.2,
      extra: vs + mqttBlock(broker.url, { keepaliveS: 5, healthIntervalS: 2 }) + (b === 'a' ? `metrics {\n    listen ${LAB_ADDR.board.a.eth0}:9650\n}\n` : ''),
    });
    await lab.startBoard('a', cfg('a'), { waitForLog: started, logLevel: 'info' });
    await lab.startBoard('b', cfg('b'), { waitForLog: started, logLevel: 'info' });
    await waitHolder(lab, 'a');
    viewer = await startFleetViewer(broker.localUrl);
    browser = await openBrowser(`bench-fleet-${lab.tag}`);
    await browser.page.goto(viewer.url);
    await whenMaster(browser, 'lb-a');
    const toPage = stats(await transitions(lab, sub, browser));
    await browser.close();
    browser = null;
    const page = await manyBoards(sub, viewer);
    const m = await metrics(lab);
    await sub.close();
    const result = { transitionToPageMs: toPage, page, metrics: m };
    console.log(JSON.stringify(result, null, 2));
    console.log(`transition→page median ${toPage.median} ms (p95 ${toPage.p95}, max ${toPage.max}, n ${toPage.n}); ${page.boards} boards rendered in ${page.renderMs} ms, JS heap ${page.jsHeapUsedMB} MB, viewer ${page.viewerCpuPercent}% CPU ${page.viewerRssMB} MB; /metrics median ${(m.scrapeMs as { median: number }).median} ms, daemon CPU ${m.daemonCpuPercentNotScraped}% → ${m.daemonCpuPercentScrapedEvery5s}% scraped every 5 s`);
  } finally {
    await browser?.close();
    await viewer?.stop();
    await lab.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exitCode = 1;
});
