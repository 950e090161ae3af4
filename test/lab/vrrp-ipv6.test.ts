// Two tandem boards over IPv6 (the lab with ipv6: true): VRRPv3 to ff02::12 from the link-local
// addresses elects the higher priority; the IPv6 VIPs (the public one, and on the private side
// the link-local gateway fe80::1 the real servers route through) move on power loss and on
// SIGTERM, and the client's and the real server's neighbour caches follow them through the
// unsolicited neighbour advertisements (RFC 4861 §7.2.6) without having to ask; a dual-stack
// sync group (IPv4 and IPv6 instances, sharing VRIDs across families) moves as one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAB_ADDR6, withLab, type Board, type Host, type Lab } from './lab.ts';
import { pairConfig, pairConfig6 } from './vrrp-configs.ts';
import { vipHolders6, waitHolder, waitHolder6 } from './vrrp-helpers.ts';

const started = /Entering (BACKUP|MASTER|FAULT) STATE/;

/** Waits until `host` has `address` in its neighbour cache on eth0 with `board`'s MAC on `dev`. */
async function waitNeighbour(lab: Lab, host: Host, address: string, board: Board, dev: 'eth0' | 'eth1', timeoutMs = 3_000): Promise<void> {
  const mac = await lab.mac(board, dev);
  let last = '';
  await lab.waitFor(async () => {
    const n = (await lab.neighbours(host, 'eth0')).find((x) => x.address === address);
    last = JSON.stringify(n ?? null);
    return n?.mac === mac;
  }, { timeoutMs, intervalMs: 25, what: `${host}'s neighbour entry for ${address} to name ${board}'s ${dev} (${mac}); last ${last}` });
}

