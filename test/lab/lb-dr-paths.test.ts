// lb_kind DR in "classic" direct routing (docs/dr.md): the real servers' gateway is another
// router, so replies never cross the board. Path-MTU discovery for a client behind a smaller
// link works because the ICMP "fragmentation needed" the router sends to the VIP is forwarded
// to the real server that owns the flow (and stalls without it). A keepalived.conf with DR as
// users write it (a /32 VIP, lb_algo sh, persistence_timeout, TCP_CHECK connect_port) checks
// and runs unchanged; `tandem check --local` on the board refuses what cannot work, at its line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLab, LAB_ADDR, DEFAULT_BUNDLE, type Lab } from './lab.ts';
import { vsObjectName } from '../../src/lb/plan.ts';
import { ipChainCounters, startBigHttp } from './dr-helpers.ts';
import { BIG_GET_JS } from './dr-helpers.ts';

const VIP = LAB_ADDR.publicVip;
const [RS1, RS2] = [LAB_ADDR.realServer(1), LAB_ADDR.realServer(2)];

/** As keepalived users write it: one instance, the VIP without a prefix (a /32), sh with persistence. */
const USERS_CONF = `! Configuration File for keepalived

global_defs {
   router_id LVS_DR
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        ${VIP}
    }
}

virtual_server ${VIP} 80 {
    delay_loop 6
    lb_algo sh
    lb_kind DR
    persistence_timeout 50
    protocol TCP

    real_server ${RS1} 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            connect_port 80
        }
    }
    real_server ${RS2} 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            connect_port 80
        }
    }
}

virtual_server ${VIP} 8081 {
    delay_loop 6
    lb_algo mh
    lb_kind DR
    protocol TCP

    real_server ${RS1} 8081 {
        weight 1
    }
    real_server ${RS2} 8081 {
        weight 1
    }
}
`;

async function bigGet(lab: Lab, url: string, timeoutMs: number): Promise<{ ok: true; bytes: number; server: string } | { ok: false; why: string }> {
  const r = await lab.exec('far', [process.execPath, '-e', BIG_GET_JS, url, String(timeoutMs)], { timeoutMs: timeoutMs + 5_000 });
  if (r.code !== 0) return { ok: false, why: r.stderr.trim() };
  const j = JSON.parse(r.stdout) as { bytes: number; server: string };
  return { ok: true, ...j };
}

async function check(lab: Lab, text: string, ...args: string[]): Promise<{ code: number | null; out: string; file: string }> {
  const file = join(lab.tmpDir, `check-${Math.random().toString(36).slice(2)}.conf`);
  await writeFile(file, text);
  const r = await lab.exec('a', [process.execPath, DEFAULT_BUNDLE, 'check', ...args, '-f', file], { timeoutMs: 30_000 });
  return { code: r.code, out: r.stdout + r.stderr, file };
}

