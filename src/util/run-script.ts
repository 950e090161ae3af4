// Running a configured program (vrrp_script, notify programs, MISC_CHECK): as its user
// (script-user.ts), examined first as keepalived does (script-security.ts), then spawned without
// a shell, bounded in time and output (spawn.ts runBounded). One path for every kind, so none
// can run as root by forgetting a step.
//
// Examined on every run, not only at start: enable_script_security then also refuses a program
// that someone made writable after start, and a reload cannot bring in one that escapes it.
import { runBounded, type RunResult } from './spawn.ts';
import { examineScript } from './script-security.ts';
import { resolveRunAs, spawnIds, type OwnUser, type ScriptPolicy } from './script-user.ts';

export interface ScriptRunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface ScriptRunResult extends RunResult {
  /** Who it ran as, e.g. "nobody (65534:65534)"; null when it did not get that far. */
  runAs: string | null;
  /** Not started on purpose (user unknown, enable_script_security): the reason, also in `error`. */
  refused: string | null;
}

function notRun(reason: string): ScriptRunResult {
  return {
    code: null, signal: null, timedOut: false, aborted: false, error: reason, outputBytes: 0, outputHead: '', durationMs: 0,
    runAs: null, refused: reason,
  };
}

export async function runScript(
  argv: readonly string[],
  own: OwnUser | null,
  policy: ScriptPolicy,
  opts: ScriptRunOptions,
): Promise<ScriptRunResult> {
  let who;
  try {
    who = await resolveRunAs(own, policy);
  } catch (e) {
    return notRun((e as Error).message);
  }
  const ex = await examineScript(argv, who);
  if (ex.insecure && policy.enableScriptSecurity) {
    return { ...notRun(`refused by enable_script_security: it runs as ${who.label} but ${ex.insecure.path}: ${ex.insecure.why}`), runAs: who.label };
  }
  const r = await runBounded(ex.argv, { timeoutMs: opts.timeoutMs, signal: opts.signal, ...spawnIds(who) });
  return { ...r, runAs: who.label, refused: null };
}
