// Removes what crashed lab runs left behind: network namespaces named tdmlab-<tag>-<host> (and
// no others), processes still running inside them, the labs' temp dirs and records. A lab whose
// owning process is still alive is left alone unless --force, so this is safe to run while
// other test files are running.
//
//   node --import tsx scripts/lab-cleanup.ts [--dry-run] [--force]
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  listLabNamespaces, pidAlive, pidsInNamespace, readRecords, removeDirSync, removeNamespacesSync, removeRecord,
  type LabRecord,
} from '../test/lab/registry.ts';

const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
const force = args.includes('--force');
const unknown = args.filter((a) => a !== '--dry-run' && a !== '--force');
if (unknown.length > 0) {
  console.error(`usage: lab-cleanup [--dry-run] [--force]  (unknown: ${unknown.join(' ')})`);
  process.exit(2);
}
if (process.getuid && process.getuid() !== 0) {
  console.error('lab-cleanup needs root (ip netns)');
  process.exit(1);
}

// Scan order matters, because labs are being built concurrently: a lab makes its temp dir, then
// its record, then its namespaces. Scanning in the opposite order (temp dirs, namespaces,
// records) means every namespace seen belongs to a record that is already readable, so a lab
// under construction is never mistaken for a leftover. A temp dir may still be seen before its
// record exists; those are only removed once they are a minute old.
const tmpByTag = new Map<string, string[]>();
const now = Date.now();
for (const n of safeReaddir(tmpdir())) {
  // Only the lab's own naming pattern, tandem-lab-<tag>-XXXXXX.
  const m = /^tandem-lab-([a-z0-9]{6})-[A-Za-z0-9]{6}$/.exec(n);
  if (!m) continue;
  const p = join(tmpdir(), n);
  tmpByTag.set(m[1]!, [...(tmpByTag.get(m[1]!) ?? []), p]);
}
const byTag = new Map<string, string[]>();
for (const { ns, tag } of listLabNamespaces()) byTag.set(tag, [...(byTag.get(tag) ?? []), ns]);
const records = new Map<string, LabRecord>(readRecords().map((r) => [r.tag, r]));
for (const tag of records.keys()) if (!byTag.has(tag)) byTag.set(tag, []);
for (const [tag, dirs] of tmpByTag) {
  if (byTag.has(tag) || records.has(tag)) continue;
  if (dirs.every((d) => now - mtimeMs(d) > 60_000)) byTag.set(tag, []);
}

let removed = 0;
let kept = 0;
for (const [tag, namespaces] of byTag) {
  const rec = records.get(tag);
  if (rec && pidAlive(rec.pid) && rec.pid !== process.pid && !force) {
    console.log(`keep   ${tag} "${rec.name}": owner pid ${rec.pid} is alive (use --force to remove anyway)`);
    kept++;
    continue;
  }
  const dirs = [...(tmpByTag.get(tag) ?? [])];
  if (rec?.tmpDir && /\/tandem-lab-[a-z0-9]{6}-[A-Za-z0-9]{6}$/.test(rec.tmpDir) && !dirs.includes(rec.tmpDir)) dirs.push(rec.tmpDir);
  const pids = namespaces.flatMap((ns) => pidsInNamespace(ns));
  console.log(`${dryRun ? 'would remove' : 'remove'} ${tag}${rec ? ` "${rec.name}"` : ''}: ` +
    `namespaces [${namespaces.join(' ')}]${pids.length ? `, kill pids [${pids.join(' ')}]` : ''}${dirs.length ? `, dirs [${dirs.join(' ')}]` : ''}`);
  if (dryRun) continue;
  removeNamespacesSync(namespaces);
  for (const d of dirs) removeDirSync(d);
  removeRecord(tag);
  removed++;
}
console.log(`${dryRun ? 'dry run: ' : ''}${removed} lab(s) removed, ${kept} kept`);

function safeReaddir(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

function mtimeMs(p: string): number {
  try { return statSync(p).mtimeMs; } catch { return 0; }
}
