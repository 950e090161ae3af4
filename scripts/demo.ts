// `sudo npm run demo`: the two-board lab, both boards running tandem, client traffic through the
// public VIP to three real servers, the fleet over MQTT and on its live page (`tandem fleet
// --http`, address printed; open it in a browser), and a live failover: board A loses power,
// board B takes both VIPs and keeps serving, A comes back and takes over again. With Debian's
// chromium installed, a headless browser watches the page too and says when it showed the
// failover (screenshots as artefacts).
// Everything the demo made is removed on Ctrl-C, on failure, or at the end with --once.
import { createLab, LAB_ADDR, type Lab } from '../test/lab/lab.ts';
import { pairConfig } from '../test/lab/vrrp-configs.ts';
import { vipHolders } from '../test/lab/vrrp-helpers.ts';
import { join } from 'node:path';
import { startFleetViewer, type FleetViewer } from '../test/lab/fleet-viewer.ts';
import { haveChromium, openBrowser, type Browser } from '../test/lab/browser.ts';

const once = process.argv.includes('--once') || process.env.DEMO_ONCE === '1';
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s: string): void => console.log(`\n${bold('== ' + s)}`);

let lab: Lab | null = null;
let viewer: FleetViewer | null = null;
let browser: Browser | null = null;
let stopping = false;

async function cleanup(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log('\ntearing the lab down …');
    await browser?.close().catch(() => undefined);
    await viewer?.stop().catch(() => undefined);
    await lab?.destroy().catch(() => undefined);
  }
  process.exit(code);
}
process.on('SIGINT', () => void cleanup(0));
process.on('SIGTERM', () => void cleanup(0));

const broker = `mqtt://${LAB_ADDR.client}:1883`;
const virtualServer = `
virtual_server ${LAB_ADDR.publicVip} 80 {
    delay_loop 2
    lb_algo mh
    lb_kind NAT
    protocol TCP
${[1, 2, 3].map((i) => `    real_server ${LAB_ADDR.realServer(i)} 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
`).join('')}}
mqtt {
    url ${broker}
    keepalive 5
    health_interval 2
}
`;
const cfg = (board: 'a' | 'b'): string =>
  pairConfig({ routerId: `lb-${board}`, priority: board === 'a' ? 150 : 100, version: 3, advertInt: 0.5, extra: virtualServer });

async function holders(l: Lab): Promise<string> {
  const h = await vipHolders(l);
  return `public VIP on [${h.pub.join(',') || '-'}], gateway VIP on [${h.priv.join(',') || '-'}]`;
}

/** One HTTP request per tick through the public VIP, new connection each time. */
function clientTraffic(l: Lab, ms: number): Promise<{ ok: number; fail: number; by: Record<string, number>; longestGapMs: number }> {
  return new Promise((resolve) => {
    const by: Record<string, number> = {};
    let ok = 0;
    let fail = 0;
    let lastOk = Date.now();
    let longestGapMs = 0;
    const start = Date.now();
    const tick = async (): Promise<void> => {
      if (Date.now() - start > ms) return resolve({ ok, fail, by, longestGapMs });
      try {
        const r = await l.httpGet('client', `http://${LAB_ADDR.publicVip}/`, 700);
        const name = r.body.trim();
        by[name] = (by[name] ?? 0) + 1;
        ok++;
        longestGapMs = Math.max(longestGapMs, Date.now() - lastOk);
        lastOk = Date.now();
        process.stdout.write(name.slice(-1));
      } catch {
        fail++;
        process.stdout.write('.');
      }
      setTimeout(() => void tick(), 100);
    };
    void tick();
  });
}