test('IPv6 pair: election, neighbour caches and the link-local gateway, failover on power loss and on SIGTERM, preemption back', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-ipv6-pair', realServers: 1, ipv6: true });
  const cfg = (priority: number, routerId: string): string => pairConfig6({ routerId, priority, advertInt: 0.2 });
  const b = await lab.startBoard('b', cfg(100, 'lb-b'), { waitForLog: started });
  const a = await lab.startBoard('a', cfg(150, 'lb-a'), { waitForLog: started });
  await waitHolder6(lab, 'a');
  await a.waitForLog(/\(VI_PUB6\) Entering MASTER STATE/);
  await b.waitForLog(/\(VI_PUB6\) Entering BACKUP STATE/);

  // Added without duplicate address detection (usable at once), as keepalived adds them.
  const eth1 = await lab.addresses('a', 'eth1');
  for (const v of [LAB_ADDR6.gatewayVip, LAB_ADDR6.privateVip]) {
    const x = eth1.find((y) => y.address === v);
    assert.ok(x?.nodad === true && x.tentative !== true, `${v} on a: ${JSON.stringify(x)}`);
  }
  // The console names the master by its link-local source: a itself, and on b the master it
  // heard. The instance that went BACKUP on a's advert names a; its sync-group partner, which
  // followed the group, learns the master only at its next transition (as with IPv4).
  const llA = await lab.linkLocal('a', 'eth0');
  const llA1 = await lab.linkLocal('a', 'eth1');
  const showA = await a.ctl(['show', 'vrrp']);
  assert.match(showA.stdout, new RegExp(`VI_PUB6\\s+MASTER\\s+61\\s+eth0\\s+v3\\s+150\\s+150\\s+${llA}\\s+\\S+\\s+2001:db8:0:1::1/64`), showA.stdout);
  assert.match(showA.stdout, new RegExp(`VI_PRIV6\\s+MASTER\\s+62\\s+eth1\\s+v3\\s+150\\s+150\\s+${llA1}\\s+\\S+\\s+fe80::1/64,2001:db8:0:2::1/64`), showA.stdout);
  const showB = await b.ctl(['show', 'vrrp']);
  const rowB = (name: string): string[] => showB.stdout.split('\n').find((l) => l.startsWith(`${name} `))?.trim().split(/\s+/) ?? [];
  assert.deepEqual(rowB('VI_PUB6').slice(1, 7), ['BACKUP', '61', 'eth0', 'v3', '100', '100'], showB.stdout);
  assert.deepEqual(rowB('VI_PRIV6').slice(1, 7), ['BACKUP', '62', 'eth1', 'v3', '100', '100'], showB.stdout);
  const masters = [rowB('VI_PUB6')[7], rowB('VI_PRIV6')[7]];
  assert.ok(masters[0] === llA || masters[1] === llA1, `b names a's link-local address as master: ${showB.stdout}`);
  assert.ok([llA, '-'].includes(masters[0]!) && [llA1, '-'].includes(masters[1]!), showB.stdout);

  // Traffic: the client reaches the public VIP; the real server routes to the client through
  // its default gateway fe80::1 (a link-local VIP with its dev) and a forwards it.
  assert.ok(await lab.ping('client', LAB_ADDR6.publicVip, { count: 2 }), 'client → public IPv6 VIP');
  assert.ok(await lab.ping('rs1', LAB_ADDR6.client, { count: 2 }), 'rs1 → client via fe80::1 on a');
  await waitNeighbour(lab, 'client', LAB_ADDR6.publicVip, 'a', 'eth0');
  await waitNeighbour(lab, 'rs1', LAB_ADDR6.gatewayVip, 'a', 'eth1');

  // Power loss: b takes over after Master_Down_Interval; its neighbour advertisements rewrite
  // the caches (Override, RFC 4861 §7.2.5) before anyone sends a packet that would ask again.
  let mark = b.proc.mark();
  await lab.powerOff('a');
  await waitHolder6(lab, 'b', 10_000, false);
  await b.waitForLog(/\(VI_PRIV6\) BACKUP -> MASTER: master down timer expired|\(VI_PUB6\) BACKUP -> MASTER: master down timer expired/, 5_000, { from: mark });
  await waitNeighbour(lab, 'client', LAB_ADDR6.publicVip, 'b', 'eth0');
  await waitNeighbour(lab, 'rs1', LAB_ADDR6.gatewayVip, 'b', 'eth1');
  assert.ok(await lab.ping('rs1', LAB_ADDR6.client, { count: 2 }), 'rs1 → client via fe80::1 on b');

  // a comes back, clears what the crash left and preempts.
  await lab.restoreLinks('a');
  mark = b.proc.mark();
  const a2 = await lab.startBoard('a', cfg(150, 'lb-a'), { waitForLog: started });
  await a2.waitForLog(/removing VIP 2001:db8:0:1::1 left behind on eth0/);
  await waitHolder6(lab, 'a');
  await b.waitForLog(/\(VI_PUB6\) Entering BACKUP STATE/, 5_000, { from: mark });
  await waitNeighbour(lab, 'client', LAB_ADDR6.publicVip, 'a', 'eth0');

  // SIGTERM: priority 0, b takes over after its Skew_Time; a keeps the VIPs until b has spoken.
  mark = b.proc.mark();
  const st = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st?.code, 0, a2.proc.tail());
  await waitHolder6(lab, 'b');
  await b.waitForLog(/\(VI_P(UB|RIV)6\) BACKUP -> MASTER: master released \(priority 0\)/, 5_000, { from: mark });
  await waitNeighbour(lab, 'client', LAB_ADDR6.publicVip, 'b', 'eth0');
  assert.deepEqual(await vipHolders6(lab), { pub: ['b'], priv: ['b'] });
  // Nothing was dropped on the way: every advert passed the IPv6 checks (hop limit 255,
  // link-local source, checksum over the IPv6 pseudo-header).
  const stats = await b.ctl(['show', 'statistics']);
  for (const line of ['TTL', 'Length', 'Checksum', 'Source address']) {
    for (const m of stats.stdout.matchAll(new RegExp(`^\\s+${line}: (\\d+)$`, 'gm'))) assert.equal(m[1], '0', `${line} errors on b:\n${stats.stdout}`);
  }
});

