// Binding a forwarder's VIP:port, retried until it works: the TCP listener and the UDP socket
// alike. Without ip_nonlocal_bind (README "Listening on the VIP") the VIP can be bound only
// once VRRP has added it (EADDRNOTAVAIL until then), and another listener may hold the port
// (EADDRINUSE): each reason is said once, retried quietly every bindRetryMs, and the success
// after a problem is said too.
import type { EventEmitter } from 'node:events';
import type { TimerHandle } from '../../util/clock.ts';
import type { ForwarderContext } from './types.ts';

/** A net.Server or a dgram.Socket. */
export interface Bindable extends EventEmitter {
  close(): unknown;
}

/**
 * One bind attempt: creates the socket and starts binding it; `bound` is called once it is
 * bound, a bind failure arrives as the socket's 'error' event.
 */
export type BindAttempt<S extends Bindable> = (bound: () => void) => S;

export class RetryingBind<S extends Bindable> {
  private current: S | null = null;
  private retry: TimerHandle | null = null;
  private problem: string | null = null;
  private stopped = false;

  /** `what`: "listen on 192.0.2.10:80/tcp", as the log says it. */
  constructor(
    private readonly what: string,
    private readonly where: string,
    private readonly ctx: ForwarderContext,
    private readonly attempt: BindAttempt<S>,
  ) {}

  /** The bound socket, or null while binding is still being retried. */
  get bound(): S | null {
    return this.current;
  }

  /** Starts binding; resolves once bound, or after the first failure (retries go on in the background). */
  start(): Promise<void> {
    return new Promise((resolve) => this.bind(resolve));
  }

  /** Stops retrying; hands back the bound socket (if any) for its owner to close. */
  stop(): S | null {
    this.stopped = true;
    if (this.retry) this.ctx.clock.clearTimer(this.retry);
    this.retry = null;
    const s = this.current;
    this.current = null;
    return s;
  }

  private bind(done?: () => void): void {
    this.retry = null;
    if (this.stopped) return done?.();
    const s = this.attempt(() => {
      s.removeAllListeners('error');
      s.on('error', (err: Error) => this.ctx.log('warn', `forwarder ${this.where}: ${err.message}`));
      if (this.stopped) {
        s.close();
        return done?.();
      }
      this.current = s;
      if (this.problem) this.ctx.log('info', `forwarder: listening on ${this.where}`);
      this.problem = null;
      done?.();
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      s.close();
      const why = `cannot ${this.what}: ${err.code ?? err.message}; retrying every ${this.ctx.limits.bindRetryMs} ms`;
      if (why !== this.problem) this.ctx.log('warn', `forwarder: ${why}`);
      this.problem = why;
      if (!this.stopped) this.retry = this.ctx.clock.setTimer(() => this.bind(), this.ctx.limits.bindRetryMs);
      done?.();
    });
  }
}
