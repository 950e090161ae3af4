// TCP_CHECK (keepalived check_tcp.c): success when the connection is established, then closed
// at once. connect_ip/connect_port/bindto are honoured by the caller's target and `bindTo`.
// Bounded by connect_timeout.

import { connect } from 'node:net';
import type { TcpCheck } from '../config/model.ts';
import type { CheckResult, CheckTarget } from './types.ts';

export function checkTcp(target: CheckTarget, cfg: Pick<TcpCheck, 'connectTimeoutMs' | 'bindTo'>, signal: AbortSignal): Promise<CheckResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const sock = connect({
      host: target.address,
      port: target.port,
      ...(cfg.bindTo ? { localAddress: cfg.bindTo } : {}),
    });
    const finish = (ok: boolean, detail: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve({ ok, latencyMs: Date.now() - started, detail });
    };
    const timer = setTimeout(() => finish(false, `tcp ${target.address}:${target.port}: connect timeout after ${cfg.connectTimeoutMs} ms`), cfg.connectTimeoutMs);
    const onAbort = (): void => finish(false, 'cancelled');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => finish(true, `tcp ${target.address}:${target.port}: connected`));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(false, `tcp ${target.address}:${target.port}: ${e.code ?? e.message}`));
  });
}
