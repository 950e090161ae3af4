// Notify programs of VRRP instances and sync groups, on the main thread (spawning never shares
// the thread that sends advertisements). keepalived's semantics and argument conventions
// (keepalived.conf(5) "notify", vrrp_notify.c, vrrp_sync.c):
// - an instance entering MASTER, BACKUP, FAULT or STOP runs its notify_master/backup/fault/stop
//   as written, then its generic `notify` with "INSTANCE" NAME STATE PRIORITY appended (the
//   priority it runs with; keepalived passes the instance's priority on STOP too);
// - a sync group's programs run when the group as a whole changes state (the VRRP worker decides
//   that, once, in its SyncGroup: src/vrrp/worker/engine.ts reports it); its `notify` gets
//   "GROUP" NAME STATE 0 (keepalived passes 0 as a group's priority).
// Every program runs as script_user by keepalived's rules (src/util/notify.ts).
import type { Config, Command } from '../config/model.ts';
import type { SyncGroupStatus, VrrpInstanceStatus, VrrpState } from '../status.ts';
import { runNotify } from '../util/notify.ts';
import { scriptPolicy } from '../util/script-user.ts';

type NotifiedState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

interface NotifyBlock {
  notifyMaster: Command | null;
  notifyBackup: Command | null;
  notifyFault: Command | null;
  notifyStop: Command | null;
  notify: Command | null;
}

function specific(b: NotifyBlock, state: NotifiedState): Command | null {
  return { MASTER: b.notifyMaster, BACKUP: b.notifyBackup, FAULT: b.notifyFault, STOP: b.notifyStop }[state];
}

function isNotified(s: VrrpState | string): s is NotifiedState {
  return s === 'MASTER' || s === 'BACKUP' || s === 'FAULT' || s === 'STOP';
}

export interface VrrpNotifierDeps {
  /** The configuration now running (instances, sync groups, global_defs for script_user). */
  config(): Config;
  log(level: 'warn' | 'debug', msg: string): void;
  /** Runs one program; default runNotify as script_user. */
  run?(cmd: Command, extraArgs: string[], log: (level: 'warn' | 'debug', msg: string) => void): void;
}

export class VrrpNotifier {
  private readonly run: (cmd: Command, extraArgs: string[], log: (level: 'warn' | 'debug', msg: string) => void) => void;

  constructor(private readonly deps: VrrpNotifierDeps) {
    this.run = deps.run ?? ((cmd, extra, log) => void runNotify(cmd, extra, scriptPolicy(this.deps.config().global), log));
  }

  /** An instance changed state: its own programs. */
  stateChanged(status: VrrpInstanceStatus): void {
    const inst = this.deps.config().instances.find((i) => i.name === status.name);
    if (!inst || !isNotified(status.state)) return;
    const log = (level: 'warn' | 'debug', msg: string): void => this.deps.log(level, `(${inst.name}) ${msg}`);
    const own = specific(inst, status.state);
    if (own) this.run(own, [], log);
    if (inst.notify) this.run(inst.notify, ['INSTANCE', inst.name, status.state, String(status.effectivePriority)], log);
  }

  /** A sync group as a whole changed state (reported by the worker): the group's programs. */
  groupChanged(status: SyncGroupStatus): void {
    const group = this.deps.config().syncGroups.find((g) => g.name === status.name);
    if (!group || !isNotified(status.state)) return;
    const name = status.name;
    const log = (level: 'warn' | 'debug', msg: string): void => this.deps.log(level, `VRRP_Group(${name}) ${msg}`);
    const own = specific(group, status.state);
    if (own) this.run(own, [], log);
    if (group.notify) this.run(group.notify, ['GROUP', name, status.state, '0'], log);
  }
}
