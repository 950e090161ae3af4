// A `commit confirmed` waiting for its confirmation, on disk: STATE_DIR/commit-pending.json.
// It is written (atomically, mode 0600: the previous text may hold VRRP passwords) before the
// unconfirmed configuration is saved, and removed once the commit is confirmed or rolled back,
// so a crash or a power cut at any point leaves either no pending commit or one that the next
// start rolls back (JunOS rolls back an unconfirmed commit after a reboot too).
//
// Format (version 1):
//   { "version": 1, "configPath": "/etc/tandem/keepalived.conf", "previousText": "…",
//     "deadline": <epoch ms>, "durationMs": 60000, "transport": "serial", "committedAt": <epoch ms> }
// durationMs bounds what is left after a restart: a board without a real-time clock may boot
// in 1970, and "deadline − now" must not become fifty years.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic, SaveError } from '../util/atomic-file.ts';

export const PENDING_FILE = 'commit-pending.json';

export interface PendingRecord {
  /** The configuration file the commit was saved to; a record for another file is not acted on. */
  configPath: string;
  /** What ran before the first unconfirmed commit: what a rollback restores. */
  previousText: string;
  /** Wall-clock deadline, epoch ms. */
  deadline: number;
  /** The confirmation window as given (`commit confirmed N`), ms. */
  durationMs: number;
  transport: string;
  committedAt: number;
}

export interface PendingStore {
  readonly path: string;
  /** null when no commit is pending; throws when the file is there but unusable. */
  load(): Promise<PendingRecord | null>;
  save(r: PendingRecord): Promise<void>;
  /** Removes the record (no error when there is none). */
  clear(): Promise<void>;
}

function isRecord(v: unknown): v is PendingRecord & { version: number } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const time = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  return (
    o.version === 1 && typeof o.configPath === 'string' && typeof o.previousText === 'string' &&
    time(o.deadline) && time(o.durationMs) && time(o.committedAt) && typeof o.transport === 'string'
  );
}

export class FilePendingStore implements PendingStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, PENDING_FILE);
  }

  async load(): Promise<PendingRecord | null> {
    const doc = await readJsonFile(this.path);
    if (doc === null) return null;
    if (!isRecord(doc)) throw new Error(`${this.path}: not a pending commit record (version 1)`);
    const { configPath, previousText, deadline, durationMs, transport, committedAt } = doc;
    return { configPath, previousText, deadline, durationMs, transport, committedAt };
  }

  async save(r: PendingRecord): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify({ version: 1, ...r }) + '\n', 0o600, { forceMode: true });
  }

  async clear(): Promise<void> {
    try {
      await unlink(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new SaveError(this.path, e);
    }
  }
}
