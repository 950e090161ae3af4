// Everything an instance tracks besides interfaces, on the main thread: vrrp_script runs
// (scripts.ts), track_process quorums (track-process.ts) and track_file numbers
// (track-file.ts). Each reports through one path to the VRRP worker
// (VrrpClient.trackedValue(kind, name, value)), where track.ts turns the values into priority and
// FAULT. The daemon starts, stops and replaces them as one.
import type { Config } from '../config/model.ts';
import type { ScriptPolicy } from '../util/script-user.ts';
import type { TrackedKind, TrackedValue } from './engine-config.ts';
import { ScriptRunner } from './scripts.ts';
import { FileTracker } from './track-file.ts';
import { ProcessTracker } from './track-process.ts';

export interface TrackerSink {
  value(kind: TrackedKind, name: string, value: TrackedValue): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
}

/** Only what some instance or sync group tracks is run or watched (keepalived does the same). */
function used(cfg: Config): { scripts: Set<string>; files: Set<string>; processes: Set<string> } {
  const out = { scripts: new Set<string>(), files: new Set<string>(), processes: new Set<string>() };
  for (const o of [...cfg.instances, ...cfg.syncGroups]) {
    for (const t of o.trackScripts) out.scripts.add(t.name);
    for (const t of o.trackFiles) out.files.add(t.name);
    for (const t of o.trackProcesses) out.processes.add(t.name);
  }
  return out;
}

export class Trackers {
  private readonly scripts: ScriptRunner;
  private readonly files: FileTracker;
  private readonly processes: ProcessTracker;

  constructor(private readonly cfg: Config, sink: TrackerSink, policy: () => ScriptPolicy) {
    const u = used(cfg);
    // Every vrrp_script runs, as before (a script nobody tracks still logs its result).
    this.scripts = new ScriptRunner(cfg.scripts, { result: (name, up) => sink.value('script', name, up), log: sink.log }, policy);
    this.files = new FileTracker(cfg.trackFiles.filter((f) => u.files.has(f.name)), { value: (name, v) => sink.value('file', name, v), log: sink.log });
    this.processes = new ProcessTracker(cfg.trackProcesses.filter((p) => u.processes.has(p.name)), { value: (name, up) => sink.value('process', name, up), log: sink.log });
  }

  /** initFiles: track_file's init_file applies at start only, not after a reload (keepalived). */
  start(opts: { initFiles: boolean }): void {
    this.scripts.start();
    void this.files.start(opts);
    this.processes.start();
  }

  stop(): void {
    this.scripts.stop();
    this.files.stop();
    this.processes.stop();
  }

  /** Whether a reload to `next` needs new trackers. */
  changedBy(next: Config): boolean {
    const key = (c: Config): string => JSON.stringify([c.scripts, c.trackFiles, c.trackProcesses, [...Object.values(used(c))].map((s) => [...s])]);
    return key(this.cfg) !== key(next);
  }
}
