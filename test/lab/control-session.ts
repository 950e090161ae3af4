// Several console lines over one connection to a board's control socket. `tandem ctl` sends one
// command per connection, and every connection is a session of its own, so configure mode and
// its candidate end with it; a test that configures, sets and commits speaks the same protocol
// (src/console/control-socket.ts: a line in; output, NUL, '0' ok or '1' failed, '\n' out) on
// one connection. The socket is a file in the board's directory, reachable from the test.
import { connect } from 'node:net';

export interface CtlReply {
  ok: boolean;
  output: string;
}

/** Runs `lines` in order on one session; resolves with one reply per line. */
export function ctlSession(socketPath: string, lines: readonly string[], timeoutMs = 30_000): Promise<CtlReply[]> {
  return new Promise((resolve, reject) => {
    const replies: CtlReply[] = [];
    const sock = connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`control socket ${socketPath}: no reply to ${JSON.stringify(lines[replies.length])} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (e?: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      if (e) reject(e);
      else resolve(replies);
    };
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(lines.map((l) => l + '\n').join('')));
    sock.on('error', (e) => done(e));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (let z = buf.indexOf('\0'); z >= 0 && buf.length >= z + 3; z = buf.indexOf('\0')) {
        replies.push({ output: buf.slice(0, z), ok: buf[z + 1] === '0' });
        buf = buf.slice(z + 3);
        if (replies.length === lines.length) return done();
      }
    });
    sock.on('close', () => {
      if (replies.length < lines.length) done(new Error(`control socket ${socketPath} closed after ${replies.length} of ${lines.length} replies`));
    });
  });
}
