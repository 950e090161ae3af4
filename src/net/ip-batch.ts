// A long-lived `ip -force -batch -` process for address changes. Spawning `ip` for every VIP
// costs a fork and exec on the VRRP thread each time (several ms, measured as the difference
// between our takeover and keepalived's, which speaks netlink directly); a batch process answers
// in about 2 ms. The process, its queue, timeout and restart are src/util/coprocess.ts; this
// file is ip's protocol.
//
// Protocol: each command line is followed by a marker command that always fails
// (`link show dev <missing>`), so every command ends with a "Command failed -:N" line on
// stderr, in order. A failure of the command itself shows as its own "Command failed -:N"
// (with the error text before it) ahead of the marker's. Everything we need is on one stream,
// so no ordering between stdout and stderr is assumed.
import { CoprocessSession, type CoprocessParser, type CoprocessProtocol } from '../util/coprocess.ts';

const MARKER_DEV = 'tandem-no-such-dev'; // 18 chars: longer than IFNAMSIZ, so never a real device

interface IpMarker {
  cmdLine: number;
  markerLine: number;
  /** The command's own failure, once seen (its marker line follows). */
  error: string | null;
}

/** Parses one `ip -batch` process's stderr; its line numbers count from 1 per process. */
export function ipBatchParser(): CoprocessParser<IpMarker> {
  let line = 0;
  let errText: string[] = [];
  return {
    frame(command) {
      const cmdLine = ++line;
      const markerLine = ++line;
      return { text: `${command}\nlink show dev ${MARKER_DEV}\n`, marker: { cmdLine, markerLine, error: null } };
    },
    line(l, head) {
      const m = /^Command failed -:(\d+)/.exec(l);
      if (!m) {
        if (errText.length < 20) errText.push(l);
        return null;
      }
      const n = Number(m[1]);
      const text = errText.join(' ').trim();
      errText = [];
      if (!head) return null;
      if (n === head.cmdLine) head.error = text || 'failed';
      else if (n === head.markerLine) return { error: head.error };
      return null;
    },
  };
}

const IP_BATCH: CoprocessProtocol<IpMarker> = {
  argv: ['ip', '-force', '-batch', '-'],
  // Far beyond any address change; bounds a wedged ip so the VRRP engine is not left waiting.
  timeoutMs: 10_000,
  parser: ipBatchParser,
  // ip's own message as it is ("RTNETLINK answers: File exists"): callers match on it.
  error: (f) => new Error(f.kind === 'command' ? f.text : `ip -batch: ${f.text}`),
};

export class IpBatch {
  private readonly session = new CoprocessSession(IP_BATCH);

  /** Runs one `ip` command (words after `ip`); rejects with ip's message when it fails. */
  run(words: readonly string[]): Promise<void> {
    for (const w of words) {
      // The batch format splits on white space and treats # as a comment: refuse anything
      // that would change the command's meaning (values come from a validated configuration).
      if (w === '' || /[\s#"'\\]/.test(w)) return Promise.reject(new Error(`ip -batch: bad word ${JSON.stringify(w)}`));
    }
    return this.session.request(words.join(' '));
  }

  close(): void {
    this.session.close();
  }
}
