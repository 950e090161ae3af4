// The two-board lab of DESIGN.md ("The lab"), built from network namespaces on one Linux host:
//
//   const lab = await createLab({ name: 'failover' });   // or: await withLab(t, { … })
//   await lab.startBoard('a', configText);
//   await lab.waitFor(() => lab.hasAddress('a', 'eth0', LAB_ADDR.publicVip), { what: 'VIP on a' });
//   await lab.powerOff('a');
//   await lab.destroy();
//
// Every host (boards a and b, the client, real servers rs1..rsN) is a namespace; each segment's
// switch is a bridge inside a namespace of its own, joined to the hosts by veth pairs created
// directly across namespaces, so nothing is ever created in, or sent from, the host namespace.
// Names carry a random tag so several test files build labs side by side. Everything is
// removed by destroy(), and — if a test crashes or the process is signalled — by a synchronous
// exit hook.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ip, requireTools, runCommand, type CommandOptions, type CommandResult } from './command.ts';
import { LabProcess, type ExitStatus, type LogLine, type SpawnOptions } from './process.ts';
import {
  pidsInNamespace, removeDirSync, removeNamespacesSync, removeRecord, writeRecord,
} from './registry.ts';
import { HTTP_GET_JS, HTTP_SERVER_JS, UDP_ECHO_JS, UDP_REQUEST_JS } from './services.ts';
import {
  LAB_ADDR, LAB_ADDR6, MAX_REAL_SERVERS, NS_PREFIX, PREFIX_LEN, PREFIX_LEN6, bridgeName, nsName, portName,
  type Board, type BoardLink, type Host, type RealServerHost,
} from './topology.ts';
import { waitFor, type WaitOptions } from './wait.ts';
import { RUNTIME_ENV, RUNTIME_NODE_FLAGS } from './runtime-env.ts';
import { canonicalIp } from '../../src/util/ip.ts';

export { LAB_ADDR, LAB_ADDR6, NS_PREFIX, PREFIX_LEN6 } from './topology.ts';
export type { Board, BoardLink, Host, RealServerHost } from './topology.ts';
export { waitFor, WaitTimeoutError, type WaitOptions } from './wait.ts';
export { LabProcess, type ExitStatus, type LogLine, type SpawnOptions } from './process.ts';
export { CommandError, type CommandOptions, type CommandResult } from './command.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The bundle a board runs; TANDEM_DIST (as in scripts/bundle.mjs) points elsewhere. */
export const DEFAULT_BUNDLE = join(process.env.TANDEM_DIST ?? join(REPO_ROOT, 'dist'), 'tandem.js');

export interface LabOptions {
  /** Human label shown by describe() and in the lab's record (e.g. the test file's name). */
  name?: string;
  /** Number of real servers on the private segment, 0..9. Default 3. */
  realServers?: number;
  /**
   * IPv6 on both segments (off by default, so captures hold only the lab's IPv4 traffic): the
   * 2001:db8:: plan of topology.ts LAB_ADDR6 beside the IPv4 one, the kernel's link-local
   * addresses (build() waits until duplicate address detection has cleared them), IPv6
   * forwarding on the boards, the client's route to the private prefix via the public IPv6 VIP
   * and the real servers' default route via the link-local VIP fe80::1 on their eth0.
   */
  ipv6?: boolean;
  /** Echo every line of every spawned process to stderr, prefixed. Also on with TANDEM_LAB_ECHO=1. */
  echo?: boolean;
  /**
   * A router on both segments with a client behind it (topology.ts): `far`, reached through
   * the router's eth2, whose MTU may be smaller (`farMtu`, default 1500) than the path's.
   */
  router?: boolean | { farMtu?: number };
  /** The real servers' default gateway: the private VIP (default; NAT's layout) or the router. */
  realServerGateway?: 'board' | 'router';
  /**
   * lb_kind DR real servers: these VIPs on each real server's lo, with arp_ignore 1 and
   * arp_announce 2 (they accept packets for the VIPs and never answer ARP for them: docs/dr.md).
   * An IPv6 VIP goes on lo as a /128; IPv6 needs no sysctl for it (docs/dr.md "IPv6").
   */
  drVips?: string[];
}

export interface LabNamespaces {
  a: string;
  b: string;
  client: string;
  /** rs[0] is rs1. */
  rs: string[];
  /** Switch namespaces holding the bridges. */
  public: string;
  private: string;
  /** With the `router` option. */
  router?: string;
  far?: string;
}

export interface StartBoardOptions {
  /** `--board NAME` (the hardware profile), when given. */
  profile?: string;
  /** Default 'debug'. */
  logLevel?: string;
  /** Extra arguments after the standard ones. */
  args?: string[];
  env?: Record<string, string>;
  /** Other files written beside the configuration (name relative to the board's dir → content), e.g. includes or check scripts. */
  files?: Record<string, string>;
  /** Bundle to run; default DEFAULT_BUNDLE. */
  bundle?: string;
  /**
   * What runs the bundle, in place of `process.execPath` (default): e.g. an image's own node
   * under qemu-user, `['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu', IMAGE/bin/node]`.
   * Used for the daemon and for ctl().
   */
  command?: string[];
  /** Resolve only once the daemon has logged a line matching this. */
  waitForLog?: RegExp;
  /** Timeout for waitForLog; default 15 s. */
  timeoutMs?: number;
}

