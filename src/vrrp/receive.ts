// The receive path as one pure step, so the engine only has to feed raw packets in:
// decode → find the instance by VRID → per-instance checks → an advert event for the machine,
// or a counted drop. keepalived order: the VRID is looked up from the header first and every
// error is then counted against that instance; packets for no configured VRID (or unreadable)
// are counted globally (vrid_err / the reason's counter with instance null).

import { addressListMatches, decodeAdvert, validateAdvert, type Advert, type DropReason, type InstanceCheck } from './codec.ts';
import { counterForDrop, type CounterName } from './counters.ts';
import type { MachineEvent } from './machine.ts';

export interface ReceiveInstance extends InstanceCheck {
  name: string;
  /** virtual_ipaddress as carried in adverts (not the _excluded ones). */
  vips: readonly string[];
}

export type ReceiveOutcome =
  | {
      kind: 'advert';
      instance: string;
      advert: Advert;
      event: Extract<MachineEvent, { type: 'advert' }>;
      /** Counted but not dropped: addr_list_err when the address list differs (keepalived). */
      counters: CounterName[];
    }
  | { kind: 'drop'; instance: string | null; reason: DropReason; counter: CounterName };

export function receiveAdvert(
  ipPacket: Uint8Array,
  lookup: (vrid: number) => ReceiveInstance | undefined,
): ReceiveOutcome {
  const r = decodeAdvert(ipPacket);
  if (!r.ok) {
    const inst = r.vrid === undefined ? undefined : lookup(r.vrid);
    return { kind: 'drop', instance: inst?.name ?? null, reason: r.reason, counter: counterForDrop(r.reason) };
  }
  const inst = lookup(r.advert.vrid);
  if (!inst) return { kind: 'drop', instance: null, reason: 'vrid_err', counter: 'vrid_err' };
  const reason = validateAdvert(r.advert, inst);
  if (reason) return { kind: 'drop', instance: inst.name, reason, counter: counterForDrop(reason) };
  const a = r.advert;
  return {
    kind: 'advert',
    instance: inst.name,
    advert: a,
    event: { type: 'advert', priority: a.priority, srcIp: a.srcIp, advertIntMs: a.advertIntMs },
    counters: addressListMatches(a, inst.vips) ? [] : ['addr_list_err'],
  };
}
