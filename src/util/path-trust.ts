// Can someone other than root change what lives at this path? One rule for the two places that
// trust a file because of where it is: scripts that run as root (keepalived's check_security in
// notify.c, used under enable_script_security) and the control socket's directory.
//
// keepalived's rule, applied to every component from `/` to the file itself: the owner must be
// root; a directory must not be writable by group (unless the group is root) or by others,
// unless it has the sticky bit (then nobody can remove or rename what root put there, as in
// /tmp); the file itself must not be writable by a non-root group or by others. Components are
// looked at with lstat: a symlink is never followed here; callers resolve the path first
// (realpath) when it is the target that matters.
import { lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { sep } from 'node:path';

export interface TrustProblem {
  /** The component at fault (a directory on the way, or the file itself). */
  path: string;
  /** Why, in words, e.g. "writable by others (mode 0777)". */
  why: string;
}

export interface TrustOptions {
  /** Owners trusted besides root (the daemon's own uid when it does not run as root). Default none. */
  owners?: readonly number[];
  /** What the last component must be; default any type keepalived accepts (file or symlink). */
  last?: 'file' | 'dir' | 'socket' | 'any';
  /**
   * The last component must not be group- or world-writable at all, sticky or root group or not
   * (a socket's own directory: whoever can write it can replace the socket).
   */
  strictLast?: boolean;
  /**
   * A symlink on the way (not the last component) is refused by default, as keepalived refuses
   * it; 'root-owned' accepts one owned by root (its directory was checked one step before),
   * for a path the caller also checks resolved.
   */
  symlinksOnTheWay?: 'refuse' | 'root-owned';
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** The components of an absolute path, from `/` to the path itself. */
export function pathPrefixes(abs: string): string[] {
  const parts = abs.split(sep).filter((p) => p !== '');
  const out = ['/'];
  let cur = '';
  for (const p of parts) {
    cur += `/${p}`;
    out.push(cur);
  }
  return out;
}

/**
 * What is wrong with one component, or null. keepalived notify.c check_security: owner not root,
 * or (a directory without the sticky bit, or a regular file) writable by a non-root group or by
 * others.
 */
export function componentProblem(st: Stats, opts: { owners?: readonly number[]; strict?: boolean } = {}): string | null {
  const owners = opts.owners ?? [];
  if (st.uid !== 0 && !owners.includes(st.uid)) return `owned by uid ${st.uid}, not root`;
  const mode = st.mode;
  if (opts.strict) {
    if (mode & 0o022) return `writable by ${mode & 0o002 ? 'others' : 'its group'} (mode ${octal(mode)})`;
    return null;
  }
  const checked = (st.isDirectory() && !(mode & 0o1000)) || st.isFile();
  if (!checked) return null;
  if (mode & 0o002) return `writable by others (mode ${octal(mode)})`;
  if (st.gid !== 0 && mode & 0o020) return `writable by group ${st.gid} (mode ${octal(mode)})`;
  return null;
}

/**
 * Walks `abs` (absolute) from `/` and returns the first component someone other than root could
 * change, or null when there is none. A component that cannot be looked at is a problem too.
 */
export async function untrustedComponent(abs: string, opts: TrustOptions = {}): Promise<TrustProblem | null> {
  if (!abs.startsWith('/')) return { path: abs, why: 'not an absolute path' };
  const all = pathPrefixes(abs);
  for (let i = 0; i < all.length; i++) {
    const p = all[i]!;
    const isLast = i === all.length - 1;
    let st: Stats;
    try {
      st = await lstat(p);
    } catch (e) {
      return { path: p, why: `cannot be examined (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
    if (!isLast) {
      // keepalived: "If it is not the last item, it must be a directory" (a symlink on the way
      // means the path was not resolved first).
      if (st.isSymbolicLink() && opts.symlinksOnTheWay === 'root-owned') {
        if (st.uid !== 0 && !(opts.owners ?? []).includes(st.uid)) return { path: p, why: `is a symbolic link owned by uid ${st.uid}` };
        continue;
      }
      if (!st.isDirectory()) return { path: p, why: st.isSymbolicLink() ? 'is a symbolic link' : 'is not a directory' };
    } else {
      const want = opts.last ?? 'any';
      if (want === 'dir' && !st.isDirectory()) return { path: p, why: st.isSymbolicLink() ? 'is a symbolic link' : 'is not a directory' };
      if (want === 'socket' && !st.isSocket()) return { path: p, why: st.isSymbolicLink() ? 'is a symbolic link' : 'is not a socket' };
      if (want === 'file' && !st.isFile()) return { path: p, why: st.isSymbolicLink() ? 'is a symbolic link' : 'is not a regular file' };
      if (want === 'any' && !st.isFile() && !st.isSymbolicLink()) return { path: p, why: 'is not a regular file' };
    }
    const why = componentProblem(st, { owners: opts.owners, strict: isLast && opts.strictLast });
    if (why) return { path: p, why };
  }
  return null;
}

/** The owners a process trusts besides root: itself, when it is not root. */
export function selfOwners(): number[] {
  const uid = process.geteuid?.() ?? 0;
  return uid === 0 ? [] : [uid];
}
