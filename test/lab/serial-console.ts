// The serial console of a lab board, as the console lab tests drive it: a socat pty pair in the
// board's directory (the daemon opens ttyA, the test's Terminal ttyB), the configuration block
// that points the daemon at it, and the first-boot and login dialogues.
import assert from 'node:assert/strict';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lab, LabProcess, Board } from './lab.ts';
import type { Terminal } from './terminal.ts';

export const PASSWORD = 'tandem-bench-1';

/** A socat pty pair in the board's directory; the daemon gets ttyA, the test ttyB. */
export interface Serial {
  socat: LabProcess;
  ttyA: string;
  ttyB: string;
}

function ttyPaths(lab: Lab, board: Board): { ttyA: string; ttyB: string } {
  const dir = join(lab.tmpDir, `board-${board}`);
  return { ttyA: join(dir, 'ttyA'), ttyB: join(dir, 'ttyB') };
}

export async function startSocat(lab: Lab, board: Board): Promise<Serial> {
  const { ttyA, ttyB } = ttyPaths(lab, board);
  // socat needs the directory for its links; the lab creates it on startBoard, we may be first.
  await mkdir(join(lab.tmpDir, `board-${board}`), { recursive: true });
  // `-d -d` makes socat log each pty it allocates: we wait for both, not for the links alone.
  const socat = lab.spawn(board, ['socat', '-d', '-d', `pty,raw,echo=0,link=${ttyA}`, `pty,raw,echo=0,link=${ttyB}`], { label: `socat-${board}` });
  await lab.waitFor(async () => {
    if (!socat.running) throw new Error(`socat exited: ${socat.tail()}`);
    return (await Promise.all([stat(ttyA), stat(ttyB)]).then(() => true, () => false)) && /starting data transfer loop/.test(socat.output());
  }, { what: 'socat pty pair', timeoutMs: 10_000 });
  return { socat, ttyA, ttyB };
}

export function serialBlock(ttyA: string): string {
  return `serial_console {\n    device ${ttyA}\n    baud 115200\n}\n`;
}

/** First boot: no console user yet, so the console asks for the admin password twice. */
export async function firstBootLogin(term: Terminal, node: string): Promise<void> {
  await term.until(/New password: $/, 0, 'first-boot password prompt');
  assert.match(term.out, /No console user is set up yet/);
  await term.cmd(PASSWORD, /Retype new password: $/);
  await term.cmd(PASSWORD, new RegExp(`password for 'admin' saved; log in\\r\\n${node} login: $`));
  await login(term, node);
}

export async function login(term: Terminal, node: string): Promise<void> {
  await term.cmd('admin', /Password: $/);
  const r = await term.cmd(PASSWORD, new RegExp(`logged in as admin.*\\r\\n${node}> $`, 's'));
  assert.doesNotMatch(r, new RegExp(PASSWORD), 'password not echoed');
}