test('dual-stack sync group: the IPv4 and IPv6 instances (same VRIDs, different families) move as one', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-ipv6-dual', realServers: 1, ipv6: true });
  const cfg = (priority: number, routerId: string): string =>
    pairConfig6({ routerId, priority, advertInt: 0.2, dualStack: true, vridPub6: 51, vridPriv6: 52 });
  assert.match(cfg(1, 'x'), /VI_PUB6[\s\S]*virtual_router_id 51/);
  assert.notEqual(pairConfig({ routerId: 'x', priority: 1 }), '');
  const b = await lab.startBoard('b', cfg(100, 'lb-b'), { waitForLog: started });
  const a = await lab.startBoard('a', cfg(150, 'lb-a'), { waitForLog: started });
  await waitHolder(lab, 'a');
  await waitHolder6(lab, 'a');
  await a.waitForLog(/VRRP_Group\(G_LB\) Syncing instances to MASTER state|\(VI_PUB6\) Entering MASTER STATE/);

  let mark = b.proc.mark();
  await lab.powerOff('a');
  await waitHolder(lab, 'b', 10_000, false);
  await waitHolder6(lab, 'b', 10_000, false);
  for (const i of ['VI_PUB', 'VI_PRIV', 'VI_PUB6', 'VI_PRIV6']) await b.waitForLog(new RegExp(`\\(${i}\\) Entering MASTER STATE`), 5_000, { from: mark });
  const show = await b.ctl(['show', 'vrrp']);
  assert.equal(show.stdout.split('\n').filter((l) => /^VI_\S+\s+MASTER/.test(l)).length, 4, show.stdout);
  assert.ok(await lab.ping('rs1', LAB_ADDR6.client, { count: 2 }), 'IPv6 through b');

  await lab.restoreLinks('a');
  mark = b.proc.mark();
  await lab.startBoard('a', cfg(150, 'lb-a'), { waitForLog: started });
  await waitHolder(lab, 'a');
  await waitHolder6(lab, 'a');
  for (const i of ['VI_PUB', 'VI_PRIV', 'VI_PUB6', 'VI_PRIV6']) await b.waitForLog(new RegExp(`\\(${i}\\) Entering BACKUP STATE`), 5_000, { from: mark });
});

test('IPv6 unicast: unicast_src_ip and unicast_peer with global addresses elect, and fail over on SIGTERM', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-ipv6-unicast', realServers: 0, ipv6: true });
  const cfg = (board: Board, priority: number): string => {
    const other: Board = board === 'a' ? 'b' : 'a';
    return `global_defs {
    router_id lb-${board}
}
vrrp_instance VI_U6 {
    interface eth0
    virtual_router_id 71
    priority ${priority}
    advert_int 0.2
    unicast_src_ip ${LAB_ADDR6.board[board].eth0}
    unicast_peer {
        ${LAB_ADDR6.board[other].eth0}
    }
    virtual_ipaddress {
        ${LAB_ADDR6.publicVip}/64
    }
}
`;
  };
  const b = await lab.startBoard('b', cfg('b', 100), { waitForLog: started });
  const a = await lab.startBoard('a', cfg('a', 150), { waitForLog: started });
  await a.waitForLog(/\(VI_U6\) Entering MASTER STATE/);
  await b.waitForLog(/\(VI_U6\) Entering BACKUP STATE/, 10_000);
  await lab.waitFor(async () => (await vipHolders6(lab)).pub.join() === 'a', { what: 'a alone holding the public IPv6 VIP' });
  const show = await b.ctl(['show', 'vrrp']);
  assert.match(show.stdout, /VI_U6\s+BACKUP\s+71\s+eth0\s+v3\s+100\s+100\s+2001:db8:0:1::2\s/, 'the master is named by its unicast_src_ip');
  const mark = b.proc.mark();
  await lab.stopBoard('a', 'SIGTERM');
  await b.waitForLog(/\(VI_U6\) BACKUP -> MASTER: master released \(priority 0\)/, 5_000, { from: mark });
  await lab.waitFor(async () => (await vipHolders6(lab)).pub.join() === 'b', { what: 'b alone holding the public IPv6 VIP' });
});
