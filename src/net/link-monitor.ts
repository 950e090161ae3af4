// Link state of the interfaces VRRP depends on (track_interface, the instance's own interface).
// `ip -o monitor link` tells us at once when the kernel sees a change; we then ask for the
// state of that interface. A slow poll backs it up in case the monitor dies or misses a line.
import { spawn, type ChildProcess } from 'node:child_process';
import type { HostNet } from './host.ts';

export type LinkListener = (dev: string, up: boolean) => void;

export class LinkMonitor {
  private state = new Map<string, boolean>();
  private child: ChildProcess | null = null;
  private poll: NodeJS.Timeout | null = null;
  private stopped = false;
  private buf = '';

  constructor(
    private readonly net: HostNet,
    private devs: string[],
    private readonly listener: LinkListener,
    private readonly pollMs = 2000,
  ) {}

  async start(): Promise<Map<string, boolean>> {
    for (const d of this.devs) this.state.set(d, await this.net.linkUp(d));
    this.spawnMonitor();
    this.poll = setInterval(() => void this.refreshAll(), this.pollMs);
    this.poll.unref?.();
    return new Map(this.state);
  }

  /** Watches these interfaces from now on (a reload); new ones report their state once known. */
  watch(devs: readonly string[]): void {
    const added = devs.filter((d) => !this.devs.includes(d));
    this.devs = [...devs];
    for (const d of [...this.state.keys()]) if (!this.devs.includes(d)) this.state.delete(d);
    for (const d of added) void this.refresh(d);
  }

  isUp(dev: string): boolean {
    return this.state.get(dev) ?? false;
  }

  private spawnMonitor(): void {
    if (this.stopped) return;
    const child = spawn('ip', ['-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.buf += chunk;
      if (this.buf.length > 65536) this.buf = this.buf.slice(-4096);
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        // "3: eth0@if12: <BROADCAST,...> ..." or "Deleted 3: eth0: ..."
        const m = /^(?:Deleted\s+)?\d+:\s+([^:@\s]+)/.exec(line);
        if (m && this.devs.includes(m[1]!)) {
          const dev = m[1]!;
          void this.refresh(dev);
          // The netlink event can come a moment before sysfs shows the new carrier: look again
          // shortly, rather than waiting for the next poll.
          setTimeout(() => void this.refresh(dev), 100).unref?.();
        }
      }
    });
    child.on('error', () => undefined);
    child.on('close', () => {
      this.child = null;
      if (!this.stopped) setTimeout(() => this.spawnMonitor(), 1000).unref?.();
    });
  }

  private async refreshAll(): Promise<void> {
    for (const d of this.devs) await this.refresh(d);
  }

  private async refresh(dev: string): Promise<void> {
    if (this.stopped) return;
    const up = await this.net.linkUp(dev);
    if (this.stopped) return;
    if (this.state.get(dev) !== up) {
      this.state.set(dev, up);
      this.listener(dev, up);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    if (this.child?.pid) {
      try {
        this.child.kill('SIGTERM');
      } catch {
        /* gone */
      }
    }
  }
}
