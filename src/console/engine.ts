// The console's command engine: transport-free. A transport (serial.ts, control-socket.ts, a
// test) makes a Session, feeds it whole lines and writes back what it returns. Pure apart from
// the ConsoleHost, the user store and the injected clock.
//
// Modes: login (first-boot password setup, then user + password) → operational (`tandem>`) →
// configure (`tandem#`). Output uses '\n'; the serial transport turns it into CR LF.
//
// `?` at the end of a line lists what may come next (on Enter: the line is raw, not a tty, and
// waiting for Enter keeps a pasted line with a '?' in a value harmless). Tab completes.
//
// Configure mode (JunOS-like):
//   set PATH… VALUE / delete PATH…    edit this session's candidate tree (src/config/edit.ts)
//   show diff | show candidate        unified diff of the file running → as commit would save it |
//                                     that file with line numbers
//   commit                            rewrite only the lines changed (config/source-edit.ts; refused,
//                                     naming FILE:LINE, where that would touch text other boards
//                                     read), validate, save atomically (FILE.prev kept), reload
//                                     in-process; also confirms a pending `commit confirmed`
//   commit confirmed MINUTES          the same, rolled back unless `confirm`/`commit` within MINUTES
//   confirm                           confirm a pending commit (also in operational mode, and over ctl)
//   rollback                          discard the candidate's changes; when a confirmed commit is
//                                     pending, also roll that back now
//   exit                              back to operational mode (the candidate is kept for the session)
import { serverEndpoint } from '../util/ip.ts';
import type { Node } from '../config/ast.ts';
import type { Diagnostic } from '../config/model.ts';
import type { SourceInfo } from '../config/parser.ts';
import type { PatchResult } from '../config/source-edit.ts';
import { setPath, deletePath, pathCompletions } from '../config/edit.ts';
import type { Clock } from '../util/clock.ts';
import { sleep } from '../util/clock.ts';
import { SaveError } from '../util/atomic-file.ts';
import type { CommitManager } from './commit.ts';
import type { ConsoleHost } from './host.ts';
import type { LoginGuard } from './login.ts';
import type { UserStore } from './users.ts';
import type { ConfigSyntax } from './syntax.ts';
import type { ArgValue, CommandSpec, Mode, Word } from './commands.ts';
import { commonPrefix, matchCommand, nextChoices, tokenize, usage } from './commands.ts';
import { unifiedDiff } from './diff.ts';
import { duration, numbered } from './format.ts';
import { LOG, MAX_LOG_LINES, SHOWS, type ShowContext, type ShowForm } from './show.ts';

export interface EngineDeps {
  host: ConsoleHost;
  syntax: ConfigSyntax;
  users: UserStore;
  guard: LoginGuard;
  commits: CommitManager;
  clock: Clock;
}

export interface Reply {
  /** Text to show, '\n' line ends; '' for none. */
  output: string;
  /** The prompt to show next. */
  prompt: string;
  /** The next line is a password: do not echo it, keep it out of history. */
  secret: boolean;
  /** The session has ended (logout); the transport starts a new one. */
  closed: boolean;
  /** false when the command failed (its output starts with '%'). */
  ok: boolean;
}

export interface Completion {
  line: string;
  candidates: string[];
}

type State =
  | { s: 'setup1' }
  | { s: 'setup2'; first: string }
  | { s: 'user' }
  | { s: 'pass'; user: string }
  | { s: 'oper' }
  | { s: 'config' }
  | { s: 'passwd0' }
  | { s: 'passwd1' }
  | { s: 'passwd2'; first: string }
  | { s: 'closed' };

export const ADMIN_USER = 'admin';
export const MIN_PASSWORD = 8;

/** The running file as the candidate was read from it. */
interface Base {
  text: string;
  nodes: Node[];
  source: SourceInfo;
}

interface CmdResult {
  output: string;
  ok: boolean;
}

type Ctx = Session;
type Spec = CommandSpec<Ctx, Promise<CmdResult> | CmdResult>;

