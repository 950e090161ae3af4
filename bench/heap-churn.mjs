// Benchmark preload (bench/failover.ts, "spurious transitions"): loaded into a board's daemon with
// NODE_OPTIONS=--import, it makes the main thread allocate about TANDEM_DEBUG_HEAP_CHURN_MB MB/s
// of short- and medium-lived objects, so the benchmark can show that garbage collection on the
// main thread never delays the VRRP worker's timers. It lives here, not in src/: the daemon has
// no benchmark paths. Worker threads load preloads too; only the main thread churns.
import { isMainThread } from 'node:worker_threads';

const mb = Number(process.env.TANDEM_DEBUG_HEAP_CHURN_MB ?? 0);
if (isMainThread && mb > 0) {
  process.stderr.write(`bench: churning the main thread's heap at ${mb} MB/s\n`);
  const window = [];
  const perTick = Math.max(1, Math.round((mb * 1024 * 1024) / 50 / 128));
  setInterval(() => {
    const chunk = [];
    for (let i = 0; i < perTick; i++) chunk.push({ i, s: `churn-${i}-${Math.random()}`, a: [i, i + 1, i + 2] });
    // A quarter of a second's worth stays reachable, so objects survive into the old generation
    // and major collections happen, not only scavenges; more would not fit the old generation
    // the daemon runs with (firmware/runtime.env --max-old-space-size=64) at 50 MB/s.
    window.push(chunk);
    if (window.length > 12) window.shift();
  }, 20).unref();
}
