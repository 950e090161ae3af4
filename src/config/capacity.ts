// Does the configuration ask the VRRP thread for more adverts than the board holds? The board
// profile's `capacity.vrrpPacketsPerSecond` is what its VRRP thread sends and receives with
// margin (board/README.md "Capacity": measured here with bench/vrrp-capacity.ts, scaled for the
// board's slowest core). What an instance costs: 1/advert_int adverts a second sent while it is
// MASTER (one per unicast peer when it has peers, RFC 5798 §5.1.1.2 sends to each), and
// 1/advert_int received while it is BACKUP. A board must hold both at once: which instances are
// MASTER moves with every failover, and around one (a split brain, a preempting peer) the same
// instance sends and receives. Beyond the figure adverts leave late and Master_Down checks fire
// late: with 3 × advert_int + Skew_Time (§6.1) the peer takes over spuriously, which is what the
// warning is about. At run time the measured lateness says it (src/vrrp/lateness.ts).
import type { Config, Diagnostic, VrrpInstance } from './model.ts';
import { fieldPos } from './positions.ts';

export interface BoardCapacity {
  /** The board's name, for the message. */
  name: string;
  /** VRRP packets a second, sent and received together, the board's VRRP thread holds. */
  vrrpPacketsPerSecond: number;
}

/** Adverts a second of one instance: [sent as MASTER, received as BACKUP]. */
export function instanceAdverts(i: VrrpInstance): [number, number] {
  if (!(i.advertIntMs > 0)) return [0, 0]; // an error of its own (directives/instance.ts)
  const rate = 1000 / i.advertIntMs;
  return [rate * Math.max(1, i.unicastPeers.length), rate];
}

const fmt = (n: number): string => (n >= 100 ? String(Math.round(n)) : String(Math.round(n * 10) / 10));

export function capacityWarnings(config: Config, board: BoardCapacity): Diagnostic[] {
  const budget = board.vrrpPacketsPerSecond;
  if (!(budget > 0) || config.instances.length === 0) return [];
  let sent = 0;
  let received = 0;
  for (const i of config.instances) {
    const [s, r] = instanceAdverts(i);
    sent += s;
    received += r;
  }
  const load = sent + received;
  if (load <= budget) return [];
  // The instance with the shortest advert_int carries the warning: it is the one to lengthen.
  const worst = config.instances.reduce((a, b) => (b.advertIntMs > 0 && b.advertIntMs < a.advertIntMs ? b : a));
  const n = config.instances.length;
  const ints = [...new Set(config.instances.map((i) => i.advertIntMs))];
  const what = ints.length === 1 ? `${n} VRRP instance${n === 1 ? '' : 's'} at advert_int ${ints[0]! / 1000}` : `${n} VRRP instances (advert_int ${Math.min(...ints) / 1000} to ${Math.max(...ints) / 1000})`;
  // Every advert_int scaled by the same factor fits the budget; rounded up to what VRRPv3
  // carries (centiseconds, §5.2.7), and whole seconds for v2 instances.
  const factor = load / budget;
  let fix = '';
  if (ints.length === 1) {
    const needMs = ints[0]! * factor;
    const ms = worst.version === 2 ? Math.ceil(needMs / 1000) * 1000 : Math.ceil(needMs / 10) * 10;
    fix = `advert_int ${ms / 1000} or longer fits, or fewer instances`;
  } else fix = `every advert_int ${fmt(factor)} times as long fits, or fewer instances`;
  return [{
    severity: 'warning',
    pos: fieldPos(worst, 'advertIntMs') ?? worst.pos,
    message: `${what} ask the VRRP thread for ${fmt(load)} adverts a second (${fmt(sent)} sent as MASTER, ${fmt(received)} received as BACKUP); board ${board.name} holds about ${fmt(budget)} (its profile's capacity): adverts would leave late and the peer could take over spuriously (3 × advert_int + skew without one, RFC 5798 section 6.1); ${fix}`,
  }];
}
