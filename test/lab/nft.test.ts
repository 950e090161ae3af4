// The nftables data plane in real namespaces: full apply, read back, small edit, stop; a TCP
// connection through the VIP with port rewrite; and the mid-stream guard's semantics (a board
// that lost its conntrack state must not adopt a flow from the real server's side, and must
// pick the same real server when the client's next packet arrives).
// Needs root. Namespaces are tdm-nft-<random>{,c,s}; removed in t.after even on failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { runCommand } from './command.ts';
import { LabProcess } from './process.ts';
import { waitFor } from './wait.ts';
import { NftError, type NftBackend, type NftSession } from '../../src/lb/nft.ts';
import { maglevSize } from '../../src/lb/sched/index.ts';
import { renderFullTable, renderRsChange, renderStop, rsKey, vsObjectName } from '../../src/lb/plan.ts';
import { ConntrackError } from '../../src/lb/conntrack.ts';
import { startNetnsAgent, type NetnsAgent, type Remote } from './netns-agent.ts';
import type { VirtualServer, RealServer, Pos } from '../../src/config/model.ts';

const pos: Pos = { file: 'lab.conf', line: 1, col: 1 };
const realServer = (address: string, port: number): RealServer => ({
  name: `${address} ${port}`, address, port, weight: 1, inhibitOnFailure: false, notifyUp: null, notifyDown: null, checkers: [], pos,
});
const virtualServer = (port: number, scheduler: VirtualServer['scheduler'], rss: RealServer[]): VirtualServer => ({
  name: `203.0.113.10 ${port}`, address: '203.0.113.10', port, protocol: 'TCP', delayLoopMs: 60_000, scheduler, method: 'NAT',
  persistenceTimeoutMs: 0, persistenceGranularity: 32, quorum: 1, hysteresis: 0, quorumUp: null, quorumDown: null,
  sorryServer: null, sorryServerInhibit: false, alpha: false, omega: false, inhibitOnFailure: false, haSuspend: false,
  virtualhost: null, forwarder: 'auto', realServers: rss, pos,
});

const WEB = virtualServer(80, 'mh', [realServer('192.0.2.11', 8080), realServer('192.0.2.12', 8080)]);
const ALT = { ...virtualServer(81, 'wrr', [realServer('192.0.2.11', 8081), realServer('192.0.2.12', 8081)]), persistenceTimeoutMs: 300_000, persistenceGranularity: 24 };

async function sh(argv: string[], input?: string): Promise<string> {
  const r = await runCommand(argv[0]!, argv.slice(1), { check: true, input });
  return r.stdout;
}

/**
 * tandem's nft and conntrack functions run inside a namespace (by the netns agent, as the
 * daemon runs inside a board's namespace): `ns.inLb.nft.applyNft(tx)` is applyNft(tx) there.
 */
interface InNs {
  agent: NetnsAgent;
  nft: Remote<typeof import('../../src/lb/nft.ts')>;
  conntrack: Remote<typeof import('../../src/lb/conntrack.ts')>;
}

async function inNamespace(ns: string): Promise<InNs> {
  const agent = await startNetnsAgent(ns, { errors: { NftError, ConntrackError } });
  return { agent, nft: agent.module('src/lb/nft.ts'), conntrack: agent.module('src/lb/conntrack.ts') };
}

interface Ns { lb: string; client: string; server: string; inLb: InNs }

