// The board's Prometheus endpoint: `metrics { listen ADDR:PORT; allow CIDR… }` (DESIGN.md
// "MQTT": each board may serve Prometheus text on /metrics). Off unless configured. One HTTP
// server per listen line; a line that cannot bind is logged and the others still serve.
//
// Cost. A scrape asks the VRRP worker for fresh counters (one message, answered off the VRRP
// timers' path) and reads the LB controller's status; conntrack's connection counts cost one
// `conntrack -L` per real server, so they are refreshed at most every CONNECTIONS_MAX_AGE_MS
// however often Prometheus scrapes. Scrapes that overlap share one collection. The event-loop
// delay is measured in windows of LAG_WINDOW_MS, whoever scrapes and however often.
import { createServer, type Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AllowedNet, ListenAddress, MetricsSettings } from '../config/model.ts';
import { inPrefix, parseIp } from '../util/ip.ts';
import { acceptRequest, boundServer, refusalCounter, serverOptions } from './http-guard.ts';
import { exposition, type ExpositionInput, type ProcessFigures } from './prometheus.ts';

export const CONNECTIONS_MAX_AGE_MS = 10_000;
export const LAG_WINDOW_MS = 10_000;

/** What a scrape reads of the daemon (exposition minus what the server measures itself). */
export type MetricsSource = () => Promise<Omit<ExpositionInput, 'process' | 'refused'>>;

export interface MetricsServerOptions {
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Called before a scrape reads the real servers, when their connection counts are stale. */
  refreshConnections?: () => Promise<void>;
  now?: () => number;
}

/** An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d. */
function peerAddress(remote: string | undefined): string {
  if (!remote) return '';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  return m ? m[1]! : remote;
}

/** Whether `remote` may scrape: everyone when the allow list is empty. */
export function allowed(remote: string | undefined, allow: readonly AllowedNet[]): boolean {
  if (allow.length === 0) return true;
  const a = parseIp(peerAddress(remote));
  if (!a) return false;
  return allow.some((n) => {
    const net = parseIp(n.address);
    return net !== null && inPrefix(a, net, n.prefix);
  });
}

export class MetricsServer {
  private readonly servers: Server[] = [];
  private readonly refusals = refusalCounter();
  private readonly hist = monitorEventLoopDelay({ resolution: 10 });
  private lag: ProcessFigures['eventLoopLag'] = null;
  private readonly lagTimer: NodeJS.Timeout;
  private inflight: Promise<string> | null = null;
  private connectionsAt = -Infinity;
  private readonly now: () => number;
  readonly bound: ListenAddress[] = [];
  scrapes = 0;

  constructor(private readonly settings: MetricsSettings, private readonly source: MetricsSource, private readonly opts: MetricsServerOptions) {
    this.now = opts.now ?? Date.now;
    this.hist.enable();
    this.lagTimer = setInterval(() => this.closeLagWindow(), LAG_WINDOW_MS);
    this.lagTimer.unref();
  }

  private closeLagWindow(): void {
    if (this.hist.count > 0) {
      const s = (ns: number): number => Math.round(ns / 1e3) / 1e6; // ns → s, µs precision
      this.lag = { min: s(this.hist.min), max: s(this.hist.max), mean: s(this.hist.mean), p50: s(this.hist.percentile(50)), p90: s(this.hist.percentile(90)), p99: s(this.hist.percentile(99)) };
    }
    this.hist.reset();
  }

  /** Binds every listen address; resolves when each has bound or failed (failures are logged). */
  async start(): Promise<void> {
    await Promise.all(this.settings.listen.map((l) => this.listen(l)));
  }

  private listen(l: ListenAddress): Promise<void> {
    const server = createServer(serverOptions(), (req, res) => {
      if (!allowed(req.socket.remoteAddress, this.settings.allow)) {
        this.refusals.note('not-allowed');
        res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
        res.end('forbidden\n');
        return;
      }
      const path = acceptRequest(req, res, METRICS_PATHS, this.refusals.note);
      if (path === null) return;
      this.scrape().then(
        (body) => {
          res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: unknown) => {
          this.opts.log('warn', `metrics: scrape failed: ${err instanceof Error ? err.message : String(err)}`);
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('scrape failed\n');
        },
      );
    });
    boundServer(server);
    return new Promise((resolve) => {
      const where = l.address.includes(':') ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
      server.once('error', (err) => {
        this.opts.log('error', `metrics: cannot listen on ${where}: ${err.message}; the other listen addresses still serve`);
        resolve();
      });
      server.listen({ host: l.address, port: l.port, ipv6Only: l.address.includes(':') }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.opts.log('warn', `metrics ${where}: ${err.message}`));
        this.servers.push(server);
        const a = server.address();
        this.bound.push({ address: l.address, port: typeof a === 'object' && a ? a.port : l.port });
        this.opts.log('info', `metrics: serving /metrics on ${where}`);
        resolve();
      });
    });
  }

  /** One exposition; overlapping scrapes share it. */
  scrape(): Promise<string> {
    this.inflight ??= this.collect().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async collect(): Promise<string> {
    this.scrapes++;
    if (this.opts.refreshConnections && this.now() - this.connectionsAt >= CONNECTIONS_MAX_AGE_MS) {
      this.connectionsAt = this.now();
      await this.opts.refreshConnections().catch(() => undefined);
    }
    const parts = await this.source();
    return exposition({
      ...parts,
      process: { rssBytes: process.memoryUsage.rss(), startTimeS: Math.round(Date.now() / 1000 - process.uptime()), eventLoopLag: this.lag },
      refused: this.refusals.counts,
    });
  }

  async close(): Promise<void> {
    clearInterval(this.lagTimer);
    this.hist.disable();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    })));
    this.servers.length = 0;
  }
}

const METRICS_PATHS: ReadonlySet<string> = new Set(['/metrics']);
