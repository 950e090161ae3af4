// The control socket: the console engine over a unix socket, for `tandem ctl COMMAND…`.
//
// Access: the socket file is chmod 0600 right after listen and is meant to live in a root-only
// directory (default /run/tandem, created 0700), so only root can connect. Node cannot read
// SO_PEERCRED without a native addon, so the file mode and the directory are the check; a
// connected peer is treated as logged in (root on the box can read the password hashes anyway).
//
// Protocol, one connection: the client sends command lines ('\n'-terminated); for each the
// server runs it through one pre-authenticated engine session and answers with the output,
// then a NUL byte, the status ('0' ok, '1' the command failed with a '%' error) and '\n'.
// Lines longer than MAX_LINE end the connection with an error.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ConsoleEngine } from './engine.ts';

export const DEFAULT_CONTROL_SOCKET = '/run/tandem/tandem.sock';
const MAX_LINE = 64 * 1024;

export interface ControlSocket {
  readonly path: string;
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

export async function startControlSocket(engine: ConsoleEngine, path: string = DEFAULT_CONTROL_SOCKET): Promise<ControlSocket> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const st = await lstat(path).catch(() => null);
  if (st) {
    if (!st.isSocket()) throw new Error(`control socket ${path}: exists and is not a socket; not removing it`);
    if (await probe(path)) throw new Error(`control socket ${path}: another tandem is listening there`);
    await unlink(path); // stale, left by a daemon that did not stop cleanly
  }
  const conns = new Set<Socket>();
  const server: Server = createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    serve(engine, sock);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  server.on('error', () => undefined); // a failed accept must not take the daemon down
  return {
    path,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await unlink(path).catch(() => undefined);
    },
  };
}

function serve(engine: ConsoleEngine, sock: Socket): void {
  const session = engine.trustedSession('ctl');
  let buf = '';
  let chain: Promise<void> = Promise.resolve();
  sock.setEncoding('latin1');
  sock.on('error', () => undefined); // client went away: nothing to do
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      chain = chain.then(async () => {
        if (sock.destroyed) return;
        const r = await session.line(line);
        if (sock.destroyed) return;
        sock.write(r.output.replace(/\0/g, '') + '\0' + (r.ok ? '0' : '1') + '\n');
        if (r.closed) sock.end();
      });
    }
    if (buf.length > MAX_LINE) {
      buf = '';
      sock.end(`% line longer than ${MAX_LINE} bytes\n\x001\n`);
    }
  });
}

/** Quote a word for the console's tokenizer when it holds spaces, quotes or backslashes. */
function quoteWord(w: string): string {
  return w === '' || /[\s"\\]/.test(w) ? `"${w.replace(/[\\"]/g, (c) => '\\' + c)}"` : w;
}

/**
 * `tandem ctl COMMAND…`: run one command on the daemon, print its output, return the exit code
 * (0 ok, 1 the command failed, 2 the daemon could not be reached).
 */
export function runCtl(
  socketPath: string,
  words: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  return new Promise((resolve) => {
    if (words.length === 0) {
      err('tandem ctl: give a command, e.g. tandem ctl show status\n');
      resolve(2);
      return;
    }
    const sock = connect(socketPath);
    let buf = '';
    let settled = false;
    const finish = (code: number): void => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve(code);
    };
    sock.setEncoding('latin1');
    sock.on('connect', () => sock.write(words.map(quoteWord).join(' ') + '\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
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
        if (buf) out(buf);
        err('tandem ctl: the daemon closed the connection\n');
        finish(2);
      }
    });
  });
}
