// The control socket: the console engine over a unix socket, for `tandem ctl COMMAND…`.
//
// Access: the socket is created mode 0600 (a umask of 0177 is in effect while it is bound, so
// it never exists with a wider mode) in a directory that only root can change (default
// /run/tandem, created 0700). Node cannot read SO_PEERCRED without a native addon, so the file
// mode and the directory are the check; a connected peer is treated as logged in (root on the
// box can read the password hashes anyway). That makes the directory the whole of the trust:
// both ends refuse one that is a symlink, not owned by root (or by the daemon's own user), or
// writable by group or others, and any directory above it that someone else could change
// (src/util/path-trust.ts). Whoever can write that directory can put their own socket there
// and answer root's `tandem ctl` with forged output.
//
// Protocol, one connection: the client sends command lines ('\n'-terminated, UTF-8); for each
// the server runs it through one pre-authenticated engine session and answers with the output
// (UTF-8), then a NUL byte, the status ('0' ok, '1' the command failed with a '%' error) and
// '\n'. Lines longer than MAX_LINE end the connection with an error. A line that starts with
// NUL and `json ` (JSON_PREFIX, what `tandem ctl --json` sends) asks for the command's data
// form as JSON instead of its text (src/console/show.ts); no command line can start so, since
// the console's tokenizer refuses control characters.
//
// Bounds, per connection: one command runs at a time and input is not read while one runs or
// while more than `outputBound` bytes of answers wait unread; a client that reads nothing for
// `drainTimeoutMs` with that much waiting is disconnected. So a client pipelining commands it
// never reads costs the daemon at most about outputBound plus the kernel's socket buffers.
// And at most `maxConnections` connections are served at once (each holds an engine session and
// up to outputBound of answers): one more is answered with an error line and closed, and
// counted. Measured with 400 clients against a board with 1,000 real servers, half of them
// pipelining `show running-config` unread, the daemon grew by 80 MiB without this cap
// (docs/footprint.md "Bounds under load").
import { createServer, connect, type Server, type Socket } from 'node:net';
import { lstat, mkdir, realpath, unlink } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { dirname, resolve } from 'node:path';
import type { ConsoleEngine } from './engine.ts';
import { componentProblem, selfOwners, untrustedComponent } from '../util/path-trust.ts';

export const DEFAULT_CONTROL_SOCKET = '/run/tandem/tandem.sock';
const MAX_LINE = 64 * 1024;
/** Marks a command line whose answer is JSON. */
export const JSON_PREFIX = '\0json ';

export interface ControlSocketOptions {
  /** Unread answer bytes per connection before its input is paused (default 256 KiB). */
  outputBound?: number;
  /** A connection whose answers stay over the bound this long is closed (default 30 s). */
  drainTimeoutMs?: number;
  /** Connections served at once; more are refused with an error line (default 16). */
  maxConnections?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 16;

export interface ControlSocket {
  readonly path: string;
  /** Connections open now, and refused because maxConnections were open. */
  stats(): { connections: number; refused: number };
  close(): Promise<void>;
}

/** Is something listening at `path`? (decides whether an existing socket file is stale) */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Why the directory of socket `path` cannot be trusted, or null. The directory itself: a real
 * directory (never a symlink), owned by root (or us), writable by nobody else. The directories
 * above it: none that someone other than root could change, looked at both as written (a
 * symlink on the way must be root's) and resolved.
 */
export async function socketDirProblem(path: string): Promise<string | null> {
  const dir = dirname(resolve(path));
  const owners = selfOwners();
  let st;
  try {
    st = await lstat(dir);
  } catch (e) {
    return `${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  if (st.isSymbolicLink()) return `${dir}: is a symbolic link`;
  if (!st.isDirectory()) return `${dir}: is not a directory`;
  const own = componentProblem(st, { owners, strict: true });
  if (own) return `${dir}: ${own}`;
  const above = dirname(dir);
  const literal = await untrustedComponent(above, { owners, last: 'dir', symlinksOnTheWay: 'root-owned' });
  if (literal) return `${literal.path}: ${literal.why}`;
  let real: string;
  try {
    real = await realpath(above);
  } catch (e) {
    return `${above}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  const resolved = await untrustedComponent(real, { owners, last: 'dir' });
  return resolved ? `${resolved.path}: ${resolved.why}` : null;
}

/** Binds `server` at `path` with umask 0177 in effect, so the socket is born 0600. */
function listenPrivate(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The bind(2) happens inside listen(), synchronously, so nothing else runs under this umask.
    const old = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(old);
    }
  });
}

