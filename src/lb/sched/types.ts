// Shared types of the pure schedulers. A scheduler never sees a packet: it turns the set of
// schedulable real servers into data (a slot table) that the nftables renderer installs as a
// map, so the kernel does the per-packet work (see src/lb/README.md).

/** A real server as the schedulers see it: where to send, and its effective weight (> 0). */
export interface Backend {
  /** Stable identity, "ADDRESS:PORT"; orders backends independently of the configuration order. */
  key: string;
  address: string;
  port: number;
  weight: number;
}

/** What the kernel computes per new flow to index the slot table. */
export type SlotKey =
  /** numgen inc mod N: a per-VS counter (rr, wrr). */
  | { kind: 'numgen' }
  /**
   * jhash over the client address (sh, mh) or the destination (dh), masked, with a seed. `mask`
   * is an IPv4 netmask; an IPv6 virtual server's key has `prefix6`, the prefix length its
   * addresses are masked to (its `mask` is then all ones and unused).
   */
  | { kind: 'jhash'; field: 'saddr' | 'daddr'; mask: number; seed: number; prefix6?: number };

/** The scheduler's decision as data: slot i of the table sends the flow to slots[i]. */
export interface SlotTable {
  key: SlotKey;
  slots: Backend[];
}