const ok = (output: string): CmdResult => ({ output, ok: true });
const fail = (output: string): CmdResult => ({ output: output.startsWith('%') ? output : `% ${output}`, ok: false });
const lines = (xs: string[]): string => (xs.length ? xs.join('\n') + '\n' : '');

function vsNames(ctx: Ctx): string[] {
  return ctx.deps.host.virtualServers().map((v) => serverEndpoint(v.name));
}

function rsNames(ctx: Ctx, prior: ArgValue[]): string[] {
  const vs = ctx.deps.host.virtualServers().find((v) => v.name === prior[0]?.text);
  return vs ? vs.realServers.map((r) => serverEndpoint(r.name)) : [];
}

/** A show command's data form, for `tandem ctl --json` (src/console/show.ts). */
const DATA = new WeakMap<Spec, (ctx: Ctx, args: ArgValue[]) => Promise<unknown>>();

/** A command that shows `f`: its text for the console, its data for --json. */
function showSpec(path: Spec['path'], modes: Mode[], help: string, f: ShowForm<unknown>, argsOf: (a: ArgValue[]) => string[] = () => []): Spec {
  const spec: Spec = {
    path, modes, help,
    run: async (c, a) => {
      const ctx = c.showContext();
      return ok(f.text(await f.data(ctx, argsOf(a)), ctx));
    },
  };
  DATA.set(spec, async (c, a) => f.data(c.showContext(), argsOf(a)));
  return spec;
}

/** A command with a data form of its own (show diff, show candidate: the session's candidate). */
function withData(spec: Spec, data: (ctx: Ctx, args: ArgValue[]) => Promise<unknown>): Spec {
  DATA.set(spec, data);
  return spec;
}

const BOTH: Mode[] = ['oper', 'config'];

export const COMMANDS: Spec[] = [
  ...SHOWS.map(([w, help, f]): Spec => showSpec(['show', w], BOTH, help, f)),
  showSpec(['show', 'log'], BOTH, 'the last 20 log lines', LOG),
  showSpec(['show', 'log', { arg: 'LINES', kind: 'number', min: 1, max: MAX_LOG_LINES }], BOTH, 'the last LINES log lines', LOG, (a) => [a[0]!.text]),
  {
    path: ['real-server', { arg: 'VS', kind: 'endpoint', help: 'virtual server ADDRESS:PORT', complete: vsNames },
      { arg: 'RS', kind: 'endpoint', help: 'real server ADDRESS:PORT', complete: rsNames },
      { arg: 'ACTION', kind: 'choice', choices: ['drain', 'enable'] }],
    modes: ['oper'],
    help: 'drain (no new connections) or enable a real server',
    run: (c, a) => c.realServer(a[0]!.text, a[1]!.text, a[2]!.text as 'drain' | 'enable'),
  },
  {
    path: ['maintenance', { arg: 'STATE', kind: 'choice', choices: ['on', 'off'] }],
    modes: ['oper'],
    help: 'on: hand mastership to the peer; off: take the configured priority back',
    run: (c, a) => c.maintenance(a[0]!.text === 'on'),
  },
  {
    path: ['config-id', { arg: 'ID', kind: 'word', help: "this board's config id: which @ID lines it reads" }],
    modes: ['oper'],
    help: 'provision the config id (saved in the state directory, applied by a reload)',
    run: (c, a) => c.setConfigId(a[0]!.text),
  },
  { path: ['configure'], modes: ['oper'], help: 'edit the configuration', run: (c) => c.enterConfigure() },
  { path: ['password'], modes: ['oper'], help: 'change your console password', run: (c) => c.startPasswd() },
  { path: ['confirm'], modes: BOTH, help: 'confirm a pending commit confirmed', run: (c) => c.confirm() },
  { path: ['help'], modes: BOTH, help: 'list the commands', run: (c) => ok(c.help()) },
  { path: ['exit'], modes: BOTH, help: 'leave configure mode, or log out', run: (c) => c.exit() },
  { path: ['logout'], modes: ['oper'], help: 'log out', run: (c) => c.logout() },
  {
    path: ['set', { arg: 'PATH', kind: 'rest', help: 'block words… directive value…', complete: (c, _p, w) => c.pathChoices(w) }],
    modes: ['config'],
    help: 'set a directive in the candidate (e.g. set vrrp_instance VI_1 priority 150)',
    run: (c, a) => c.edit('set', a[0]!.words),
  },
  {
    path: ['delete', { arg: 'PATH', kind: 'rest', help: 'block words… [directive [value…]]', complete: (c, _p, w) => c.pathChoices(w) }],
    modes: ['config'],
    help: 'delete a block or directive from the candidate',
    run: (c, a) => c.edit('delete', a[0]!.words),
  },
  withData({ path: ['show', 'diff'], modes: ['config'], help: 'changes: running → candidate', run: (c) => c.showDiff() }, async (c) => c.diffData()),
  withData({ path: ['show', 'candidate'], modes: ['config'], help: 'the candidate with line numbers', run: (c) => c.showCandidate() }, async (c) => c.candidateData()),
  { path: ['commit'], modes: ['config'], help: 'validate, save and apply the candidate', run: (c) => c.commit(null) },
  {
    path: ['commit', 'confirmed', { arg: 'MINUTES', kind: 'number', min: 1, max: 1440 }],
    modes: ['config'],
    help: 'commit; rolled back unless confirmed within MINUTES',
    run: (c, a) => c.commit(Number(a[0]!.text)),
  },
  { path: ['rollback'], modes: ['config'], help: 'discard the candidate; undo a pending commit confirmed', run: (c) => c.rollback() },
];