export async function startControlSocket(
  engine: ConsoleEngine,
  path: string = DEFAULT_CONTROL_SOCKET,
  opts: ControlSocketOptions = {},
): Promise<ControlSocket> {
  const dir = dirname(resolve(path));
  // Create only what is missing; an existing directory is judged, never chmod-ed into shape.
  const existed = await lstat(dir).then(() => true, () => false);
  if (!existed) await mkdir(dir, { recursive: true, mode: 0o700 });
  const bad = await socketDirProblem(path);
  if (bad) throw new Error(`control socket ${path}: refusing the directory, ${bad}`);
  const st = await lstat(path).catch(() => null);
  if (st) {
    if (!st.isSocket()) throw new Error(`control socket ${path}: exists and is not a socket; not removing it`);
    if (await probe(path)) throw new Error(`control socket ${path}: another tandem is listening there`);
    await unlink(path); // stale, left by a daemon that did not stop cleanly
  }
  const conns = new Set<Socket>();
  const maxConnections = Math.max(1, opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  let refused = 0;
  const server: Server = createServer((sock) => {
    if (conns.size >= maxConnections) {
      refused++;
      sock.on('error', () => undefined);
      // Nothing of what it sent is read; the answer has the protocol's form, so `tandem ctl`
      // prints it and exits 1. Closed once the kernel has it, and in any case soon: a refused
      // connection must not linger and count against nobody.
      sock.end(`% too many control connections (${maxConnections} open); try again\n\x001\n`, () => sock.destroy());
      setTimeout(() => sock.destroy(), 1000).unref();
      return;
    }
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    serve(engine, sock, opts);
  });
  await listenPrivate(server, path);
  server.on('error', () => undefined); // a failed accept must not take the daemon down
  return {
    path,
    stats: () => ({ connections: conns.size, refused }),
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await unlink(path).catch(() => undefined);
    },
  };
}

function serve(engine: ConsoleEngine, sock: Socket, opts: ControlSocketOptions): void {
  const outputBound = opts.outputBound ?? 256 * 1024;
  const drainTimeoutMs = opts.drainTimeoutMs ?? 30_000;
  const session = engine.trustedSession('ctl');
  const decoder = new StringDecoder('utf8');
  let buf = '';
  let busy = false;
  sock.on('error', () => undefined); // client went away: nothing to do

  /** Resolves true once the client has read enough of our answers, false if it never does. */
  const drained = (): Promise<boolean> =>
    new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        sock.off('drain', onDrain);
        sock.off('close', onClose);
        resolve(ok);
      };
      const onDrain = (): void => done(true);
      const onClose = (): void => done(false);
      const timer = setTimeout(() => done(false), drainTimeoutMs);
      sock.on('drain', onDrain);
      sock.on('close', onClose);
    });

  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      let nl: number;
      while (!sock.destroyed && (nl = buf.indexOf('\n')) >= 0) {
        const raw = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const json = raw.startsWith(JSON_PREFIX);
        const line = json ? raw.slice(JSON_PREFIX.length) : raw;
        let text: string;
        let closed = false;
        try {
          const r = await session.line(line, json ? 'json' : 'text');
          text = r.output.replace(/\0/g, '') + '\0' + (r.ok ? '0' : '1') + '\n';
          closed = r.closed;
        } catch (err) {
          text = `% internal error: ${err instanceof Error ? err.message : String(err)}\n\x001\n`;
        }
        if (sock.destroyed) return;
        sock.write(text);
        if (closed) {
          sock.end();
          return;
        }
        if (sock.writableLength > outputBound && !(await drained())) {
          sock.destroy();
          return;
        }
      }
    } finally {
      busy = false;
    }
    if (!tooLong()) sock.resume();
  };

  const tooLong = (): boolean => {
    if (sock.destroyed) return true;
    if (buf.length <= MAX_LINE) return false;
    buf = '';
    sock.end(`% line longer than ${MAX_LINE} bytes\n\x001\n`);
    return true;
  };

  sock.on('data', (chunk: Buffer) => {
    buf += decoder.write(chunk);
    if (buf.indexOf('\n') >= 0) {
      // Nothing more is read until these lines are answered (and their answers mostly read).
      sock.pause();
      void pump();
    } else {
      tooLong();
    }
  });
}

