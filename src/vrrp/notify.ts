// Notify programs of VRRP instances and sync groups, on the main thread (spawning never shares
// the thread that sends advertisements). keepalived's semantics and argument conventions
// (keepalived.conf(5) "notify", vrrp_notify.c, vrrp_sync.c):
// - an instance entering MASTER, BACKUP, FAULT or STOP runs its notify_master/backup/fault/stop
//   as written, then its generic `notify` with "INSTANCE" NAME STATE PRIORITY appended (the
//   priority it runs with; keepalived passes the instance's priority on STOP too);
// - a sync group's programs run when the group as a whole changes state (the VRRP worker decides
//   that, once, in its SyncGroup: src/vrrp/worker/engine.ts reports it); its `notify` gets
//   "GROUP" NAME STATE 0 (keepalived passes 0 as a group's priority);
// - a MASTER that hears another MASTER with a lower priority runs notify_master_rx_lower_pri
//   (keepalived send_event_notify);
// - every one of these is also a line on notify_fifo and vrrp_notify_fifo, in the order the
//   worker reported them: `INSTANCE "NAME" STATE PRIORITY`, `GROUP "NAME" STATE 0`, with
//   MASTER_RX_LOWER_PRI as the state of that event and, with notify_priority_changes,
//   MASTER_PRIORITY / BACKUP_PRIORITY on a change of the effective priority (vrrp_notify.c
//   notify_fifo()).
// Every program runs as script_user by keepalived's rules, bounded by notify_programs' timeout
// (src/util/notify.ts).
import type { Config, Command } from '../config/model.ts';
import type { SyncGroupStatus, VrrpInstanceStatus, VrrpState } from '../status.ts';
import { runNotify } from '../util/notify.ts';
import { notifyPolicy } from '../util/script-user.ts';

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

/** keepalived's FIFO line for an instance: `INSTANCE "VI_1" MASTER 100`. */
export function instanceLine(name: string, state: string, priority: number): string {
  return `INSTANCE "${name}" ${state} ${priority}`;
}

/** keepalived's FIFO line for a sync group: `GROUP "G1" BACKUP 0` (a group has no priority). */
export function groupLine(name: string, state: string): string {
  return `GROUP "${name}" ${state} 0`;
}

export interface VrrpNotifierDeps {
  /** The configuration now running (instances, sync groups, global_defs for script_user). */
  config(): Config;
  log(level: 'warn' | 'debug', msg: string): void;
  /** Runs one program; default runNotify as script_user. */
  run?(cmd: Command, extraArgs: string[], log: (level: 'warn' | 'debug', msg: string) => void): void;
  /** Writes one line to notify_fifo and vrrp_notify_fifo (src/util/event-fifo.ts EventFifos.vrrp). */
  fifo?(line: string): void;
}

export class VrrpNotifier {
  private readonly run: (cmd: Command, extraArgs: string[], log: (level: 'warn' | 'debug', msg: string) => void) => void;

  constructor(private readonly deps: VrrpNotifierDeps) {
    this.run = deps.run ?? ((cmd, extra, log) => void runNotify(cmd, extra, notifyPolicy(this.deps.config()), log));
  }

  /** An instance changed state: its own programs, then its line. */
  stateChanged(status: VrrpInstanceStatus): void {
    const inst = this.deps.config().instances.find((i) => i.name === status.name);
    if (!inst || !isNotified(status.state)) return;
    const log = (level: 'warn' | 'debug', msg: string): void => this.deps.log(level, `(${inst.name}) ${msg}`);
    const own = specific(inst, status.state);
    if (own) this.run(own, [], log);
    if (inst.notify) this.run(inst.notify, ['INSTANCE', inst.name, status.state, String(status.effectivePriority)], log);
    this.deps.fifo?.(instanceLine(inst.name, status.state, status.effectivePriority));
  }

  /** A sync group as a whole changed state (reported by the worker): the group's programs, then its line. */
  groupChanged(status: SyncGroupStatus): void {
    const group = this.deps.config().syncGroups.find((g) => g.name === status.name);
    if (!group || !isNotified(status.state)) return;
    const name = status.name;
    const log = (level: 'warn' | 'debug', msg: string): void => this.deps.log(level, `VRRP_Group(${name}) ${msg}`);
    const own = specific(group, status.state);
    if (own) this.run(own, [], log);
    if (group.notify) this.run(group.notify, ['GROUP', name, status.state, '0'], log);
    this.deps.fifo?.(groupLine(name, status.state));
  }

  /** MASTER, it heard another MASTER with a lower priority (keepalived MASTER_RX_LOWER_PRI). */
  rxLowerPriority(status: VrrpInstanceStatus): void {
    const inst = this.deps.config().instances.find((i) => i.name === status.name);
    if (!inst) return;
    if (inst.notifyMasterRxLowerPri) this.run(inst.notifyMasterRxLowerPri, [], (level, msg) => this.deps.log(level, `(${inst.name}) ${msg}`));
    this.deps.fifo?.(instanceLine(inst.name, 'MASTER_RX_LOWER_PRI', status.effectivePriority));
  }

  /** The effective priority changed: a line when notify_priority_changes (instance, else its group, else global_defs). */
  priorityChanged(status: VrrpInstanceStatus): void {
    const cfg = this.deps.config();
    const inst = cfg.instances.find((i) => i.name === status.name);
    if (!inst || (status.state !== 'MASTER' && status.state !== 'BACKUP')) return;
    const group = cfg.syncGroups.find((g) => g.group.includes(inst.name));
    if (!(inst.notifyPriorityChanges ?? group?.notifyPriorityChanges ?? cfg.global.vrrpNotifyPriorityChanges)) return;
    this.deps.fifo?.(instanceLine(inst.name, `${status.state}_PRIORITY`, status.effectivePriority));
  }

  /** fifo_write_vrrp_states_on_reload: every instance's and group's state now. */
  writeStates(instances: readonly VrrpInstanceStatus[], groups: readonly SyncGroupStatus[]): void {
    for (const i of instances) if (isNotified(i.state)) this.deps.fifo?.(instanceLine(i.name, i.state, i.effectivePriority));
    for (const g of groups) if (isNotified(g.state)) this.deps.fifo?.(groupLine(g.name, g.state));
  }
}
