// The long-lived coprocess session against a fake tool (fixtures/fake-coprocess.mjs): outcomes
// in order, failures per command, the process exiting or hanging under pending commands,
// restarts; then the two real protocols' parsers on the stderr the tools write, and a real
// `ip -batch` on read-only commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { CoprocessSession, type CoprocessProtocol } from '../../../src/util/coprocess.ts';
import { ipBatchParser, IpBatch } from '../../../src/net/ip-batch.ts';
import { nftInteractiveParser } from '../../../src/lb/nft.ts';

const FAKE = fileURLToPath(new URL('./fixtures/fake-coprocess.mjs', import.meta.url));

function fake(over: Partial<CoprocessProtocol<string>> = {}): CoprocessSession<string> {
  return new CoprocessSession<string>({
    argv: [process.execPath, FAKE],
    timeoutMs: 5_000,
    parser: () => {
      let n = 0;
      let errs: string[] = [];
      return {
        frame: (c) => {
          const marker = `MARK ${++n}`;
          return { text: `${c}\n${marker}\n`, marker };
        },
        line: (l, head) => {
          if (head !== null && l === head) {
            const error = errs.length ? errs.join('; ') : null;
            errs = [];
            return { error };
          }
          if (l.startsWith('ERR ')) errs.push(l.slice(4));
          return null;
        },
      };
    },
    error: (f, command) => new Error(`${f.kind}: ${f.text} [${command}]`),
    ...over,
  });
}

/** The pid of the process serving the session (the fake reports it as a failure). */
async function pidOf(s: CoprocessSession<string>): Promise<number> {
  const e = await s.request('pid').then(() => null, (err: Error) => err);
  const m = /pid (\d+)/.exec(e?.message ?? '');
  assert.ok(m, String(e));
  return Number(m[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), what);
}

