// Wiring for the daemon: one engine per board (shared login guard and commit state), then any
// number of transports on it. Serial is loaded lazily: serialport carries a native addon.
//
// At start the engine also tidies and picks up what the previous daemon left on disk: the
// temporary files of atomic writes a crash interrupted (in the state directory and beside the
// configuration file), the failed-login record, and a commit confirmed still waiting for its
// confirmation (rolled back at its deadline). `engine.ready` resolves once that is done.
import { basename, dirname } from 'node:path';
import { systemClock, type Clock } from '../util/clock.ts';
import { CommitManager, fileStore } from './commit.ts';
import { ConsoleEngine } from './engine.ts';
import type { ConsoleHost } from './host.ts';
import { LoginGuard, DEFAULT_LOGIN_POLICY, type LoginPolicy } from './login.ts';
import { FilePendingStore, type PendingStore } from './pending-commit.ts';
import type { ConfigSyntax } from './syntax.ts';
import { FileLoginStore, FileUserStore, type UserStore } from './users.ts';
import { removeStaleTemps, writeFileAtomic } from '../util/atomic-file.ts';

export type { ConsoleHost } from './host.ts';
export type { ConfigSyntax } from './syntax.ts';
export { ConsoleEngine, Session } from './engine.ts';
export { startControlSocket, runCtl } from './control-socket.ts';

export interface ConsoleOptions {
  clock?: Clock;
  users?: UserStore;
  loginPolicy?: LoginPolicy;
  pending?: PendingStore;
}

export function createConsoleEngine(host: ConsoleHost, syntax: ConfigSyntax, opts: ConsoleOptions = {}): ConsoleEngine {
  const clock = opts.clock ?? systemClock;
  const store = fileStore(host.configPath, (path, text) => writeFileAtomic(path, text, 0o644, { keepPrevious: true }));
  const guard = new LoginGuard(clock, {
    policy: opts.loginPolicy ?? DEFAULT_LOGIN_POLICY,
    store: new FileLoginStore(host.stateDir),
    problem: (detail) => host.event({ type: 'state-file', transport: 'login', detail }),
  });
  const commits = new CommitManager(host, store, clock, opts.pending ?? new FilePendingStore(host.stateDir));
  const ready = (async () => {
    await tidy(host);
    await Promise.all([guard.ready(), commits.recover()]);
  })();
  return new ConsoleEngine({ host, syntax, users: opts.users ?? new FileUserStore(host.stateDir), guard, commits, clock }, ready);
}

/** Removes what interrupted atomic writes left behind (atomic-file.ts), and says so. */
async function tidy(host: ConsoleHost): Promise<void> {
  const removed = [
    ...(await removeStaleTemps(host.stateDir)),
    ...(await removeStaleTemps(dirname(host.configPath), [basename(host.configPath)])),
  ];
  if (removed.length > 0) {
    host.event({ type: 'state-file', transport: 'start', detail: `removed ${removed.length} temporary file(s) an interrupted write left: ${removed.join(', ')}` });
  }
}
