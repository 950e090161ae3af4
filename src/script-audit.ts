// Every program a configuration would run (vrrp_script, instance and sync-group notify
// programs, the event FIFOs' readers, real-server notify_up/notify_down, quorum_up/quorum_down,
// MISC_CHECK), looked at
// before anything runs: at `tandem check`, at start and at reload. keepalived does the same
// when it loads its configuration (vrrp.c check_vrrp_script_security, check_data.c
// check_check_script_security):
// - a user that cannot be used is an error (keepalived drops the script; we refuse the
//   configuration rather than run something else, or nothing, in its place);
// - a program that runs as root and that someone else could change (the file or a directory
//   on its path) is an error with enable_script_security, a warning without it (keepalived:
//   "Unsafe permissions found for script", and "SECURITY VIOLATION - scripts are being
//   executed but script_security not enabled. There are insecure scripts.");
// - a program not found or not executable by its user, or a bare name found by PATH search,
//   is a warning: it fails (or runs the found file) when its time comes, as today.
// Each message is located at the program's line (FILE:LINE:COL, as `tandem check` prints).
import type { Command, Config, Diagnostic } from './config/model.ts';
import { formatDiagnostic, loadConfigFile } from './config/index.ts';
import { examineScript } from './util/script-security.ts';
import { resolveRunAs, scriptPolicy, type OwnUser } from './util/script-user.ts';

export interface ConfiguredProgram {
  /** How the configuration names it, e.g. "vrrp_script chk_nginx", "vrrp_instance VI_1 notify_master". */
  what: string;
  cmd: Command;
  own: OwnUser | null;
}

/** Every program `cfg` would run, in file order within each kind. */
export function configuredPrograms(cfg: Config): ConfiguredProgram[] {
  const out: ConfiguredProgram[] = [];
  const add = (what: string, cmd: Command | null, own: OwnUser | null = null): void => {
    if (cmd) out.push({ what, cmd, own });
  };
  for (const s of cfg.scripts) add(`vrrp_script ${s.name}`, s.script, { user: s.user, group: s.group });
  const notifies = [['notify_master', 'notifyMaster'], ['notify_backup', 'notifyBackup'], ['notify_fault', 'notifyFault'], ['notify_stop', 'notifyStop'], ['notify', 'notify']] as const;
  for (const i of cfg.instances) {
    for (const [kw, field] of notifies) add(`vrrp_instance ${i.name} ${kw}`, i[field]);
    add(`vrrp_instance ${i.name} notify_master_rx_lower_pri`, i.notifyMasterRxLowerPri);
  }
  for (const g of cfg.syncGroups) for (const [kw, field] of notifies) add(`vrrp_sync_group ${g.name} ${kw}`, g[field]);
  const g = cfg.global;
  add('global_defs notify_fifo_script', g.notifyFifoScript);
  add('global_defs vrrp_notify_fifo_script', g.vrrpNotifyFifoScript);
  add('global_defs lvs_notify_fifo_script', g.lvsNotifyFifoScript);
  for (const vs of cfg.virtualServers) {
    add(`virtual_server ${vs.name} quorum_up`, vs.quorumUp);
    add(`virtual_server ${vs.name} quorum_down`, vs.quorumDown);
    for (const rs of vs.realServers) {
      add(`real_server ${rs.name} notify_up`, rs.notifyUp);
      add(`real_server ${rs.name} notify_down`, rs.notifyDown);
      for (const c of rs.checkers) if (c.kind === 'MISC_CHECK') add(`real_server ${rs.name} MISC_CHECK`, c.path, { user: c.user, group: c.group });
    }
  }
  return out;
}

/** The problems of every program `cfg` would run (errors refuse the configuration). */
export async function auditScripts(cfg: Config): Promise<Diagnostic[]> {
  const policy = scriptPolicy(cfg.global);
  const out: Diagnostic[] = [];
  let insecureRun = false;
  for (const p of configuredPrograms(cfg)) {
    const at = p.cmd.pos;
    const prog = p.cmd.argv[0] ?? '';
    let who;
    try {
      who = await resolveRunAs(p.own, policy);
    } catch (e) {
      out.push({ severity: 'error', message: `${p.what}: ${(e as Error).message}`, pos: at });
      continue;
    }
    const ex = await examineScript(p.cmd.argv, who);
    if (ex.searched) out.push({ severity: 'warning', message: `${p.what}: ${ex.searched}`, pos: at });
    if (ex.unusable) out.push({ severity: 'warning', message: `${p.what}: ${ex.unusable}; it will fail when run`, pos: at });
    if (ex.insecure) {
      const why = `${p.what}: ${prog} runs as ${who.label} but ${ex.insecure.path}: ${ex.insecure.why}, so a non-root user could change what runs`;
      if (policy.enableScriptSecurity) {
        out.push({ severity: 'error', message: `${why}; enable_script_security refuses it`, pos: at });
      } else {
        insecureRun = true;
        out.push({ severity: 'warning', message: `${why}; it runs anyway (set enable_script_security to refuse it)`, pos: at });
      }
    }
  }
  if (insecureRun) {
    out.push({
      severity: 'warning',
      message: 'SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are insecure scripts.',
      pos: cfg.global.pos,
    });
  }
  return out;
}

/** For `tandem check`: the audit of a file that loads, as located lines; ok when nothing is refused. */
export async function auditConfigFile(path: string): Promise<{ ok: boolean; lines: string[] }> {
  const r = loadConfigFile(path);
  if (!r.config) return { ok: true, lines: [] }; // its own errors are reported by checkFile
  const found = await auditScripts(r.config);
  return { ok: !found.some((d) => d.severity === 'error'), lines: found.map(formatDiagnostic) };
}
