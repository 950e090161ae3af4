// Saving that never loses the file: write a temporary file in the same directory, fsync it,
// keep the old file as FILE.prev, rename the new one over FILE, fsync the directory.
// rename(2) within one filesystem is atomic, so a power cut leaves either the old or the new file.
import { open, rename, unlink, link, copyFile, stat } from 'node:fs/promises';
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

export async function writeFileAtomic(path: string, text: string, mode = 0o644, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  // A file being replaced keeps its mode (a configuration holding a VRRP password may be 0600).
  const fileMode = opts.forceMode ? mode : await stat(path).then((st) => st.mode & 0o777, () => mode);
  const fh = await open(tmp, 'wx', fileMode);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.chmod(fileMode); // open()'s mode is filtered by the umask
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    if (opts.keepPrevious) await keepPrevious(path);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
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
    // Filesystems without hard links (vfat on some boards): copy instead.
    await copyFile(path, prev);
  }
}
