// What tandem's two small HTTP servers (the board's /metrics, the fleet page of `tandem fleet
// --http`) accept: GET (and HEAD, which HTTP/1.1 §9.3.2 ties to GET) for their own paths, with
// bounded headers, no body, bounded time, a bounded number of connections. Anything else gets
// its status code and is counted, never read further.
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';

/** Request line and headers together (node's own default is 16 KiB). */
export const MAX_HEADER_BYTES = 8 * 1024;
/** Connections at once per server; more are refused by the kernel's accept queue filling. */
export const MAX_CONNECTIONS = 64;

export type Refusal = 'method' | 'path' | 'body' | 'not-allowed' | 'busy';

/** createServer options: the header bound (an oversized request gets 431 from node itself). */
export function serverOptions(): ServerOptions {
  return { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 };
}

/** Connection bounds on a created server. */
export function boundServer(server: Server, maxConnections = MAX_CONNECTIONS): void {
  server.maxConnections = maxConnections;
  server.maxHeadersCount = 64;
  // A client that never finishes its request is cut off (requestTimeout above); one that opens
  // a connection and sends nothing is cut off here.
  server.on('connection', (sock) => sock.setTimeout(30_000, () => sock.destroy()));
  server.on('clientError', (err: NodeJS.ErrnoException, sock) => {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (sock.writable) sock.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else sock.destroy();
  });
}

/**
 * The request's path when it may be served; otherwise answers it (405, 404 or 413), returns
 * null and says why through `refused`.
 */
export function acceptRequest(req: IncomingMessage, res: ServerResponse, paths: ReadonlySet<string>, refused: (why: Refusal) => void): string | null {
  const deny = (code: number, why: Refusal, headers: Record<string, string> = {}): null => {
    refused(why);
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close', ...headers });
    res.end(`${code === 405 ? 'only GET' : code === 404 ? 'not found' : 'no request body allowed'}\n`);
    req.destroy();
    return null;
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return deny(405, 'method', { Allow: 'GET, HEAD' });
  const cl = req.headers['content-length'];
  if ((cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined) return deny(413, 'body');
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!paths.has(path)) return deny(404, 'path');
  return path;
}

/** Counts refusals by reason (for the servers' own metrics). */
export function refusalCounter(): { counts: Record<string, number>; note: (why: Refusal) => void } {
  const counts: Record<string, number> = {};
  return { counts, note: (why) => { counts[why] = (counts[why] ?? 0) + 1; } };
}
