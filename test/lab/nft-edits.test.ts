// Small edits converge on the full table. In one namespace the real nft gets a full table
// (renderFullTable) and then a sequence of small edits (renderRsChange, through the nft -i
// session as the daemon sends them): a real server down, up, a weight change, a drain to
// weight 0, persistence with and without inhibit_on_failure, the quorum lost to the sorry
// server and regained, every real server down. After every edit the kernel's table
// (`nft -j list table ip tandem`) must equal, up to what is not configuration (handles,
// counters, element order, the runtime state of dynamic sets), the table a fresh full apply of
// the same state gives in a second namespace. A rule or element an edit leaves behind, or
// fails to put back, shows as a difference.
// Needs root. Namespaces tdm-nfte-<random>{a,b}, removed in t.after even on failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { runCommand } from './command.ts';
import { startNetnsAgent, type NetnsAgent } from './netns-agent.ts';
import { NftError, type NftBackend } from '../../src/lb/nft.ts';
import { renderFullTable, renderRsChange, rsKey, vsKey, vsAliveWeight, vsObjectName, type RsLive } from '../../src/lb/plan.ts';
import { QuorumTracker } from '../../src/lb/quorum.ts';
import type { VirtualServer } from '../../src/config/model.ts';
import { rs, vs } from '../unit/lb/fixtures.ts';

const VIP = '203.0.113.10';
const SH = vs(VIP, 80, [rs('192.0.2.11', 8080), rs('192.0.2.12', 8080, { weight: 2 }), rs('192.0.2.13', 8080)], { scheduler: 'sh' });
const MH = vs(VIP, 443, [rs('192.0.2.11', 8443), rs('192.0.2.12', 8443), rs('192.0.2.13', 8444)], { scheduler: 'mh' });
const WRR = vs(VIP, 8080, [rs('192.0.2.21', 80), rs('192.0.2.22', 80, { weight: 3 }), rs('192.0.2.23', 80, { inhibitOnFailure: true })], {
  scheduler: 'wrr', persistenceTimeoutMs: 300_000, persistenceGranularity: 24,
});
const SORRY = vs(VIP, 81, [rs('192.0.2.31', 80), rs('192.0.2.32', 80)], {
  scheduler: 'rr', quorum: 2, sorryServer: { address: '192.0.2.99', port: 8000, pos: { file: 'lab.conf', line: 1, col: 1 } },
});
const ALL = [SH, MH, WRR, SORRY];

type Json = Record<string, unknown>;

/**
 * The table as configuration: no handles, counters at zero, elements sorted, dynamic sets'
 * elements dropped (packets add those, not transactions), timeouts' countdowns zeroed;
 * objects sorted by kind and name, rules kept in their order within their chain.
 */
function normalize(listing: unknown): string {
  const items = (listing as { nftables: Json[] }).nftables.filter((i) => !('metainfo' in i));
  const scrub = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(scrub);
    if (v && typeof v === 'object') {
      const out: Json = {};
      for (const [k, x] of Object.entries(v as Json)) {
        if (k === 'handle') continue;
        if (k === 'counter' && x && typeof x === 'object') out[k] = {};
        else if (k === 'expires') out[k] = 0;
        else out[k] = scrub(x);
      }
      return out;
    }
    return v;
  };
  const objects: string[] = [];
  const rules = new Map<string, string[]>();
  for (const item of items) {
    const kind = Object.keys(item)[0]!;
    const body = scrub(item[kind]) as Json;
    if (kind === 'rule') {
      const chain = String(body.chain);
      rules.set(chain, [...(rules.get(chain) ?? []), JSON.stringify(body)]);
      continue;
    }
    if ((kind === 'set' || kind === 'map') && Array.isArray(body.elem)) {
      const flags = ([] as unknown[]).concat(body.flags ?? []);
      if (flags.includes('dynamic')) delete body.elem;
      else body.elem = (body.elem as unknown[]).map((e) => JSON.stringify(e)).sort();
    }
    objects.push(`${kind} ${String(body.name)} ${JSON.stringify(body)}`);
  }
  objects.sort();
  const chains = [...rules.keys()].sort().map((c) => `rules of ${c}:\n  ${rules.get(c)!.join('\n  ')}`);
  return [...objects, ...chains].join('\n');
}

/** The live state as the controller keeps it: health and weights, and each VS's quorum. */
class Live {
  readonly state = new Map<string, RsLive>();
  readonly quorum = new Map<string, QuorumTracker>(ALL.map((v) => [vsKey(v), new QuorumTracker({ quorum: v.quorum, hysteresis: v.hysteresis })]));