async function buildNamespaces(t: { after: (fn: () => Promise<void>) => void }): Promise<Ns> {
  const tag = `tdm-nft-${randomBytes(3).toString('hex')}`;
  let inLb: InNs | undefined;
  const names = { lb: tag, client: `${tag}c`, server: `${tag}s` };
  t.after(async () => {
    await inLb?.agent.close();
    for (const n of [names.client, names.server, names.lb]) await runCommand('ip', ['netns', 'del', n]);
  });
  const ns = names;
  for (const n of [ns.lb, ns.client, ns.server]) await sh(['ip', 'netns', 'add', n]);
  const inNs = (n: string, ...a: string[]): Promise<string> => sh(['ip', '-n', n, ...a]);
  await sh(['ip', 'link', 'add', 'pub0', 'netns', ns.lb, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.client]);
  await sh(['ip', 'link', 'add', 'priv0', 'netns', ns.lb, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.server]);
  for (const n of [ns.lb, ns.client, ns.server]) await inNs(n, 'link', 'set', 'lo', 'up');
  await inNs(ns.lb, 'addr', 'add', '203.0.113.1/24', 'dev', 'pub0');
  await inNs(ns.lb, 'addr', 'add', '203.0.113.10/24', 'dev', 'pub0');
  await inNs(ns.lb, 'addr', 'add', '192.0.2.1/24', 'dev', 'priv0');
  await inNs(ns.lb, 'link', 'set', 'pub0', 'up');
  await inNs(ns.lb, 'link', 'set', 'priv0', 'up');
  await sh(['ip', 'netns', 'exec', ns.lb, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await inNs(ns.client, 'addr', 'add', '203.0.113.2/24', 'dev', 'eth0');
  await inNs(ns.client, 'link', 'set', 'eth0', 'up');
  await inNs(ns.client, 'route', 'add', 'default', 'via', '203.0.113.1');
  await inNs(ns.server, 'addr', 'add', '192.0.2.11/24', 'dev', 'eth0');
  await inNs(ns.server, 'addr', 'add', '192.0.2.12/24', 'dev', 'eth0');
  await inNs(ns.server, 'link', 'set', 'eth0', 'up');
  await inNs(ns.server, 'route', 'add', 'default', 'via', '192.0.2.1');
  inLb = await inNamespace(ns.lb);
  return { ...ns, inLb };
}

// Real server: greets with the address:port the client reached, echoes lines, and on "push"
// from its stdin writes a line to every open connection first (the mid-stream reply).
const SERVER_JS = `
const net = require('net'); const socks = new Set();
for (const port of [8080, 8081]) net.createServer((s) => {
  socks.add(s); s.on('close', () => socks.delete(s)); s.on('error', (e) => console.log('sockerr ' + e.code));
  s.write('hello ' + s.localAddress + ':' + s.localPort + '\\n');
  s.on('data', (d) => s.write('echo ' + d));
}).listen(port, '0.0.0.0', () => console.log('listening ' + port));
require('readline').createInterface({ input: process.stdin }).on('line', (l) => {
  if (l === 'push') { for (const s of socks) s.write('pushed\\n'); console.log('pushed ' + socks.size); }
});`;

// Client: one connection per "open PORT"; prints what it receives; "send TEXT" writes on the last.
const CLIENT_JS = `
const net = require('net'); let sock;
require('readline').createInterface({ input: process.stdin }).on('line', (l) => {
  const [cmd, ...rest] = l.split(' ');
  if (cmd === 'open') {
    sock = net.connect(Number(rest[0]), '203.0.113.10');
    sock.setEncoding('utf8');
    sock.on('data', (d) => { for (const x of d.split('\\n')) if (x) console.log('rx ' + x); });
    sock.on('error', (e) => console.log('error ' + e.code));
    sock.on('close', () => console.log('closed'));
  } else if (cmd === 'send') sock.write(rest.join(' ') + '\\n');
});`;

function findMap(json: unknown, name: string): Array<unknown> {
  const items = (json as { nftables: Array<Record<string, { name?: string; elem?: unknown[] }>> }).nftables;
  const m = items.find((i) => i.map?.name === name)?.map;
  assert.ok(m, `map ${name} in the table`);
  return m.elem ?? [];
}

function withoutMap(json: unknown, mapName: string, chain: string): string {
  const items = (json as { nftables: Array<Record<string, { name?: string; chain?: string; handle?: number }>> }).nftables;
  return JSON.stringify(items.filter((i) => i.map?.name !== mapName && i.rule?.chain !== chain).map((i) => {
    const k = Object.keys(i)[0]!;
    const v = { ...i[k] };
    delete v.handle;
    return { [k]: v };
  })).replace(/"counter":\{"packets":\d+,"bytes":\d+\}/g, '"counter":{}') // traffic moved the guard's counters
    .replace(/"expires":\d+/g, '"expires":0'); // and persistence entries count down
}

async function guardDrops(lb: string): Promise<number> {
  const out = await sh(['ip', 'netns', 'exec', lb, 'nft', '-j', 'list', 'chain', 'ip', 'tandem', 'forward']);
  const items = (JSON.parse(out) as { nftables: Array<{ rule?: { expr: Array<{ counter?: { packets: number } }> } }> }).nftables;
  let n = 0;
  for (const i of items) for (const e of i.rule?.expr ?? []) n += e.counter?.packets ?? 0;
  return n;
}

test('nftables table: full apply, read back, small edit, TCP through the VIP, mid-stream guard, stop', async (t) => {
  const ns = await buildNamespaces(t);
  const server = new LabProcess(ns.server, [process.execPath, '-e', SERVER_JS], { stdin: true, label: 'server' });
  const client = new LabProcess(ns.client, [process.execPath, '-e', CLIENT_JS], { stdin: true, label: 'client' });
  t.after(async () => { await client.stop('SIGKILL'); await server.stop('SIGKILL'); });
  await server.waitForLog(/listening 8081/);
  await server.waitForLog(/listening 8080/);

  // 1. Full apply, twice (idempotent), and read back.
  await ns.inLb.nft.applyNft(renderFullTable([WEB, ALT], new Map()));
  await ns.inLb.nft.applyNft(renderFullTable([WEB, ALT], new Map()));
  const full = await ns.inLb.nft.listTableJson();
  const webMap = `${vsObjectName(WEB)}_s`;
  assert.equal(findMap(full, webMap).length, maglevSize(WEB.realServers.length));
  assert.equal(findMap(full, `${vsObjectName(ALT)}_s`).length, 2);
  // Nothing outside our table.
  const ruleset = JSON.parse(await sh(['ip', 'netns', 'exec', ns.lb, 'nft', '-j', 'list', 'tables'])) as { nftables: Array<{ table?: { name: string; family: string } }> };
  assert.deepEqual(ruleset.nftables.filter((i) => i.table).map((i) => `${i.table!.family} ${i.table!.name}`), ['ip tandem']);

  // wrr alone would alternate; with persistence the same client keeps its real server.
  const greet81: string[] = [];
  for (let i = 0; i < 3; i++) {
    const from = client.mark();
    client.child.stdin!.write('open 81\n');
    greet81.push(await client.waitForLog(/^rx hello .*:8081$/, 10_000, { from }));
  }
  assert.equal(new Set(greet81).size, 1, greet81.join(', '));

  // 2. TCP through the VIP lands on a real server with the port rewritten.
  const from80 = client.mark();
  client.child.stdin!.write('open 80\n');
  const hello = await client.waitForLog(/^rx hello .*:80\d\d$/, 10_000, { from: from80 });
  const m = /^rx hello (192\.0\.2\.1[12]):8080$/.exec(hello);
  assert.ok(m, `port rewrite to a real server: ${hello}`);
  const chosen = m[1]!;

  // 3. The mid-stream guard. Simulate a new MASTER that never saw the flow: flush conntrack.
  await sh(['ip', 'netns', 'exec', ns.lb, 'conntrack', '-F']);
  const dropsBefore = await guardDrops(ns.lb);
  let mark = server.mark();
  server.child.stdin!.write('push\n');
  await server.waitForLog(/^pushed \d+$/, 10_000, { from: mark });
  // The real server's mid-stream packet is dropped and leaves no conntrack entry behind.
  await waitFor(async () => (await guardDrops(ns.lb)) > dropsBefore, { what: 'guard to drop the real server mid-stream packet' });
  const ct = await sh(['ip', 'netns', 'exec', ns.lb, 'conntrack', '-L', '-p', 'tcp']).catch(() => '');
  assert.doesNotMatch(ct, new RegExp(`src=${chosen.replace(/\./g, '\\.')} dst=203\\.0\\.113\\.2 .*sport=8080`), 'no un-NATed entry from the real server side');
  // The client's next (mid-stream, non-SYN) packet is DNATed by the hash to the same real
  // server (conntrack picks it up: nf_conntrack_tcp_loose = 1), and the connection carries on.
  assert.equal((await sh(['ip', 'netns', 'exec', ns.lb, 'sysctl', '-n', 'net.netfilter.nf_conntrack_tcp_loose'])).trim(), '1');
  mark = client.mark();
  client.child.stdin!.write('send ping\n');
  await client.waitForLog(/^rx echo ping$/, 15_000, { from: mark });
  await client.waitForLog(/^rx pushed$/, 15_000, { from: mark }); // the retransmitted mid-stream data
  assert.ok(!client.lines.some((l) => /^(closed|error)/.test(l.text)), client.tail());
  assert.ok(!server.lines.some((l) => /^sockerr/.test(l.text)), server.tail());
  const ct2 = await sh(['ip', 'netns', 'exec', ns.lb, 'conntrack', '-L', '-p', 'tcp']);
  assert.match(ct2, new RegExp(`dst=203\\.0\\.113\\.10 sport=\\d+ dport=80 .*src=${chosen.replace(/\./g, '\\.')} dst=203\\.0\\.113\\.2 sport=8080`));

  // 4. Small edit: the chosen real server goes down. Only that VS's map and chain change.
  const down = WEB.realServers.find((r) => r.address === chosen)!;
  const state = new Map([[rsKey(WEB, down), { up: false, weight: 1 }]]);
  const beforeEdit = await ns.inLb.nft.listTableJson();
  // Through systemNft(), as the daemon does: a small edit goes to the long-lived `nft -i` session.
  const nft = await ns.inLb.agent.create<NftBackend>('src/lb/nft.ts', 'systemNft'); // closed with the agent
  await nft.apply(renderRsChange(WEB, state));
  const edited = await ns.inLb.nft.listTableJson();
  const elems = findMap(edited, webMap);
  assert.equal(elems.length, maglevSize(WEB.realServers.length));
  assert.ok(!JSON.stringify(elems).includes(`"${chosen}"`), 'the down real server is out of the map');
  assert.equal(withoutMap(edited, webMap, vsObjectName(WEB)), withoutMap(beforeEdit, webMap, vsObjectName(WEB)), 'nothing else changed');
  assert.match(JSON.stringify(edited), /"name":"v_cb00710a_t81_p\d".*"val":"203\.0\.113\.0"/, 'client /24 remembered by persistence');
  // Its conntrack entries go, so the client's next packet is scheduled afresh.
  assert.ok((await ns.inLb.conntrack.deleteRealServerFlows(chosen, 8080, ['tcp', 'udp'])) >= 1);
  assert.equal(await ns.inLb.conntrack.deleteRealServerFlows(chosen, 8080, ['tcp']), 0, '"0 flow entries" is success');

  // A new connection now lands on the other real server.
  const other = chosen === '192.0.2.11' ? '192.0.2.12' : '192.0.2.11';
  mark = client.mark();
  client.child.stdin!.write('open 80\n');
  await client.waitForLog(new RegExp(`^rx hello ${other.replace(/\./g, '\\.')}:8080$`), 10_000, { from: mark });

  // 5. Stop: the table goes, and stopping twice is fine.
  await ns.inLb.nft.applyNft(renderStop());
  await ns.inLb.nft.applyNft(renderStop());
  assert.equal(await ns.inLb.nft.listTableJson(), null);
});

test('a bad transaction is refused whole, with nft\'s message, leaving the table as it was', async (t) => {
  const ns = await buildNamespaces(t);
  await ns.inLb.nft.applyNft(renderFullTable([WEB], new Map()));
  const before = JSON.stringify(await ns.inLb.nft.listTableJson());
  const bad = renderRsChange(WEB, new Map()).render() + 'add element ip tandem no_such_map { 1 : 192.0.2.1 . 80 }\n';
  await assert.rejects(ns.inLb.nft.applyNft(bad), /No such file or directory/);
  assert.equal(JSON.stringify(await ns.inLb.nft.listTableJson()), before);
});

test('control: without the guard the same failover sequence breaks the connection', async (t) => {
  // Shows the guard test above can fail: same steps, guard rules removed.
  const ns = await buildNamespaces(t);
  const server = new LabProcess(ns.server, [process.execPath, '-e', SERVER_JS], { stdin: true, label: 'server' });
  const client = new LabProcess(ns.client, [process.execPath, '-e', CLIENT_JS], { stdin: true, label: 'client' });
  t.after(async () => { await client.stop('SIGKILL'); await server.stop('SIGKILL'); });
  await server.waitForLog(/listening 8080/);
  await ns.inLb.nft.applyNft(renderFullTable([WEB], new Map()));
  await sh(['ip', 'netns', 'exec', ns.lb, 'nft', 'flush', 'chain', 'ip', 'tandem', 'forward']);
  client.child.stdin!.write('open 80\n');
  const hello = await client.waitForLog(/^rx hello /);
  assert.match(hello, /^rx hello 192\.0\.2\.1[12]:8080$/);
  await sh(['ip', 'netns', 'exec', ns.lb, 'conntrack', '-F']);
  server.child.stdin!.write('push\n');
  // The real server's mid-stream packet passes un-NATed to the client, whose kernel answers
  // with a reset that the "new master" carries back: the real server's side is gone.
  await server.waitForLog(/^sockerr ECONNRESET$/, 15_000);
  client.child.stdin!.write('send ping\n');
  await client.waitForLog(/^(error|closed)/, 15_000);
  assert.ok(!client.lines.some((l) => l.text === 'rx echo ping'), client.tail());
});

test('nft -i session: each transaction is atomic, errors are per transaction, the session carries on', async (t) => {
  const ns = `tdm-nfts-${randomBytes(3).toString('hex')}`;
  await sh(['ip', 'netns', 'add', ns]);
  let inNs: InNs | undefined;
  t.after(async () => { await inNs?.agent.close(); await runCommand('ip', ['netns', 'del', ns]); });
  inNs = await inNamespace(ns);
  const session = await inNs.agent.create<NftSession>('src/lb/nft.ts', 'NftSession');
  await session.apply(renderFullTable([WEB], new Map()));
  const chain = vsObjectName(WEB);
  const before = JSON.stringify(await inNs.nft.listTableJson());
  // A transaction whose last command fails leaves nothing applied, and says why.
  const bad = `flush chain ip tandem ${chain}\nadd rule ip tandem ${chain} counter drop\nadd rule ip tandem no_such_chain drop\n`;
  await assert.rejects(session.apply(bad), (e: unknown) => e instanceof NftError && /No such file or directory/.test(e.message));
  assert.equal(JSON.stringify(await inNs.nft.listTableJson()), before, 'the failed transaction changed nothing');
  // Several in flight: each gets its own outcome, in order.
  const down = new Map([[rsKey(WEB, WEB.realServers[0]!), { up: false, weight: 1 }]]);
  const results = await Promise.allSettled([
    session.apply(renderRsChange(WEB, down)),
    session.apply('add rule ip tandem no_such_chain drop\n'),
    session.apply(renderRsChange(WEB, new Map())),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  const elems = findMap(await inNs.nft.listTableJson(), `${chain}_s`);
  assert.ok(JSON.stringify(elems).includes('"192.0.2.11"'), 'the last edit (all up) is in place');
  // A syntax error is an error too, not a hang.
  await assert.rejects(session.apply('add rule ip tandem {{\n'), NftError);
  await session.apply(renderStop());
  assert.equal(await inNs.nft.listTableJson(), null);
});
