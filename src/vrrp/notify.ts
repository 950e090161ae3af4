// Notify programs of VRRP instances and sync groups, on the main thread (spawning never shares
// the thread that sends advertisements). keepalived's semantics and argument conventions
// (keepalived.conf(5) "notify", vrrp_notify.c, vrrp_sync.c):
// - an instance entering MASTER, BACKUP, FAULT or STOP runs its notify_master/backup/fault/stop
//   as written, then its generic `notify` with "INSTANCE" NAME STATE PRIORITY appended (the
//   priority it runs with; keepalived passes the instance's priority on STOP too);
// - a sync group's programs run when the group as a whole changes state: all members MASTER,
//   all BACKUP, all STOP, or any in FAULT; its `notify` gets "GROUP" NAME STATE 0 (keepalived
//   passes 0 as a group's priority).
// Every program runs as script_user by keepalived's rules (src/util/notify.ts).
import type { Config, Command } from '../config/model.ts';
import type { VrrpState } from './machine.ts';
import type { InstanceStatus } from './worker/engine.ts';
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

/** The state of a sync group as a whole, from its members' states; null while they disagree. */
export function groupState(members: readonly VrrpState[]): NotifiedState | null {
  if (members.length === 0) return null;
  if (members.some((m) => m === 'FAULT')) return 'FAULT';
  for (const s of ['MASTER', 'BACKUP', 'STOP'] as const) if (members.every((m) => m === s)) return s;
  return null;
}

export interface VrrpNotifierDeps {
  /** The configuration now running (instances, sync groups, global_defs for script_user). */
  config(): Config;
  /** Every instance's current status (the sync group's members are among them). */
  snapshot(): InstanceStatus[];
  log(level: 'warn' | 'debug', msg: string): void;
  /** Runs one program; default runNotify as script_user. */
  run?(cmd: Command, extraArgs: string[], log: (level: 'warn' | 'debug', msg: string) => void): void;
}

export class VrrpNotifier {
  /** Last state a group was notified of: a group's programs run on a change of the group's state only. */
  private groups = new Map<string, NotifiedState>();
  private readonly run: (cmd: Command, extraArgs: string[], log: (level: 'warn' | 'debug', msg: string) => void) => void;

  constructor(private readonly deps: VrrpNotifierDeps) {
    this.run = deps.run ?? ((cmd, extra, log) => void runNotify(cmd, extra, scriptPolicy(this.deps.config().global), log));
  }

  /** An instance changed state: its own programs, then its group's if the group's state changed. */
  stateChanged(status: InstanceStatus): void {
    const cfg = this.deps.config();
    const inst = cfg.instances.find((i) => i.name === status.name);
    if (inst && isNotified(status.state)) {
      const log = (level: 'warn' | 'debug', msg: string): void => this.deps.log(level, `(${inst.name}) ${msg}`);
      const own = specific(inst, status.state);
      if (own) this.run(own, [], log);
      if (inst.notify) this.run(inst.notify, ['INSTANCE', inst.name, status.state, String(status.effectivePriority)], log);
    }
    if (status.syncGroup) this.groupMaybeChanged(cfg, status.syncGroup);
  }

  private groupMaybeChanged(cfg: Config, name: string): void {
    const group = cfg.syncGroups.find((g) => g.name === name);
    if (!group) return;
    const state = groupState(this.deps.snapshot().filter((s) => s.syncGroup === name).map((s) => s.state));
    if (!state || this.groups.get(name) === state) return;
    this.groups.set(name, state);
    const log = (level: 'warn' | 'debug', msg: string): void => this.deps.log(level, `VRRP_Group(${name}) ${msg}`);
    const own = specific(group, state);
    if (own) this.run(own, [], log);
    if (group.notify) this.run(group.notify, ['GROUP', name, state, '0'], log);
  }
}
