// Sync groups (vrrp_sync_group): the members move together, keepalived vrrp_sync.c semantics:
//  - a member entering FAULT forces the others to FAULT (vrrp_sync_fault);
//  - a member becoming MASTER by its own decision forces the others to MASTER
//    (vrrp_sync_master), but a member only becomes MASTER when every other member wants to
//    (vrrp_sync_can_goto_master; "prefer backup state to avoid thrashing");
//  - a member going BACKUP (it heard a better master, or its fault cleared) forces the others
//    to BACKUP (vrrp_sync_backup); a member in FAULT of its own stays there and the group
//    stays in FAULT until no member has a fault of its own.
//
// Wiring: build the group, pass `group.gate` as MachineParams.sync of each member, `attach`
// each machine, then offer every stateChanged action of a member (with its `graceful` flag) to
// `onStateChanged` and feed
// the returned events to the named machines (their own transitions may come back here; they
// return nothing more because the group's state is already set).

import type { MachineEvent, MachineView, SyncGate, VrrpState } from './machine.ts';

export type GroupState = 'BACKUP' | 'MASTER' | 'FAULT';

export interface ForcedEvent {
  member: string;
  event: Extract<MachineEvent, { type: 'force' }>;
}

export class SyncGroup {
  readonly name: string;
  readonly members: readonly string[];
  private readonly views = new Map<string, () => MachineView>();
  private groupState: GroupState = 'BACKUP';

  constructor(name: string, members: readonly string[]) {
    this.name = name;
    this.members = [...members];
  }

  get state(): GroupState {
    return this.groupState;
  }

  attach(member: string, machine: { view(): MachineView }): void {
    if (!this.members.includes(member)) throw new RangeError(`${member} is not in sync group ${this.name}`);
    this.views.set(member, () => machine.view());
  }

  private others(member: string): MachineView[] {
    const out: MachineView[] = [];
    for (const m of this.members) {
      if (m === member) continue;
      const v = this.views.get(m);
      if (v) out.push(v());
    }
    return out;
  }

  readonly gate: SyncGate = {
    mayGoMaster: (member: string): boolean => {
      if (this.groupState === 'MASTER') return true;
      return this.others(member).every((v) => v.state === 'MASTER' || (v.wantState === 'MASTER' && v.state !== 'FAULT'));
    },
    mayLeaveFault: (member: string): boolean => this.others(member).every((v) => !v.ownFault),
  };

  /**
   * A member changed state; returns the events that bring the others along. `graceful`: the
   * member handed over on purpose (maintenance): the others hand over the same way, each with its
   * own priority-0 advertisement, keeping its VIPs until the peer speaks (machine.ts).
   */
  onStateChanged(member: string, from: VrrpState, to: VrrpState, graceful = false): ForcedEvent[] {
    if (to !== 'MASTER' && to !== 'BACKUP' && to !== 'FAULT') return [];
    if (to !== 'FAULT') {
      // A member may not lead the group out of FAULT while another has a fault of its own
      // (keepalived: num_member_fault); this also covers members started in a different order.
      const faulty = this.others(member).some((v) => v.ownFault && v.state === 'FAULT');
      if (faulty) {
        this.groupState = 'FAULT';
        const reason = `VRRP_Group(${this.name}) another member is in FAULT`;
        return [{ member, event: { type: 'force', state: 'FAULT', reason } }];
      }
    }
    if (to === this.groupState) return [];
    const prev = this.groupState;
    this.groupState = to;
    const reason = `VRRP_Group(${this.name}) Syncing instances to ${to} state (${member} ${from} -> ${to}, group was ${prev})`;
    const out: ForcedEvent[] = [];
    for (const m of this.members) {
      if (m === member) continue;
      const v = this.views.get(m)?.();
      if (v && v.state === to) continue;
      if (v && v.state === 'STOP') continue;
      out.push({ member: m, event: graceful && to === 'BACKUP' ? { type: 'force', state: to, reason, graceful: true } : { type: 'force', state: to, reason } });
    }
    return out;
  }
}

/** keepalived's group log line. */
export function groupLogLine(group: string, to: GroupState): string {
  return `VRRP_Group(${group}) Syncing instances to ${to} state`;
}