/** A board's running daemon and where its files are. */
export interface BoardHandle {
  board: Board;
  proc: LabProcess;
  /** The board's own directory (config, state, socket live here; it survives restarts). */
  dir: string;
  configPath: string;
  stateDir: string;
  controlSocket: string;
  bundle: string;
  /** Same as proc.waitForLog. */
  waitForLog(re: RegExp, timeoutMs?: number, opts?: { from?: number }): Promise<string>;
  /** `tandem ctl --control-socket SOCK args…`, run inside the board's namespace. */
  ctl(args: readonly string[], opts?: CommandOptions): Promise<CommandResult>;
  /** Rewrites the configuration file (if given) and sends SIGHUP. */
  reload(configText?: string): Promise<void>;
}

export interface IfAddress {
  family: 'inet' | 'inet6';
  address: string;
  prefixLen: number;
  label?: string;
  scope?: string;
  /** IPv6: duplicate address detection still running (the address cannot be used yet). */
  tentative?: boolean;
  /** IPv6: added without duplicate address detection (`nodad`). */
  nodad?: boolean;
}

/** One entry of a host's IPv6 neighbour cache (`ip -6 neigh`). */
export interface Neighbour {
  address: string;
  /** The link-layer address, when the entry has one. */
  mac: string | null;
  /** REACHABLE, STALE, DELAY, PROBE, FAILED, INCOMPLETE, PERMANENT, … */
  state: string[];
  router: boolean;
}

export interface CutOptions {
  /** Which of the board's links; default both. */
  links?: BoardLink[];
  /**
   * 'carrier' (default): the switch-side end goes down, so the board sees NO-CARRIER, as with a
   * pulled cable or a dead peer. 'silent': the switch port stops forwarding (bridge port state
   * disabled) while carrier stays up, so the board notices nothing but packets stop — a broken
   * switch, the classic way to split a VRRP pair's brain.
   */
  mode?: 'carrier' | 'silent';
}

/** Minimal slice of node:test's TestContext that withLab needs. */
export interface AfterHook {
  after(fn: () => unknown): void;
}

const live = new Set<Lab>();
let toolsChecked: Promise<void> | undefined;

/** Builds a lab. On any failure while building, whatever was made is removed and the error rethrown. */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  if (process.getuid && process.getuid() !== 0) throw new Error('the lab needs root (network namespaces)');
  toolsChecked ??= requireTools(['ip', 'bridge', 'nft', 'sysctl', 'ping']);
  try {
    await toolsChecked;
  } catch (e) {
    toolsChecked = undefined;
    throw e;
  }
  const rs = opts.realServers ?? 3;
  if (!Number.isInteger(rs) || rs < 0 || rs > MAX_REAL_SERVERS) {
    throw new Error(`realServers must be an integer 0..${MAX_REAL_SERVERS}, got ${String(opts.realServers)}`);
  }
  const existing = (await ip(['netns', 'list'])).split('\n').map((l) => l.split(/\s+/)[0] ?? '');
  let tag: string;
  do tag = randomTag(); while (existing.some((n) => n.startsWith(`${NS_PREFIX}${tag}-`)));
  const tmp = await mkdtemp(join(tmpdir(), `tandem-lab-${tag}-`));
  const lab = new Lab(tag, opts.name ?? 'lab', rs, tmp, opts);
  live.add(lab);
  installExitHooks();
  writeRecord({
    tag, name: lab.name, pid: process.pid, namespaces: lab.allNamespaces(), tmpDir: tmp, created: new Date().toISOString(),
  });
  try {
    await lab.build();
  } catch (e) {
    await lab.destroy();
    throw new Error(`building lab ${tag} failed: ${(e as Error).message}`, { cause: e });
  }
  return lab;
}

/** createLab plus `t.after(() => lab.destroy())`, for node:test. */
export async function withLab(t: AfterHook, opts: LabOptions = {}): Promise<Lab> {
  const lab = await createLab(opts);
  t.after(() => lab.destroy());
  return lab;
}

/** Labs of this process that are not destroyed yet. */
export function liveLabs(): readonly Lab[] {
  return [...live];
}

export class Lab {
  readonly ns: LabNamespaces;
  private procs = new Set<LabProcess>();
  private boards = new Map<Board, BoardHandle>();
  private destroying: Promise<void> | undefined;
  private readonly echo: boolean;

