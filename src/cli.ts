// tandem's command line (DESIGN.md "Command line"):
//   tandem run -f FILE [--config-id ID] [--board NAME] [--state-dir DIR] [--control-socket PATH] [--log-level L]
//   tandem check -f FILE [--config-id ID | --state-dir DIR] [--board NAME | --local]
//   tandem ctl [--control-socket PATH] [--json] COMMAND…
//   tandem fleet --mqtt URL [--prefix P] [--json] [--once] [--http [ADDR:]PORT]
//   tandem version
// Each command's code is imported only when it runs, so `version` and `check` start fast
// (the bundle is split by esbuild at these dynamic imports).
import { VERSION, COMMIT } from './version.ts';
import type { BoardCapacity } from './config/capacity.ts';

export const DEFAULT_CONFIG = '/etc/tandem/tandem.conf';
export const DEFAULT_STATE_DIR = '/var/lib/tandem';
export const DEFAULT_CONTROL_SOCKET = '/run/tandem/tandem.sock';

const USAGE = `usage:
  tandem run -f FILE [--config-id ID] [--board NAME] [--state-dir DIR] [--control-socket PATH] [--log-level L]
  tandem check -f FILE [--config-id ID | --state-dir DIR] [--board NAME | --local]
  tandem ctl [--control-socket PATH] [--json] COMMAND...
  tandem fleet --mqtt URL [--prefix P] [--json] [--once] [--http [ADDR:]PORT] [--ca FILE]
  tandem version`;

export class UsageError extends Error {}

