// Firmware image manifest: what was built (versions, commit, board) and the SHA-256 and size
// of every file, so an unpacked image can be checked on the bench or on the board before it
// runs. MANIFEST.json itself is the one file it does not list.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export const MANIFEST_NAME = 'MANIFEST.json';

export interface ManifestFile {
  /** path relative to the image root, '/'-separated */
  path: string;
  size: number;
  sha256: string;
  /** permission bits, octal string ("755" for executables) */
  mode: string;
}

export interface ImageMeta {
  name: string;
  version: string;
  commit: string;
  board: string;
  arch: string;
  /** libc the bundled Node.js and addons are linked against (npm's Node builds are glibc) */
  libc: string;
  /** libc of the board's userland; when it differs, the image carries its own glibc */
  boardLibc: string;
  node: string;
  rawSocket: string;
  serialport: string;
  serialportBindings: string;
  serialportPrebuild: string;
  sourceDateEpoch: number;
}

export interface Manifest extends ImageMeta {
  manifestVersion: 1;
  files: ManifestFile[];
}

export interface VerifyResult {
  ok: boolean;
  missing: string[];
  extra: string[];
  changed: { path: string; why: string }[];
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Lists regular files under root (sorted by path); symlinks are refused, since an image
 *  must not point outside itself and tar would store them without content to hash. */
export async function listFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  for (const e of entries) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else if (e.isFile()) out.push(p);
    else if (e.isSymbolicLink()) throw new Error(`${p}: symbolic link to ${await readlink(join(root, p))} in image`);
    else throw new Error(`${p}: not a regular file`);
  }
  return out.sort();
}

async function describe(root: string, path: string): Promise<ManifestFile> {
  const full = join(root, path);
  const st = await lstat(full);
  return { path, size: st.size, sha256: await sha256File(full), mode: (st.mode & 0o777).toString(8) };
}

/** Builds the manifest for an image directory (MANIFEST.json excluded). */
export async function buildManifest(root: string, meta: ImageMeta): Promise<Manifest> {
  const paths = (await listFiles(root)).filter((p) => p !== MANIFEST_NAME);
  const files: ManifestFile[] = [];
  for (const p of paths) files.push(await describe(root, p));
  return { manifestVersion: 1, ...meta, files };
}

/** Serialised the same way every time (stable key order from the object literal, sorted files). */
export function serializeManifest(m: Manifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}

/** Parses MANIFEST.json text; a malformed manifest is an Error naming what is wrong. */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${MANIFEST_NAME}: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new Error(`${MANIFEST_NAME}: not an object`);
  const m = raw as Partial<Manifest>;
  if (m.manifestVersion !== 1) throw new Error(`${MANIFEST_NAME}: unsupported manifestVersion ${String(m.manifestVersion)}`);
  if (!Array.isArray(m.files)) throw new Error(`${MANIFEST_NAME}: "files" missing`);
  for (const f of m.files) {
    if (typeof f?.path !== 'string' || typeof f.size !== 'number' || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) {
      throw new Error(`${MANIFEST_NAME}: bad file entry ${JSON.stringify(f)}`);
    }
    if (f.path.startsWith('/') || f.path.split('/').includes('..')) throw new Error(`${MANIFEST_NAME}: path escapes the image: ${f.path}`);
  }
  return m as Manifest;
}

/** Checks an unpacked image against its MANIFEST.json: missing, extra and changed files. */
export async function verifyImage(root: string): Promise<VerifyResult> {
  const manifest = parseManifest(await readFile(join(root, MANIFEST_NAME), 'utf8'));
  const present = new Set((await listFiles(root)).filter((p) => p !== MANIFEST_NAME));
  const missing: string[] = [];
  const changed: { path: string; why: string }[] = [];
  for (const f of manifest.files) {
    if (!present.has(f.path)) {
      missing.push(f.path);
      continue;
    }
    present.delete(f.path);
    const d = await describe(root, f.path);
    if (d.size !== f.size) changed.push({ path: f.path, why: `size ${d.size}, manifest says ${f.size}` });
    else if (d.sha256 !== f.sha256) changed.push({ path: f.path, why: `sha256 ${d.sha256}, manifest says ${f.sha256}` });
    else if (f.mode !== undefined && d.mode !== f.mode) changed.push({ path: f.path, why: `mode ${d.mode}, manifest says ${f.mode}` });
  }
  const extra = [...present].sort();
  return { ok: missing.length === 0 && extra.length === 0 && changed.length === 0, missing, extra, changed };
}
