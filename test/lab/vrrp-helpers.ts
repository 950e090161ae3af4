// Shared helpers of the VRRP lab tests: who holds the VIPs, and waiting for a board's state.
import { LAB_ADDR, LAB_ADDR6, type Lab, type Board, type Host, type LabProcess } from './lab.ts';

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

const VRRP_BLOCK_TABLE = 'tdm_vrrp_block';

/**
 * A split brain: VRRP (IP protocol 112) dropped by both switches, in an nftables bridge table in
 * each switch namespace (the lab's own), while every other frame — clients' traffic, ARP — still
 * passes. Unblocking removes the table.
 */
export async function blockVrrp(lab: Lab, blocked: boolean): Promise<void> {
  for (const sw of ['public', 'private'] as const) {
    const script = blocked
      ? `table bridge ${VRRP_BLOCK_TABLE} {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n  ip protocol 112 drop\n }\n}\n`
      : `delete table bridge ${VRRP_BLOCK_TABLE}\n`;
    const r = await lab.exec(sw, ['nft', '-f', '-'], { input: script });
    if (r.code !== 0) throw new Error(`nft in the ${sw} switch: ${r.stderr}`);
  }
}

/** A continuous ping of `address` from `host`, every intervalMs, keeping the time (ms) of each reply. */
export class Pinger {
  readonly replies: number[] = [];
  private readonly proc: LabProcess;

  constructor(lab: Lab, readonly host: Host, readonly address: string, intervalMs = 20) {
    // -D: each reply line starts with its arrival time ([seconds.micros]), taken by ping itself.
    this.proc = lab.spawn(host, ['ping', '-n', '-D', '-i', String(intervalMs / 1000), '-W', '1', address], {
      label: `ping-${host}`,
      onLine: (l) => {
        const m = /^\[(\d+\.\d+)\] \d+ bytes from /.exec(l.text);
        if (m) this.replies.push(Number(m[1]) * 1000);
      },
    });
  }

  /** The longest time without a reply between `from` and `to` (epoch ms), edges included. */
  longestGap(from: number, to: number): number {
    const inside = this.replies.filter((t) => t >= from && t <= to);
    let prev = from;
    let worst = 0;
    for (const t of [...inside, to]) {
      worst = Math.max(worst, t - prev);
      prev = t;
    }
    return worst;
  }

  async stop(): Promise<void> {
    await this.proc.stop('SIGINT', 5_000);
  }
}
