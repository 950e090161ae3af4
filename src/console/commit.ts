// Commit, commit confirmed and rollback, shared by every console session (serial and ctl): the
// configuration file and a pending confirmation belong to the board, not to a session, so a
// confirmation deadline survives the session that set it (JunOS `commit confirmed` behaves so),
// and it survives the daemon too: the pending confirmation is on disk (pending-commit.ts) and a
// daemon that starts with one rolls back at the deadline, at once when it has passed (JunOS
// rolls an unconfirmed commit back after a reboot as well).
//
//   commit                 save (atomic, FILE.prev kept) then apply by in-process reload.
//                          When a confirmed commit is pending, `commit` also confirms it.
//   commit confirmed N     the same, and unless `confirm` or `commit` comes within N minutes,
//                          the previous text is saved and applied again.
//   confirm                confirm a pending commit.
//   revert                 (console `rollback` while a confirmed commit is pending) roll back now.
//
// Order on disk, so that a crash between any two steps is safe: the pending record is written
// before the unconfirmed configuration, and removed only after the confirmation (or after the
// rolled-back configuration is saved). A record left without its configuration rolls back to
// what is already there, which changes nothing.
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { ConsoleHost } from './host.ts';
import type { PendingRecord, PendingStore } from './pending-commit.ts';

export interface ConfigFileStore {
  /** Atomically replace the configuration file, keeping the previous one. */
  save(text: string): Promise<void>;
}

interface Pending {
  record: PendingRecord;
  timer: TimerHandle | null;
  /** Set when a rollback was tried and failed: the pending commit stays until an operator acts. */
  failed: string | null;
}

export interface CommitOutcome {
  ok: boolean;
  messages: string[];
}

/** What the console shows about a pending confirmation (`show status`, the login banner). */
export interface PendingStatus {
  /** Milliseconds until the rollback (0 when it is due or has failed). */
  inMs: number;
  /** Why the last rollback attempt failed, or null. */
  failed: string | null;
}

export interface RollbackNote {
  at: number;
  reason: string;
}

const TIMEOUT = 'not confirmed in time';

export class CommitManager {
  private pending: Pending | null = null;
  private lastRollback: RollbackNote | null = null;
  private problem: string | null = null;
  /** Commits and rollbacks run one at a time, whichever session asks. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly host: ConsoleHost;
  private readonly store: ConfigFileStore;
  private readonly clock: Clock;
  private readonly pendingStore: PendingStore;

  constructor(host: ConsoleHost, store: ConfigFileStore, clock: Clock, pendingStore: PendingStore) {
    this.host = host;
    this.store = store;
    this.clock = clock;
    this.pendingStore = pendingStore;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Milliseconds until a pending confirmed commit rolls back, or null. */
  pendingFor(): number | null {
    return this.pendingStatus()?.inMs ?? null;
  }

  pendingStatus(): PendingStatus | null {
    const p = this.pending;
    if (!p) return null;
    return { inMs: p.failed ? 0 : Math.max(0, p.record.deadline - this.clock.now()), failed: p.failed };
  }

  /** The last rollback of an unconfirmed commit in this daemon's life, until the next commit. */
  lastRolledBack(): RollbackNote | null {
    return this.lastRollback;
  }

  /** A pending record found at start that could not be acted on, or null. */
  recoveryProblem(): string | null {
    return this.problem;
  }

  /**
   * At start: pick up a confirmation left pending by the previous daemon (a crash, a power cut,
   * a restart). Rolls back at its deadline, at once when that has passed.
   */
  recover(): Promise<void> {
    return this.serial(async () => {
      let rec: PendingRecord | null;
      try {
        rec = await this.pendingStore.load();
      } catch (e) {
        this.problem = `pending commit confirmation unreadable, not rolled back: ${(e as Error).message}`;
        this.host.event({ type: 'commit-rollback-failed', transport: 'start', detail: this.problem });
        return;
      }
      if (!rec) return;
      if (rec.configPath !== this.host.configPath) {
        this.problem = `pending commit confirmation ${this.pendingStore.path} is for ${rec.configPath}, not ${this.host.configPath}: not acted on`;
        this.host.event({ type: 'commit-rollback-failed', transport: 'start', detail: this.problem });
        return;
      }
      // What is left of the window, never more than the window itself (see pending-commit.ts).
      const left = Math.min(Math.max(0, rec.deadline - this.clock.now()), rec.durationMs);
      this.pending = { record: { ...rec, deadline: this.clock.now() + left }, timer: null, failed: null };
      if (left === 0) {
        await this.revertNow(rec.transport, `${TIMEOUT}: the deadline passed while the daemon was down`);
        return;
      }
      this.arm(`${TIMEOUT} (the daemon restarted meanwhile)`);
    });
  }

  private arm(reason: string): void {
    const p = this.pending;
    if (!p) return;
    p.timer = this.clock.setTimer(() => {
      void this.serial(() => this.revertNow(p.record.transport, reason)).catch(() => undefined);
    }, Math.max(0, p.record.deadline - this.clock.now()));
  }

