// Pure pieces of HTTP_GET / SSL_GET: the request keepalived sends, and a bounded parser for the
// reply. keepalived check_http.c: request line "GET path HTTP/1.x", User-Agent KeepAliveClient,
// "Connection: close" for http_protocol 1.0C and 1.1, Host = virtualhost (url, then checker,
// then virtual server), else the real server's ADDRESS:PORT.

/** Status line and headers must fit here; a bigger head is garbage for a health check. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Body cap for digest checks: a server streaming more than this fails the check. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The request text. A part holding a control character or a blank is refused rather than sent:
 * a CR or LF would end the request line or the Host header early and let the rest of the part
 * pose as headers of its own (RFC 9112 section 2.2); the configuration check refuses them
 * first, this makes sure nothing else can put one on the wire.
 */
export function buildRequest(path: string, protocol: '1.0' | '1.0C' | '1.1', host: string): string {
  for (const [what, part] of [['path', path], ['Host', host]] as const) {
    const bad = /[\x00-\x20\x7f]/.exec(part);
    if (bad) throw new Error(`refusing to send an HTTP request: its ${what} holds character 0x${bad[0].charCodeAt(0).toString(16).padStart(2, '0')}`);
  }
  const minor = protocol === '1.1' ? 1 : 0;
  const close = protocol === '1.0' ? '' : 'Connection: close\r\n';
  return `GET ${path} HTTP/1.${minor}\r\nUser-Agent: KeepAliveClient\r\n${close}Host: ${host}\r\n\r\n`;
}

export interface Head {
  status: number;
  /** Lower-cased names; last one wins. */
  headers: Map<string, string>;
  /** Offset of the first body byte in the buffer given to parseHead. */
  bodyStart: number;
}

export type HeadParse = { kind: 'head'; head: Head } | { kind: 'incomplete' } | { kind: 'error'; error: string };

/** Printable preview of bytes for error details (garbage replies). */
export function preview(buf: Buffer, n = 40): string {
  return JSON.stringify(buf.subarray(0, n).toString('latin1'));
}

export function parseHead(buf: Buffer): HeadParse {
  // Reject garbage as early as possible rather than waiting for a head that never comes.
  const probe = buf.subarray(0, 5).toString('latin1');
  if (!'HTTP/'.startsWith(probe) && !probe.startsWith('HTTP/')) {
    return { kind: 'error', error: `not an HTTP reply: ${preview(buf)}` };
  }
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_HEAD_BYTES) return { kind: 'error', error: `reply head larger than ${MAX_HEAD_BYTES} bytes` };
    return { kind: 'incomplete' };
  }
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) return { kind: 'error', error: `bad status line: ${preview(buf)}` };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) return { kind: 'error', error: `bad header line: ${JSON.stringify(line.slice(0, 40))}` };
    headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { kind: 'head', head: { status: Number(m[3]), headers, bodyStart: end + 4 } };
}

/** keepalived's default status_code range is 200-299. */
export function statusAccepted(status: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  if (ranges.length === 0) return status >= 200 && status <= 299;
  return ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

export function describeRanges(ranges: ReadonlyArray<readonly [number, number]>): string {
  if (ranges.length === 0) return '200-299';
  return ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',');
}

export type ChunkedParse = { kind: 'done'; body: Buffer } | { kind: 'incomplete' } | { kind: 'error'; error: string };

/** Decode a chunked body (RFC 9112 §7.1); trailers are ignored. */
export function decodeChunked(buf: Buffer): ChunkedParse {
  const parts: Buffer[] = [];
  let off = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', off);
    if (eol < 0) return buf.length - off > 1024 ? { kind: 'error', error: 'bad chunk size line' } : { kind: 'incomplete' };
    const sizeText = buf.subarray(off, eol).toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return { kind: 'error', error: `bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}` };
    const size = parseInt(sizeText, 16);
    if (size === 0) return { kind: 'done', body: Buffer.concat(parts) };
    const start = eol + 2;
    if (buf.length < start + size + 2) return { kind: 'incomplete' };
    parts.push(buf.subarray(start, start + size));
    off = start + size + 2;
  }
}