export class Session {
  readonly deps: EngineDeps;
  readonly transport: string;
  private state: State = { s: 'user' };
  user: string | null = null;
  /** The candidate tree in configure mode; null until `configure`. */
  private candidate: Node[] | null = null;
  /** What the candidate was read from: the running file's text and its tree. */
  private base: Base | null = null;

  constructor(deps: EngineDeps, transport: string, preauthUser: string | null) {
    this.deps = deps;
    this.transport = transport;
    if (preauthUser !== null) {
      this.user = preauthUser;
      this.state = { s: 'oper' };
    }
  }

  get mode(): string {
    return this.state.s;
  }

  get closed(): boolean {
    return this.state.s === 'closed';
  }

  prompt(): string {
    const node = this.deps.host.status().node || 'tandem';
    switch (this.state.s) {
      case 'setup1':
      case 'passwd1':
        return 'New password: ';
      case 'setup2':
      case 'passwd2':
        return 'Retype new password: ';
      case 'passwd0':
        return 'Current password: ';
      case 'user':
        return `${node} login: `;
      case 'pass':
        return 'Password: ';
      case 'oper':
        return `${node}> `;
      case 'config':
        return `${node}# `;
      case 'closed':
        return '';
    }
  }

  private reply(output: string, good = true): Reply {
    const s = this.state.s;
    const secret = s === 'pass' || s === 'setup1' || s === 'setup2' || s.startsWith('passwd');
    return { output, prompt: this.prompt(), secret, closed: s === 'closed', ok: good };
  }

  /** Banner and first prompt; asks for the admin password when no user exists (first boot). */
  async start(): Promise<Reply> {
    if (this.state.s === 'oper') return this.reply('');
    await this.deps.guard.ready();
    let hasUsers: boolean;
    try {
      hasUsers = await this.deps.users.hasUsers();
    } catch (e) {
      // A damaged users file must not reopen first-boot setup; logins fail until it is fixed.
      return this.reply(`% console users unreadable: ${(e as Error).message}\n`, false);
    }
    const v = this.deps.host.version();
    const banner = `tandem ${v.version} on ${v.node}${v.board ? ` (${v.board})` : ''}\n`;
    if (!hasUsers) {
      this.state = { s: 'setup1' };
      return this.reply(`${banner}No console user is set up yet. Choose the password for '${ADMIN_USER}' (at least ${MIN_PASSWORD} characters).\n`);
    }
    return this.reply(banner);
  }

