// The global connection cap of the userspace forwarder. Every accepted TCP connection and every
// UDP session holds one unit; at the cap new ones are refused (a counted drop), so memory stays
// bounded however many clients arrive. Pure: it reports transitions so the caller logs once
// when the cap is reached and once when there is room again, not once per refused client.

export type CapEvent = 'reached' | 'relieved' | null;

export class ConnectionCap {
  private used = 0;
  private atCap = false;
  /** Refused since start. */
  refused = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`connection cap must be a positive integer, got ${max}`);
  }

  get active(): number {
    return this.used;
  }

  /** Takes a unit; `ok` false means refused. `event` is 'reached' on the first refusal after room. */
  acquire(): { ok: boolean; event: CapEvent } {
    if (this.used >= this.max) {
      this.refused++;
      const event: CapEvent = this.atCap ? null : 'reached';
      this.atCap = true;
      return { ok: false, event };
    }
    this.used++;
    return { ok: true, event: null };
  }

  /** Gives a unit back; 'relieved' when the cap had been hit and there is room again. */
  release(): CapEvent {
    if (this.used > 0) this.used--;
    if (this.atCap && this.used < this.max) {
      this.atCap = false;
      return 'relieved';
    }
    return null;
  }
}
