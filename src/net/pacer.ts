// keepalived's vrrp_garp_interval and vrrp_gna_interval: the least time between two gratuitous
// ARPs (or two unsolicited neighbour advertisements) sent on one interface, whichever instance
// and VIP they are for (keepalived.conf(5); vrrp_arp.c / vrrp_ndisc.c keep a per-interface
// "next send" time). 0, the default, sends a burst back to back. Pure apart from the Clock.
import type { Clock } from '../util/clock.ts';

export class Pacer {
  /** Per key (family/interface): when the next packet may leave, in monotonic ms. */
  private readonly next = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  /**
   * Runs `send` once the interval since the previous send on `key` has passed; sends on one key
   * keep their order. The promise is the send's.
   */
  async send<T>(key: string, intervalMs: number, send: () => Promise<T>): Promise<T> {
    if (intervalMs <= 0) return send();
    const now = this.clock.monotonic();
    const at = Math.max(now, this.next.get(key) ?? now);
    this.next.set(key, at + intervalMs);
    if (at > now) await new Promise<void>((resolve) => this.clock.setTimer(resolve, at - now));
    return send();
  }
}
