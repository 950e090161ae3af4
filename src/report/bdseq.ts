// The birth/death sequence number (bdSeq, after Sparkplug B): +1 per MQTT connection, kept in
// the state directory so a subscriber can tell a reconnect or a reboot from a repeated birth.
// Written atomically (temporary file, fsync, rename, fsync of the directory) so a power cut
// leaves either the old or the new number, never a torn file.

import { open, readFile, rename } from 'node:fs/promises';
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
  const path = join(stateDir, BDSEQ_FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(`${value}\n`, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  // The rename itself is durable only once the directory is synced.
  try {
    const dh = await open(stateDir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}