  /** Ctrl-C at a password prompt goes back a step (to `login:`, like getty); elsewhere nothing. */
  cancel(): void {
    const s = this.state.s;
    if (s === 'pass') this.state = { s: 'user' };
    else if (s === 'setup2') this.state = { s: 'setup1' };
    else if (s.startsWith('passwd')) this.state = { s: 'oper' };
  }

  /** Whether the next line is a password (no echo). */
  get secret(): boolean {
    return this.reply('').secret;
  }

  /** The transport lost its line (hang-up, idle timeout). */
  logout(reason = 'logout'): CmdResult {
    if (this.user !== null && this.state.s !== 'closed') {
      this.deps.host.event({ type: 'logout', transport: this.transport, user: this.user, detail: reason });
    }
    this.state = { s: 'closed' };
    this.resetCandidate();
    return ok('');
  }

  /**
   * One line. With format 'json' (tandem ctl --json) a command with a data form answers with
   * that data as JSON; any other command answers {"ok", "output"}; an error {"ok": false,
   * "error"}. Outside the command modes (login, passwords) a line is never JSON.
   */
  async line(raw: string, format: 'text' | 'json' = 'text'): Promise<Reply> {
    try {
      if (format === 'json' && (this.state.s === 'oper' || this.state.s === 'config')) return await this.jsonLine(raw, this.state.s);
      return await this.lineInner(raw);
    } catch (e) {
      // Bad input gets a clear error, never a dead console.
      if (e instanceof SaveError) return this.reply(`% cannot save: ${e.message}\n`, false);
      return this.reply(`% internal error: ${(e as Error).message}\n`, false);
    }
  }

  private async lineInner(raw: string): Promise<Reply> {
    const st = this.state;
    switch (st.s) {
      case 'closed':
        return this.reply('', false);
      case 'setup1':
        if (raw.length < MIN_PASSWORD) return this.reply(`% too short: at least ${MIN_PASSWORD} characters\n`, false);
        this.state = { s: 'setup2', first: raw };
        return this.reply('');
      case 'setup2': {
        if (raw !== st.first) {
          this.state = { s: 'setup1' };
          return this.reply('% the passwords differ, again\n', false);
        }
        // Another transport may have set it meanwhile: never overwrite an existing user here.
        if (await this.deps.users.hasUsers()) {
          this.state = { s: 'user' };
          return this.reply('% a console user was set meanwhile; log in\n', false);
        }
        try {
          await this.deps.users.setPassword(ADMIN_USER, raw);
        } catch (e) {
          this.state = { s: 'setup1' };
          return this.reply(`% cannot save: ${(e as Error).message}; no password set, choose it again\n`, false);
        }
        this.deps.host.event({ type: 'password-set', transport: this.transport, user: ADMIN_USER, detail: 'first boot' });
        this.state = { s: 'user' };
        return this.reply(`password for '${ADMIN_USER}' saved; log in\n`);
      }
      case 'user': {
        const name = raw.trim();
        if (name === '') return this.reply('');
        await this.deps.guard.ready();
        const locked = this.deps.guard.lockedFor();
        if (locked > 0) return this.reply(`% console locked after repeated failures; try again in ${Math.ceil(locked / 1000)} s\n`, false);
        this.state = { s: 'pass', user: name };
        return this.reply('');
      }
      case 'pass':
        return this.checkPassword(st.user, raw);
      case 'passwd0': {
        const good = await this.deps.users.verify(this.user ?? '', raw);
        if (!good) {
          this.state = { s: 'oper' };
          return this.reply('% wrong password\n', false);
        }
        this.state = { s: 'passwd1' };
        return this.reply('');
      }
      case 'passwd1':
        if (raw.length < MIN_PASSWORD) {
          this.state = { s: 'oper' };
          return this.reply(`% too short: at least ${MIN_PASSWORD} characters; password unchanged\n`, false);
        }
        this.state = { s: 'passwd2', first: raw };
        return this.reply('');
      case 'passwd2':
        this.state = { s: 'oper' };
        if (raw !== st.first) return this.reply('% the passwords differ; password unchanged\n', false);
        try {
          await this.deps.users.setPassword(this.user ?? ADMIN_USER, raw);
        } catch (e) {
          return this.reply(`% cannot save: ${(e as Error).message}; password unchanged\n`, false);
        }
        this.deps.host.event({ type: 'password-set', transport: this.transport, user: this.user ?? ADMIN_USER });
        return this.reply('password changed\n');
      case 'oper':
      case 'config': {
        const r = await this.command(raw, st.s);
        return this.reply(r.output, r.ok);
      }
    }
  }

