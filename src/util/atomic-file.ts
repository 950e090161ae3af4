// Saving that never loses the file: write a temporary file in the same directory, fsync it,
// keep the old file as FILE.prev, rename the new one over FILE, fsync the directory.
// rename(2) within one filesystem is atomic, so a power cut leaves either the old or the new file.
//
// A write that fails (a full disk, an I/O error) removes its temporary file and leaves FILE as
// it was; it rejects with a SaveError whose message names the cause and the directory
// ("no space left on device (/var/lib/tandem)"), fit to show an operator. A write interrupted
// by a crash or a power cut leaves its temporary file (`.NAME.tmp-PID-TIME`) behind;
// removeStaleTemps() removes those at the next start.
import { open, rename, unlink, link, copyFile, stat, readdir, readFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory (EINVAL); the rename is still atomic there.
  }
}

export interface AtomicWriteOptions {
  /** Keep the file being replaced as `FILE.prev`. */
  keepPrevious?: boolean;
  /** Use `mode` even when the file exists (secrets: always 0600). Default: keep the old mode. */
  forceMode?: boolean;
}

/** Why a save failed, in words an operator reads on the console: the cause and the directory. */
export class SaveError extends Error {
  readonly code: string | undefined;
  readonly path: string;
  constructor(path: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | null)?.code;
    super(`${reasonOf(cause)} (${dirname(path)})`, { cause });
    this.name = 'SaveError';
    this.code = code;
    this.path = path;
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  ENOENT: 'directory does not exist',
  ENOTDIR: 'not a directory',
  EMFILE: 'too many open files',
};

function reasonOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code && REASONS[code]) return REASONS[code];
  return e instanceof Error ? e.message : String(e);
}

/** `.NAME.tmp-PID-TIME`: hidden, and recognisable by removeStaleTemps. */
const TEMP_RE = /^\.(.+)\.tmp-(\d+)-(\d+)$/;

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
}

export async function writeFileAtomic(path: string, text: string, mode = 0o644, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = tempPath(path);
  // A file being replaced keeps its mode (a configuration holding a VRRP password may be 0600).
  const fileMode = opts.forceMode ? mode : await stat(path).then((st) => st.mode & 0o777, () => mode);
  let created = false;
  try {
    const fh = await open(tmp, 'wx', fileMode);
    created = true;
    try {
      await fh.writeFile(text, 'utf8');
      await fh.chmod(fileMode); // open()'s mode is filtered by the umask
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (opts.keepPrevious) await keepPrevious(path);
    await rename(tmp, path);
    created = false;
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw new SaveError(path, e);
  }
  await fsyncDir(dir);
}

/** FILE.prev := FILE (a hard link: the old inode survives the rename untouched). */
async function keepPrevious(path: string): Promise<void> {
  try {
    await stat(path);
  } catch {
    return; // nothing to keep
  }
  const prev = `${path}.prev`;
  await unlink(prev).catch(() => undefined);
  try {
    await link(path, prev);
  } catch {
    // Filesystems without hard links (vfat on some boards): copy instead. A copy cut short by
    // a full disk must not stay as a torn FILE.prev.
    await copyFile(path, prev).catch(async (e: unknown) => {
      await unlink(prev).catch(() => undefined);
      throw e;
    });
  }
}

/** Whether a temporary file may belong to a write of this process still under way. */
function maybeOurs(pid: number, time: number): boolean {
  // A board that boots the same way each time may give the daemon the same PID as before the
  // crash: a temporary of that PID from before this process started is a leftover all the same.
  return pid === process.pid && time >= Date.now() - process.uptime() * 1000 - 1000;
}

/**
 * Removes temporary files that interrupted atomic writes left in `dir` (a crash or power cut
 * between open and rename). Only names this module makes, and never one of a write of this
 * process that may be under way. With `names`, only temporaries of those files (beside a
 * configuration file in a shared directory such as /etc). Returns the names removed.
 */
export async function removeStaleTemps(dir: string, names?: readonly string[]): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const e of entries) {
    const m = TEMP_RE.exec(e);
    if (!m || maybeOurs(Number(m[2]), Number(m[3]))) continue;
    if (names && !names.includes(m[1]!)) continue;
    try {
      await unlink(join(dir, e));
      removed.push(e);
    } catch {
      // Gone meanwhile, or not ours to remove: leave it.
    }
  }
  return removed;
}

/**
 * A JSON state file written by writeFileAtomic: its parsed content, null when there is none,
 * and an error naming the file when it cannot be read or is not JSON (the caller checks the shape).
 */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${path}: not valid JSON`);
  }
}
