// State changes per VRRP instance since the daemon started: the `transitions total` that
// keepalived's users ask for (keepalived keeps only become_master and release_master, and the
// last transition's time). Counted on the main thread from the worker's state messages, so a
// reload that restarts an instance keeps its count.
export class TransitionTally {
  private readonly counts = new Map<string, number>();

  note(instance: string): void {
    this.counts.set(instance, (this.counts.get(instance) ?? 0) + 1);
  }

  count(instance: string): number {
    return this.counts.get(instance) ?? 0;
  }
}