  private async checkPassword(user: string, password: string): Promise<Reply> {
    const guard = this.deps.guard;
    this.state = { s: 'user' };
    await guard.ready();
    const locked = guard.lockedFor();
    if (locked > 0) return this.reply(`% console locked after repeated failures; try again in ${Math.ceil(locked / 1000)} s\n`, false);
    let good = false;
    let why = '';
    try {
      good = await this.deps.users.verify(user, password);
    } catch (e) {
      why = ` (${(e as Error).message})`;
    }
    if (good) {
      guard.recordSuccess();
      this.user = user;
      this.state = { s: 'oper' };
      this.deps.host.event({ type: 'login', transport: this.transport, user });
      return this.reply(`logged in as ${user}; 'help' lists the commands\n${lines(this.commitNotes().map((n) => `NOTE: commit ${n}`))}`);
    }
    const outcome = guard.recordFailure();
    // On disk before the answer: a restart right after it must not forget this failure.
    await guard.settle();
    this.deps.host.event({ type: 'login-failed', transport: this.transport, user, detail: `failure ${guard.failureCount}${why}` });
    if (outcome.locked) {
      this.deps.host.event({ type: 'lockout', transport: this.transport, user, detail: `${outcome.lockedForMs / 1000} s` });
      return this.reply(`% login incorrect; console locked for ${Math.ceil(outcome.lockedForMs / 1000)} s\n`, false);
    }
    // The delay slows down guessing; the reply (and the next prompt) comes after it.
    await sleep(this.deps.clock, outcome.delayMs);
    return this.reply(`% login incorrect${why}\n`, false);
  }

  private async jsonLine(raw: string, mode: Mode): Promise<Reply> {
    const answer = (v: unknown, good: boolean): Reply => this.reply(JSON.stringify(v, null, 2) + '\n', good);
    const text = raw.trim();
    const t = tokenize(text);
    if (t.error) return answer({ ok: false, error: t.error }, false);
    const m = matchCommand(COMMANDS, mode, t.words);
    if (!m.ok) return answer({ ok: false, error: m.error.replace(/^%\s*/, '') }, false);
    const data = DATA.get(m.spec);
    if (data) return answer(await data(this, m.args), true);
    const r = await m.spec.run(this, m.args);
    return r.ok ? answer({ ok: true, output: r.output }, true) : answer({ ok: false, error: r.output.replace(/^%\s*/, '').trimEnd() }, false);
  }

  private async command(raw: string, mode: Mode): Promise<CmdResult> {
    let text = raw.trim();
    if (text === '' || text.startsWith('#') || text.startsWith('!')) return ok('');
    if (text.endsWith('?')) {
      text = text.slice(0, -1);
      const t = tokenize(text);
      if (t.error) return fail(t.error);
      const atWord = text !== '' && !t.trailingSpace;
      const partial = atWord ? t.words[t.words.length - 1]!.text : '';
      const words = atWord ? t.words.slice(0, -1) : t.words;
      const ch = nextChoices(COMMANDS, mode, this, words, partial);
      if (ch.length === 0) return fail(`% no completions for '${text}'`);
      const w = Math.max(...ch.map((c) => c.word.length));
      return ok(ch.map((c) => `  ${c.word.padEnd(w)}  ${c.help}`).join('\n') + '\n');
    }
    const t = tokenize(text);
    if (t.error) return fail(t.error);
    const m = matchCommand(COMMANDS, mode, t.words);
    if (!m.ok) return fail(m.error + '\n');
    const r = await m.spec.run(this, m.args);
    return r;
  }

