// At most N of something at once, the rest waiting their turn in order: for fan-outs that spawn a
// program per item (conntrack per real server), where 200 real servers failing together would
// otherwise be 200 processes of a few MiB each at the same moment. What waits is a closure, not
// a process.

export interface Limiter {
  <T>(fn: () => Promise<T>): Promise<T>;
  /** Running now, and waiting. */
  readonly active: number;
  readonly waiting: number;
}

export function limitConcurrency(max: number): Limiter {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency must be a positive integer, got ${max}`);
  let active = 0;
  const queue: Array<() => void> = [];
  const next = (): void => {
    if (active >= max) return;
    const start = queue.shift();
    if (start) start();
  };
  const run = <T>(fn: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        active++;
        let p: Promise<T>;
        try {
          p = fn();
        } catch (e) {
          p = Promise.reject(e);
        }
        // The slot is free before the caller hears the result.
        const done = (): void => {
          active--;
          next();
        };
        p.then((v) => { done(); resolve(v); }, (e: unknown) => { done(); reject(e); });
      });
      next();
    });
  return Object.defineProperties(run, {
    active: { get: () => active },
    waiting: { get: () => queue.length },
  }) as Limiter;
}
