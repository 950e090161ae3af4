// Bookkeeping so that nothing a lab made outlives it: each lab writes a small record (owner PID,
// namespaces, temp dir) before it creates anything, and the synchronous teardown here is what
// the process 'exit' hook and scripts/lab-cleanup.ts use. Synchronous on purpose: in an 'exit'
// hook no async work runs any more.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSyncQuiet } from './command.ts';
import { NS_RE } from './topology.ts';

/** /run is a tmpfs cleared at boot, which is the right lifetime for these records. */
export const REGISTRY_DIR = process.env.TANDEM_LAB_REGISTRY ?? '/run/tandem-lab';

export interface LabRecord {
  tag: string;
  name: string;
  /** PID of the process that owns the lab (the test file). */
  pid: number;
  namespaces: string[];
  tmpDir: string;
  created: string;
}

export function writeRecord(r: LabRecord): void {
  mkdirSync(REGISTRY_DIR, { recursive: true, mode: 0o700 });
  writeFileSync(join(REGISTRY_DIR, `${r.tag}.json`), JSON.stringify(r, null, 2) + '\n');
}

export function removeRecord(tag: string): void {
  rmSync(join(REGISTRY_DIR, `${tag}.json`), { force: true });
}

export function readRecords(): LabRecord[] {
  let names: string[];
  try { names = readdirSync(REGISTRY_DIR); } catch { return []; }
  const out: LabRecord[] = [];
  for (const n of names) {
    if (!/^[a-z0-9]{6}\.json$/.test(n)) continue;
    try {
      const r = JSON.parse(readFileSync(join(REGISTRY_DIR, n), 'utf8')) as LabRecord;
      if (typeof r.tag === 'string' && typeof r.pid === 'number') out.push(r);
    } catch { /* a half-written or foreign file: the namespace scan still finds its namespaces */ }
  }
  return out;
}

/** Lab namespaces that exist right now (only names matching NS_RE), with their tags. */
export function listLabNamespaces(): { ns: string; tag: string }[] {
  const out = runSyncQuiet('ip', ['netns', 'list']) ?? '';
  const found: { ns: string; tag: string }[] = [];
  for (const line of out.split('\n')) {
    const ns = line.trim().split(/\s+/)[0] ?? '';
    const m = NS_RE.exec(ns);
    if (m) found.push({ ns, tag: m[1]! });
  }
  return found;
}

/**
 * True when the process exists and is not a zombie. A zombie counts as dead: in a container whose
 * PID 1 does not reap orphans, a killed orphan stays a zombie forever.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/PID/stat: "pid (comm) S …"; comm may hold spaces or parens, so split at the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * PIDs of processes inside a namespace. Every process in a lab namespace was started by the lab
 * or by something the lab started (a daemon's children), so these are ours to kill.
 */
export function pidsInNamespace(ns: string): number[] {
  const out = runSyncQuiet('ip', ['netns', 'pids', ns]) ?? '';
  return out.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number).filter((p) => p !== process.pid);
}

/** Synchronous best-effort removal of namespaces: SIGKILL what runs inside, then delete. */
export function removeNamespacesSync(namespaces: readonly string[], extraPids: readonly number[] = []): void {
  for (const pid of extraPids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const ns of namespaces) {
    for (const pid of pidsInNamespace(ns)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
  // Deleting a switch namespace destroys its veth ends and with them the peers in the hosts.
  for (const ns of namespaces) runSyncQuiet('ip', ['netns', 'del', ns]);
}

export function removeDirSync(dir: string): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
