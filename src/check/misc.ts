// MISC_CHECK: run misc_path (argument array, no shell) and judge its exit code
// (keepalived check_misc.c): 0 = up, anything else = down; with misc_dynamic, 2..255 = up
// with weight code − 2. A script killed at misc_timeout or by a signal is a failure.

import type { MiscCheck } from '../config/model.ts';
import { runScript } from '../util/run-script.ts';
import { miscExitToResult } from './timing.ts';
import type { CheckResult } from './types.ts';

export interface MiscOptions {
  /** misc_timeout; the caller resolves the default (keepalived: the virtual server's delay_loop). */
  timeoutMs: number;
  /** global_defs script_user/script_group, used when the checker names no user. */
  defaultUser?: string | null;
  defaultGroup?: string | null;
  /** global_defs enable_script_security: a script run as root that others can change is refused. */
  enableScriptSecurity?: boolean;
}

export async function checkMisc(cfg: MiscCheck, opts: MiscOptions, signal: AbortSignal): Promise<CheckResult> {
  const started = Date.now();
  // Its user, else script_user, else keepalived's defaults (src/util/script-user.ts).
  const policy = { scriptUser: opts.defaultUser ?? null, scriptGroup: opts.defaultGroup ?? null, enableScriptSecurity: opts.enableScriptSecurity ?? false };
  const r = await runScript(cfg.path.argv, { user: cfg.user, group: cfg.group }, policy, { timeoutMs: opts.timeoutMs, signal });
  if (r.refused) return { ok: false, latencyMs: Date.now() - started, detail: `misc_check: ${r.refused}` };
  const latencyMs = Date.now() - started;
  const name = cfg.path.argv[0] ?? '';
  if (r.error) return { ok: false, latencyMs, detail: `misc_check ${name}: cannot run (${r.error})` };
  if (r.timedOut) return { ok: false, latencyMs, detail: `misc_check ${name}: timeout after ${opts.timeoutMs} ms, killed` };
  if (r.aborted) return { ok: false, latencyMs, detail: `misc_check ${name}: cancelled` };
  if (r.code === null) return { ok: false, latencyMs, detail: `misc_check ${name}: killed by ${r.signal ?? 'signal'}` };
  const v = miscExitToResult(r.code, cfg.miscDynamic);
  const detail = v.ok
    ? v.weight != null
      ? `misc_check ${name}: exit ${r.code}, weight ${v.weight}`
      : `misc_check ${name}: exit ${r.code}`
    : `misc_check ${name}: exit ${r.code}`;
  const out: CheckResult = { ok: v.ok, latencyMs, detail };
  if (v.weight !== undefined) out.weight = v.weight;
  return out;
}
