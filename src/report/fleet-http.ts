// `tandem fleet --http [ADDR:]PORT`: the fleet page, fed live from the fleet model. Bound to
// 127.0.0.1 unless an address is given; read-only (GET and HEAD for its own paths, nothing
// else: src/report/http-guard.ts).
//
// Paths: / (the page), /app.js and /app.css (src/report/fleet-page.ts), /events (server-sent
// events: the live feed), /snapshot.json (what `tandem fleet --json --once` prints).
//
// The feed. A `view` event carries the HTML of the sections that changed (all of them on
// connect), rendered from the model (src/report/fleet-view.ts); a `series` event carries new
// chart points by board id. Changes are coalesced for COALESCE_MS after the first one, so a
// transition reaches the page within that plus the rendering, and a flood of messages costs
// one render per COALESCE_MS however many arrive; ages and staleness are re-rendered every
// second. A client that does not read its events (more than MAX_BUFFERED_BYTES waiting) is
// dropped; at most MAX_CLIENTS listen at once.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { acceptRequest, boundServer, refusalCounter, serverOptions } from './http-guard.ts';
import { fleetSnapshot, HISTORY_MS, MAX_HISTORY_POINTS, type FleetModel } from './fleet.ts';
import { renderSections, seriesSince, SECTIONS, type Sections } from './fleet-view.ts';
import { APP_CSS, APP_JS, PAGE_HTML } from './fleet-page.ts';

export const COALESCE_MS = 50;
export const TICK_MS = 1000;
export const MAX_CLIENTS = 32;
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const COMMON_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
};

const PATHS: ReadonlySet<string> = new Set(['/', '/app.js', '/app.css', '/events', '/snapshot.json']);

/** `[ADDR:]PORT`, `[IPV6]:PORT`; the address defaults to 127.0.0.1 (the page is for this host). */
export function parseHttpListen(spec: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(spec);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

export interface FleetHttpOptions {
  host: string;
  port: number;
  model: FleetModel;
  now?: () => number;
  log?: (msg: string) => void;
  /** Whether the MQTT side is connected (shown nowhere yet; in the snapshot). */
  connected?: () => boolean;
}

interface Client {
  res: ServerResponse;
}

export class FleetHttpServer {
  private server: Server | null = null;
  private readonly clients = new Set<Client>();
  private readonly refusals = refusalCounter();
  private last: Sections | null = null;
  private seriesAt = -Infinity;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private tick: NodeJS.Timeout | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  /** Pushes made, renders done (for the benchmarks). */
  readonly stats = { pushes: 0, renders: 0, dropped: 0 };

  constructor(private readonly o: FleetHttpOptions) {
    this.now = o.now ?? Date.now;
  }

  get refused(): Readonly<Record<string, number>> {
    return this.refusals.counts;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Listens; resolves with the address actually bound (port 0 picks one). */
  start(): Promise<{ host: string; port: number }> {
    const server = createServer(serverOptions(), (req, res) => this.handle(req, res));
    boundServer(server, MAX_CLIENTS + 16);
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.o.host, port: this.o.port }, () => {
        server.off('error', reject);
        server.on('error', (e) => this.o.log?.(`fleet http: ${e.message}`));
        const a = server.address();
        this.tick = setInterval(() => this.flush(), TICK_MS);
        this.keepalive = setInterval(() => this.broadcast(': keepalive\n\n'), KEEPALIVE_MS);
        resolve({ host: this.o.host, port: typeof a === 'object' && a ? a.port : this.o.port });
      });
    });
  }

  /** The model changed: the page hears of it within COALESCE_MS. */
  changed(): void {
    if (this.timer || !this.server) return;
    this.timer = setTimeout(() => this.flush(), COALESCE_MS);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = acceptRequest(req, res, PATHS, this.refusals.note);
    if (path === null) return;
    const send = (type: string, body: string): void => {
      res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    switch (path) {
      case '/':
        return send('text/html; charset=utf-8', PAGE_HTML);
      case '/app.js':
        return send('text/javascript; charset=utf-8', APP_JS);
      case '/app.css':
        return send('text/css; charset=utf-8', APP_CSS);
      case '/snapshot.json':
        return send('application/json; charset=utf-8', JSON.stringify(fleetSnapshot(this.o.model, this.now()), null, 2) + '\n');
      case '/events':
        return this.subscribe(req, res);
    }
  }

  private subscribe(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= MAX_CLIENTS) {
      this.refusals.note('busy');
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '10' });
      res.end('too many viewers\n');
      return;
    }
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // The request timeout is for requests; this one is a feed.
    req.socket.setTimeout(0);
    const c: Client = { res };
    this.clients.add(c);
    const gone = (): void => {
      this.clients.delete(c);
    };
    req.on('close', gone);
    res.on('error', gone);
    const now = this.now();
    this.last ??= this.render(now);
    res.write('retry: 2000\n\n');
    res.write(event('view', { seq: this.seq, at: now, sections: this.last }));
    res.write(event('series', { reset: true, step: HISTORY_MS / MAX_HISTORY_POINTS, boards: seriesSince(this.o.model, -Infinity) }));
  }

  private render(now: number): Sections {
    this.stats.renders++;
    return renderSections(this.o.model, now);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.clients.size === 0) {
      this.last = null;
      return;
    }
    const now = this.now();
    const since = this.seriesAt;
    const fresh = this.render(now);
    const changed: Partial<Sections> = {};
    for (const id of SECTIONS) if (!this.last || this.last[id] !== fresh[id]) changed[id] = fresh[id];
    this.last = fresh;
    const series = seriesSince(this.o.model, since);
    for (const s of Object.values(series)) this.seriesAt = Math.max(this.seriesAt, s.t[s.t.length - 1] ?? -Infinity);
    let out = '';
    if (Object.keys(changed).length > 0) out += event('view', { seq: ++this.seq, at: now, sections: changed });
    if (Object.keys(series).length > 0) out += event('series', { boards: series });
    if (out) {
      this.stats.pushes++;
      this.broadcast(out);
    }
  }

  private broadcast(text: string): void {
    for (const c of this.clients) {
      if (c.res.writableLength > MAX_BUFFERED_BYTES) {
        this.stats.dropped++;
        this.clients.delete(c);
        c.res.destroy();
        continue;
      }
      c.res.write(text);
    }
  }

  async close(): Promise<void> {
    for (const t of [this.timer, this.tick, this.keepalive]) if (t) clearTimeout(t);
    this.timer = this.tick = this.keepalive = null;
    for (const c of this.clients) c.res.destroy();
    this.clients.clear();
    const s = this.server;
    this.server = null;
    if (s) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
  }
}

function event(name: string, data: unknown): string {
  // One data line: JSON.stringify never emits a raw newline.
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