async function main(): Promise<void> {
  say('Building the two-board lab in network namespaces');
  lab = await createLab({ name: 'demo', realServers: 3 });
  console.log(lab.describe());

  say('Starting the real servers (HTTP on :8080, each answers with its name) and an MQTT broker');
  for (let i = 1; i <= 3; i++) await lab.startHttpServer(i, 8080);
  // An embedded broker (aedes, scripts/demo-broker.mjs) in the client's namespace: the
  // demo needs no broker installed; the boards reach it over the public segment.
  const brokerSocket = join(lab.tmpDir, 'demo-broker.sock');
  const brokerProc = lab.spawn('client', [process.execPath, new URL('./demo-broker.mjs', import.meta.url).pathname, LAB_ADDR.client, '1883', brokerSocket], { label: 'broker' });
  await brokerProc.waitForLog(new RegExp(`listening on ${LAB_ADDR.client.replace(/\./g, '\\.')}`), 10_000);

  say('The fleet page (tandem fleet --http): open it in a browser on this machine');
  viewer = await startFleetViewer(`mqtt+unix://${brokerSocket}`, { http: process.env.DEMO_HTTP ?? '127.0.0.1:0' });
  console.log(`  ${bold(viewer.url)}   (DEMO_HTTP=ADDR:PORT picks the address)`);

  say('Starting tandem on board A (priority 150) and board B (priority 100)');
  const started = /Entering (BACKUP|MASTER|FAULT) STATE/;
  const a = await lab.startBoard('a', cfg('a'), { waitForLog: started, logLevel: 'info' });
  const b = await lab.startBoard('b', cfg('b'), { waitForLog: started, logLevel: 'info' });
  a.proc.onLine((l) => /STATE|quorum|Removing|Adding/.test(l.text) && console.log(`  [board A] ${l.text}`));
  b.proc.onLine((l) => /STATE|quorum|Removing|Adding/.test(l.text) && console.log(`  [board B] ${l.text}`));
  await lab.waitFor(async () => (await vipHolders(lab!)).pub.length === 1, { timeoutMs: 15_000, what: 'one MASTER' });
  console.log(`  ${await holders(lab)}`);
  console.log((await a.ctl(['show', 'vrrp'])).stdout);

  say('Client traffic through the public VIP (digit = real server that answered, . = failed)');
  console.log('  lb_algo mh: one client address always maps to the same real server, on either board');
  const t1 = await clientTraffic(lab, 3000);
  console.log(`\n  ${t1.ok} answered, ${t1.fail} failed, by server: ${JSON.stringify(t1.by)}`);

  if (haveChromium()) {
    browser = await openBrowser(`demo-${lab.tag}`);
    await browser.page.goto(viewer.url);
    await browser.page.locator('#pairs tr[data-vrid="51"] td.master .who').filter({ hasText: 'lb-a' }).waitFor({ timeout: 15_000 });
    console.log(`  the page shows lb-a MASTER; screenshot ${await browser.screenshot('1-before')}`);
  }

  say('Pulling the plug on board A (daemon killed, links down) while the client keeps going; watch the page');
  const traffic = clientTraffic(lab, 6000);
  await new Promise((r) => setTimeout(r, 1000));
  const cutAt = Date.now();
  const seen = browser
    ? browser.page.locator('#pairs tr[data-vrid="51"] td.master .who').filter({ hasText: 'lb-b' }).waitFor({ timeout: 10_000 }).then(() => Date.now() - cutAt, () => null)
    : Promise.resolve(null);
  await lab.powerOff('a');
  const t2 = await traffic;
  console.log(`\n  ${t2.ok} answered, ${t2.fail} failed, longest gap ${t2.longestGapMs} ms; ${await holders(lab)}`);
  const seenMs = await seen;
  if (browser && seenMs !== null) {
    console.log(`  the page showed lb-b as MASTER ${seenMs} ms after the power cut (timeline: "${(await browser.page.locator('#timeline li[data-to="MASTER"]').first().textContent())?.trim()}")`);
    await browser.page.locator('#boards tr[data-node="lb-a"][data-condition="lost"]').waitFor({ timeout: 15_000 }).catch(() => undefined);
    console.log(`  and lb-a as lost once the broker noticed; screenshot ${await browser.screenshot('2-failover')}`);
  }

  say('Board A comes back: it removes the VIPs it left behind and takes mastership back');
  await lab.restoreLinks('a');
  await lab.startBoard('a', cfg('a'), { waitForLog: started, logLevel: 'info' });
  lab.board('a')!.proc.onLine((l) => /STATE/.test(l.text) && console.log(`  [board A] ${l.text}`));
  await lab.waitFor(async () => (await vipHolders(lab!)).pub.join() === 'a', { timeoutMs: 15_000, what: 'A MASTER again' });
  console.log(`  ${await holders(lab)}`);

  say('The fleet over MQTT (tandem fleet --once; --json for scripts)');
  const fleet = await lab.exec('client', [process.execPath, a.bundle, 'fleet', '--mqtt', broker, '--once'], { timeoutMs: 15_000 });
  console.log(fleet.stdout || fleet.stderr);

  if (once) return cleanup(0);
  say(`Running. The page: ${viewer.url}   Try: sudo ip netns exec ${lab.ns.a} node dist/tandem.js ctl --json --control-socket ${a.controlSocket} show vrrp`);
  console.log('Press Ctrl-C to tear everything down.');
  await new Promise(() => undefined);
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  void cleanup(1);
});
