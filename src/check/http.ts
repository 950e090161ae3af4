// HTTP_GET and SSL_GET (keepalived check_http.c, check_ssl.c).
// Every url of the checker is fetched in turn; the check fails on the first url that fails.
// For each url: connect (TLS for SSL_GET, no certificate verification: keepalived does not
// verify; SNI = the virtualhost when enable_sni), send the GET, check the status against
// status_code ranges (default 200-299), and when a digest is set, the MD5 of the body.
// Each url is bounded by connect_timeout as a whole (keepalived applies it to the connect and
// to each read; a whole-request bound also catches a server that trickles bytes).
// The body is read only when a digest needs it, and never beyond MAX_BODY_BYTES.

import { createHash } from 'node:crypto';
import type { HttpCheck, HttpUrl } from '../config/model.ts';
import type { CheckResult, CheckTarget } from './types.ts';
import { connectStream } from './connect.ts';
import { hostPort } from '../util/ip.ts';
import {
  buildRequest,
  decodeChunked,
  describeRanges,
  MAX_BODY_BYTES,
  parseHead,
  statusAccepted,
  type Head,
} from './http-response.ts';

/** keepalived's Host/SNI precedence: url, checker, (real server,) virtual server. */
export function virtualhostFor(url: HttpUrl, cfg: HttpCheck, target: CheckTarget): string | null {
  return url.virtualhost ?? cfg.virtualhost ?? target.virtualhost ?? null;
}

export async function checkHttp(target: CheckTarget, cfg: HttpCheck, signal: AbortSignal): Promise<CheckResult> {
  const started = Date.now();
  const urls = cfg.urls.length > 0 ? cfg.urls : [];
  if (urls.length === 0) return { ok: false, latencyMs: 0, detail: `${cfg.kind}: no url configured` };
  let last = '';
  for (const url of urls) {
    const r = await fetchOne(target, cfg, url, signal);
    if (!r.ok) return { ok: false, latencyMs: Date.now() - started, detail: r.detail };
    last = r.detail;
  }
  return { ok: true, latencyMs: Date.now() - started, detail: last };
}

interface UrlOutcome {
  ok: boolean;
  detail: string;
}

function fetchOne(target: CheckTarget, cfg: HttpCheck, url: HttpUrl, signal: AbortSignal): Promise<UrlOutcome> {
  const vhost = virtualhostFor(url, cfg, target);
  // RFC 9110 §7.2 / RFC 3986 §3.2.2: an IPv6 literal goes in brackets, in Host and in the URL.
  const hostHeader = vhost ?? hostPort(target.address, target.port);
  const label = `${cfg.kind} ${cfg.kind === 'SSL_GET' ? 'https' : 'http'}://${hostPort(target.address, target.port)}${url.path}`;
  const request = buildRequest(url.path, cfg.httpProtocol, hostHeader);
  const wantBody = url.digest !== null;

  let head: Head | null = null;
  const outcome = (ok: boolean, detail: string): UrlOutcome => ({ ok, detail: `${label}: ${detail}` });
  return connectStream<UrlOutcome>(
    {
      target, bindTo: cfg.bindTo, timeoutMs: cfg.connectTimeoutMs, signal,
      ...(cfg.kind === 'SSL_GET' ? { tls: { servername: cfg.enableSni && vhost ? vhost : '' } } : {}),
    },
    {
      timeout: () => outcome(false, head ? `timeout after ${cfg.connectTimeoutMs} ms reading the body` : `timeout after ${cfg.connectTimeoutMs} ms`),
      cancelled: () => outcome(false, 'cancelled'),
    },
    (a) => {
      const sock = a.socket;
      const finish = (ok: boolean, detail: string): void => a.finish(outcome(ok, detail));
      a.connected(() => sock.write(request));
      let buf: Buffer = Buffer.alloc(0);

      const judgeBody = (body: Buffer): void => {
        const want = (url.digest ?? '').toLowerCase();
        const md5 = createHash('md5').update(body).digest('hex');
        if (md5 === want) finish(true, `status ${head?.status ?? '?'}, digest ok`);
        else finish(false, `digest mismatch: got ${md5}, want ${want}`);
      };

      /** Judge what we have; `eof` when the server closed. */
      const step = (eof: boolean): void => {
        if (a.done) return;
        if (!head) {
          const p = parseHead(buf);
          if (p.kind === 'error') return finish(false, `garbage reply: ${p.error}`);
          if (p.kind === 'incomplete') {
            if (eof) return finish(false, buf.length === 0 ? 'connection closed without a reply' : 'connection closed in the reply head');
            return;
          }
          head = p.head;
          buf = buf.subarray(head.bodyStart);
          if (!statusAccepted(head.status, url.statusCodes)) {
            return finish(false, `status ${head.status} not in ${describeRanges(url.statusCodes)}`);
          }
          if (!wantBody) return finish(true, `status ${head.status}`);
        }
        const te = head.headers.get('transfer-encoding')?.toLowerCase();
        const cl = head.headers.get('content-length');
        if (te && te.includes('chunked')) {
          const c = decodeChunked(buf);
          if (c.kind === 'error') return finish(false, `garbage reply: ${c.error}`);
          if (c.kind === 'done') return judgeBody(c.body);
          if (eof) return finish(false, 'connection closed in a chunked body');
        } else if (cl !== undefined) {
          const n = Number(cl);
          if (!Number.isInteger(n) || n < 0) return finish(false, `garbage reply: bad Content-Length ${JSON.stringify(cl.slice(0, 20))}`);
          if (n > MAX_BODY_BYTES) return finish(false, `body of ${n} bytes exceeds the ${MAX_BODY_BYTES}-byte cap`);
          if (buf.length >= n) return judgeBody(buf.subarray(0, n));
          if (eof) return finish(false, `connection closed after ${buf.length} of ${n} body bytes`);
        } else if (eof) {
          return judgeBody(buf);
        }
      };

      sock.on('data', (d: Buffer) => {
        if (a.done) return;
        // Cap what we hold: the head limit is enforced by parseHead, the body limit here
        // (plus slack for chunk framing).
        if (buf.length + d.length > MAX_BODY_BYTES + 64 * 1024) {
          return finish(false, `body exceeds the ${MAX_BODY_BYTES}-byte cap`);
        }
        buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
        step(false);
      });
      sock.once('end', () => step(true));
      sock.once('close', () => step(true));
      sock.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
    },
  );
}
