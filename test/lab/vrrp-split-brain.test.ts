// Split brain heals cleanly: VRRP blocked between the boards (both switches drop IP protocol
// 112, clients' traffic and ARP still pass), so b becomes MASTER too and its gratuitous ARPs take
// the clients; then unblocked. The MASTER that stays (a, priority 150) hears b's lower priority
// and sends gratuitous ARPs (keepalived 2.x garp_lower_prio_repeat), and b, yielding, advertises
// once more first (higher_prio_send_advert, tandem's default) so that a hears it whichever of
// the two heard the other first. Every client — the public one and each real server, which use
// the private VIP — reaches its VIP again within 1 s, measured where the BACKUP does not forward
// for the VIP (forwarding off on both boards: a client still sending to b's MAC gets nothing).
// Without the burst the clients stay on b's MAC until their ARP entries expire (30 s and more).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ip } from './command.ts';
import { LAB_ADDR, withLab, type Host, type Lab } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { blockVrrp, Pinger, waitHolder } from './vrrp-helpers.ts';

const started = /Entering (BACKUP|MASTER|FAULT) STATE/;

async function mac(lab: Lab, host: Host, dev: string): Promise<string> {
  const [l] = JSON.parse(await ip(['-n', lab.nsOf(host), '-j', 'link', 'show', 'dev', dev])) as Array<{ address?: string }>;
  return l!.address!.toLowerCase();
}

async function neighbour(lab: Lab, host: Host, addr: string): Promise<string | null> {
  const entries = JSON.parse((await ip(['-n', lab.nsOf(host), '-j', 'neigh', 'show', addr])) || '[]') as Array<{ lladdr?: string }>;
  return entries[0]?.lladdr?.toLowerCase() ?? null;
}

test('a healed split brain (VRRP blocked between the boards, then unblocked) leaves every client reaching the VIP within 1 s', async (t) => {
  const lab = await withLab(t, { name: 'vrrp-split-brain', realServers: 2 });
  for (const b of ['a', 'b'] as const) {
    const r = await lab.exec(b, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.forwarding=0']);
    assert.equal(r.code, 0, r.stderr);
  }
  const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150 }), { waitForLog: started });
  const b = await lab.startBoard('b', pairConfig({ routerId: 'lb-b', priority: 100 }), { waitForLog: started });
  await waitHolder(lab, 'a');
  const clients: Array<{ host: Host; vip: string; board: { a: string; b: string } }> = [
    { host: 'client', vip: LAB_ADDR.publicVip, board: { a: await mac(lab, 'a', 'eth0'), b: await mac(lab, 'b', 'eth0') } },
    ...(['rs1', 'rs2'] as const).map((rs) => ({ host: rs, vip: LAB_ADDR.privateVip, board: { a: '', b: '' } })),
  ];
  for (const c of clients.slice(1)) c.board = { a: await mac(lab, 'a', 'eth1'), b: await mac(lab, 'b', 'eth1') };
  const pingers = clients.map((c) => new Pinger(lab, c.host, c.vip));
  t.after(() => Promise.all(pingers.map((p) => p.stop())));
  await lab.waitFor(() => pingers.every((p) => p.replies.length > 5), { what: 'every client reaching its VIP' });

  // Split: b hears nothing, becomes MASTER and takes the clients with its gratuitous ARPs.
  await blockVrrp(lab, true);
  await b.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, 15_000);
  await b.waitForLog(/\(VI_PRIV\) Entering MASTER STATE/, 15_000);
  for (const c of clients) {
    await lab.waitFor(async () => (await neighbour(lab, c.host, c.vip)) === c.board.b, { timeoutMs: 5_000, what: `${c.host} following b` });
  }
  assert.ok(await lab.hasAddress('a', 'eth0', LAB_ADDR.publicVip), 'a is still MASTER: a split brain');
  // Past b's second burst (vrrp_garp_master_delay 5): nothing of b's is in flight at the heal.
  await new Promise((r) => setTimeout(r, 6_000));

  const markA = a.proc.mark();
  const healed = Date.now();
  await blockVrrp(lab, false);
  await waitHolder(lab, 'a', 10_000);
  // Watch for a while after the heal, then judge each client's longest time without an answer.
  await new Promise((r) => setTimeout(r, 4_000));
  const end = Date.now();
  for (const [i, c] of clients.entries()) {
    const gap = pingers[i]!.longestGap(healed, end);
    t.diagnostic(`${c.host}: longest time without a reply from ${c.vip} after the heal: ${gap.toFixed(0)} ms`);
    assert.ok(gap < 1_000, `${c.host} went ${gap.toFixed(0)} ms without reaching ${c.vip}`);
    assert.equal(await neighbour(lab, c.host, c.vip), c.board.a, `${c.host} follows a again`);
  }
  // a saw why: the other MASTER's lower priority, the first of a split brain's end.
  assert.ok(a.proc.lines.slice(-(a.proc.mark() - markA)).some((l) => /\(VI_(PUB|PRIV)\) Received advert from \S+ with lower priority 100, ours 150: another MASTER, a split brain healing/.test(l.text)));
});