  /** Use createLab(); the constructor builds nothing. */
  constructor(
    readonly tag: string,
    readonly name: string,
    readonly realServerCount: number,
    /** Temp dir holding the boards' directories; removed by destroy(). */
    readonly tmpDir: string,
    private readonly opts: LabOptions,
  ) {
    this.echo = opts.echo ?? process.env.TANDEM_LAB_ECHO === '1';
    this.ns = {
      a: nsName(tag, 'a'),
      b: nsName(tag, 'b'),
      client: nsName(tag, 'client'),
      rs: this.realServers().map((h) => nsName(tag, h)),
      public: nsName(tag, 'public'),
      private: nsName(tag, 'private'),
      ...(opts.router ? { router: nsName(tag, 'router'), far: nsName(tag, 'far') } : {}),
    };
  }

  /** ['rs1', …]. */
  realServers(): RealServerHost[] {
    return Array.from({ length: this.realServerCount }, (_, i) => `rs${i + 1}` as RealServerHost);
  }

  /** Namespace name of a host. */
  nsOf(host: Host): string {
    if (host === 'a' || host === 'b' || host === 'client' || host === 'public' || host === 'private') return this.ns[host];
    if (host === 'router' || host === 'far') {
      const ns = this.ns[host];
      if (ns === undefined) throw new Error(`lab ${this.tag} has no ${host} (the router option)`);
      return ns;
    }
    const m = /^rs(\d+)$/.exec(host);
    const i = m ? Number(m[1]) : 0;
    if (i < 1 || i > this.realServerCount) throw new Error(`lab ${this.tag} has no host ${host}`);
    return this.ns.rs[i - 1]!;
  }

  allNamespaces(): string[] {
    const extra = this.ns.router && this.ns.far ? [this.ns.router, this.ns.far] : [];
    return [this.ns.public, this.ns.private, this.ns.a, this.ns.b, this.ns.client, ...this.ns.rs, ...extra];
  }

  get destroyed(): boolean {
    return this.destroying !== undefined;
  }

  // ---- running things -------------------------------------------------------------------

  /** Runs argv inside the host's namespace and waits for it (`ip netns exec NS argv…`). */
  exec(host: Host, argv: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
    this.assertLive();
    return runCommand('ip', ['netns', 'exec', this.nsOf(host), ...argv], opts);
  }

  /** Starts a long-running process in the host's namespace; destroy() stops it. */
  spawn(host: Host, argv: readonly string[], opts: SpawnOptions = {}): LabProcess {
    this.assertLive();
    const label = opts.label ?? `${host}:${argv[0] ?? ''}`;
    const userOnLine = opts.onLine;
    const onLine = this.echo
      ? (l: LogLine): void => { process.stderr.write(`[${this.tag} ${label}] ${l.text}\n`); userOnLine?.(l); }
      : userOnLine;
    const p = new LabProcess(this.nsOf(host), argv, { ...opts, label, onLine });
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  // ---- boards -----------------------------------------------------------------------------

  /**
   * Writes `configText` to the board's directory and starts (with opts.command in place of node)
   * `node BUNDLE run -f FILE --state-dir DIR --control-socket SOCK --log-level debug` in the
   * board's namespace. A board still running is refused (stop it first).
   */
  async startBoard(board: Board, configText: string, opts: StartBoardOptions = {}): Promise<BoardHandle> {
    this.assertLive();
    const prev = this.boards.get(board);
    if (prev?.proc.running) throw new Error(`board ${board} is already running (pid ${prev.proc.pid}); stopBoard first`);
    const bundle = opts.bundle ?? DEFAULT_BUNDLE;
    if (!existsSync(bundle)) throw new Error(`no bundle at ${bundle}: run ./build.sh first`);
    const dir = join(this.tmpDir, `board-${board}`);
    const stateDir = join(dir, 'state');
    const configPath = join(dir, 'keepalived.conf');
    const controlSocket = join(dir, 'ctl.sock');
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await writeFile(configPath, configText);
    for (const [name, content] of Object.entries(opts.files ?? {})) {
      const p = resolve(dir, name);
      if (!p.startsWith(dir + '/')) throw new Error(`file ${name} would land outside the board's directory`);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, content, { mode: 0o755 });
    }
    if (opts.command && opts.command.length === 0) throw new Error('command, when given, needs at least one element');
    const runner = opts.command ?? [process.execPath];
    const argv = [
      ...runner, ...RUNTIME_NODE_FLAGS, bundle, 'run', '-f', configPath,
      ...(opts.profile ? ['--board', opts.profile] : []),
      '--state-dir', stateDir, '--control-socket', controlSocket, '--log-level', opts.logLevel ?? 'debug',
      ...(opts.args ?? []),
    ];
    const proc = this.spawn(board, argv, { env: { ...RUNTIME_ENV, ...opts.env }, cwd: dir, label: `board-${board}` });
    const handle: BoardHandle = {
      board, proc, dir, configPath, stateDir, controlSocket, bundle,
      waitForLog: (re, timeoutMs, o) => proc.waitForLog(re, timeoutMs, o),
      ctl: (args, o) => this.exec(board, [...runner, bundle, 'ctl', '--control-socket', controlSocket, ...args], o),
      reload: async (text) => {
        if (text !== undefined) await writeFile(configPath, text);
        if (!proc.signal('SIGHUP')) throw new Error(`board ${board} is not running; cannot reload`);
      },
    };
    this.boards.set(board, handle);
    if (opts.waitForLog) await proc.waitForLog(opts.waitForLog, opts.timeoutMs ?? 15_000);
    return handle;
  }

