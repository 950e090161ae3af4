// The one source of time. Every part that waits or timestamps (the VRRP engine, the health-check
// scheduler, the console's back-off, lockout, commit-confirmed and idle timers, the userspace
// forwarder's idle sweeps) takes a Clock, so its unit tests run under the fake one in
// test/unit/fake-clock.ts in milliseconds instead of real time.

/** Opaque to callers; the system clock keeps node's Timeout here. */
export interface TimerHandle {
  readonly id: unknown;
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch: for reports, last-check times, lockout deadlines. */
  now(): number;
  /** Monotonic milliseconds (never steps with NTP or an operator's `date`): for protocol deadlines. */
  monotonic(): number;
  /** Calls fn once after ms. A pending timer never keeps the process alive on its own. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    // What keeps the daemon alive is its sockets, servers and the VRRP worker: a pending timer
    // (an idle logout, a confirm deadline, a check's next run) must not hold a stopping daemon.
    t.unref();
    return { id: t };
  },
  clearTimer(handle) {
    clearTimeout(handle.id as NodeJS.Timeout);
  },
};

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimer(resolve, ms);
  });
}
