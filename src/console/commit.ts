// Commit, commit confirmed and rollback, shared by every console session (serial and ctl): the
// configuration file and a pending confirmation belong to the board, not to a session, so a
// confirmation deadline survives the session that set it (JunOS `commit confirmed` behaves so).
//
//   commit                 save (atomic, FILE.prev kept) then apply by in-process reload.
//                          When a confirmed commit is pending, `commit` also confirms it.
//   commit confirmed N     the same, and unless `confirm` or `commit` comes within N minutes,
//                          the previous text is saved and applied again.
//   confirm                confirm a pending commit.
//   revert                 (console `rollback` while a confirmed commit is pending) roll back now.
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { ConsoleHost } from './host.ts';

export interface ConfigFileStore {
  /** Atomically replace the configuration file, keeping the previous one. */
  save(text: string): Promise<void>;
}

interface Pending {
  previousText: string;
  deadline: number;
  timer: TimerHandle;
  transport: string;
}

export interface CommitOutcome {
  ok: boolean;
  messages: string[];
}

export class CommitManager {
  private pending: Pending | null = null;
  /** Commits and rollbacks run one at a time, whichever session asks. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly host: ConsoleHost;
  private readonly store: ConfigFileStore;
  private readonly clock: Clock;

  constructor(host: ConsoleHost, store: ConfigFileStore, clock: Clock) {
    this.host = host;
    this.store = store;
    this.clock = clock;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Milliseconds until a pending confirmed commit rolls back, or null. */
  pendingFor(): number | null {
    return this.pending ? Math.max(0, this.pending.deadline - this.clock.now()) : null;
  }

  commit(text: string, transport: string, confirmMinutes: number | null): Promise<CommitOutcome> {
    return this.serial(async () => {
      const before = this.host.runningConfigText();
      const messages: string[] = [];
      if (this.pending && confirmMinutes === null) {
        this.clearPending();
        messages.push('pending commit confirmed');
        this.host.event({ type: 'commit-confirmed', transport });
      }
      if (text !== before) {
        const applied = await this.saveAndApply(text, before);
        if (!applied.ok) return { ok: false, messages: [...messages, ...applied.messages] };
        messages.push('commit complete');
        this.host.event({ type: 'commit', transport, detail: confirmMinutes !== null ? `confirmed ${confirmMinutes}` : undefined });
      } else if (confirmMinutes === null && messages.length === 0) {
        messages.push('no changes to commit');
        return { ok: true, messages };
      }
      if (confirmMinutes !== null) {
        // A second `commit confirmed` extends the deadline but keeps the oldest previous text:
        // rolling back must return to what ran before the first unconfirmed commit.
        const previousText = this.pending ? this.pending.previousText : before;
        this.clearPending();
        const ms = confirmMinutes * 60_000;
        const timer = this.clock.setTimer(() => {
          void this.revert('timeout').catch(() => undefined);
        }, ms);
        this.pending = { previousText, deadline: this.clock.now() + ms, timer, transport };
        messages.push(`commit confirmed: rolled back in ${confirmMinutes} min unless confirmed ('confirm' or 'commit')`);
      }
      return { ok: true, messages };
    });
  }

  confirm(transport: string): Promise<CommitOutcome> {
    return this.serial(async () => {
      if (!this.pending) return { ok: false, messages: ['no commit is waiting for confirmation'] };
      this.clearPending();
      this.host.event({ type: 'commit-confirmed', transport });
      return { ok: true, messages: ['commit confirmed'] };
    });
  }

  /** Roll a pending confirmed commit back now (`rollback`) or when its time is up. */
  revert(why: 'timeout' | string): Promise<CommitOutcome> {
    return this.serial(async () => {
      const p = this.pending;
      if (!p) return { ok: false, messages: ['no commit is waiting for confirmation'] };
      this.clearPending();
      const r = await this.saveAndApply(p.previousText, this.host.runningConfigText());
      this.host.event({
        type: 'commit-rolled-back',
        transport: why === 'timeout' ? p.transport : why,
        detail: why === 'timeout' ? 'not confirmed in time' : 'rollback',
      });
      return r.ok ? { ok: true, messages: ['previous configuration restored'] } : r;
    });
  }

  private clearPending(): void {
    if (this.pending) this.clock.clearTimer(this.pending.timer);
    this.pending = null;
  }

  private async saveAndApply(text: string, before: string): Promise<CommitOutcome> {
    try {
      await this.store.save(text);
    } catch (e) {
      return { ok: false, messages: [`save failed, nothing changed: ${(e as Error).message}`] };
    }
    const r = await this.host.applyConfig(text);
    if (r.ok) return { ok: true, messages: [] };
    // The daemon kept the old configuration running; put the old file back so file and
    // running state agree after a reboot.
    const restore = await this.store.save(before).then(
      () => 'previous file restored',
      (e: unknown) => `restoring the previous file failed: ${(e as Error).message}`,
    );
    return { ok: false, messages: ['apply failed, old configuration still running:', ...r.errors.map((x) => '  ' + x), restore] };
  }
}

export function fileStore(path: string, write: (path: string, text: string) => Promise<void>): ConfigFileStore {
  return { save: (text) => write(path, text) };
}