  /** The board's current (or last) daemon, if one was started. */
  board(board: Board): BoardHandle | undefined {
    return this.boards.get(board);
  }

  /**
   * Stops the board's daemon with `signal` (SIGTERM: graceful; SIGKILL: crash), escalating to
   * SIGKILL after `graceMs`. Resolves with its exit status, or undefined if none was started.
   */
  async stopBoard(board: Board, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<ExitStatus | undefined> {
    const h = this.boards.get(board);
    if (!h) return undefined;
    return h.proc.stop(signal, graceMs);
  }

  /** Takes the board's links down (see CutOptions for the two ways). */
  async cutLinks(board: Board, opts: CutOptions = {}): Promise<void> {
    await this.setLinks(board, opts, false);
  }

  /** Undoes cutLinks. */
  async restoreLinks(board: Board, opts: CutOptions = {}): Promise<void> {
    await this.setLinks(board, opts, true);
  }

  /**
   * What a power loss looks like to the peer: the daemon is SIGKILLed (no priority-0
   * advertisement, nothing cleaned up) and the board's links lose carrier.
   */
  async powerOff(board: Board): Promise<void> {
    await Promise.all([this.stopBoard(board, 'SIGKILL'), this.cutLinks(board)]);
  }

  // ---- looking at things ------------------------------------------------------------------

  /** waitFor, for convenience. */
  waitFor(cond: () => boolean | Promise<boolean>, opts: WaitOptions = {}): Promise<void> {
    return waitFor(cond, opts);
  }

  /** The addresses on `dev` in the host's namespace (parsed from `ip -j addr show dev DEV`). */
  async addresses(host: Host, dev: string): Promise<IfAddress[]> {
    const out = await ip(['-n', this.nsOf(host), '-j', 'addr', 'show', 'dev', dev]);
    // `ip -j` output is external data; shape it by hand rather than trusting it.
    const parsed = JSON.parse(out) as Array<{ addr_info?: Array<Record<string, unknown>> }>;
    const res: IfAddress[] = [];
    for (const l of parsed) {
      for (const a of l.addr_info ?? []) {
        if ((a.family !== 'inet' && a.family !== 'inet6') || typeof a.local !== 'string') continue;
        res.push({
          family: a.family, address: a.local, prefixLen: Number(a.prefixlen),
          ...(typeof a.label === 'string' ? { label: a.label } : {}),
          ...(typeof a.scope === 'string' ? { scope: a.scope } : {}),
          ...(a.tentative === true ? { tentative: true } : {}),
          ...(a.nodad === true ? { nodad: true } : {}),
        });
      }
    }
    return res;
  }

  /** True when `address` (without prefix) is on `dev` in the host. */
  async hasAddress(host: Host, dev: string, address: string): Promise<boolean> {
    return (await this.addresses(host, dev)).some((a) => a.address === address);
  }

  /** The kernel's link-local IPv6 address of `dev` (fe80::/64, not a link-local VIP such as fe80::1). */
  async linkLocal(host: Host, dev: string): Promise<string> {
    const mac = await this.mac(host, dev);
    const ll = (await this.addresses(host, dev)).find((a) => a.family === 'inet6' && a.address === eui64LinkLocal(mac));
    if (!ll) throw new Error(`${host} ${dev} has no link-local address (is the lab built with ipv6: true?)`);
    return ll.address;
  }

  /** The MAC address of `dev` in the host. */
  async mac(host: Host, dev: string): Promise<string> {
    const out = await ip(['-n', this.nsOf(host), '-j', 'link', 'show', 'dev', dev]);
    const [l] = JSON.parse(out) as Array<{ address?: string }>;
    if (typeof l?.address !== 'string') throw new Error(`no MAC address for ${host} ${dev}`);
    return l.address;
  }

  /** The host's IPv6 neighbour cache on `dev` (`ip -6 -j neigh show dev DEV`). */
  async neighbours(host: Host, dev: string): Promise<Neighbour[]> {
    const out = await ip(['-n', this.nsOf(host), '-6', '-j', 'neigh', 'show', 'dev', dev]);
    const parsed = JSON.parse(out || '[]') as Array<Record<string, unknown>>;
    return parsed.filter((n) => typeof n.dst === 'string').map((n) => ({
      address: n.dst as string,
      mac: typeof n.lladdr === 'string' ? n.lladdr : null,
      state: Array.isArray(n.state) ? n.state.filter((x): x is string => typeof x === 'string') : [],
      router: n.router !== undefined,
    }));
  }

  /** Link state of `dev` in the host: operstate ('UP', 'DOWN', 'LOWERLAYERDOWN', …) and flags. */
  async linkState(host: Host, dev: string): Promise<{ operstate: string; flags: string[] }> {
    const out = await ip(['-n', this.nsOf(host), '-j', 'link', 'show', 'dev', dev]);
    const [l] = JSON.parse(out) as Array<{ operstate?: string; flags?: string[] }>;
    return { operstate: l?.operstate ?? 'UNKNOWN', flags: l?.flags ?? [] };
  }

  /** One ICMP echo round (count pings, each waiting timeoutS); true when any reply came. */
  async ping(host: Host, address: string, opts: { count?: number; timeoutS?: number; from?: string } = {}): Promise<boolean> {
    const count = opts.count ?? 1;
    const argv = ['ping', '-n', '-q', '-c', String(count), '-W', String(opts.timeoutS ?? 1)];
    if (count > 1) argv.push('-i', '0.2');
    if (opts.from) argv.push('-I', opts.from);
    argv.push(address);
    const r = await this.exec(host, argv, { timeoutMs: (count * 0.2 + (opts.timeoutS ?? 1)) * 1000 + 5_000 });
    return r.code === 0;
  }

  // ---- real servers and clients -----------------------------------------------------------

  /**
   * Starts an HTTP server on `port` in a real server (1-based number or 'rs1'; any host works)
   * answering every request with its host name and a newline. Resolves once it listens. It logs
   * "request ADDR:PORT METHOD URL" per request, so a test can see the source address.
   */
  async startHttpServer(rs: number | Host, port: number): Promise<LabProcess> {
    return this.startService(rs, port, HTTP_SERVER_JS, 'http');
  }

  /** UDP server on `port` answering each datagram with "HOST:" + the datagram. Resolves once bound. */
  async startUdpEcho(rs: number | Host, port: number): Promise<LabProcess> {
    return this.startService(rs, port, UDP_ECHO_JS, 'udp');
  }

  /** One HTTP GET from the host (node, no keep-alive). Rejects with the client's error. */
  async httpGet(host: Host, url: string, timeoutMs = 3_000): Promise<{ status: number; body: string }> {
    const r = await this.exec(host, [process.execPath, '-e', HTTP_GET_JS, url, String(timeoutMs)], { timeoutMs: timeoutMs + 5_000 });
    if (r.code !== 0) throw new Error(`GET ${url} from ${host} failed: ${r.stderr.trim() || `exit ${String(r.code)}`}`);
    return JSON.parse(r.stdout) as { status: number; body: string };
  }

  /** Sends one datagram from the host and resolves with the first reply's text. */
  async udpRequest(host: Host, address: string, port: number, payload: string, timeoutMs = 2_000): Promise<string> {
    const r = await this.exec(host, [process.execPath, '-e', UDP_REQUEST_JS, address, String(port), payload, String(timeoutMs)],
      { timeoutMs: timeoutMs + 5_000 });
    if (r.code !== 0) throw new Error(`UDP to ${address}:${port} from ${host} failed: ${r.stderr.trim() || `exit ${String(r.code)}`}`);
    return r.stdout;
  }

  /** The topology as a table, for the demo and for failure messages. */
  describe(): string {
    const rows: string[][] = [['host', 'namespace', 'dev', 'address', 'notes']];
    const p = PREFIX_LEN;
    rows.push(['client', this.ns.client, 'eth0', `${LAB_ADDR.client}/${p}`, `route ${LAB_ADDR.privateNet} via ${LAB_ADDR.publicVip}`]);
    for (const b of ['a', 'b'] as const) {
      rows.push([b, this.ns[b], 'eth0', `${LAB_ADDR.board[b].eth0}/${p}`, 'public; ip_forward=1']);
      rows.push(['', '', 'eth1', `${LAB_ADDR.board[b].eth1}/${p}`, 'private']);
    }
    this.realServers().forEach((h, i) => {
      rows.push([h, this.ns.rs[i]!, 'eth0', `${LAB_ADDR.realServer(i + 1)}/${p}`, `default via ${LAB_ADDR.privateVip}`]);
    });
    const gw = this.opts.realServerGateway === 'router' ? LAB_ADDR.router.eth1 : LAB_ADDR.privateVip;
    for (const r of rows) if (r[4] === `default via ${LAB_ADDR.privateVip}`) r[4] = `default via ${gw}${this.opts.drVips?.length ? `; lo ${this.opts.drVips.join(',')} (DR)` : ''}`;
    if (this.ns.router && this.ns.far) {
      rows.push(['router', this.ns.router, 'eth0', `${LAB_ADDR.router.eth0}/${p}`, 'public; ip_forward=1']);
      rows.push(['', '', 'eth1', `${LAB_ADDR.router.eth1}/${p}`, 'private']);
      rows.push(['', '', 'eth2', `${LAB_ADDR.router.eth2}/${p}`, `to far; mtu ${this.farMtu()}`]);
      rows.push(['far', this.ns.far, 'eth0', `${LAB_ADDR.far}/${p}`, `default via ${LAB_ADDR.router.eth2}`]);
    }
    if (this.opts.ipv6) {
      const q = PREFIX_LEN6;
      rows.push(['client', '', 'eth0', `${LAB_ADDR6.client}/${q}`, `route ${LAB_ADDR6.privateNet} via ${LAB_ADDR6.publicVip}`]);
      for (const b of ['a', 'b'] as const) {
        rows.push([b, '', 'eth0', `${LAB_ADDR6.board[b].eth0}/${q}`, 'IPv6 forwarding on']);
        rows.push(['', '', 'eth1', `${LAB_ADDR6.board[b].eth1}/${q}`, '']);
      }
      this.realServers().forEach((h, i) => {
        rows.push([h, '', 'eth0', `${LAB_ADDR6.realServer(i + 1)}/${q}`, `default via ${LAB_ADDR6.gatewayVip} dev eth0`]);
      });
    }
    rows.push(['public', this.ns.public, bridgeName(this.tag), '-', `switch: ${LAB_ADDR.publicNet}${this.opts.ipv6 ? `, ${LAB_ADDR6.publicNet}` : ''}`]);
    rows.push(['private', this.ns.private, bridgeName(this.tag), '-', `switch: ${LAB_ADDR.privateNet}${this.opts.ipv6 ? `, ${LAB_ADDR6.privateNet}` : ''}`]);
    const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(w[c]!)).join('  ').trimEnd());
    return [
      `lab "${this.name}" (tag ${this.tag}, files in ${this.tmpDir})`,
      ...lines,
      `VIPs (added by the VRRP daemon, not the lab): public ${LAB_ADDR.publicVip}, private ${LAB_ADDR.privateVip}`,
    ].join('\n');
  }

  // ---- teardown ---------------------------------------------------------------------------

  /**
   * Stops every process the lab started (SIGTERM, then SIGKILL after 3 s), kills whatever else
   * still runs in its namespaces, deletes the namespaces and the temp dir. Idempotent; never throws.
   */
  destroy(): Promise<void> {
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.stop('SIGTERM', 3_000)));
    const namespaces = this.allNamespaces();
    // Anything left is a child of something we started (a daemon's check script, …).
    for (const ns of namespaces) {
      for (const pid of pidsInNamespace(ns)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }
    await Promise.all(namespaces.map((ns) => runCommand('ip', ['netns', 'del', ns]).catch(() => undefined)));
    await rm(this.tmpDir, { recursive: true, force: true });
    removeRecord(this.tag);
    live.delete(this);
  }

  /** Synchronous teardown for the exit hook. */
  destroySync(): void {
    removeNamespacesSync(this.allNamespaces(), [...this.procs].filter((p) => p.running).map((p) => p.pid));
    removeDirSync(this.tmpDir);
    removeRecord(this.tag);
    live.delete(this);
  }

  // ---- building ---------------------------------------------------------------------------

  /** Creates namespaces, switches, links, addresses and routes. Called once by createLab. */
  async build(): Promise<void> {
    const all = this.allNamespaces();
    for (const ns of all) await ip(['netns', 'add', ns]);
    await Promise.all(all.map((ns) => this.prepareNamespace(ns)));
    const br = bridgeName(this.tag);
    await Promise.all([this.ns.public, this.ns.private].map(async (sw) => {
      // No STP and no forward delay: a port forwards as soon as it is up. No multicast snooping:
      // VRRP adverts (224.0.0.18) must reach every port as on a dumb switch.
      await ip(['-n', sw, 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0']);
      await ip(['-n', sw, 'link', 'set', br, 'up']);
    }));
    const links: Array<Promise<void>> = [];
    links.push(this.link('client', 'eth0', this.ns.public, `${LAB_ADDR.client}/${PREFIX_LEN}`));
    for (const b of ['a', 'b'] as const) {
      links.push(this.link(b, 'eth0', this.ns.public, `${LAB_ADDR.board[b].eth0}/${PREFIX_LEN}`));
      links.push(this.link(b, 'eth1', this.ns.private, `${LAB_ADDR.board[b].eth1}/${PREFIX_LEN}`));
    }
    this.realServers().forEach((h, i) => {
      links.push(this.link(h, 'eth0', this.ns.private, `${LAB_ADDR.realServer(i + 1)}/${PREFIX_LEN}`));
    });
    if (this.ns.router && this.ns.far) {
      links.push(this.link('router', 'eth0', this.ns.public, `${LAB_ADDR.router.eth0}/${PREFIX_LEN}`));
      links.push(this.link('router', 'eth1', this.ns.private, `${LAB_ADDR.router.eth1}/${PREFIX_LEN}`));
      links.push(this.farLink());
    }
    await Promise.all(links);
    // Routes point at VIPs that do not exist yet; `onlink` is not needed because each gateway is
    // inside the interface's own subnet.
    await ip(['-n', this.ns.client, 'route', 'add', LAB_ADDR.privateNet, 'via', LAB_ADDR.publicVip]);
    const gw = this.opts.realServerGateway === 'router' ? LAB_ADDR.router.eth1 : LAB_ADDR.privateVip;
    if (gw === LAB_ADDR.router.eth1 && !this.ns.router) throw new Error('realServerGateway router needs the router option');
    await Promise.all(this.ns.rs.map((ns) => ip(['-n', ns, 'route', 'add', 'default', 'via', gw])));
    if (this.ns.router && this.ns.far) {
      await ip(['-n', this.ns.far, 'route', 'add', 'default', 'via', LAB_ADDR.router.eth2]);
      // The boards route replies to far (real servers whose gateway is the board) via the router.
      await Promise.all([this.ns.a, this.ns.b].map((ns) => ip(['-n', ns, 'route', 'add', LAB_ADDR.spareNet, 'via', LAB_ADDR.router.eth0])));
    }
    if (this.opts.drVips?.length) await Promise.all(this.ns.rs.map((ns) => this.prepareDrRealServer(ns, this.opts.drVips!)));
    await this.waitLinksUp();
    if (this.opts.ipv6) await this.buildIpv6();
  }

  /**
   * The IPv6 plan (LAB_ADDR6) beside the IPv4 one. The global addresses are the lab's own and go
   * on without duplicate address detection; the link-local ones are the kernel's, and the lab is
   * ready once DAD has cleared them (about a second), so a daemon never starts on a tentative
   * source address.
   */
  private async buildIpv6(): Promise<void> {
    const q = PREFIX_LEN6;
    const add = (host: Host, dev: string, a: string): Promise<string> => ip(['-n', this.nsOf(host), 'addr', 'add', `${a}/${q}`, 'dev', dev, 'nodad']);
    const adds: Array<Promise<unknown>> = [add('client', 'eth0', LAB_ADDR6.client)];
    for (const b of ['a', 'b'] as const) {
      adds.push(add(b, 'eth0', LAB_ADDR6.board[b].eth0), add(b, 'eth1', LAB_ADDR6.board[b].eth1));
    }
    this.realServers().forEach((h, i) => adds.push(add(h, 'eth0', LAB_ADDR6.realServer(i + 1))));
    await Promise.all(adds);
    await ip(['-n', this.ns.client, '-6', 'route', 'add', LAB_ADDR6.privateNet, 'via', LAB_ADDR6.publicVip]);
    await Promise.all(this.ns.rs.map((ns) => ip(['-n', ns, '-6', 'route', 'add', 'default', 'via', LAB_ADDR6.gatewayVip, 'dev', 'eth0'])));
    const hosts: Host[] = ['a', 'b', 'client', ...this.realServers()];
    await waitFor(async () => {
      for (const h of hosts) {
        const out = await ip(['-n', this.nsOf(h), '-6', '-j', 'addr', 'show', 'scope', 'link']);
        const ls = JSON.parse(out) as Array<{ ifname?: string; addr_info?: Array<{ local?: string; tentative?: boolean }> }>;
        for (const l of ls) {
          if (l.ifname === 'lo') continue;
          const lls = (l.addr_info ?? []).filter((a) => typeof a.local === 'string');
          if (lls.length === 0 || lls.some((a) => a.tentative === true)) return false;
        }
      }
      return true;
    }, { timeoutMs: 10_000, intervalMs: 50, what: `the link-local addresses of lab ${this.tag} to clear duplicate address detection` });
  }

  private farMtu(): number {
    return typeof this.opts.router === 'object' ? this.opts.router.farMtu ?? 1500 : 1500;
  }

  /** router eth2 ── far eth0, one veth pair (no switch): the MTU is the router side's. */
  private async farLink(): Promise<void> {
    const router = this.ns.router!;
    const far = this.ns.far!;
    await ip(['-n', router, 'link', 'add', 'eth2', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', far]);
    // Only the router's side is smaller: far still advertises a 1500-byte path in its MSS, so
    // full-sized replies reach the router and need its ICMP "fragmentation needed" (RFC 1191).
    await ip(['-n', router, 'link', 'set', 'eth2', 'mtu', String(this.farMtu())]);
    await ip(['-n', router, 'addr', 'add', `${LAB_ADDR.router.eth2}/${PREFIX_LEN}`, 'dev', 'eth2']);
    await ip(['-n', far, 'addr', 'add', `${LAB_ADDR.far}/${PREFIX_LEN}`, 'dev', 'eth0']);
    await ip(['-n', router, 'link', 'set', 'eth2', 'up']);
    await ip(['-n', far, 'link', 'set', 'eth0', 'up']);
  }

  /**
   * A DR real server as docs/dr.md prepares one: the VIPs on lo, so it accepts the clients'
   * packets forwarded to its MAC; arp_ignore 1 (answer ARP only for addresses of the asking
   * interface) and arp_announce 2 (never use the VIP as an ARP source), so it never claims them.
   */
  private async prepareDrRealServer(ns: string, vips: readonly string[]): Promise<void> {
    for (const v of vips) await ip(['-n', ns, 'addr', 'add', v.includes(':') ? `${v}/128` : `${v}/32`, 'dev', 'lo']);
    await runCommand('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w',
      'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2'], { check: true });
  }

  private async prepareNamespace(ns: string): Promise<void> {
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    const sysctls: string[] = [];
    if (!this.opts.ipv6) {
      // `default` before any interface exists, so every later interface starts without IPv6.
      sysctls.push('net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    }
    if (ns === this.ns.a || ns === this.ns.b || ns === this.ns.router) sysctls.push('net.ipv4.ip_forward=1');
    if ((ns === this.ns.a || ns === this.ns.b) && this.opts.ipv6) sysctls.push('net.ipv6.conf.all.forwarding=1');
    if (sysctls.length) {
      await runCommand('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...sysctls], { check: true });
    }
  }

  /** veth from the switch namespace into the host, named `dev` there, with `cidr` on it. */
  private async link(host: Host, dev: string, sw: string, cidr: string): Promise<void> {
    const port = portName(this.tag, host, dev);
    const hostNs = this.nsOf(host);
    await ip(['-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', hostNs]);
    await ip(['-n', sw, 'link', 'set', port, 'master', bridgeName(this.tag), 'up']);
    await ip(['-n', hostNs, 'addr', 'add', cidr, 'dev', dev]);
    await ip(['-n', hostNs, 'link', 'set', dev, 'up']);
  }

  private async setLinks(board: Board, opts: CutOptions, up: boolean): Promise<void> {
    this.assertLive();
    const links = opts.links ?? ['eth0', 'eth1'];
    await Promise.all(links.map(async (dev) => {
      const sw = dev === 'eth0' ? this.ns.public : this.ns.private;
      const port = portName(this.tag, board, dev);
      if ((opts.mode ?? 'carrier') === 'carrier') {
        await ip(['-n', sw, 'link', 'set', port, up ? 'up' : 'down']);
      } else {
        // Bridge port states (include/uapi/linux/if_bridge.h): 0 disabled, 3 forwarding.
        // (`ip link set … type bridge_slave state N` is accepted but has no effect here.)
        await runCommand('bridge', ['-n', sw, 'link', 'set', 'dev', port, 'state', up ? '3' : '0'], { check: true });
      }
    }));
    if ((opts.mode ?? 'carrier') === 'carrier') {
      // The kernel applies carrier changes to operstate through linkwatch, up to a second later;
      // wait until the board sees what was done, so callers start from a settled state.
      await waitFor(async () => {
        for (const dev of links) {
          const st = await this.linkState(board, dev);
          if ((st.operstate === 'UP') !== up) return false;
        }
        return true;
      }, { timeoutMs: 10_000, what: `board ${board}'s ${links.join(' and ')} to go ${up ? 'up' : 'down'}` });
    }
  }

  /** Waits until every host-side link of the lab is operationally UP (see setLinks on linkwatch). */
  private async waitLinksUp(): Promise<void> {
    const hosts: Host[] = ['a', 'b', 'client', ...this.realServers(), ...(this.ns.router ? ['router', 'far'] as const : [])];
    await waitFor(async () => {
      for (const h of hosts) {
        const out = await ip(['-n', this.nsOf(h), '-j', 'link', 'show']);
        const ls = JSON.parse(out) as Array<{ ifname?: string; operstate?: string }>;
        if (ls.some((l) => l.ifname !== 'lo' && l.operstate !== 'UP')) return false;
      }
      return true;
    }, { timeoutMs: 10_000, intervalMs: 20, what: `every link of lab ${this.tag} to come up` });
  }

  private startService(rs: number | Host, port: number, script: string, kind: string): Promise<LabProcess> {
    const host: Host = typeof rs === 'number' ? `rs${rs}` : rs;
    this.nsOf(host); // validates the host
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
    const p = this.spawn(host, [process.execPath, '-e', script, host, String(port)], { label: `${host}:${kind}${port}` });
    return p.waitForLog(/^listening /, 10_000).then(() => p);
  }

  private assertLive(): void {
    if (this.destroying) throw new Error(`lab ${this.tag} is destroyed`);
  }
}

/** The link-local address the kernel makes from a MAC (RFC 4291 appendix A, modified EUI-64). */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((x) => Number.parseInt(x, 16));
  if (b.length !== 6 || b.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad MAC ${mac}`);
  const w = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
  return canonicalIp(`fe80::${w(b[0]! ^ 2, b[1]!)}:${w(b[2]!, 0xff)}:${w(0xfe, b[3]!)}:${w(b[4]!, b[5]!)}`)!;
}

function randomTag(): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(6)].map((b) => abc[b % abc.length]).join('');
}

let hooksInstalled = false;

/**
 * Cleanup when the process ends without destroy(): an uncaught exception or process.exit()
 * still runs 'exit' listeners. A deadly signal does not, so SIGINT/SIGTERM/SIGHUP get a handler
 * too — but only act when nobody else listens (the demo handles Ctrl-C itself, calling destroy()),
 * and then re-raise the signal so the process dies from it as it would have.
 */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of [...live]) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      if (process.listenerCount(sig) > 1) return;
      for (const lab of [...live]) lab.destroySync();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}
