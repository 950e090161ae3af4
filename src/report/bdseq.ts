// The birth/death sequence number (bdSeq, after Sparkplug B): +1 per MQTT connection, kept in
// the state directory so a subscriber can tell a reconnect or a reboot from a repeated birth.
// Written atomically (temporary file, fsync, rename, fsync of the directory) so a power cut
// leaves either the old or the new number, never a torn file.

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-file.ts';
import { join } from 'node:path';

export const BDSEQ_FILE = 'bdseq';

/** The last bdSeq used, 0 when there is none. `problem` says why a present file was not usable. */
export async function loadBdSeq(stateDir: string): Promise<{ value: number; problem: string | null }> {
  const path = join(stateDir, BDSEQ_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { value: 0, problem: code === 'ENOENT' ? null : `cannot read ${path}: ${(e as Error).message}` };
  }
  const t = text.trim();
  const n = /^\d{1,15}$/u.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n)) return { value: 0, problem: `${path}: not a sequence number, starting from 0` };
  return { value: n, problem: null };
}

export async function saveBdSeq(stateDir: string, value: number): Promise<void> {
  await writeFileAtomic(join(stateDir, BDSEQ_FILE), `${value}\n`, 0o644);
}