  /** Tab completion for the line before the cursor. */
  complete(before: string): Completion {
    const st = this.state.s;
    if (st !== 'oper' && st !== 'config') return { line: before, candidates: [] };
    const t = tokenize(before);
    if (t.error) return { line: before, candidates: [] };
    const atWord = before.trim() !== '' && !t.trailingSpace;
    const last = atWord ? t.words[t.words.length - 1]! : null;
    if (last?.quoted) return { line: before, candidates: [] };
    const partial = last ? last.text : '';
    const words = atWord ? t.words.slice(0, -1) : t.words;
    const choices = nextChoices(COMMANDS, st, this, words, partial)
      .map((c) => c.word)
      .filter((w) => !w.startsWith('<'));
    const head = before.slice(0, before.length - partial.length);
    if (choices.length === 1) return { line: head + choices[0]! + ' ', candidates: choices };
    return { line: head + (choices.length ? commonPrefix(choices) : partial), candidates: choices };
  }

  help(): string {
    const mode: Mode = this.state.s === 'config' ? 'config' : 'oper';
    const rows = COMMANDS.filter((c) => c.modes.includes(mode)).map((c) => [usage(c), c.help]);
    const w = Math.max(...rows.map((r) => r[0]!.length));
    return rows.map(([u, h]) => `  ${u!.padEnd(w)}  ${h}`).join('\n') + '\n' +
      "Words may be abbreviated while unique; '?' at the end of a line lists what may follow; Tab completes.\n";
  }

  // --- operational commands -------------------------------------------------------------

  /** What the show forms (src/console/show.ts) read. */
  showContext(): ShowContext {
    return { host: this.deps.host, now: this.deps.clock.now(), commitNotes: this.commitNotes() };
  }

  /** What the operator must know about commit confirmed: at login and in `show status`. */
  private commitNotes(): string[] {
    const c = this.deps.commits;
    const out: string[] = [];
    const problem = c.recoveryProblem();
    if (problem) out.push(problem);
    const p = c.pendingStatus();
    if (p?.failed) out.push(`UNCONFIRMED: rolling back FAILED (${p.failed}); 'rollback' tries again, 'confirm' keeps it`);
    else if (p) out.push(`UNCONFIRMED: rolls back in ${duration(p.inMs)} ('confirm' keeps it)`);
    const rb = c.lastRolledBack();
    if (rb) out.push(`ROLLED BACK ${duration(this.deps.clock.now() - rb.at)} ago: ${rb.reason}`);
    return out;
  }

  async realServer(vs: string, rs: string, action: 'drain' | 'enable'): Promise<CmdResult> {
    const h = this.deps.host;
    const v = h.virtualServers().find((x) => x.name === vs);
    if (!v) return fail(`no virtual server '${vs}'\n`);
    if (!v.realServers.some((r) => r.name === rs)) return fail(`no real server '${rs}' in '${vs}'\n`);
    const r = action === 'drain' ? await h.drain(vs, rs) : await h.enable(vs, rs);
    if (r.ok) h.event({ type: action, transport: this.transport, user: this.user ?? undefined, detail: `${vs} ${rs}` });
    return r.ok ? ok(`${r.message || `${action} ${rs}: done`}\n`) : fail(`${r.message}\n`);
  }

  async setConfigId(id: string): Promise<CmdResult> {
    const h = this.deps.host;
    if (!h.setConfigId) return fail('this console cannot set the config id\n');
    const r = await h.setConfigId(id);
    if (r.ok) h.event({ type: 'config-id', transport: this.transport, user: this.user ?? undefined, detail: id });
    // The candidate was read for the old id: start again from the view of the new one.
    if (r.ok) this.resetCandidate();
    return r.ok ? ok(`${r.message}\n`) : fail(`${r.message}\n`);
  }