/** Quote a word for the console's tokenizer when it holds spaces, quotes or backslashes. */
function quoteWord(w: string): string {
  return w === '' || /[\s"\\]/.test(w) ? `"${w.replace(/[\\"]/g, (c) => '\\' + c)}"` : w;
}

/** Why `tandem ctl` must not talk to the socket at `path`, or null (its directory as the daemon checks it, and the socket itself). */
async function ctlProblem(path: string): Promise<string | null> {
  const dirBad = await socketDirProblem(path);
  if (dirBad) return dirBad;
  const st = await lstat(path).catch(() => null);
  if (!st) return null; // nothing there: connect says "is tandem running?"
  if (st.isSymbolicLink()) return `${path}: is a symbolic link`;
  if (!st.isSocket()) return `${path}: is not a socket`;
  const owners = selfOwners();
  if (st.uid !== 0 && !owners.includes(st.uid)) return `${path}: owned by uid ${st.uid}, not root`;
  return null;
}

/**
 * `tandem ctl COMMAND…`: run one command on the daemon, print its output, return the exit code
 * (0 ok, 1 the command failed, 2 the daemon could not be reached or its socket is not trusted).
 * Output is UTF-8 from end to end; a character split across reads is put together first.
 */
export async function runCtl(
  socketPath: string,
  words: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
  opts: { json?: boolean } = {},
): Promise<number> {
  if (words.length === 0) {
    err('tandem ctl: give a command, e.g. tandem ctl show status\n');
    return 2;
  }
  const bad = await ctlProblem(socketPath);
  if (bad) {
    err(`tandem ctl: refusing ${socketPath}: ${bad} (anyone who can change it could answer in the daemon's place)\n`);
    return 2;
  }
  return new Promise((resolve) => {
    const sock = connect(socketPath);
    const decoder = new StringDecoder('utf8');
    let buf = '';
    let settled = false;
    const finish = (code: number): void => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve(code);
    };
    sock.on('connect', () => sock.write((opts.json ? JSON_PREFIX : '') + words.map(quoteWord).join(' ') + '\n'));
    sock.on('data', (chunk: Buffer) => {
      buf += decoder.write(chunk);
      const z = buf.indexOf('\0');
      if (z >= 0 && buf.indexOf('\n', z) >= 0) {
        out(buf.slice(0, z));
        finish(buf[z + 1] === '0' ? 0 : 1);
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'is tandem running?' : e.code === 'EACCES' ? 'run as root' : e.message;
      err(`tandem ctl: cannot reach ${socketPath}: ${why}\n`);
      finish(2);
    });
    sock.on('close', () => {
      if (!settled) {
        buf += decoder.end();
        if (buf) out(buf);
        err('tandem ctl: the daemon closed the connection\n');
        finish(2);
      }
    });
  });
}
