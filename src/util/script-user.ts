// Who runs a configured program: vrrp_script, every notify program, MISC_CHECK. keepalived's
// rules (notify.c set_uid_gid / get_default_script_user, global_parser.c script_user):
//   1. the program's own `user USER [GROUP]` (vrrp_script, MISC_CHECK);
//   2. else global_defs `script_user USER [GROUP]`;
//   3. else the user `keepalived_script`, if it exists;
//   4. else the user tandem runs as (root on a board). With enable_script_security this last
//      case is a configuration error, as keepalived makes it ("Unable to set default user
//      keepalived_script for script"; keepalived then drops the script).
// GROUP defaults to the user's primary group. A user or group that does not exist is an error
// (keepalived: "Script user '%s' does not exist"), never a silent fall back to root.
//
// Supplementary groups: keepalived calls setgroups() with none (set_script_env), unless GROUP
// is written ':GROUP' (then the user's own, from getgrouplist). libuv calls setgroups(0, NULL)
// whenever a uid or gid is given to the child, so spawnIds() always gives both when tandem is
// root, also for root itself: the program starts with no supplementary groups, as under
// keepalived. The ':GROUP' form is refused: node cannot give a child a group list.
import type { Config, GlobalDefs } from '../config/model.ts';
import { lookupGid, lookupPrimaryGid, lookupUid } from './spawn.ts';

/** What of global_defs decides who runs programs. */
export interface ScriptPolicy {
  scriptUser: string | null;
  scriptGroup: string | null;
  enableScriptSecurity: boolean;
  /** How long a notify program may run (notify_programs timeout); absent: runNotify's default. */
  notifyTimeoutMs?: number;
}

export function scriptPolicy(g: Pick<GlobalDefs, 'scriptUser' | 'scriptGroup' | 'enableScriptSecurity'>): ScriptPolicy {
  return { scriptUser: g.scriptUser, scriptGroup: g.scriptGroup, enableScriptSecurity: g.enableScriptSecurity };
}

/** The policy for notify programs: global_defs' users and notify_programs' timeout. */
export function notifyPolicy(cfg: Pick<Config, 'global' | 'notifyPrograms'>): ScriptPolicy {
  const p = scriptPolicy(cfg.global);
  return cfg.notifyPrograms ? { ...p, notifyTimeoutMs: cfg.notifyPrograms.timeoutMs } : p;
}

/** A program's own `user USER [GROUP]`, when it has one. */
export interface OwnUser {
  user: string | null;
  group: string | null;
}

export interface RunAs {
  uid: number;
  gid: number;
  /** For messages: "nobody:nogroup (65534:65534)". */
  label: string;
}

/** The id look-ups, replaceable in tests. */
export interface IdLookup {
  uid(user: string): Promise<number>;
  primaryGid(user: string): Promise<number>;
  gid(group: string): Promise<number>;
}

export const systemIds: IdLookup = { uid: lookupUid, primaryGid: lookupPrimaryGid, gid: lookupGid };

/** keepalived's default user when neither the program nor global_defs names one. */
export const DEFAULT_SCRIPT_USER = 'keepalived_script';

function ownIds(): { uid: number; gid: number } {
  return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
}

/** Whether keepalived_script exists, asked once per process (keepalived asks once per load). */
let defaultUser: Promise<{ uid: number; gid: number } | null> | null = null;

async function keepalivedScriptUser(ids: IdLookup): Promise<{ uid: number; gid: number } | null> {
  try {
    return { uid: await ids.uid(DEFAULT_SCRIPT_USER), gid: await ids.primaryGid(DEFAULT_SCRIPT_USER) };
  } catch {
    return null;
  }
}

async function named(user: string, group: string | null, ids: IdLookup): Promise<RunAs> {
  if (group !== null && group.startsWith(':')) {
    throw new Error(`group ${JSON.stringify(group)}: supplementary groups (':GROUP') are not supported; name the group without ':'`);
  }
  const as = `${user}${group !== null ? `:${group}` : ''}`;
  const ask = async (p: Promise<number>): Promise<number> => {
    try {
      return await p;
    } catch (e) {
      throw new Error(`${(e as Error).message}: cannot run scripts as ${as}`);
    }
  };
  const uid = await ask(ids.uid(user));
  // A numeric user still needs a passwd entry for its group: never run with gid 0 by default.
  const gid = await ask(group !== null ? ids.gid(group) : ids.primaryGid(user));
  return { uid, gid, label: `${as} (${uid}:${gid})` };
}

/**
 * Who runs a program with `own` user (or none) under `policy`. Rejects with a message for a
 * user or group that cannot be used.
 */
export async function resolveRunAs(own: OwnUser | null, policy: ScriptPolicy, ids: IdLookup = systemIds): Promise<RunAs> {
  if (own?.user) return named(own.user, own.group, ids);
  if (policy.scriptUser) return named(policy.scriptUser, policy.scriptGroup, ids);
  const k = await (ids === systemIds ? (defaultUser ??= keepalivedScriptUser(ids)) : keepalivedScriptUser(ids));
  if (k) return { ...k, label: `${DEFAULT_SCRIPT_USER} (${k.uid}:${k.gid})` };
  if (policy.enableScriptSecurity) {
    throw new Error(`no user to run it as: enable_script_security is set and neither script_user nor a user ${DEFAULT_SCRIPT_USER} exists (set script_user, e.g. script_user root, or create ${DEFAULT_SCRIPT_USER})`);
  }
  const me = ownIds();
  return { ...me, label: `${me.uid === 0 ? 'root' : `uid ${me.uid}`} (${me.uid}:${me.gid})` };
}

/**
 * The uid/gid options for spawning as `r`: both whenever we are root (so libuv also clears the
 * supplementary groups, as keepalived does), otherwise only what differs from ours (a non-root
 * daemon can run programs only as itself).
 */
export function spawnIds(r: RunAs): { uid?: number; gid?: number } {
  const me = ownIds();
  if (me.uid === 0) return { uid: r.uid, gid: r.gid };
  const out: { uid?: number; gid?: number } = {};
  if (r.uid !== me.uid) out.uid = r.uid;
  if (r.gid !== me.gid) out.gid = r.gid;
  return out;
}
