// UDP_CHECK (keepalived check_udp.c, layer4.c udp_socket_state): send the payload (or an
// empty datagram) on a connected socket. A connected UDP socket reports an ICMP port
// unreachable as ECONNREFUSED on the next receive, so:
// - without require_reply: success unless an error (port unreachable) arrives within
//   connect_timeout; any reply is a success too;
// - with require_reply: a reply must arrive within connect_timeout and, when reply bytes are
//   configured, its first min(len, expected) bytes must match (keepalived check_udp_reply).

import { createSocket } from 'node:dgram';
import { ipFamily } from '../util/ip.ts';
import type { UdpCheck } from '../config/model.ts';
import type { CheckResult, CheckTarget } from './types.ts';

/**
 * The model carries require_reply as text: null = no reply needed, '' = any reply, otherwise
 * the expected bytes as hex (keepalived's format; spaces allowed). Text that is not hex is
 * taken as literal bytes.
 */
export function expectedReply(requireReply: string | null): Buffer | null {
  if (requireReply === null) return null;
  const compact = requireReply.replace(/\s+/g, '');
  if (compact.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(compact)) return Buffer.from(compact, 'hex');
  return Buffer.from(requireReply, 'utf8');
}

/** keepalived compares the first min(len, expected) bytes. */
export function replyMatches(reply: Buffer, expected: Buffer): boolean {
  const n = Math.min(reply.length, expected.length);
  return reply.subarray(0, n).equals(expected.subarray(0, n));
}

export function checkUdp(
  target: CheckTarget,
  cfg: Pick<UdpCheck, 'connectTimeoutMs' | 'bindTo' | 'payload' | 'requireReply'>,
  signal: AbortSignal,
): Promise<CheckResult> {
  const started = Date.now();
  const label = `udp ${target.address}:${target.port}`;
  const expected = expectedReply(cfg.requireReply);
  return new Promise((resolve) => {
    let done = false;
    const sock = createSocket(ipFamily(target.address) === 6 ? 'udp6' : 'udp4');
    const finish = (ok: boolean, detail: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve({ ok, latencyMs: Date.now() - started, detail: `${label}: ${detail}` });
    };
    const timer = setTimeout(() => {
      if (expected) finish(false, `no reply within ${cfg.connectTimeoutMs} ms`);
      else finish(true, `no error within ${cfg.connectTimeoutMs} ms`);
    }, cfg.connectTimeoutMs);
    const onAbort = (): void => finish(false, 'cancelled');
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });

    sock.on('error', (e: NodeJS.ErrnoException) => {
      finish(false, e.code === 'ECONNREFUSED' ? 'port unreachable' : (e.code ?? e.message));
    });
    sock.on('message', (msg: Buffer) => {
      if (expected && expected.length > 0 && !replyMatches(msg, expected)) {
        finish(false, `reply mismatch (${msg.length} bytes)`);
      } else {
        finish(true, `reply of ${msg.length} bytes`);
      }
    });
    const doConnect = (): void => {
      sock.connect(target.port, target.address, () => {
        if (done) return;
        sock.send(cfg.payload ?? Buffer.alloc(0), (err) => {
          if (err) finish(false, (err as NodeJS.ErrnoException).code ?? err.message);
        });
      });
    };
    if (cfg.bindTo) sock.bind(0, cfg.bindTo, doConnect);
    else doConnect();
  });
}
