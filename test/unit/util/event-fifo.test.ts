// The event FIFOs (src/util/event-fifo.ts) and the lines written to them (src/vrrp/notify.ts,
// src/lb/fifo-lines.ts): keepalived's line format, in order; a reader that stops reading blocks
// nothing, lines beyond the bound are dropped and counted; a path that is not our FIFO is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventFifos, EventFifoWriter, PIPE_BUF } from '../../../src/util/event-fifo.ts';
import { groupLine, instanceLine, VrrpNotifier } from '../../../src/vrrp/notify.ts';
import { rsLine, vsLine } from '../../../src/lb/fifo-lines.ts';
import { parseConfigText } from '../../../src/config/index.ts';
import type { Config, GlobalDefs } from '../../../src/config/model.ts';
import { createCounters } from '../../../src/vrrp/counters.ts';
import type { VrrpInstanceStatus } from '../../../src/status.ts';
import { FakeClock, flush } from '../fake-clock.ts';

const POLICY = { scriptUser: null, scriptGroup: null, enableScriptSecurity: false };

/** A file handle whose pipe holds `room` bytes until the test empties it. */
class FakePipe {
  readonly data: Buffer[] = [];
  room: number;
  writes = 0;
  constructor(room: number) {
    this.room = room;
  }
  async write(b: Buffer, off: number, len: number): Promise<{ bytesWritten: number; buffer: Buffer }> {
    this.writes++;
    if (len > this.room) throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' });
    this.room -= len;
    this.data.push(Buffer.from(b.subarray(off, off + len)));
    return { bytesWritten: len, buffer: b };
  }
  async close(): Promise<void> {}
  text(): string {
    return Buffer.concat(this.data).toString();
  }
}

