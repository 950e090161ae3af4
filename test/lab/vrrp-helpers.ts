// Shared helpers of the VRRP lab tests: who holds the VIPs, and waiting for a board's state.
import { LAB_ADDR, LAB_ADDR6, type Lab, type Board } from './lab.ts';

export interface VipHolders {
  pub: Board[];
  priv: Board[];
}

export async function vipHolders(lab: Lab): Promise<VipHolders> {
  const out: VipHolders = { pub: [], priv: [] };
  for (const b of ['a', 'b'] as const) {
    if (await lab.hasAddress(b, 'eth0', LAB_ADDR.publicVip)) out.pub.push(b);
    if (await lab.hasAddress(b, 'eth1', LAB_ADDR.privateVip)) out.priv.push(b);
  }
  return out;
}

/**
 * Waits until exactly `board` holds both VIPs (the sync group moved as one). With `alone:
 * false` the other board may hold them too (it was SIGKILLed and cleaned nothing up).
 */
export async function waitHolder(lab: Lab, board: Board, timeoutMs = 15_000, alone = true): Promise<void> {
  let last: VipHolders = { pub: [], priv: [] };
  try {
    await lab.waitFor(
    async () => {
      last = await vipHolders(lab);
      if (!alone) return last.pub.includes(board) && last.priv.includes(board);
      return last.pub.length === 1 && last.pub[0] === board && last.priv.length === 1 && last.priv[0] === board;
    },
      { timeoutMs, intervalMs: 50, what: `board ${board} alone holding both VIPs` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message} (last seen: public VIP on [${last.pub}], private VIP on [${last.priv}])`);
  }
}

/** Who holds the IPv6 VIPs: the public one on eth0, the link-local gateway fe80::1 and the private one on eth1. */
export async function vipHolders6(lab: Lab): Promise<VipHolders> {
  const out: VipHolders = { pub: [], priv: [] };
  for (const b of ['a', 'b'] as const) {
    if (await lab.hasAddress(b, 'eth0', LAB_ADDR6.publicVip)) out.pub.push(b);
    const eth1 = await lab.addresses(b, 'eth1');
    if ([LAB_ADDR6.gatewayVip, LAB_ADDR6.privateVip].every((v) => eth1.some((a) => a.address === v))) out.priv.push(b);
  }
  return out;
}

/** waitHolder for the IPv6 VIPs (both on `board`, and with alone the other holds none). */
export async function waitHolder6(lab: Lab, board: Board, timeoutMs = 15_000, alone = true): Promise<void> {
  let last: VipHolders = { pub: [], priv: [] };
  try {
    await lab.waitFor(async () => {
      last = await vipHolders6(lab);
      if (!alone) return last.pub.includes(board) && last.priv.includes(board);
      return last.pub.length === 1 && last.pub[0] === board && last.priv.length === 1 && last.priv[0] === board;
    }, { timeoutMs, intervalMs: 50, what: `board ${board} alone holding the IPv6 VIPs` });
  } catch (err) {
    throw new Error(`${(err as Error).message} (last seen: public IPv6 VIP on [${last.pub}], private ones on [${last.priv}])`);
  }
}
