// Status LED driver: shows the VRRP state on the board's LED through the kernel's LED class
// (Documentation/leds/leds-class.rst: brightness, max_brightness, trigger; the timer trigger's
// delay_on/delay_off). Writes are asynchronous (fs/promises) and serialised, so a burst of
// state changes ends with the LED showing the last one. An LED that cannot be written is
// counted, never thrown: a missing LED must not take the load balancer down.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BoardProfile, LedAction, LedMode, LedState } from './profile.ts';

export interface LedDriver {
  /** Shows the state; resolves when the sysfs writes are done (or have failed and been counted). */
  show(state: LedState): Promise<void>;
  /** The state last asked for, null before the first show(). */
  readonly current: LedState | null;
  /** Failed sysfs writes so far and the last error message. */
  readonly errors: number;
  readonly lastError: string | null;
}

const BLINK_MS: Record<'blink-slow' | 'blink-fast', [number, number]> = {
  'blink-slow': [1000, 1000],
  'blink-fast': [100, 100],
};

const OFF: LedAction | null = null;

/** Creates the driver for a board; a no-op driver when the board has no status LED. */
export function createLedDriver(profile: Pick<BoardProfile, 'statusLeds'>): LedDriver {
  const leds = profile.statusLeds;
  let current: LedState | null = null;
  let errors = 0;
  let lastError: string | null = null;
  let chain: Promise<void> = Promise.resolve();
  // Every LED any state uses: the ones not lit in a state are switched off in it.
  const all = leds ? [...new Set([leds.MASTER, leds.BACKUP, leds.FAULT, ...(leds.INIT ? [leds.INIT] : [])].map((a) => a.led))] : [];
  const maxCache = new Map<string, string>();

  async function write(dir: string, file: string, value: string): Promise<void> {
    try {
      await writeFile(join(dir, file), value);
    } catch (e) {
      errors++;
      lastError = `${join(dir, file)}: ${(e as Error).message}`;
    }
  }

  async function maxBrightness(dir: string): Promise<string> {
    const cached = maxCache.get(dir);
    if (cached !== undefined) return cached;
    let v = '1';
    try {
      const t = (await readFile(join(dir, 'max_brightness'), 'utf8')).trim();
      if (/^\d+$/.test(t) && t !== '0') v = t;
    } catch { /* no max_brightness: 1 is "on" for every LED */ }
    maxCache.set(dir, v);
    return v;
  }

  async function apply(dir: string, mode: LedMode): Promise<void> {
    if (mode === 'on' || mode === 'off') {
      // "none" first: an active trigger would otherwise keep changing the brightness.
      await write(dir, 'trigger', 'none');
      await write(dir, 'brightness', mode === 'on' ? await maxBrightness(dir) : '0');
      return;
    }
    const [on, off] = BLINK_MS[mode];
    // Setting the timer trigger creates delay_on/delay_off; they are written after it.
    await write(dir, 'trigger', 'timer');
    await write(dir, 'delay_on', String(on));
    await write(dir, 'delay_off', String(off));
  }

  async function render(state: LedState): Promise<void> {
    if (!leds) return;
    const action = state === 'INIT' ? (leds.INIT ?? OFF) : leds[state];
    for (const dir of all) {
      if (action && dir === action.led) continue;
      await apply(dir, 'off');
    }
    if (action) await apply(action.led, action.mode);
  }

  return {
    show(state: LedState): Promise<void> {
      current = state;
      chain = chain.then(() => render(state));
      return chain;
    },
    get current() { return current; },
    get errors() { return errors; },
    get lastError() { return lastError; },
  };
}

/** What the status LED shows for a board's instances: any FAULT, else any MASTER, else BACKUP. */
export function ledStateFor(states: ReadonlyArray<{ state: string }>): LedState {
  if (states.some((s) => s.state === 'FAULT')) return 'FAULT';
  if (states.some((s) => s.state === 'MASTER')) return 'MASTER';
  return 'BACKUP';
}
