// `tandem fleet --mqtt URL --json` over two lab boards: run inside the lab
// (client host, the broker's own namespace) against a real mosquitto, it must show a healthy
// pair, flag split brain when the boards cannot hear each other, and clear it when they can again.
//
// The boards must keep reaching the broker while not hearing each other's VRRP, so the split is
// an nftables table in b's namespace (the lab's own namespace: nothing on the host is touched)
// that drops incoming IP protocol 112. Raw IP sockets get their copy after the LOCAL_IN hook,
// so b's VRRP engine hears nothing and takes over; a still hears b's lower-priority
// advertisements and, as RFC 5798 §6.4.3 says, ignores them: both are MASTER of both VRIDs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_BUNDLE, withLab, type Board, type Lab } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { waitHolder } from './vrrp-helpers.ts';
import { json, mqttBlock, startLabBroker, subscribe, type LabBroker, type Msg } from './mosquitto.ts';

const fast = { version: 3 as const, advertInt: 0.2 };
const started = /Entering (BACKUP|MASTER|FAULT) STATE/;
const NODE: Record<Board, string> = { a: 'lb-a', b: 'lb-b' };

interface Snapshot {
  boards: Array<{ node: string; condition: string; status: string | null; bdSeq: number | null }>;
  pairs: Array<{ vrid: number; vips: string[]; splitBrain: boolean; noMaster: boolean; members: Array<{ node: string; instance: string; state: string }> }>;
  alerts: Array<{ kind: string; vrid?: number; node?: string }>;
}

/** `tandem fleet --mqtt URL --json --once` in the client namespace; the parsed snapshot. */
async function fleet(lab: Lab, broker: LabBroker): Promise<Snapshot> {
  const r = await lab.exec('client', [process.execPath, DEFAULT_BUNDLE, 'fleet', '--mqtt', broker.url, '--json', '--once'], { check: true });
  try {
    return JSON.parse(r.stdout) as Snapshot;
  } catch {
    throw new Error(`fleet --json printed no JSON: ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 500)}`);
  }
}

function alertKinds(s: Snapshot): string[] {
  return s.alerts.map((a) => `${a.kind}:${a.vrid ?? a.node ?? ''}`).sort();
}

function isState(m: Msg, b: Board, inst: string, state: string): boolean {
  return m.topic === `tandem/${NODE[b]}/vrrp/${inst}` && json(m).state === state;
}

test('fleet --json over two lab boards: a healthy pair, then split brain when they cannot hear each other', async (t) => {
  const lab = await withLab(t, { name: 'fleet-split-brain', realServers: 1 });
  const broker = await startLabBroker(lab);
  const sub = await subscribe(broker.localUrl, 'tandem/#');
  t.after(() => sub.close());
  const cfg = (b: Board): string => pairConfig({
    routerId: NODE[b], priority: b === 'a' ? 150 : 100, ...fast, extra: mqttBlock(broker.url, { keepaliveS: 5, healthIntervalS: 1 }),
  });
  await lab.startBoard('a', cfg('a'), { waitForLog: started });
  await lab.startBoard('b', cfg('b'), { waitForLog: started });
  await waitHolder(lab, 'a');
  for (const inst of ['VI_PUB', 'VI_PRIV']) {
    await sub.waitMsg(`a MASTER of ${inst}`, (m) => isState(m, 'a', inst, 'MASTER'));
    await sub.waitMsg(`b BACKUP of ${inst}`, (m) => isState(m, 'b', inst, 'BACKUP'));
  }

  const ok = await fleet(lab, broker);
  assert.deepEqual(ok.boards.map((b) => [b.node, b.condition]), [['lb-a', 'online'], ['lb-b', 'online']]);
  assert.deepEqual(ok.pairs.map((p) => p.vrid), [51, 52]);
  for (const p of ok.pairs) {
    assert.deepEqual(p.members.map((m) => `${m.node}:${m.state}`), ['lb-a:MASTER', 'lb-b:BACKUP'], `pair ${p.vrid}`);
    assert.equal(p.splitBrain, false);
  }
  assert.deepEqual(alertKinds(ok), []);

  // Split: b stops hearing VRRP. Its nft table lives in b's namespace and goes with the lab.
  const from = sub.msgs.length;
  await lab.exec('b', ['nft', 'add', 'table', 'ip', 'blockvrrp'], { check: true });
  await lab.exec('b', ['nft', 'add', 'chain', 'ip', 'blockvrrp', 'in', '{ type filter hook input priority -10 ; policy accept ; }'], { check: true });
  await lab.exec('b', ['nft', 'add', 'rule', 'ip', 'blockvrrp', 'in', 'ip', 'protocol', 'vrrp', 'drop'], { check: true });
  for (const inst of ['VI_PUB', 'VI_PRIV']) {
    await sub.waitMsg(`b MASTER of ${inst}`, (m) => isState(m, 'b', inst, 'MASTER'), { from });
  }
  const split = await fleet(lab, broker);
  assert.deepEqual(alertKinds(split), ['split-brain:51', 'split-brain:52']);
  for (const p of split.pairs) {
    assert.equal(p.splitBrain, true);
    assert.deepEqual(p.members.map((m) => `${m.node}:${m.state}`), ['lb-a:MASTER', 'lb-b:MASTER'], `pair ${p.vrid}`);
  }

  // Healed: b hears a's higher priority again and steps back (RFC 5798 §6.4.3); the alert clears.
  // Counted before the unblock: b steps back within an advert interval of hearing a, which can
  // be sooner than this exec returns on a loaded machine.
  const from2 = sub.msgs.length;
  await lab.exec('b', ['nft', 'delete', 'table', 'ip', 'blockvrrp'], { check: true });
  for (const inst of ['VI_PUB', 'VI_PRIV']) {
    await sub.waitMsg(`b BACKUP of ${inst}`, (m) => isState(m, 'b', inst, 'BACKUP'), { from: from2 });
  }
  const healed = await fleet(lab, broker);
  assert.deepEqual(alertKinds(healed), []);

  // A board that dies shows as lost, and its pair is not called split or masterless by history.
  await lab.stopBoard('b', 'SIGKILL');
  await sub.waitMsg('b lost', (m) => m.topic === `tandem/${NODE.b}/status` && m.payload === 'lost', { from: from2 });
  const lost = await fleet(lab, broker);
  assert.deepEqual(alertKinds(lost), ['lost:lb-b']);
});

