// Wiring for the daemon: one engine per board (shared login guard and commit state), then any
// number of transports on it. Serial is loaded lazily: serialport carries a native addon.
import { systemClock, type Clock } from '../util/clock.ts';
import { CommitManager, fileStore } from './commit.ts';
import { ConsoleEngine } from './engine.ts';
import type { ConsoleHost } from './host.ts';
import { LoginGuard, DEFAULT_LOGIN_POLICY, type LoginPolicy } from './login.ts';
import type { ConfigSyntax } from './syntax.ts';
import { FileUserStore, type UserStore } from './users.ts';
import { writeFileAtomic } from '../util/atomic-file.ts';

export type { ConsoleHost } from './host.ts';
export type { ConfigSyntax } from './syntax.ts';
export { ConsoleEngine, Session } from './engine.ts';
export { startControlSocket, runCtl } from './control-socket.ts';

export interface ConsoleOptions {
  clock?: Clock;
  users?: UserStore;
  loginPolicy?: LoginPolicy;
}

export function createConsoleEngine(host: ConsoleHost, syntax: ConfigSyntax, opts: ConsoleOptions = {}): ConsoleEngine {
  const clock = opts.clock ?? systemClock;
  const store = fileStore(host.configPath, (path, text) => writeFileAtomic(path, text, 0o644, { keepPrevious: true }));
  return new ConsoleEngine({
    host,
    syntax,
    users: opts.users ?? new FileUserStore(host.stateDir),
    guard: new LoginGuard(clock, opts.loginPolicy ?? DEFAULT_LOGIN_POLICY),
    commits: new CommitManager(host, store, clock),
    clock,
  });
}
