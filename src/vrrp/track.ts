// Tracking: track_interface, track_script, track_process and track_file turned into an
// effective priority or FAULT, and the vrrp_script rise/fall state machine. keepalived semantics
// (vrrp_track.c, trackers/track_file.c):
//  - weight > 0 is added while the tracked thing is up / succeeding;
//  - weight < 0 is added while it is down / failing;
//  - weight 0: down / failing puts the instance in FAULT;
//  - `weight … reverse` multiplies the weight by -1 and, for weight 0, faults on up instead;
//  - a track_file holds a number: weight 0 faults on a non-zero number (on zero with reverse);
//    otherwise number × weight (× -1 with reverse), kept within -254..253, is added, and -254
//    (or less) means FAULT;
//  - the result is clamped to 1..254; the address owner (255) is never changed.

export interface TrackedState {
  name: string;
  weight: number;
  /** weight reverse */
  reverse?: boolean;
  /** interface: link up; script: last rise/fall state is up; process: quorum met. */
  up: boolean;
  /** track_file: the number read from the file (then `up` is not looked at). */
  value?: number;
}

/** keepalived track_file.c: what a file's number contributes; null means FAULT. */
export function fileContribution(value: number, weight: number, reverse: boolean): number | null {
  if (weight === 0) return (value !== 0) !== reverse ? null : 0;
  const v = Math.min(253, Math.max(-254, value * weight * (reverse ? -1 : 1)));
  return v <= -254 ? null : v;
}

export interface TrackResult {
  priority: number;
  /** Names of tracked things putting the instance in FAULT (weight 0). Empty: no fault. */
  faults: string[];
}

/** The tracking weight in effect and the weight-0 faults; the state machine adds it to its priority. */
export function trackedWeight(
  trackedInterfaces: readonly TrackedState[],
  /** vrrp_script, track_process and track_file states. */
  trackedScripts: readonly TrackedState[],
): { weight: number; faults: string[] } {
  let weight = 0;
  const faults: string[] = [];
  for (const t of [...trackedInterfaces, ...trackedScripts]) {
    const mult = t.reverse ? -1 : 1;
    if (t.value !== undefined) {
      const c = fileContribution(t.value, t.weight, Boolean(t.reverse));
      if (c === null) faults.push(t.name);
      else weight += c;
    } else if (t.weight === 0) {
      if (t.up === Boolean(t.reverse)) faults.push(t.name);
    } else if (t.weight > 0 ? t.up : !t.up) {
      weight += t.weight * mult;
    }
  }
  return { weight, faults };
}

export function effectivePriority(
  base: number,
  trackedInterfaces: readonly TrackedState[],
  trackedScripts: readonly TrackedState[],
): TrackResult {
  const { weight, faults } = trackedWeight(trackedInterfaces, trackedScripts);
  if (base === 255) return { priority: 255, faults };
  return { priority: Math.min(254, Math.max(1, base + weight)), faults };
}

export type ScriptState = 'init' | 'up' | 'down';

export interface ScriptTracker {
  /** Feed one result (exit 0 = true). Returns the new state when it changed, else null. */
  feed(success: boolean): ScriptState | null;
  readonly state: ScriptState;
}

/**
 * vrrp_script rise/fall: `rise` consecutive successes bring a down script up, `fall`
 * consecutive failures bring an up script down. At start the state is 'init' (keepalived keeps
 * the instance out of MASTER until the first result): one success is enough to go up
 * (vrrp_init_script sets result = rise - 1), one failure sets it down. With init_fail the
 * script starts down and needs `rise` successes.
 */
export function createScriptTracker(opts: { rise: number; fall: number; initFail?: boolean }): ScriptTracker {
  const rise = Math.max(1, Math.floor(opts.rise));
  const fall = Math.max(1, Math.floor(opts.fall));
  let state: ScriptState = opts.initFail ? 'down' : 'init';
  let run = 0; // consecutive results against the current state
  return {
    get state() {
      return state;
    },
    feed(success: boolean): ScriptState | null {
      if (state === 'init') {
        state = success ? 'up' : 'down';
        run = 0;
        return state;
      }
      const against = state === 'up' ? !success : success;
      if (!against) {
        run = 0;
        return null;
      }
      run++;
      if (run >= (state === 'up' ? fall : rise)) {
        state = state === 'up' ? 'down' : 'up';
        run = 0;
        return state;
      }
      return null;
    },
  };
}