test('fleet --once fills the health columns; birth drift between the boards is flagged with what differs; Home Assistant discovery describes each board', async (t) => {
  const lab = await withLab(t, { name: 'fleet-once-drift-ha', realServers: 1 });
  await lab.startHttpServer(1, 8080);
  const broker = await startLabBroker(lab);
  const sub = await subscribe(broker.localUrl, '#');
  t.after(() => sub.close());
  // The boards differ in one real server's weight: the shared configuration differs there.
  const vs = (weight: number): string => `
virtual_server 203.0.113.1 80 {
    delay_loop 1
    lb_algo rr
    protocol TCP
    real_server 192.0.2.11 8080 {
        weight ${weight}
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`;
  const cfg = (b: Board): string => pairConfig({
    routerId: NODE[b], priority: b === 'a' ? 150 : 100, ...fast,
    extra: vs(b === 'a' ? 1 : 2) + mqttBlock(broker.url, { keepaliveS: 5, healthIntervalS: 4, extra: '    homeassistant on\n' }),
  });
  await lab.startBoard('a', cfg('a'), { waitForLog: started });
  await lab.startBoard('b', cfg('b'), { waitForLog: started });
  await waitHolder(lab, 'a');
  for (const b of ['a', 'b'] as const) await sub.waitMsg(`${b} MASTER or BACKUP`, (m) => m.topic === `tandem/${NODE[b]}/vrrp/VI_PUB` && json(m).state !== 'INIT');

  // Health is not retained and comes every 4 s: started right after one of a's, the table
  // waits for the next of each board instead of printing empty columns; the first health
  // payload of a board already has its CPU figure.
  const from = sub.msgs.length;
  await sub.waitMsg('a health', (m) => m.topic === 'tandem/lb-a/health', { from });
  const table = await lab.exec('client', [process.execPath, DEFAULT_BUNDLE, 'fleet', '--mqtt', broker.url, '--once'], { check: true, timeoutMs: 20_000 });
  for (const n of ['lb-a', 'lb-b']) {
    const row = table.stdout.split('\n').find((l) => l.startsWith(`${n} `));
    assert.match(row ?? '', /ONLINE\s+\S+\s+\S+\s+\d+%/, `${n}'s CPU column is filled:\n${table.stdout}`);
  }

  const snap = await fleet(lab, broker);
  const drift = (snap.alerts as Array<{ kind: string; boards?: string[]; differs?: string[] }>).filter((a) => a.kind === 'drift');
  assert.equal(drift.length, 1, JSON.stringify(snap.alerts));
  assert.deepEqual(drift[0]!.boards, ['lb-a', 'lb-b']);
  assert.deepEqual(drift[0]!.differs, ['virtual_server 203.0.113.1 80 differs']);

  // Home Assistant discovery: retained config messages that point at the board's own topics.
  const ha = await subscribe(broker.localUrl, 'homeassistant/#');
  t.after(() => ha.close());
  const cfgMsg = async (topic: string): Promise<Record<string, unknown>> => json(await ha.waitMsg(topic, (m) => m.topic === topic && m.retain));
  const state = await cfgMsg('homeassistant/sensor/tandem_lb-a/vrrp_VI_PUB_state/config');
  assert.equal(state.state_topic, 'tandem/lb-a/vrrp/VI_PUB');
  assert.equal((state.device as { identifiers: string[] }).identifiers[0], 'tandem_lb-a');
  assert.equal((state.availability as Array<{ topic: string }>)[0]!.topic, 'tandem/lb-a/status');
  const master = await cfgMsg('homeassistant/binary_sensor/tandem_lb-b/vrrp_VI_PUB_master/config');
  assert.match(String(master.value_template), /value_json\.state == 'MASTER'/);
  const rs = await cfgMsg('homeassistant/binary_sensor/tandem_lb-a/rs_203_0_113_1_80_192_0_2_11_8080/config');
  assert.equal(rs.state_topic, 'tandem/lb-a/lb/203.0.113.1:80/192.0.2.11:8080');
  const cpu = await cfgMsg('homeassistant/sensor/tandem_lb-a/cpu/config');
  assert.equal(cpu.state_topic, 'tandem/lb-a/health');
  assert.equal(cpu.expire_after, 12);
});
