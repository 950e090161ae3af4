// A long-lived `ip -force -batch -` process for address changes. Spawning `ip` for every VIP
// costs a fork and exec on the VRRP thread each time (several ms, measured as the difference
// between our takeover and keepalived's, which speaks netlink directly); a batch process answers
// in about 2 ms.
//
// Protocol: each command line is followed by a marker command that always fails
// (`link show dev <missing>`), so every command ends with a "Command failed -:N" line on
// stderr, in order. A failure of the command itself shows as its own "Command failed -:N"
// (with the error text before it) ahead of the marker's. Everything we need is on one stream,
// so no ordering between stdout and stderr is assumed.
import { spawn, type ChildProcess } from 'node:child_process';

const MARKER_DEV = 'tandem-no-such-dev'; // 18 chars: longer than IFNAMSIZ, so never a real device

interface Pending {
  cmdLine: number;
  markerLine: number;
  error: string | null;
  resolve(): void;
  reject(err: Error): void;
}

export class IpBatch {
  private child: ChildProcess | null = null;
  private line = 0;
  private pending: Pending[] = [];
  private errText: string[] = [];
  private buf = '';

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn('ip', ['-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    this.line = 0;
    this.buf = '';
    this.errText = [];
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => this.onStderr(d));
    const fail = (why: string): void => {
      if (this.child !== child) return;
      this.child = null;
      const err = new Error(`ip -batch: ${why}`);
      for (const p of this.pending.splice(0)) p.reject(err);
    };
    child.on('error', (e) => fail(e.message));
    child.on('close', (code, sig) => fail(`exited (${code ?? sig})`));
    child.stdin!.on('error', () => undefined); // reported through 'close'
    return child;
  }

  private onStderr(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const l = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const m = /^Command failed -:(\d+)/.exec(l);
      if (!m) {
        if (this.errText.length < 20) this.errText.push(l);
        continue;
      }
      const n = Number(m[1]);
      const text = this.errText.join(' ').trim();
      this.errText = [];
      const p = this.pending[0];
      if (!p) continue;
      if (n === p.cmdLine) {
        p.error = text || 'failed';
      } else if (n === p.markerLine) {
        this.pending.shift();
        if (p.error) p.reject(new Error(p.error));
        else p.resolve();
      }
    }
  }

  /** Runs one `ip` command (words after `ip`); rejects with ip's message when it fails. */
  run(words: readonly string[]): Promise<void> {
    for (const w of words) {
      // The batch format splits on white space and treats # as a comment: refuse anything
      // that would change the command's meaning (values come from a validated configuration).
      if (w === '' || /[\s#"'\\]/.test(w)) return Promise.reject(new Error(`ip -batch: bad word ${JSON.stringify(w)}`));
    }
    const child = this.ensure();
    return new Promise((resolve, reject) => {
      const cmdLine = ++this.line;
      const markerLine = ++this.line;
      this.pending.push({ cmdLine, markerLine, error: null, resolve, reject });
      child.stdin!.write(`${words.join(' ')}\nlink show dev ${MARKER_DEV}\n`);
    });
  }

  close(): void {
    const c = this.child;
    this.child = null;
    for (const p of this.pending.splice(0)) p.reject(new Error('ip -batch: closed'));
    c?.stdin?.end();
  }
}