  set(v: VirtualServer, index: number, live: RsLive): void {
    this.state.set(rsKey(v, v.realServers[index]!), live);
    this.quorum.get(vsKey(v))!.update(vsAliveWeight(v, this.state));
  }

  get opts(): { quorumUp: Map<string, boolean> } {
    return { quorumUp: new Map([...this.quorum].map(([k, q]) => [k, q.isUp])) };
  }
}

test('every small edit leaves the kernel table equal to a fresh full apply of the same state', async (t) => {
  const tag = `tdm-nfte-${randomBytes(3).toString('hex')}`;
  const nsA = `${tag}a`;
  const nsB = `${tag}b`;
  const agents: NetnsAgent[] = [];
  t.after(async () => {
    for (const a of agents) await a.close();
    for (const n of [nsA, nsB]) await runCommand('ip', ['netns', 'del', n]);
  });
  for (const n of [nsA, nsB]) await runCommand('ip', ['netns', 'add', n], { check: true });
  const [a, b] = await Promise.all([nsA, nsB].map((n) => startNetnsAgent(n, { errors: { NftError } })));
  agents.push(a!, b!);
  const nftA = a!.module<typeof import('../../src/lb/nft.ts')>('src/lb/nft.ts');
  const nftB = b!.module<typeof import('../../src/lb/nft.ts')>('src/lb/nft.ts');
  // The edited side goes through systemNft(), as the daemon does: small edits to nft -i.
  const daemonNft = await a!.create<NftBackend>('src/lb/nft.ts', 'systemNft');

  const live = new Live();
  await daemonNft.apply(renderFullTable(ALL, live.state, live.opts));

  const fresh = async (): Promise<string> => {
    await nftB.applyNft(renderFullTable(ALL, live.state, live.opts));
    return normalize(await nftB.listTableJson());
  };
  const edited = async (): Promise<string> => normalize(await nftA.listTableJson());

  const start = await edited();
  for (const v of ALL) assert.ok(start.includes(`"name":"${vsObjectName(v)}_s"`), `${v.name}'s slot map is in the table`);
  assert.equal(start, await fresh(), 'the same full apply in both namespaces compares equal');

  const steps: Array<[string, VirtualServer, () => void]> = [
    ['sh: a real server down', SH, () => live.set(SH, 1, { up: false, weight: 2 })],
    ['sh: it comes back', SH, () => live.set(SH, 1, { up: true, weight: 2 })],
    ['mh: a weight change', MH, () => live.set(MH, 0, { up: true, weight: 4 })],
    ['mh: a real server down', MH, () => live.set(MH, 2, { up: false, weight: 1 })],
    ['wrr+persistence: a real server down (its stickiness flushed)', WRR, () => live.set(WRR, 0, { up: false, weight: 1 })],
    ['wrr+persistence: an inhibit_on_failure real server down (stickiness kept)', WRR, () => live.set(WRR, 2, { up: false, weight: 1 })],
    ['wrr+persistence: the first one back, drained to weight 0', WRR, () => live.set(WRR, 0, { up: true, weight: 0 })],
    ['wrr+persistence: undrained', WRR, () => live.set(WRR, 0, { up: true, weight: 1 })],
    ['sorry server: quorum lost', SORRY, () => live.set(SORRY, 0, { up: false, weight: 1 })],
    ['sorry server: quorum regained', SORRY, () => live.set(SORRY, 0, { up: true, weight: 1 })],
    ['mh: every real server down', MH, () => { for (const i of [0, 1, 2]) live.set(MH, i, { up: false, weight: 1 }); }],
    ['mh: all back', MH, () => { for (const i of [0, 1, 2]) live.set(MH, i, { up: true, weight: 1 }); }],
  ];
  let before = start;
  for (const [what, v, change] of steps) {
    const quorumBefore = live.quorum.get(vsKey(v))!.isUp;
    change();
    if (v === SORRY) assert.notEqual(live.quorum.get(vsKey(v))!.isUp, quorumBefore, `${what}: the quorum changed`);
    await daemonNft.apply(renderRsChange(v, live.state, live.opts));
    const now = await edited();
    assert.notEqual(now, before, `${what}: the edit changed the table`);
    assert.equal(now, await fresh(), `${what}: the edited table equals a fresh full apply`);
    before = now;
  }
});