test("keepalived's lines: INSTANCE \"NAME\" STATE PRIORITY, GROUP \"NAME\" STATE 0, VS and RS as [ADDRESS]:proto:PORT", () => {
  assert.equal(instanceLine('VI_1', 'MASTER', 100), 'INSTANCE "VI_1" MASTER 100');
  assert.equal(instanceLine('VI_1', 'MASTER_RX_LOWER_PRI', 150), 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150');
  assert.equal(groupLine('G1', 'BACKUP'), 'GROUP "G1" BACKUP 0');
  const r = parseConfigText('virtual_server 203.0.113.1 80 {\n lb_algo rr\n real_server 192.0.2.11 8080 {\n }\n}\n', 't.conf');
  const vs = r.config!.virtualServers[0]!;
  assert.equal(vsLine(vs, true), 'VS [203.0.113.1]:tcp:80 UP');
  assert.equal(rsLine(vs, vs.realServers[0]!, false), 'RS [192.0.2.11]:tcp:8080 [203.0.113.1]:tcp:80 DOWN');
});

test('lines go out in order, several per write but never more than PIPE_BUF in one (atomic for the reader)', async () => {
  const pipe = new FakePipe(1 << 20);
  const w = new EventFifoWriter('vrrp', '/f', pipe, () => undefined, new FakeClock());
  const lines = Array.from({ length: 500 }, (_, i) => instanceLine(`VI_${i}`, i % 2 ? 'MASTER' : 'BACKUP', i));
  for (const l of lines) w.write(l);
  for (let i = 0; i < 50 && w.queued > 0; i++) await flush();
  assert.equal(pipe.text(), lines.map((l) => `${l}\n`).join(''));
  assert.ok(pipe.data.every((d) => d.length <= PIPE_BUF));
  assert.ok(pipe.writes < 500, `${pipe.writes} writes for 500 lines`);
  assert.deepEqual(w.stats(), { kind: 'vrrp', path: '/f', written: 500, dropped: 0, queued: 0 });
});

test('a reader that stops reading: write() never waits, the queue stays bounded, the rest is dropped and counted, and order survives', async () => {
  const clock = new FakeClock();
  const pipe = new FakePipe(100);
  const logs: string[] = [];
  const w = new EventFifoWriter('notify', '/f', pipe, (_l, m) => logs.push(m), clock, 10);
  for (let i = 0; i < 1000; i++) w.write(`INSTANCE "VI" MASTER ${i}`);
  await flush();
  assert.ok(w.queued <= 10, `${w.queued} queued`);
  assert.ok(w.dropped >= 980, `${w.dropped} dropped`);
  assert.equal(logs.length, 1, 'the drop is logged at a bounded rate');
  assert.match(logs[0]!, /notify_fifo \/f: event dropped, the reader is not reading/);
  // The reader comes back: what was queued goes out, in order, after what fitted.
  pipe.room = 1 << 20;
  await clock.advance(100);
  for (let i = 0; i < 20 && w.queued > 0; i++) await flush();
  const got = pipe.text().trim().split('\n').map((l) => Number(l.split(' ').at(-1)));
  assert.deepEqual(got, [...got].sort((a, b) => a - b), 'in order');
  assert.equal(w.written + w.dropped, 1000);
  assert.equal(w.stats().written, got.length);
});

function globalDefs(extra: string): GlobalDefs {
  const r = parseConfigText(`global_defs {\n${extra}\n}\nvrrp_instance VI {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n`, 't.conf');
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  return r.config.global;
}

test('real FIFOs: created 0644 less the umask, nothing blocks without a reader (drops counted), a reader gets every line in order, removed at close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-fifo-'));
  try {
    const path = join(dir, 'events.fifo');
    const logs: string[] = [];
    const f = await EventFifos.open(globalDefs(`notify_fifo ${path}`), POLICY, { log: (_l, m) => logs.push(m) });
    const st = statSync(path);
    assert.ok(st.isFIFO(), logs.join('\n'));
    assert.equal(st.mode & 0o777, 0o644 & ~process.umask());
    // No reader at all: the pipe fills (64 KiB), then lines wait in the queue, then drop.
    const t0 = performance.now();
    for (let i = 0; i < 5000; i++) f.vrrp(instanceLine(`VI_${i}`, 'MASTER', 100));
    assert.ok(performance.now() - t0 < 1000, 'writing never waits for a reader');
    await new Promise((r) => setTimeout(r, 200));
    const [s] = f.stats();
    assert.ok(s!.dropped > 0 && s!.written > 0, JSON.stringify(s));
    assert.equal(s!.written + s!.dropped + s!.queued, 5000);
    await f.close(0);
    assert.equal(existsSync(path), false, 'the FIFO tandem created is removed');

    // Now with a reader from the start: every line, in order.
    const g = await EventFifos.open(globalDefs(`vrrp_notify_fifo ${path}`), POLICY, { log: () => undefined });
    const chunks: Buffer[] = [];
    const rd = createReadStream(path);
    rd.on('data', (c) => chunks.push(Buffer.from(c)));
    const want: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const line = instanceLine('VI_PUB', i % 2 ? 'MASTER' : 'BACKUP', i);
      want.push(line);
      g.vrrp(line);
      g.lvs('RS [192.0.2.11]:tcp:80 [203.0.113.1]:tcp:80 UP'); // not an LVS FIFO: not written
    }
    for (let i = 0; i < 200 && Buffer.concat(chunks).toString().split('\n').length <= 2000; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(Buffer.concat(chunks).toString().split('\n').slice(0, 2000), want);
    assert.equal(g.stats()[0]!.dropped, 0);
    rd.destroy();
    await g.close(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a path that is no FIFO of ours is refused and left alone; a symlink is not followed; the same FIFO named twice is used once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-fifo-'));
  try {
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'keep me\n');
    const logs: string[] = [];
    const f = await EventFifos.open(globalDefs(`notify_fifo ${plain}`), POLICY, { log: (_l, m) => logs.push(m) });
    assert.equal(f.any, false);
    assert.ok(logs.some((l) => /is not a FIFO tandem or its user owns; not used/.test(l)), logs.join('\n'));
    const link = join(dir, 'link');
    symlinkSync(plain, link);
    const g = await EventFifos.open(globalDefs(`lvs_notify_fifo ${link}`), POLICY, { log: (_l, m) => logs.push(m) });
    assert.equal(g.any, false);
    assert.ok(logs.some((l) => /lvs_notify_fifo .*link: unable to open it/.test(l)), logs.join('\n'));
    const both = join(dir, 'both.fifo');
    const h = await EventFifos.open(globalDefs(`notify_fifo ${both}\nvrrp_notify_fifo ${both}`), POLICY, { log: (_l, m) => logs.push(m) });
    assert.equal(h.stats().length, 1);
    assert.ok(logs.some((l) => l.includes(`vrrp_notify_fifo ${both} is also notify_fifo: ignoring vrrp_notify_fifo`)));
    await h.close(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a FIFO\'s script starts once with the FIFO\'s path as its last argument, and is stopped after the grace at close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-fifo-'));
  try {
    const path = join(dir, 'e.fifo');
    const started: Array<{ argv: string[]; path: string }> = [];
    let aborted = false;
    const f = await EventFifos.open(globalDefs(`lvs_notify_fifo ${path}\nlvs_notify_fifo_script "/usr/local/bin/reader --flag"`), POLICY, {
      log: () => undefined,
      startReader: (cmd, p, _policy, signal) => {
        started.push({ argv: cmd.argv, path: p });
        signal.addEventListener('abort', () => { aborted = true; });
      },
    });
    assert.deepEqual(started, [{ argv: ['/usr/local/bin/reader', '--flag'], path }]);
    await f.close(10);
    assert.equal(aborted, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const NOTIFY_TEXT = `global_defs {
  vrrp_notify_priority_changes
}
vrrp_sync_group G {
  group {
    A
    B
  }
  notify_priority_changes false
}
vrrp_instance A {
  interface eth0
  virtual_router_id 51
  notify_master_rx_lower_pri /bin/reclaim
  notify_priority_changes
  virtual_ipaddress {
    192.0.2.10/24
  }
}
vrrp_instance B {
  interface eth1
  virtual_router_id 52
  virtual_ipaddress {
    198.51.100.10/24
  }
}
vrrp_instance C {
  interface eth2
  virtual_router_id 53
  virtual_ipaddress {
    198.51.100.20/24
  }
}
`;

function status(name: string, state: VrrpInstanceStatus['state'], prio: number): VrrpInstanceStatus {
  return {
    name, interface: 'eth0', vrid: 51, version: 2, state, priority: 100, effectivePriority: prio, vips: [], masterAddress: null,
    since: 0, reason: '', fault: null, syncGroup: null, counters: createCounters(),
  };
}

test('the notifier writes every transition, MASTER_RX_LOWER_PRI and (by instance, group, global_defs) priority changes to the FIFO', () => {
  const cfg: Config = parseConfigText(NOTIFY_TEXT, 't.conf').config!;
  const lines: string[] = [];
  const ran: string[] = [];
  const n = new VrrpNotifier({ config: () => cfg, log: () => undefined, run: (c) => ran.push(c.argv.join(' ')), fifo: (l) => lines.push(l) });
  n.stateChanged(status('A', 'BACKUP', 100));
  n.stateChanged(status('A', 'MASTER', 100));
  n.groupChanged({ name: 'G', state: 'MASTER', members: ['A', 'B'] });
  n.rxLowerPriority(status('A', 'MASTER', 100));
  n.priorityChanged(status('A', 'MASTER', 90));
  n.priorityChanged(status('B', 'MASTER', 90)); // its group says false
  n.priorityChanged(status('C', 'BACKUP', 80)); // global_defs says true
  n.priorityChanged(status('C', 'FAULT', 80)); // only MASTER and BACKUP (keepalived)
  assert.deepEqual(lines, [
    'INSTANCE "A" BACKUP 100', 'INSTANCE "A" MASTER 100', 'GROUP "G" MASTER 0', 'INSTANCE "A" MASTER_RX_LOWER_PRI 100',
    'INSTANCE "A" MASTER_PRIORITY 90', 'INSTANCE "C" BACKUP_PRIORITY 80',
  ]);
  assert.deepEqual(ran, ['/bin/reclaim']);
  lines.length = 0;
  n.writeStates([status('A', 'MASTER', 100), status('B', 'INIT', 100)], [{ name: 'G', state: 'MASTER', members: [] }]);
  assert.deepEqual(lines, ['INSTANCE "A" MASTER 100', 'GROUP "G" MASTER 0']);
});
