// Link state of the interfaces VRRP depends on (track_interface, the instance's own interface,
// the VIPs' interfaces). `ip -o monitor link` tells us at once when the kernel sees a change; we
// then read the state of that interface. A slow poll backs it up in case the monitor dies or
// misses a line. Runs on the VRRP worker thread: nothing here blocks.
import { spawn } from 'node:child_process';
import type { HostNet } from './host.ts';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.ts';

export type LinkListener = (dev: string, up: boolean) => void;

/** A running source of netlink link events, one text line each (`ip -o monitor link`). */
export interface LinkEvents {
  onLine(fn: (line: string) => void): void;
  onClose(fn: () => void): void;
  stop(): void;
}

/** `ip -o monitor link`: one line per link event. */
export function ipMonitorLink(): LinkEvents {
  const child = spawn('ip', ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  const lineFns: Array<(l: string) => void> = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > 65536) buf = buf.slice(-4096);
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      for (const fn of lineFns) fn(line);
    }
  });
  child.on('error', () => undefined);
  return {
    onLine: (fn) => lineFns.push(fn),
    onClose: (fn) => child.on('close', fn),
    stop: () => {
      try {
        child.kill('SIGTERM');
      } catch {
        /* gone */
      }
    },
  };
}

export interface LinkMonitorOptions {
  pollMs?: number;
  clock?: Clock;
  /** Where link events come from (default: `ip -o monitor link`). */
  events?: () => LinkEvents;
}

export class LinkMonitor {
  private state = new Map<string, boolean>();
  private events: LinkEvents | null = null;
  private poll: TimerHandle | null = null;
  private stopped = false;
  private readonly clock: Clock;
  private readonly pollMs: number;
  private readonly source: () => LinkEvents;

  constructor(
    private readonly net: Pick<HostNet, 'linkUp'>,
    private devs: string[],
    private readonly listener: LinkListener,
    opts: LinkMonitorOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.pollMs = opts.pollMs ?? 2000;
    this.source = opts.events ?? ipMonitorLink;
  }

  async start(): Promise<Map<string, boolean>> {
    for (const d of this.devs) this.state.set(d, await this.net.linkUp(d));
    this.listen();
    this.schedulePoll();
    return new Map(this.state);
  }

  /** Watches these interfaces from now on (a reload); new ones report their state once read. */
  watch(devs: readonly string[]): void {
    const added = devs.filter((d) => !this.devs.includes(d));
    this.devs = [...devs];
    for (const d of [...this.state.keys()]) if (!this.devs.includes(d)) this.state.delete(d);
    for (const d of added) void this.refresh(d);
  }

  isUp(dev: string): boolean {
    return this.state.get(dev) ?? false;
  }

  private listen(): void {
    if (this.stopped) return;
    const ev = this.source();
    this.events = ev;
    ev.onLine((line) => {
      // "3: eth0@if12: <BROADCAST,...> ..." or "Deleted 3: eth0: ..."
      const m = /^(?:Deleted\s+)?\d+:\s+([^:@\s]+)/.exec(line);
      if (!m || !this.devs.includes(m[1]!)) return;
      const dev = m[1]!;
      void this.refresh(dev);
      // The netlink event can come a moment before sysfs shows the new carrier: look again
      // shortly, rather than waiting for the next poll.
      this.clock.setTimer(() => void this.refresh(dev), 100);
    });
    ev.onClose(() => {
      if (this.events === ev) this.events = null;
      if (!this.stopped) this.clock.setTimer(() => this.listen(), 1000);
    });
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.poll = this.clock.setTimer(() => {
      void this.refreshAll().finally(() => this.schedulePoll());
    }, this.pollMs);
  }

  private async refreshAll(): Promise<void> {
    for (const d of this.devs) await this.refresh(d);
  }

  private async refresh(dev: string): Promise<void> {
    if (this.stopped || !this.devs.includes(dev)) return;
    const up = await this.net.linkUp(dev);
    if (this.stopped || !this.devs.includes(dev)) return;
    if (this.state.get(dev) !== up) {
      this.state.set(dev, up);
      this.listener(dev, up);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.poll) this.clock.clearTimer(this.poll);
    this.events?.stop();
    this.events = null;
  }
}