  async maintenance(on: boolean): Promise<CmdResult> {
    const r = await this.deps.host.maintenance(on);
    if (r.ok) this.deps.host.event({ type: 'maintenance', transport: this.transport, user: this.user ?? undefined, detail: on ? 'on' : 'off' });
    return r.ok ? ok(`${r.message || `maintenance ${on ? 'on' : 'off'}`}\n`) : fail(`${r.message}\n`);
  }

  startPasswd(): CmdResult {
    this.state = { s: 'passwd0' };
    return ok('');
  }

  exit(): CmdResult {
    if (this.state.s === 'config') {
      this.state = { s: 'oper' };
      return ok(this.candidateChanged() ? "uncommitted changes kept for this session; 'configure' returns to them\n" : '');
    }
    return this.logout();
  }

  async confirm(): Promise<CmdResult> {
    const r = await this.deps.commits.confirm(this.transport);
    return r.ok ? ok(lines(r.messages)) : fail(lines(r.messages));
  }

  // --- configure mode ---------------------------------------------------------------------
  //
  // The candidate is a tree read from the running file (for this board's config id) and edited;
  // `base` is that read. Commit turns the edits into edits of the file's own lines
  // (config/source-edit.ts): comments, includes, `$` definitions and the other board's `@ID`
  // lines stay byte for byte, and a change that would touch text other boards read is refused
  // with the FILE:LINE to edit by hand.

  /** The board's config id, as the daemon runs with it (undefined: keepalived's default). */
  private configId(): string | undefined {
    return this.deps.host.status().configId?.id;
  }

  private readRunning(): Base {
    const h = this.deps.host;
    const text = h.runningConfigText();
    const id = this.configId();
    const t = this.deps.syntax.parseTree(text, h.configPath, id !== undefined ? { configId: id } : {});
    return { text, nodes: t.nodes, source: t.source };
  }

  /** Start over from what runs now. */
  private fresh(): { base: Base; candidate: Node[] } {
    const base = this.readRunning();
    this.base = base;
    this.candidate = base.nodes;
    return { base, candidate: base.nodes };
  }

  private current(): { base: Base; candidate: Node[] } {
    return this.base && this.candidate ? { base: this.base, candidate: this.candidate } : this.fresh();
  }

  /** The candidate was read for another config id (the console's `config-id`): drop it. */
  resetCandidate(): void {
    this.base = null;
    this.candidate = null;
  }

  private candidateChanged(): boolean {
    const syn = this.deps.syntax;
    return this.candidate !== null && this.base !== null && syn.writeTree(this.candidate) !== syn.writeTree(this.base.nodes);
  }

  /** The file as commit would save it, or why commit would refuse. */
  private patched(): PatchResult {
    const { base, candidate } = this.current();
    return this.deps.syntax.patchText(base.text, base.nodes, candidate, base.source);
  }

  enterConfigure(): CmdResult {
    const kept = this.candidate !== null && this.candidateChanged();
    if (!kept) this.fresh();
    this.state = { s: 'config' };
    return ok(kept ? '[edit] (uncommitted changes from before kept)\n' : '[edit]\n');
  }

  pathChoices(words: Word[]): string[] {
    return this.candidate ? pathCompletions(this.candidate, words) : [];
  }

  edit(op: 'set' | 'delete', words: Word[]): CmdResult {
    const { candidate } = this.current();
    const r = op === 'set' ? setPath(candidate, words) : deletePath(candidate, words);
    if (!r.ok) return fail(`${r.error}\n`);
    this.candidate = r.nodes;
    return ok('');
  }

  /** What commit would write: the running file with the candidate's changes patched in, or
   * (when a change cannot be patched) the canonical texts and why commit would refuse. */
  diffData(): { diff: string; refused: string | null } {
    const syn = this.deps.syntax;
    const { base, candidate } = this.current();
    if (!this.candidateChanged()) return { diff: '', refused: null };
    const p = this.patched();
    if (p.ok) return { diff: unifiedDiff(base.text, p.text), refused: null };
    return { diff: unifiedDiff(syn.writeTree(base.nodes), syn.writeTree(candidate)), refused: p.error };
  }

