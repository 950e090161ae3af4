// Notify programs (notify_master, notify_up, quorum_up, …): as script_user (keepalived gives
// notify programs no user of their own in tandem's configuration, so global_defs decides, by
// the rules of script-user.ts), without a shell, with a timeout, their failures logged. Used by
// VRRP instances and sync groups (src/vrrp/notify.ts) and the load balancer alike.
import type { Command } from '../config/model.ts';
import { runScript } from './run-script.ts';
import type { ScriptPolicy } from './script-user.ts';

/** notify_programs' timeout when not given (the default of its directive, src/config/directives/tandem.ts). */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 10_000;

/**
 * Runs a notify program. keepalived's conventions (keepalived.conf(5) "notify"):
 * notify_master/backup/fault/stop run as written; the generic `notify` gets
 * "INSTANCE"|"GROUP", the name, the new state and the priority appended (the caller passes them).
 */
export async function runNotify(
  cmd: Command,
  extraArgs: string[],
  policy: ScriptPolicy,
  log: (level: 'warn' | 'debug', msg: string) => void,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  // notify_programs { timeout } (tandem's own; keepalived waits for notify programs unbounded).
  const timeoutMs = opts.timeoutMs ?? policy.notifyTimeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS;
  const argv = [...cmd.argv, ...extraArgs];
  const r = await runScript(argv, null, policy, { timeoutMs, signal: opts.signal });
  if (r.refused) log('warn', `notify ${argv.join(' ')} not run: ${r.refused}`);
  else if (r.error) log('warn', `notify ${argv.join(' ')} cannot run: ${r.error}`);
  else if (r.aborted) log('debug', `notify ${argv.join(' ')} cancelled`);
  else if (r.timedOut) log('warn', `notify ${argv.join(' ')} timed out after ${timeoutMs} ms and was killed`);
  else if (r.code !== 0) log('warn', `notify ${argv.join(' ')} exited with ${r.code ?? r.signal}: ${r.outputHead.trim().slice(0, 200)}`);
  else log('debug', `notify ${argv.join(' ')} done (as ${r.runAs})`);
}
