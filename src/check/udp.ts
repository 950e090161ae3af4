// UDP_CHECK (keepalived check_udp.c, layer4.c udp_socket_state): send the payload (or an
// empty datagram) on a connected socket (connect.ts). A connected UDP socket reports an ICMP
// port unreachable as ECONNREFUSED on the next receive, so:
// - without require_reply: success unless an error (port unreachable) arrives within
//   connect_timeout; any reply is a success too;
// - with require_reply: a reply must arrive within connect_timeout and, when reply bytes are
//   configured, its first min(len, expected) bytes must match (keepalived check_udp_reply).

import type { UdpCheck } from '../config/model.ts';
import type { CheckResult, CheckTarget } from './types.ts';
import { connectDatagram } from './connect.ts';
import { hostPort } from '../util/ip.ts';

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
  const label = `udp ${hostPort(target.address, target.port)}`;
  const expected = expectedReply(cfg.requireReply);
  const result = (ok: boolean, detail: string): CheckResult => ({ ok, latencyMs: Date.now() - started, detail: `${label}: ${detail}` });
  return connectDatagram<CheckResult>(
    { target, bindTo: cfg.bindTo, timeoutMs: cfg.connectTimeoutMs, signal },
    {
      timeout: () => (expected ? result(false, `no reply within ${cfg.connectTimeoutMs} ms`) : result(true, `no error within ${cfg.connectTimeoutMs} ms`)),
      cancelled: () => result(false, 'cancelled'),
    },
    (a) => {
      const sock = a.socket;
      sock.on('error', (e: NodeJS.ErrnoException) => {
        a.finish(result(false, e.code === 'ECONNREFUSED' ? 'port unreachable' : (e.code ?? e.message)));
      });
      sock.on('message', (msg: Buffer) => {
        if (expected && expected.length > 0 && !replyMatches(msg, expected)) a.finish(result(false, `reply mismatch (${msg.length} bytes)`));
        else a.finish(result(true, `reply of ${msg.length} bytes`));
      });
      a.connected(() => {
        sock.send(cfg.payload ?? Buffer.alloc(0), (err) => {
          if (err) a.finish(result(false, (err as NodeJS.ErrnoException).code ?? err.message));
        });
      });
    },
  );
}
