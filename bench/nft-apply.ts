// Figures for the nftables data plane: render + apply of 1,000 virtual servers × 8 real servers
// (target < 1 s) and one real server's state change as a small edit (target < 20 ms), in a
// namespace of its own (tdm-nft-bench-<random>, removed at the end even on failure): the bench
// re-runs itself inside it (`ip netns exec`), as the daemon runs inside a board's namespace.
// Needs root.
// Run: node --import tsx bench/nft-apply.ts [--scheduler mh|sh|dh|wrr|rr] [--method NAT|DR] [--vs 1000] [--rs 8]
// With --method DR (sh or mh) the virtual servers are lb_kind DR: table netdev tandem with an
// ingress hook on the namespace's eth0 and real servers reached on its eth1 (veth pairs the
// bench makes), plus the notrack set in table ip tandem.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { run } from '../src/util/spawn.ts';
import { applyNft, NftSession } from '../src/lb/nft.ts';
import { renderFullTable, renderRsChange, rsKey } from '../src/lb/plan.ts';
import type { DrTopology, RsLive } from '../src/lb/plan.ts';
import type { VirtualServer, RealServer, Pos, Scheduler, ForwardingMethod } from '../src/config/model.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const scheduler = arg('scheduler', 'mh') as Scheduler;
const method = arg('method', 'NAT') as ForwardingMethod;
const nVs = Number(arg('vs', '1000'));
const nRs = Number(arg('rs', '8'));
const changes = 20;

const pos: Pos = { file: 'bench', line: 1, col: 1 };
function config(): VirtualServer[] {
  const out: VirtualServer[] = [];
  for (let i = 0; i < nVs; i++) {
    const address = `203.0.113.${10 + (i % 50)}`;
    const port = 1000 + Math.floor(i / 50);
    const realServers: RealServer[] = Array.from({ length: nRs }, (_, j) => ({
      name: `192.0.2.${11 + j} ${port}`, address: `192.0.2.${11 + j}`, port, weight: 1 + (j % 3), inhibitOnFailure: false,
      notifyUp: null, notifyDown: null, checkers: [], pos,
    }));
    out.push({
      name: `${address} ${port}`, address, port, protocol: 'TCP', delayLoopMs: 60_000, scheduler, method,
      persistenceTimeoutMs: 0, persistenceGranularity: 32, quorum: 1, hysteresis: 0, quorumUp: null, quorumDown: null,
      sorryServer: null, sorryServerInhibit: false, alpha: false, omega: false, inhibitOnFailure: false, haSuspend: false,
      virtualhost: null, forwarder: 'auto', realServers, pos,
    });
  }
  return out;
}

const INSIDE = 'TDM_NFT_BENCH_INSIDE';

/** Makes the namespace and runs this file again inside it. */
async function main(): Promise<void> {
  const ns = `tdm-nft-bench-${randomBytes(3).toString('hex')}`;
  const add = await run(['ip', 'netns', 'add', ns]);
  if (add.code !== 0) throw new Error(`ip netns add ${ns}: ${add.stderr.trim()}`);
  try {
    // DR's ingress hook and fwd need the devices to exist.
    for (const dev of ['eth0', 'eth1']) {
      const l = await run(['ip', '-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`]);
      if (l.code !== 0) throw new Error(`ip link add ${dev} in ${ns}: ${l.stderr.trim()}`);
    }
    const self = fileURLToPath(import.meta.url);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', self, ...process.argv.slice(2)], {
      stdio: 'inherit', env: { ...process.env, [INSIDE]: '1' },
    });
    if (r.status !== 0) throw new Error(`the bench inside ${ns} failed (${r.status ?? r.signal})`);
  } finally {
    await run(['ip', 'netns', 'del', ns]);
  }
}

/** The measurements, inside the namespace. */
async function measure(): Promise<void> {
  const vss = config();
  const state = new Map<string, RsLive>();
  const dr: DrTopology = {
    ingress: new Map(vss.map((v) => [v.address, ['eth0']])),
    egress: new Map(vss.flatMap((v) => v.realServers.map((r) => [r.address, 'eth1'] as const))),
  };
  let t0 = performance.now();
  const tx = renderFullTable(vss, state, { dr });
  const renderMs = performance.now() - t0;
  t0 = performance.now();
  await applyNft(tx, { timeoutMs: 60_000 });
  const applyMs = performance.now() - t0;
  const input = tx.render();

  // One real server's change: as a one-shot `nft -f -`, and through the long-lived `nft -i`
  // session systemNft() uses for small edits.
  const oneShot: number[] = [];
  const session: number[] = [];
  const nft = new NftSession();
  try {
    await nft.apply('add table ip tandem\n'); // start the process outside the measurement
    for (let k = 0; k < 2 * changes; k++) {
      const vs = vss[(k * 37) % vss.length]!;
      const rs = vs.realServers[k % vs.realServers.length]!;
      t0 = performance.now();
      const cur = state.get(rsKey(vs, rs));
      state.set(rsKey(vs, rs), { up: !(cur ? cur.up : true), weight: rs.weight });
      const edit = renderRsChange(vs, state, { dr });
      if (k % 2 === 0) await applyNft(edit);
      else await nft.apply(edit);
      (k % 2 === 0 ? oneShot : session).push(performance.now() - t0);
    }
  } finally {
    nft.close();
  }
  const stats = (xs: number[]): { samples: number; medianMs: number; maxMs: number } => {
    const s = [...xs].sort((a, b) => a - b);
    return { samples: s.length, medianMs: round(s[Math.floor(s.length / 2)]!), maxMs: round(s[s.length - 1]!) };
  };
  const fullMs = renderMs + applyMs;
  const median = stats(session).medianMs;
  const result = {
    bench: 'nft-apply', scheduler, method, virtualServers: nVs, realServersPerVs: nRs,
    inputBytes: input.length, inputLines: input.split('\n').length - 1,
    full: { renderMs: round(renderMs), applyMs: round(applyMs), totalMs: round(fullMs), targetMs: 1000, ok: fullMs < 1000 },
    rsChange: { session: stats(session), oneShot: stats(oneShot), targetMs: 20, ok: median < 20 },
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`nft-apply ${method} ${scheduler}: ${nVs} VS x ${nRs} RS in ${round(fullMs)} ms (target < 1000), one RS change median ${median} ms via nft -i, ${stats(oneShot).medianMs} ms one-shot (target < 20)`);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

(process.env[INSIDE] ? measure() : main()).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