test('several commands in flight: each gets its own outcome, in order; the tool\'s errors are per command', async (t) => {
  const s = fake();
  t.after(() => s.close());
  const r = await Promise.allSettled([s.request('ok'), s.request('fail no such chain'), s.request('split'), s.request('ok'), s.request('fail bad')]);
  assert.deepEqual(r.map((x) => x.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected']);
  assert.match(String((r[1] as PromiseRejectedResult).reason), /^Error: command: no such chain \[fail no such chain\]$/);
  assert.match(String((r[4] as PromiseRejectedResult).reason), /command: bad/);
});

test('the process exiting fails every pending command; the next command starts a new process', async (t) => {
  const s = fake();
  t.after(() => s.close());
  const first = await pidOf(s);
  const r = await Promise.allSettled([s.request('exit 3'), s.request('ok')]);
  for (const x of r) assert.match(String((x as PromiseRejectedResult).reason), /exited: exited \(3\)/);
  const second = await pidOf(s);
  assert.notEqual(second, first);
  await s.request('ok');
});

test('a command without an outcome times out with every pending one, and the process is killed', async (t) => {
  // Long enough for the fake (a node process) to start on a loaded machine.
  const s = fake({ timeoutMs: 2_500 });
  t.after(() => s.close());
  const first = await pidOf(s);
  const r = await Promise.allSettled([s.request('hang'), s.request('ok')]);
  for (const x of r) assert.match(String((x as PromiseRejectedResult).reason), /timeout: timed out/);
  await until(() => !alive(first), 'the hung process is killed');
  assert.notEqual(await pidOf(s), first);
});

test('restart after N commands, but only once idle', async (t) => {
  const s = fake({ restartAfter: 3 });
  t.after(() => s.close());
  const pids = [await pidOf(s), await pidOf(s), await pidOf(s), await pidOf(s)];
  assert.equal(new Set(pids.slice(0, 3)).size, 1);
  assert.notEqual(pids[3], pids[0]);
  await until(() => !alive(pids[0]!), 'the retired process ends at stdin EOF');
  // In flight past the limit: the same process answers them all.
  const busy = fake({ restartAfter: 2 });
  t.after(() => busy.close());
  const r = await Promise.allSettled([busy.request('pid'), busy.request('pid'), busy.request('pid'), busy.request('pid')]);
  assert.equal(new Set(r.map((x) => /pid (\d+)/.exec(String((x as PromiseRejectedResult).reason))?.[1])).size, 1);
});

test('an idle process ends after idleExitMs; the next command starts a new one; a busy one stays', async (t) => {
  const s = fake({ idleExitMs: 100 });
  t.after(() => s.close());
  const first = await pidOf(s);
  await until(() => !alive(first), 'the idle process ended');
  const second = await pidOf(s);
  assert.notEqual(second, first);
  // Commands closer together than the idle bound keep the same process.
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(await pidOf(s), second);
  }
});

test('close fails what is pending; a tool that cannot start fails the command', async () => {
  const s = fake();
  const pid = await pidOf(s);
  const p = s.request('hang');
  s.close();
  await assert.rejects(p, /closed: closed/);
  await until(() => !alive(pid), 'the closed process ends');
  const none = fake({ argv: ['/nonexistent/tandem-tool'] });
  await assert.rejects(none.request('ok'), /spawn: .*ENOENT/);
});

test('ip -batch protocol: the command\'s own failure, then its marker', () => {
  const p = ipBatchParser();
  const a = p.frame('addr add 192.0.2.10/24 dev eth0');
  assert.equal(a.text, 'addr add 192.0.2.10/24 dev eth0\nlink show dev tandem-no-such-dev\n');
  const b = p.frame('addr del 192.0.2.10/24 dev eth0');
  const feed = (lines: string[], head: typeof a.marker | null) => lines.map((l) => p.line(l, head));
  assert.deepEqual(feed(['RTNETLINK answers: File exists', 'Command failed -:1', 'Device "tandem-no-such-dev" does not exist.', 'Command failed -:2'], a.marker),
    [null, null, null, { error: 'RTNETLINK answers: File exists' }]);
  assert.deepEqual(feed(['Device "tandem-no-such-dev" does not exist.', 'Command failed -:4'], b.marker), [null, { error: null }]);
});

test('nft -i protocol: one line per transaction, the marker\'s own error and caret line left out', () => {
  const p = nftInteractiveParser();
  const a = p.frame('flush chain ip tandem v\nadd rule ip tandem v counter drop\n');
  assert.equal(a.text, 'flush chain ip tandem v; add rule ip tandem v counter drop\ntandem_sync_1\n');
  const ok = ['Error: syntax error, unexpected newline, expecting string', 'tandem_sync_1', '             ^'];
  assert.deepEqual(ok.map((l) => p.line(l, a.marker)), [null, { error: null }, null]);
  const b = p.frame('add rule ip tandem nochain drop');
  const bad = ['Error: Could not process rule: No such file or directory', 'add rule ip tandem nochain drop', '                   ^^^^^^^',
    'Error: syntax error, unexpected newline, expecting string', 'tandem_sync_2', '             ^'];
  const out = bad.map((l) => p.line(l, b.marker));
  assert.deepEqual(out.slice(0, 4), [null, null, null, null]);
  assert.deepEqual(out[4], { error: 'Error: Could not process rule: No such file or directory\nadd rule ip tandem nochain drop\n                   ^^^^^^^' });
  assert.equal(out[5], null);
});

test('a real ip -batch: read-only commands, failures per command, in order', async (t) => {
  const ip = new IpBatch();
  t.after(() => ip.close());
  const r = await Promise.allSettled([ip.run(['link', 'show', 'dev', 'lo']), ip.run(['link', 'show', 'dev', 'nosuch0']), ip.run(['addr', 'show', 'dev', 'lo'])]);
  assert.deepEqual(r.map((x) => x.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.match(String((r[1] as PromiseRejectedResult).reason), /Device "nosuch0" does not exist/);
  await assert.rejects(ip.run(['link', 'show', 'dev', 'lo # x']), /bad word/);
});