  commit(text: string, transport: string, confirmMinutes: number | null): Promise<CommitOutcome> {
    return this.serial(async () => {
      const before = this.host.runningConfigText();
      const messages: string[] = [];
      if (this.pending && confirmMinutes === null) {
        const cleared = await this.clearPending();
        if (!cleared.ok) return cleared;
        messages.push('pending commit confirmed');
        this.host.event({ type: 'commit-confirmed', transport });
      }
      let record: PendingRecord | null = null;
      const old = this.pending?.record ?? null;
      if (confirmMinutes !== null) {
        const ms = confirmMinutes * 60_000;
        const now = this.clock.now();
        // A second `commit confirmed` extends the deadline but keeps the oldest previous text:
        // rolling back must return to what ran before the first unconfirmed commit.
        record = { configPath: this.host.configPath, previousText: old ? old.previousText : before, deadline: now + ms, durationMs: ms, transport, committedAt: now };
        try {
          await this.pendingStore.save(record);
        } catch (e) {
          return { ok: false, messages: [...messages, `cannot save: ${(e as Error).message}; nothing changed`] };
        }
      }
      if (text !== before) {
        const applied = await this.saveAndApply(text, before);
        if (!applied.ok) {
          if (record) await (old ? this.pendingStore.save(old) : this.pendingStore.clear()).catch(() => undefined);
          return { ok: false, messages: [...messages, ...applied.messages] };
        }
        this.lastRollback = null;
        messages.push('commit complete');
        this.host.event({ type: 'commit', transport, detail: confirmMinutes !== null ? `confirmed ${confirmMinutes}` : undefined });
      } else if (confirmMinutes === null && messages.length === 0) {
        messages.push('no changes to commit');
        return { ok: true, messages };
      }
      if (record) {
        this.stopTimer();
        this.pending = { record, timer: null, failed: null };
        this.arm(TIMEOUT);
        messages.push(`commit confirmed: rolled back in ${confirmMinutes} min unless confirmed ('confirm' or 'commit')`);
      }
      return { ok: true, messages };
    });
  }

  confirm(transport: string): Promise<CommitOutcome> {
    return this.serial(async () => {
      if (!this.pending) return { ok: false, messages: ['no commit is waiting for confirmation'] };
      const cleared = await this.clearPending();
      if (!cleared.ok) return cleared;
      this.host.event({ type: 'commit-confirmed', transport });
      return { ok: true, messages: ['commit confirmed'] };
    });
  }

  /** Roll a pending confirmed commit back now (`rollback`). */
  revert(transport: string): Promise<CommitOutcome> {
    return this.serial(() => this.revertNow(transport, 'rollback', transport));
  }

  /** `transport` of the event: who asked (rollback) or who made the commit (timeouts). */
  private async revertNow(transport: string, reason: string, asker?: string): Promise<CommitOutcome> {
    const p = this.pending;
    if (!p) return { ok: false, messages: ['no commit is waiting for confirmation'] };
    this.stopTimer();
    const running = this.host.runningConfigText();
    // A record whose configuration never got saved (a crash between the two writes): what runs
    // is already the previous text.
    const r = p.record.previousText === running ? { ok: true, messages: [] } : await this.saveAndApply(p.record.previousText, running);
    if (!r.ok) {
      p.failed = r.messages.join(' ');
      this.host.event({ type: 'commit-rollback-failed', transport: asker ?? transport, detail: `${reason}: ${p.failed}` });
      return { ok: false, messages: [...r.messages, "the commit stays unconfirmed: 'rollback' tries again, 'confirm' keeps it"] };
    }
    this.pending = null;
    this.lastRollback = { at: this.clock.now(), reason };
    this.host.event({ type: 'commit-rolled-back', transport: asker ?? transport, detail: reason });
    const messages = ['previous configuration restored'];
    // The configuration is back; a record that cannot be removed only makes the next start
    // roll back to what is already there.
    await this.pendingStore.clear().catch((e: Error) => messages.push(`cannot remove ${this.pendingStore.path}: ${e.message}`));
    return { ok: true, messages };
  }

  private stopTimer(): void {
    if (this.pending?.timer) this.clock.clearTimer(this.pending.timer);
    if (this.pending) this.pending.timer = null;
  }

  /** Confirms: the record goes from disk first, or a later start would roll a confirmed commit back. */
  private async clearPending(): Promise<CommitOutcome> {
    try {
      await this.pendingStore.clear();
    } catch (e) {
      return { ok: false, messages: [`cannot confirm: ${(e as Error).message}; the commit would roll back at the next start`] };
    }
    this.stopTimer();
    this.pending = null;
    return { ok: true, messages: [] };
  }

  private async saveAndApply(text: string, before: string): Promise<CommitOutcome> {
    try {
      await this.store.save(text);
    } catch (e) {
      return { ok: false, messages: [`cannot save: ${(e as Error).message}; nothing changed`] };
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
