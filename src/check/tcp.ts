// TCP_CHECK (keepalived check_tcp.c): success when the connection is established, then closed
// at once. connect_ip/connect_port/bindto and connect_timeout as every checker connects
// (connect.ts).

import type { TcpCheck } from '../config/model.ts';
import { connectStream } from './connect.ts';
import { hostPort } from '../util/ip.ts';
import type { CheckResult, CheckTarget } from './types.ts';

export function checkTcp(target: CheckTarget, cfg: Pick<TcpCheck, 'connectTimeoutMs' | 'bindTo'>, signal: AbortSignal): Promise<CheckResult> {
  const started = Date.now();
  const where = `tcp ${hostPort(target.address, target.port)}`;
  const result = (ok: boolean, detail: string): CheckResult => ({ ok, latencyMs: Date.now() - started, detail });
  return connectStream<CheckResult>(
    { target, bindTo: cfg.bindTo, timeoutMs: cfg.connectTimeoutMs, signal },
    { timeout: () => result(false, `${where}: connect timeout after ${cfg.connectTimeoutMs} ms`), cancelled: () => result(false, 'cancelled') },
    (a) => {
      a.connected(() => a.finish(result(true, `${where}: connected`)));
      a.socket.on('error', (e: NodeJS.ErrnoException) => a.finish(result(false, `${where}: ${e.code ?? e.message}`)));
    },
  );
}
