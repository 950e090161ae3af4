// Examining a configured program before it runs, as keepalived's check_script_secure does
// (lib/notify.c in keepalived 2.2.7, the reference installed here):
//   - a bare name (no '/') is looked up in PATH the way it will be executed: the first regular
//     file the running user may execute (keepalived find_path, is_executable); keepalived then
//     runs that path and warns "Please specify full path";
//   - the path is resolved (realpath) and the resolved file is what runs; when only the
//     directory part differs and the same name in the resolved directory is the same file
//     (busybox-style links), that name is kept, since some programs behave by their name;
//   - a program that runs as root (uid or gid 0), or is set-uid/set-gid root, must not be
//     changeable by anyone else: every component of the path that runs, from `/`, is checked
//     by keepalived's rule (src/util/path-trust.ts). With enable_script_security such a
//     program is refused; without it keepalived warns and runs it, and so do we.
//   - programs that run as another user are not checked for writability (keepalived: no
//     "need_script_protection"), only found and executable.
import { realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { pathPrefixes, untrustedComponent, type TrustProblem } from './path-trust.ts';
import type { RunAs } from './script-user.ts';

/** libuv's search path when the environment has no PATH (as execvp's default). */
const DEFAULT_PATH = '/usr/bin:/bin';

export interface ScriptExamination {
  /** What to execute: argv[0] found and resolved; the configured argv when it cannot be found. */
  argv: string[];
  /** Why it cannot run as it stands (missing, not executable for its user), or null. */
  unusable: string | null;
  /** keepalived's path-search warning, when a bare name was looked up. */
  searched: string | null;
  /** It runs as root (or is set-uid/gid root), so its path must be root's alone. */
  needsProtection: boolean;
  /** The component someone other than root could change, when it needs protection. */
  insecure: TrustProblem | null;
}

/** keepalived notify.c is_executable: root may run anything with an x bit; others by owner, group, other. */
export function isExecutableBy(st: Stats, uid: number, gid: number): boolean {
  const m = st.mode;
  if (uid === 0) return (m & 0o111) !== 0;
  if (uid === st.uid) return (m & 0o100) !== 0;
  if (gid === st.gid) return (m & 0o010) !== 0;
  return (m & 0o001) !== 0;
}

async function statOrNull(p: string): Promise<Stats | null> {
  try {
    return await stat(p);
  } catch {
    return null;
  }
}

/** PATH search for a bare name, as the program's user would find it (keepalived find_path). */
async function searchPath(name: string, who: RunAs, env: NodeJS.ProcessEnv): Promise<{ path: string | null; denied: boolean }> {
  let denied = false;
  for (const dir of (env.PATH ?? DEFAULT_PATH).split(delimiter)) {
    const candidate = join(dir === '' ? '.' : dir, name);
    const st = await statOrNull(candidate);
    if (!st) continue;
    if (st.isFile() && isExecutableBy(st, who.uid, who.gid)) return { path: resolve(candidate), denied: false };
    denied = true;
  }
  return { path: null, denied };
}

/** The first directory on the way to `abs` that `who` may not search (no x bit for them), or null. */
async function unsearchableDir(abs: string, who: RunAs): Promise<string | null> {
  if (who.uid === 0) return null;
  const dirs = pathPrefixes(abs).slice(0, -1);
  for (const d of dirs) {
    const st = await statOrNull(d);
    if (st && !isExecutableBy(st, who.uid, who.gid)) return `${d} is mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
  }
  return null;
}

export async function examineScript(argv: readonly string[], who: RunAs, env: NodeJS.ProcessEnv = process.env): Promise<ScriptExamination> {
  const rest = argv.slice(1);
  const asIs = (unusable: string, searched: string | null = null): ScriptExamination => ({
    argv: [...argv], unusable, searched, needsProtection: false, insecure: null,
  });
  const name = argv[0] ?? '';
  if (name === '') return asIs('no program');
  let path = name;
  let searched: string | null = null;
  if (!name.includes('/')) {
    const found = await searchPath(name, who, env);
    if (!found.path) return asIs(found.denied ? `${name}: found in PATH but not executable by ${who.label}` : `${name}: not found in PATH`);
    path = found.path;
    searched = `${name} resolved by path search to ${path}; give the full path`;
  }
  path = resolve(path);
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    return asIs(`${path}: cannot be accessed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, searched);
  }
  let exec = real;
  let alsoCheck: string | null = null;
  if (real !== path && basename(real) !== basename(path)) {
    // Keep the name a multi-call binary answers to when it is the same file in the resolved directory.
    const sameName = join(dirname(real), basename(path));
    const [a, b] = await Promise.all([statOrNull(real), statOrNull(sameName)]);
    if (a && b && a.dev === b.dev && a.ino === b.ino) {
      exec = sameName;
      alsoCheck = real;
    }
  }
  const st = await statOrNull(real);
  if (!st) return asIs(`${path}: cannot be accessed`, searched);
  // keepalived resolves the path as the program's user (seteuid around realpath), so a
  // directory that user cannot search makes the program unreachable.
  const blocked = await unsearchableDir(real, who);
  if (blocked) return asIs(`${path}: ${who.label} cannot reach it, ${blocked}`, searched);
  const out: ScriptExamination = { argv: [exec, ...rest], unusable: null, searched, needsProtection: false, insecure: null };
  if (!isExecutableBy(st, who.uid, who.gid)) {
    out.unusable = `${exec}: not executable by ${who.label}`;
    return out;
  }
  out.needsProtection = who.uid === 0 || who.gid === 0
    || (st.uid === 0 && (st.mode & 0o100) !== 0 && (st.mode & 0o4000) !== 0)
    || (st.gid === 0 && (st.mode & 0o010) !== 0 && (st.mode & 0o2000) !== 0);
  if (out.needsProtection) {
    out.insecure = (await untrustedComponent(exec)) ?? (alsoCheck ? await untrustedComponent(alsoCheck) : null);
  }
  return out;
}
