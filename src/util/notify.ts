// Notify programs (notify_master, notify_up, quorum_up, …): without a shell, with a timeout,
// their failures logged. Used by VRRP, the load balancer and sync groups alike.
import type { Command } from '../config/model.ts';
import { runBounded } from './spawn.ts';

/**
 * Runs a notify program without a shell, with a timeout. keepalived's conventions
 * (keepalived.conf(5) "notify"): notify_master/backup/fault/stop run as written; the generic
 * `notify` gets "INSTANCE"|"GROUP", the name, the new state and the priority appended.
 */
export async function runNotify(
  cmd: Command,
  extraArgs: string[],
  log: (level: 'warn' | 'debug', msg: string) => void,
  timeoutMs = 10_000,
): Promise<void> {
  const argv = [...cmd.argv, ...extraArgs];
  const r = await runBounded(argv, { timeoutMs });
  if (r.error) log('warn', `notify ${argv.join(' ')} cannot run: ${r.error}`);
  else if (r.timedOut) log('warn', `notify ${argv.join(' ')} timed out after ${timeoutMs} ms and was killed`);
  else if (r.code !== 0) log('warn', `notify ${argv.join(' ')} exited with ${r.code ?? r.signal}: ${r.outputHead.trim().slice(0, 200)}`);
  else log('debug', `notify ${argv.join(' ')} done`);
}
