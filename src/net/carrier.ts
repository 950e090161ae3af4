// Is an interface up with carrier? Read from sysfs, not by spawning `ip`: the link monitor asks
// every couple of seconds (its backup to `ip monitor`), from the VRRP thread, where each async
// file read is a round trip through libuv's thread pool and a wake-up of the thread. A whole
// readFile is four of them (open, fstat, read, close); this keeps one descriptor per interface
// open and re-reads it from offset 0 (sysfs renders the attribute afresh on every read at 0),
// one round trip per question.
//
// /sys/class/net/DEV/carrier alone answers both halves: the kernel refuses to show it (EINVAL)
// while the interface is administratively down (carrier_show: !netif_running), and shows 1 only
// with carrier. A descriptor of an interface that was removed fails (ENODEV): it is closed and
// the next question opens the new interface of that name, if any.
import { open, type FileHandle } from 'node:fs/promises';

export class CarrierReader {
  private readonly fds = new Map<string, Promise<FileHandle | null>>();
  private closed = false;

  constructor(private readonly root = '/sys/class/net') {}

  async up(dev: string): Promise<boolean> {
    // An interface name as the kernel takes it, never a path.
    if (this.closed || !/^[\w.@-]{1,15}$/.test(dev)) return false;
    let fd = this.fds.get(dev);
    if (!fd) {
      fd = open(`${this.root}/${dev}/carrier`, 'r').catch(() => null);
      this.fds.set(dev, fd);
    }
    const fh = await fd;
    if (!fh) {
      this.forget(dev, fd); // missing now: ask again next time
      return false;
    }
    const buf = Buffer.alloc(8); // one per question: two may be in flight at once
    try {
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return buf.toString('latin1', 0, bytesRead).trim() === '1';
    } catch (err) {
      // Down (EINVAL): the descriptor stays good. Anything else (ENODEV: the interface is gone):
      // start again with a fresh open.
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') {
        this.forget(dev, fd);
        void fh.close().catch(() => undefined);
      }
      return false;
    }
  }

  /** Drops the descriptor of `dev` if it is still this one (a newer one may have replaced it). */
  private forget(dev: string, fd: Promise<FileHandle | null>): void {
    if (this.fds.get(dev) === fd) this.fds.delete(dev);
  }

  close(): void {
    this.closed = true;
    for (const fd of this.fds.values()) void fd.then((fh) => fh?.close()).catch(() => undefined);
    this.fds.clear();
  }
}
