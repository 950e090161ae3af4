// What the reporter still has to send, bounded whatever the broker does.
//
// - Retained topics (status, birth, vrrp/*, lb/*/*): only the latest value per topic matters
//   (a subscriber sees the retained value, not the history), so a map topic → value with a
//   dirty flag. Its size is the number of instances and real servers, capped anyway.
// - Events: a ring of `eventCap` (the configuration's `offline_queue`, default 1000); the
//   oldest are dropped first and counted.
// - Health: only the newest few; older samples are worthless once newer ones exist.
// mqtt.js's own queue is never used while offline (the session publishes only when connected,
// with a bound on unacknowledged QoS 1 messages).

import { Ring } from './ring.ts';

export interface HealthSample {
  payload: string;
  atMs: number;
}

export interface OutboxLimits {
  eventCap: number;
  healthCap: number;
  retainedCap: number;
}

export interface OutboxStats {
  retainedTopics: number;
  dirtyTopics: number;
  bufferedEvents: number;
  bufferedHealth: number;
  droppedEvents: number;
  droppedHealth: number;
  droppedRetained: number;
}

interface RetainedEntry {
  payload: string;
  dirty: boolean;
}

export class Outbox {
  private readonly retained = new Map<string, RetainedEntry>();
  private dirtyCount = 0;
  readonly events: Ring<string>;
  readonly health: Ring<HealthSample>;
  private droppedRetained = 0;

  constructor(readonly limits: OutboxLimits) {
    this.events = new Ring<string>(limits.eventCap);
    this.health = new Ring<HealthSample>(limits.healthCap);
  }

  /**
   * Records the latest value of a retained topic. Returns true when it changed (and so needs
   * publishing). An empty payload deletes the retained message at the broker (MQTT 5 §3.3.1.3);
   * the entry is forgotten once that is sent.
   */
  setRetained(topic: string, payload: string): boolean {
    const e = this.retained.get(topic);
    if (e) {
      if (e.payload === payload) return false;
      e.payload = payload;
      if (!e.dirty) {
        e.dirty = true;
        this.dirtyCount++;
      }
      return true;
    }
    if (this.retained.size >= this.limits.retainedCap) {
      this.droppedRetained++;
      return false;
    }
    this.retained.set(topic, { payload, dirty: true });
    this.dirtyCount++;
    return true;
  }

  getRetained(topic: string): string | undefined {
    return this.retained.get(topic)?.payload;
  }

  /** cmd/rebirth and every new connection: everything retained goes out again. */
  markAllDirty(): void {
    for (const e of this.retained.values()) {
      if (!e.dirty) {
        e.dirty = true;
        this.dirtyCount++;
      }
    }
  }

  get hasDirty(): boolean {
    return this.dirtyCount > 0;
  }

  /** Takes up to `max` dirty topics (insertion order: status and birth first), marking them clean. */
  takeDirty(max: number): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [topic, e] of this.retained) {
      if (out.length >= max) break;
      if (!e.dirty) continue;
      e.dirty = false;
      this.dirtyCount--;
      out.push([topic, e.payload]);
      if (e.payload === '') this.retained.delete(topic);
    }
    return out;
  }

  /** A publish failed: mark it dirty again unless a newer value has replaced it meanwhile. */
  failed(topic: string, payload: string): void {
    const e = this.retained.get(topic);
    if (!e) {
      if (payload === '') this.setRetained(topic, payload);
      return;
    }
    if (e.payload === payload && !e.dirty) {
      e.dirty = true;
      this.dirtyCount++;
    }
  }

  stats(): OutboxStats {
    return {
      retainedTopics: this.retained.size,
      dirtyTopics: this.dirtyCount,
      bufferedEvents: this.events.size,
      bufferedHealth: this.health.size,
      droppedEvents: this.events.dropped,
      droppedHealth: this.health.dropped,
      droppedRetained: this.droppedRetained,
    };
  }
}
