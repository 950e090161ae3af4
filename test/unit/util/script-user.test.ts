// Who runs a configured program: keepalived's rules (notify.c) with fake id look-ups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveRunAs, spawnIds, type IdLookup, type ScriptPolicy } from '../../../src/util/script-user.ts';

const users: Record<string, [number, number]> = { nobody: [65534, 65534], root: [0, 0], app: [1001, 1001], keepalived_script: [990, 990] };
const groups: Record<string, number> = { nogroup: 65534, root: 0, app: 1001, wheel: 10 };

function ids(opts: { withKeepalivedScript: boolean }): IdLookup {
  const has = (u: string): boolean => u in users && (u !== 'keepalived_script' || opts.withKeepalivedScript);
  return {
    uid: async (u) => {
      if (/^\d+$/.test(u)) return Number(u);
      if (!has(u)) throw new Error(`unknown user ${JSON.stringify(u)}`);
      return users[u]![0];
    },
    primaryGid: async (u) => {
      const e = Object.entries(users).find(([n, [uid]]) => n === u || String(uid) === u);
      if (!e || !has(e[0])) throw new Error(`unknown user ${JSON.stringify(u)}`);
      return e[1][1];
    },
    gid: async (g) => {
      if (/^\d+$/.test(g)) return Number(g);
      if (!(g in groups)) throw new Error(`unknown group ${JSON.stringify(g)}`);
      return groups[g]!;
    },
  };
}

const none: ScriptPolicy = { scriptUser: null, scriptGroup: null, enableScriptSecurity: false };
const me = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };

test("the program's own user wins, then script_user, then keepalived_script, then ourselves", async () => {
  const k = ids({ withKeepalivedScript: true });
  const policy: ScriptPolicy = { scriptUser: 'app', scriptGroup: null, enableScriptSecurity: true };
  assert.deepEqual(await resolveRunAs({ user: 'nobody', group: null }, policy, k), { uid: 65534, gid: 65534, label: 'nobody (65534:65534)' });
  assert.deepEqual(await resolveRunAs({ user: 'nobody', group: 'wheel' }, policy, k), { uid: 65534, gid: 10, label: 'nobody:wheel (65534:10)' });
  assert.deepEqual(await resolveRunAs(null, policy, k), { uid: 1001, gid: 1001, label: 'app (1001:1001)' });
  assert.deepEqual(await resolveRunAs(null, { ...policy, scriptGroup: 'nogroup' }, k), { uid: 1001, gid: 65534, label: 'app:nogroup (1001:65534)' });
  assert.deepEqual(await resolveRunAs({ user: null, group: null }, none, k), { uid: 990, gid: 990, label: 'keepalived_script (990:990)' });
  const noK = ids({ withKeepalivedScript: false });
  const mine = await resolveRunAs(null, none, noK);
  assert.deepEqual([mine.uid, mine.gid], [me.uid, me.gid]);
});

test('enable_script_security without script_user or keepalived_script is an error, as keepalived makes it', async () => {
  await assert.rejects(resolveRunAs(null, { ...none, enableScriptSecurity: true }, ids({ withKeepalivedScript: false })),
    /enable_script_security is set and neither script_user nor a user keepalived_script exists/);
  // A program with its own user needs no default.
  assert.equal((await resolveRunAs({ user: 'nobody', group: null }, { ...none, enableScriptSecurity: true }, ids({ withKeepalivedScript: false }))).uid, 65534);
});

test('unknown users and groups are errors, never a fall back to root; a numeric user gets its own group', async () => {
  const k = ids({ withKeepalivedScript: false });
  await assert.rejects(resolveRunAs({ user: 'ghost', group: null }, none, k), /unknown user "ghost": cannot run scripts as ghost/);
  await assert.rejects(resolveRunAs({ user: 'nobody', group: 'ghosts' }, none, k), /unknown group "ghosts": cannot run scripts as nobody:ghosts/);
  await assert.rejects(resolveRunAs(null, { ...none, scriptUser: 'ghost' }, k), /unknown user "ghost"/);
  assert.deepEqual(await resolveRunAs({ user: '65534', group: null }, none, k), { uid: 65534, gid: 65534, label: '65534 (65534:65534)' });
  await assert.rejects(resolveRunAs({ user: '4242', group: null }, none, k), /unknown user "4242"/);
  await assert.rejects(resolveRunAs({ user: 'nobody', group: ':nogroup' }, none, k), /supplementary groups \(':GROUP'\) are not supported/);
});

test('spawn ids: both always when we are root, so the supplementary groups are cleared too', { skip: me.uid !== 0 ? 'needs root' : false }, () => {
  assert.deepEqual(spawnIds({ uid: 0, gid: 0, label: 'root' }), { uid: 0, gid: 0 });
  assert.deepEqual(spawnIds({ uid: 65534, gid: 65534, label: 'nobody' }), { uid: 65534, gid: 65534 });
});
