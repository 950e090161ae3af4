// The board's MQTT client id: `tandem-NODE-RANDOM`, the random part new at each boot.
//
// Why random: a broker keeps one session per client id and disconnects the older connection
// when a new one uses the same id (MQTT 3.1.1 §3.1.4, MQTT 5 §3.1.4: "Session taken over").
// With `tandem-NODE` anyone allowed on the broker could knock a board off it at will, and each
// knock published the board's `lost` will. 64 random bits cannot be guessed.
//
// Why per boot rather than per start: a daemon restarted within one boot (a crash and its
// supervisor's restart) reconnects with the same id, so the broker replaces the half-open
// session of the dead process at once, instead of keeping it until its keepalive runs out and
// publishing its `lost` long after the new process said `online`. After a reboot the id is
// new; a session of the previous boot the broker has not noticed dead yet is told apart by the
// bdSeq its will carries (src/report/session.ts, src/report/fleet.ts).
//
// The random part is kept in STATE_DIR/mqtt-client-id with the boot id it belongs to
// (/proc/sys/kernel/random/boot_id, a per-boot UUID); a file of another boot, or none, means a
// new one. Where the boot id cannot be read, the random part is new at each start.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.ts';

export const CLIENT_ID_FILE = 'mqtt-client-id';
const BOOT_ID = '/proc/sys/kernel/random/boot_id';

export async function readBootId(path = BOOT_ID): Promise<string | null> {
  try {
    const id = (await readFile(path, 'utf8')).trim();
    return /^[0-9a-f-]{8,64}$/u.test(id) ? id : null;
  } catch {
    return null;
  }
}

/** The random part for this boot; `problem` says why it could not be kept, if so. */
export async function clientIdSuffix(stateDir: string, bootId: string | null): Promise<{ suffix: string; problem: string | null }> {
  const path = join(stateDir, CLIENT_ID_FILE);
  if (bootId) {
    const text = await readFile(path, 'utf8').catch(() => '');
    const m = /^(\S+) ([0-9a-f]{16})\n?$/u.exec(text);
    if (m && m[1] === bootId) return { suffix: m[2]!, problem: null };
  }
  const suffix = randomBytes(8).toString('hex');
  if (!bootId) return { suffix, problem: 'no boot id: the MQTT client id changes at each start' };
  try {
    await writeFileAtomic(path, `${bootId} ${suffix}\n`, 0o600, { forceMode: true });
    return { suffix, problem: null };
  } catch (e) {
    return { suffix, problem: `cannot save ${path}: ${(e as Error).message}; the MQTT client id changes at each start` };
  }
}

export function clientIdOf(nodeLevel: string, suffix: string): string {
  return `tandem-${nodeLevel}-${suffix}`;
}
