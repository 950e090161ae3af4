// track_file (keepalived.conf(5) "Track files"; keepalived/trackers/track_file.c): the number in a
// file, read whenever the file is written, moved in or removed, reported through the one
// tracked-value path (VrrpClient.trackedValue('file', NAME, number)); track.ts turns it into a
// weight or FAULT. On the main thread, with async reads only.
//
// keepalived watches the file's directory with inotify (IN_CLOSE_WRITE, IN_DELETE, IN_MOVE);
// fs.watch on the directory is the same inotify watch. A file that is missing or holds no
// number reads as 0, as in keepalived; a number outside the 32-bit range is ignored (the last
// value stays). Because a watch can miss events on some filesystems (keepalived refuses those),
// the files are also read again every REREAD_MS.
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { TrackFile } from '../config/model.ts';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.ts';

/**
 * The number at the start of the text, as C's strtol(text, NULL, 0) reads it: leading blanks,
 * a sign, 0x for hex, a leading 0 for octal; no digits: 0. null when outside 32 bits
 * (keepalived: "Invalid number … - ignoring").
 */
export function parseTrackNumber(text: string): number | null {
  const m = /^[\s]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)?/.exec(text);
  const digits = m?.[2];
  if (!digits) return 0;
  const sign = m[1] === '-' ? -1 : 1;
  const v = sign * (/^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.startsWith('0') ? parseInt(digits, 8) : parseInt(digits, 10));
  // keepalived accepts INT32_MIN .. INT32_MAX + 1.
  if (!Number.isFinite(v) || v < -(2 ** 31) || v > 2 ** 31) return null;
  return v;
}

export interface FileTrackerHooks {
  value(name: string, value: number): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
}

/** A safety net for events a watch missed. */
export const REREAD_MS = 10_000;

/** The files of every track_file block, watched by directory. */
export class FileTracker {
  private readonly last = new Map<string, number>();
  private readonly watchers: FSWatcher[] = [];
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(
    private readonly files: readonly TrackFile[],
    private readonly hooks: FileTrackerHooks,
    private readonly clock: Clock = systemClock,
    private readonly rereadMs = REREAD_MS,
  ) {}

  /**
   * init_file first (at start only, never on a reload, as keepalived: a file that exists is
   * overwritten only with `overwrite`), then the watches and a first read of each file.
   */
  async start(opts: { initFiles: boolean }): Promise<void> {
    if (opts.initFiles) for (const f of this.files) if (f.initFile) await this.init(f);
    const dirs = new Map<string, TrackFile[]>();
    for (const f of this.files) dirs.set(dirname(f.file), [...(dirs.get(dirname(f.file)) ?? []), f]);
    for (const [dir, files] of dirs) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          const n = name === null ? null : String(name);
          for (const f of files) if (n === null || n === basename(f.file)) void this.read(f);
        });
        w.on('error', (err) => this.hooks.log('warn', `track_file: watching ${dir}: ${err.message}; read every ${this.rereadMs / 1000} s instead`));
        this.watchers.push(w);
      } catch (err) {
        this.hooks.log('warn', `track_file: cannot watch ${dir} (${(err as Error).message}); read every ${this.rereadMs / 1000} s instead`);
      }
    }
    await Promise.all(this.files.map((f) => this.read(f)));
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.files.length === 0) return;
    this.timer = this.clock.setTimer(() => {
      void Promise.all(this.files.map((f) => this.read(f))).then(() => this.schedule());
    }, this.rereadMs);
  }

  private async init(f: TrackFile): Promise<void> {
    const exists = await stat(f.file).then((s) => s, () => null);
    if (exists && !f.initFile!.overwrite) return;
    if (exists && !exists.isFile()) {
      this.hooks.log('warn', `track_file ${f.name}: cannot initialise ${f.file}: it is not a regular file`);
      return;
    }
    try {
      await writeFile(f.file, `${f.initFile!.value}\n`, { mode: 0o644 });
    } catch (err) {
      this.hooks.log('warn', `track_file ${f.name}: unable to initialise ${f.file}: ${(err as Error).message}`);
    }
  }

  /** Reads one file and reports its number when it changed (the first read always). */
  async read(f: TrackFile): Promise<void> {
    let value: number | null;
    try {
      value = parseTrackNumber((await readFile(f.file, 'utf8')).slice(0, 127));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.hooks.log('warn', `track_file ${f.name}: reading ${f.file}: ${(err as Error).message}; taken as 0`);
      value = 0;
    }
    if (this.stopped) return;
    if (value === null) {
      this.hooks.log('warn', `track_file ${f.name}: ${f.file} holds a number outside 32 bits; ignored`);
      return;
    }
    if (this.last.get(f.name) === value) return;
    this.last.set(f.name, value);
    this.hooks.log('info', `track_file ${f.name}: ${f.file} reads ${value}`);
    this.hooks.value(f.name, value);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers.splice(0)) w.close();
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
  }
}