  showDiff(): CmdResult {
    const d = this.diffData();
    if (d.refused !== null) return ok(d.diff + `% commit would be refused: ${d.refused}\n`);
    return ok(d.diff === '' ? 'no changes\n' : d.diff);
  }

  /** The file commit would write, or the canonical candidate and why commit would refuse. */
  candidateData(): { text: string; refused: string | null } {
    const { base, candidate } = this.current();
    if (!this.candidateChanged()) return { text: base.text, refused: null };
    const p = this.patched();
    return p.ok ? { text: p.text, refused: null } : { text: this.deps.syntax.writeTree(candidate), refused: p.error };
  }

  showCandidate(): CmdResult {
    const d = this.candidateData();
    return ok(numbered(d.text) + (d.refused === null ? '' : `% commit would be refused: ${d.refused}\n`));
  }

  async commit(confirmMinutes: number | null): Promise<CmdResult> {
    const syn = this.deps.syntax;
    const host = this.deps.host;
    const commits = this.deps.commits;
    const { base } = this.current();
    if (!this.candidateChanged()) {
      // Nothing to save (and the file keeps its comments): `commit` only confirms.
      if (confirmMinutes === null && commits.pendingFor() !== null) return this.confirm();
      return ok('no changes to commit\n');
    }
    if (base.text !== host.runningConfigText()) {
      return fail("% commit refused: the running configuration changed after this candidate was started (another session's commit, or a reload); 'rollback' drops the candidate and starts from what runs now\n");
    }
    const p = this.patched();
    if (!p.ok) return fail(`% commit refused (the candidate is kept): ${p.error}\n`);
    // Validate the text that will be saved; errors in it point at the candidate's own lines
    // (`show candidate` numbers them), errors in included files at those files.
    const id = this.configId();
    const parsed = syn.parseTree(p.text, host.configPath, id !== undefined ? { configId: id } : {});
    const built = parsed.diagnostics.some((d) => d.severity === 'error') ? { config: null, diagnostics: [] } : syn.buildConfig(parsed.nodes, host.configPath);
    const shownAs = (d: Diagnostic): string => syn.formatDiagnostic(d.pos.file === host.configPath ? { ...d, pos: { ...d.pos, file: 'candidate' } } : d);
    const diags = [...parsed.diagnostics, ...built.diagnostics];
    const errors = diags.filter((d) => d.severity === 'error');
    const warnings = diags.filter((d) => d.severity !== 'error').map(shownAs);
    if (errors.length > 0 || built.config === null) {
      return fail(lines(['% commit refused, the candidate has errors (kept; fix and commit again):', ...errors.map((d) => '  ' + shownAs(d))]));
    }
    const r = await commits.commit(p.text, this.transport, confirmMinutes);
    if (r.ok) this.fresh();
    const out = lines([...warnings, ...r.messages]);
    return r.ok ? ok(out) : fail(out);
  }

  async rollback(): Promise<CmdResult> {
    const out: string[] = [];
    if (this.candidateChanged()) out.push('candidate changes discarded');
    let good = true;
    if (this.deps.commits.pendingFor() !== null) {
      const r = await this.deps.commits.revert(this.transport);
      good = r.ok;
      out.push(...r.messages);
    }
    this.fresh();
    if (out.length === 0) out.push('no changes to discard');
    return good ? ok(lines(out)) : fail(lines(out));
  }
}

export class ConsoleEngine {
  readonly deps: EngineDeps;
  /** Resolves once what the previous daemon left is picked up (index.ts createConsoleEngine). */
  readonly ready: Promise<void>;

  constructor(deps: EngineDeps, ready: Promise<void> = Promise.resolve()) {
    this.deps = deps;
    this.ready = ready;
  }

  /** A session needing login (serial console). */
  session(transport: string): Session {
    return new Session(this.deps, transport, null);
  }

  /** A logged-in session (control socket: only root can open it). */
  trustedSession(transport: string, user = 'root'): Session {
    return new Session(this.deps, transport, user);
  }
}