/** Options are `--name value` or `--name=value`; flags listed in `flags` take no value. */
export function parseOptions(
  args: string[],
  known: Record<string, string>,
  flags: string[] = [],
  stopAtFirstWord = false,
): { opts: Map<string, string>; rest: string[] } {
  const opts = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (stopAtFirstWord && !a.startsWith('-')) {
      rest.push(...args.slice(i));
      break;
    }
    if (a === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const raw = eq >= 0 ? a.slice(0, eq) : a;
      const name = known[raw];
      if (!name) throw new UsageError(`unknown option ${raw}`);
      if (flags.includes(name)) {
        opts.set(name, 'true');
        continue;
      }
      const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) throw new UsageError(`option ${raw} needs a value`);
      opts.set(name, value);
    } else {
      rest.push(a);
    }
  }
  return { opts, rest };
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'version':
    case '--version':
    case '-V':
      process.stdout.write(`tandem ${VERSION} (commit ${COMMIT}) node ${process.version} ${process.arch}\n`);
      return 0;
    case 'check': {
      const { opts, rest } = parseOptions(args, { '-f': 'file', '--file': 'file', '--board': 'board', '--config-id': 'configId', '-i': 'configId', '--state-dir': 'stateDir', '--local': 'local' }, ['local']);
      const file = opts.get('file') ?? rest[0] ?? DEFAULT_CONFIG;
      const { checkViews, configIdProblem } = await import('./config/index.ts');
      // --board: interfaces are checked against the board profile's NICs (a build host's are not the board's).
      const boardName = opts.get('board');
      let board: { name: string; nics: string[] } | undefined;
      let capacity: BoardCapacity | undefined;
      if (boardName !== undefined) {
        const { loadBoardProfile, boardCapacity } = await import('./board/profile.ts');
        const p = loadBoardProfile(boardName);
        board = { name: p.name, nics: [p.nics.public, p.nics.private] };
        capacity = boardCapacity(p);
      }
      // --config-id: that board's view; --state-dir: the view `tandem run` would choose (the init
      // scripts check so); neither: every view the file's @ lines name (config/index.ts).
      let configId = opts.get('configId');
      if (configId !== undefined && opts.has('stateDir')) throw new UsageError('check takes --config-id or --state-dir, not both');
      if (configId === undefined && opts.has('stateDir')) {
        const { chooseConfigId } = await import('./config/config-id.ts');
        const choice = chooseConfigId(null, opts.get('stateDir')!);
        if (choice.problem) process.stderr.write(`tandem: ${choice.problem}\n`);
        configId = choice.id;
      }
      if (configId !== undefined && configIdProblem(configId) !== null) throw new UsageError(`--config-id '${configId}': ${configIdProblem(configId)}`);
      // --local: run on the board itself, so its interfaces and addresses are the board's
      // (unknown interfaces, VIP subnets, lb_kind DR real servers it must reach directly).
      let interfaces: Map<string, string[]> | undefined;
      if (opts.has('local') && !board) interfaces = await (await import('./net/interfaces.ts')).hostInterfaceAddresses();
      const r = checkViews(file, { ...(board ? { board } : interfaces ? { interfaces } : {}), ...(capacity ? { capacity } : {}), ...(configId !== undefined ? { configId } : {}) });
      for (const line of r.lines) process.stdout.write(line + '\n');
      // The programs it would run, as the daemon examines them at start (src/script-audit.ts).
      const { auditConfigFile } = await import('./script-audit.ts');
      const programs = r.ok ? await auditConfigFile(file) : { ok: true, lines: [] };
      for (const line of programs.lines) process.stdout.write(line + '\n');
      const ok = r.ok && programs.ok;
      if (ok) process.stdout.write(`${file}: configuration OK${r.views.length > 0 ? ` for config id${r.views.length > 1 ? 's' : ''} ${r.views.join(', ')}` : ''}\n`);
      return ok ? 0 : 1;
    }
    case 'run': {
      const { opts } = parseOptions(args, {
        '-f': 'file',
        '--file': 'file',
        '--board': 'board',
        '--state-dir': 'stateDir',
        '--control-socket': 'controlSocket',
        '--log-level': 'logLevel',
        '--config-id': 'configId',
        '-i': 'configId',
      });
      const configId = opts.get('configId') ?? null;
      if (configId !== null) {
        const { configIdProblem } = await import('./config/config-id.ts');
        const why = configIdProblem(configId);
        if (why !== null) throw new UsageError(`--config-id '${configId}': ${why}`);
      }
      const { runDaemon } = await import('./daemon.ts');
      return runDaemon({
        file: opts.get('file') ?? DEFAULT_CONFIG,
        configId,
        board: opts.get('board') ?? null,
        stateDir: opts.get('stateDir') ?? DEFAULT_STATE_DIR,
        controlSocket: opts.get('controlSocket') ?? DEFAULT_CONTROL_SOCKET,
        logLevel: opts.get('logLevel') ?? 'info',
      });
    }
    case 'ctl': {
      const { opts, rest } = parseOptions(args, { '--control-socket': 'controlSocket', '-s': 'controlSocket', '--json': 'json' }, ['json'], true);
      if (rest.length === 0) throw new UsageError('ctl needs a command, e.g. `tandem ctl show status`');
      const { runCtl } = await import('./console/control-socket.ts');
      return runCtl(opts.get('controlSocket') ?? DEFAULT_CONTROL_SOCKET, rest, undefined, undefined, { json: opts.get('json') === 'true' });
    }
    case 'fleet': {
      const { opts } = parseOptions(
        args,
        { '--mqtt': 'url', '--prefix': 'prefix', '--json': 'json', '--ca': 'ca', '--once': 'once', '--timeout': 'timeout', '--http': 'http' },
        ['json', 'once'],
      );
      const url = opts.get('url');
      if (!url) throw new UsageError('fleet needs --mqtt URL');
      const { runFleet } = await import('./report/fleet-cli.ts');
      const { parseHttpListen } = await import('./report/fleet-http.ts');
      const httpSpec = opts.get('http');
      const http = httpSpec === undefined ? null : parseHttpListen(httpSpec);
      if (httpSpec !== undefined && http === null) throw new UsageError(`--http takes [ADDRESS:]PORT or [IPV6]:PORT, not '${httpSpec}'`);
      if (http && opts.get('once') === 'true') throw new UsageError('--http serves until stopped; it does not go with --once');
      return runFleet({
        http,
        url,
        prefix: opts.get('prefix') ?? 'tandem',
        json: opts.get('json') === 'true',
        once: opts.get('once') === 'true',
        caFile: opts.get('ca') ?? null,
        timeoutMs: opts.has('timeout') ? Number(opts.get('timeout')) * 1000 : undefined,
      });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return cmd === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${cmd}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`tandem: ${err.message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`tandem: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