test('classic DR: replies through another router; path-MTU discovery through the ICMP forwarding; users\' keepalived.conf; check --local', async (t) => {
  const lab = await withLab(t, { name: 'lb-dr-paths', realServers: 2, drVips: [VIP], router: { farMtu: 1400 }, realServerGateway: 'router' });
  for (const i of [1, 2]) {
    await lab.startHttpServer(i, 80);
    await startBigHttp(lab, `rs${i}`, 8081);
  }

  await t.test('tandem check: the users\' file passes (a warning without --local: only the board knows its segments; clean with it)', async () => {
    const plain = await check(lab, USERS_CONF);
    assert.equal(plain.code, 0, plain.out);
    assert.match(plain.out, new RegExp(`^${plain.file}:\\d+:\\d+: warning: real_server ${RS1.replace(/\./g, '\\.')}: no virtual_ipaddress subnet holds it, .*tandem check --local`, 'm'));
    const local = await check(lab, USERS_CONF, '--local');
    assert.equal(local.code, 0, local.out);
    assert.doesNotMatch(local.out, /warning|error/, 'board a reaches the real servers on eth1 (192.0.2.2/24)');
  });

  await t.test('tandem check --local refuses what cannot work at its line, with the fix; warns of the VIP on an unmanaged interface', async () => {
    const bad = USERS_CONF
      .replace(`real_server ${RS2} 80 {`, 'real_server 198.51.100.20 80 {') // no interface of board a reaches it
      .replace(`real_server ${RS1} 8081 {`, `real_server ${RS1} 9081 {`) // a port rewrite
      .replace('lb_algo mh', 'lb_algo wrr') // a stateful scheduler
      .replace(`virtual_server ${VIP} 8081 {`, 'virtual_server 203.0.113.99 8081 {'); // a VIP in no instance
    const lines = bad.split('\n');
    const lineOf = (s: string): number => lines.findIndex((l) => l.includes(s)) + 1;
    const r = await check(lab, bad, '--local');
    assert.notEqual(r.code, 0, r.out);
    const at = (line: number, re: RegExp): void => assert.match(r.out, new RegExp(`^${r.file}:${line}:\\d+: error: ${re.source}`, 'm'), r.out);
    at(lineOf('198.51.100.20'), /real_server 198\.51\.100\.20: no interface of this host reaches it directly .*move it there, or use lb_kind NAT/);
    at(lineOf('9081'), /real_server 192\.0\.2\.11 port 9081: lb_kind DR cannot rewrite the port .*write real_server 192\.0\.2\.11 8081, or use lb_kind NAT/);
    at(lineOf('lb_algo wrr'), /scheduler wrr cannot be used with lb_kind DR: .*use lb_algo sh or mh/);
    at(lineOf('virtual_server 203.0.113.99'), /virtual_server 203\.0\.113\.99 8081: lb_kind DR needs 203\.0\.113\.99 in a vrrp_instance's virtual_ipaddress/);
    // The VIP on the board's own lo (the real servers' preparation copied to the load balancer).
    assert.equal((await lab.exec('a', ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo'])).code, 0);
    const w = await check(lab, USERS_CONF, '--local');
    assert.equal(w.code, 0, w.out);
    assert.match(w.out, /warning: virtual_server 203\.0\.113\.1 80: the VIP 203\.0\.113\.1 is also on lo, which tandem does not manage/);
    assert.equal((await lab.exec('a', ['ip', 'addr', 'del', `${VIP}/32`, 'dev', 'lo'])).code, 0);
  });

  await t.test('the users\' file runs unchanged: clients served, replies never through the board', async () => {
    const a = await lab.startBoard('a', USERS_CONF, { waitForLog: /Entering MASTER STATE/ });
    await a.waitForLog(/table ip tandem applied/);
    await lab.waitFor(() => lab.hasAddress('a', 'eth0', VIP), { what: 'VIP on a' });
    for (let k = 0; k < 5; k++) {
      const r = await lab.httpGet('client', `http://${VIP}/`);
      assert.equal(r.status, 200);
      assert.match(r.body, /^rs[12]\n$/);
    }
    const [replies, direct] = await ipChainCounters(lab, 'a', 'raw');
    assert.equal(replies, 0, 'no reply crossed the board (the real servers route via the router)');
    assert.equal(direct, 0);
    const route = await lab.exec('rs1', ['ip', 'route', 'get', LAB_ADDR.client, 'from', VIP]);
    assert.match(route.stdout, new RegExp(`via ${LAB_ADDR.router.eth1.replace(/\./g, '\\.')}`));
  });

  await t.test('path MTU: the router\'s "fragmentation needed" to the VIP reaches the real server; without that forwarding the transfer stalls', async () => {
    const url = `http://${VIP}:8081/?n=300000`;
    const vs = vsObjectName({ address: VIP, port: 8081, protocol: 'TCP' });
    // Control first (a real server that learned the path MTU keeps it): the ICMP dispatch
    // emptied, the router's ICMP lands in the board's own stack and nothing reaches the real
    // server, which keeps sending 1500-byte segments into the 1400-byte link.
    assert.equal((await lab.exec('a', ['nft', 'flush', 'map', 'netdev', 'tandem', 'icmp_err'])).code, 0);
    const stalled = await bigGet(lab, url, 4_000);
    assert.equal(stalled.ok, false, 'without the ICMP forwarding the transfer stalls');
    assert.match(stalled.ok ? '' : stalled.why, /timed out after 4000 ms/);
    // The daemon's element back (as plan-dr.ts writes it): the same transfer completes.
    const el = `{ ${VIP} . 6 . 0xcb007101 . 8081 : goto ${vs}_i }`;
    assert.equal((await lab.exec('a', ['nft', 'add', 'element', 'netdev', 'tandem', 'icmp_err', el])).code, 0);
    const done = await bigGet(lab, url, 15_000);
    assert.ok(done.ok, done.ok ? '' : done.why);
    assert.equal(done.bytes, 300_000);
    // The serving real server learned the path's MTU for the client.
    const rs = done.server;
    const got = await lab.exec(rs as 'rs1', ['ip', 'route', 'get', LAB_ADDR.far, 'from', VIP]);
    assert.match(got.stdout, /mtu 1400/, got.stdout);
  });
});
