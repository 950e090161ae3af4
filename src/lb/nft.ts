// The nftables edge: a transaction builder (in the spirit of Kubernetes' knftables) that
// renders `nft -f -` input, and the one function that runs nft. Everything tandem does to the
// kernel's packet path goes through applyNft, as one atomic transaction (nft applies a whole
// -f input or nothing), inside tandem's own tables only: `table ip tandem` and `table ip6
// tandem` (NAT and NAT66, and the DR reply path's notrack; src/lb/family.ts) and `table netdev
// tandem` (DR's ingress forwarding of both families, plan-dr.ts).
import { run } from '../util/spawn.ts';
import { CoprocessSession, type CoprocessParser } from '../util/coprocess.ts';

export const TABLE = 'tandem';
export type NftFamily = 'ip' | 'ip6' | 'netdev';

/** Names we generate are [a-z0-9_]; nothing from the configuration is pasted unchecked. */
function checkName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,60}$/.test(name)) throw new Error(`bad nftables object name ${JSON.stringify(name)}`);
  return name;
}

/**
 * An interface name as nft input takes it quoted (`device "eth1"`). The configuration checks
 * names as the kernel takes them (src/config/ifname.ts); this refuses anything that could end
 * the quoted string or the statement, whatever reaches it.
 */
export function checkDevice(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,14}$/.test(name)) throw new Error(`bad interface name for nftables ${JSON.stringify(name)}`);
  return name;
}

/** A base chain's hook: `type nat hook prerouting priority dstnat`, or an ingress hook on a device (netdev). */
export interface ChainHook {
  type: 'nat' | 'filter';
  hook: string;
  priority: string;
  policy?: 'accept' | 'drop';
  /** netdev ingress: the interface the hook is on. */
  device?: string;
}

/**
 * Builder for one atomic nftables transaction on tandem's table of one family (`ip` by
 * default); append() joins another family's, so both apply as one.
 */
export class NftTransaction {
  private readonly lines: string[] = [];

  constructor(private readonly family: NftFamily = 'ip') {}

  /** Replace-table idiom: create if missing, delete, so the rest re-creates it from scratch. */
  resetTable(): this {
    this.lines.push(`add table ${this.family} ${TABLE}`, `delete table ${this.family} ${TABLE}`);
    return this;
  }
  addTable(): this {
    this.lines.push(`add table ${this.family} ${TABLE}`);
    return this;
  }
  /** Removes the table (on stop). Idempotent: creates an empty one first, so it never fails for absence. */
  deleteTable(): this {
    this.lines.push(`add table ${this.family} ${TABLE}`, `delete table ${this.family} ${TABLE}`);
    return this;
  }
  /** A base chain when `hook` is given (`type nat hook prerouting priority dstnat`), else a regular one. */
  addChain(name: string, hook?: ChainHook): this {
    const device = hook?.device === undefined ? '' : ` device "${checkDevice(hook.device)}"`;
    const spec = hook
      ? ` { type ${hook.type} hook ${hook.hook}${device} priority ${hook.priority}; policy ${hook.policy ?? 'accept'}; }`
      : '';
    this.lines.push(`add chain ${this.family} ${TABLE} ${checkName(name)}${spec}`);
    return this;
  }
  flushChain(name: string): this {
    this.lines.push(`flush chain ${this.family} ${TABLE} ${checkName(name)}`);
    return this;
  }
  addRule(chain: string, rule: string): this {
    if (/[\n;#]/.test(rule)) throw new Error(`nftables rule must be one statement list: ${rule}`);
    this.lines.push(`add rule ${this.family} ${TABLE} ${checkName(chain)} ${rule}`);
    return this;
  }
  /** `spec` is the body, e.g. `type ipv4_addr; flags dynamic,timeout; timeout 360s;`. */
  addSet(name: string, spec: string): this {
    this.lines.push(`add set ${this.family} ${TABLE} ${checkName(name)} { ${spec} }`);
    return this;
  }
  addMap(name: string, spec: string): this {
    this.lines.push(`add map ${this.family} ${TABLE} ${checkName(name)} { ${spec} }`);
    return this;
  }
  flushSet(name: string): this {
    this.lines.push(`flush set ${this.family} ${TABLE} ${checkName(name)}`);
    return this;
  }
  flushMap(name: string): this {
    this.lines.push(`flush map ${this.family} ${TABLE} ${checkName(name)}`);
    return this;
  }
  /** Deletes an empty chain that nothing jumps to (flush it and what refers to it first). */
  deleteChain(name: string): this {
    this.lines.push(`delete chain ${this.family} ${TABLE} ${checkName(name)}`);
    return this;
  }
  /** Deletes a set no rule refers to. */
  deleteSet(name: string): this {
    this.lines.push(`delete set ${this.family} ${TABLE} ${checkName(name)}`);
    return this;
  }
  /** Deletes a map no rule refers to. */
  deleteMap(name: string): this {
    this.lines.push(`delete map ${this.family} ${TABLE} ${checkName(name)}`);
    return this;
  }
  /** Keys as nft writes them (`1.2.3.4 . 80`; for a map the key alone); each must exist. */
  deleteElements(setOrMap: string, keys: readonly string[], batch = 512): this {
    for (let i = 0; i < keys.length; i += batch) {
      this.lines.push(`delete element ${this.family} ${TABLE} ${checkName(setOrMap)} { ${keys.slice(i, i + batch).join(', ')} }`);
    }
    return this;
  }
  /** Elements as nft writes them (`1.2.3.4 . 80`, `0 : 1.2.3.4 . 80`); batched per line. */
  addElements(setOrMap: string, elements: readonly string[], batch = 512): this {
    for (let i = 0; i < elements.length; i += batch) {
      this.lines.push(`add element ${this.family} ${TABLE} ${checkName(setOrMap)} { ${elements.slice(i, i + batch).join(', ')} }`);
    }
    return this;
  }
  /** Another transaction's lines after these (e.g. the netdev table's beside the ip table's): one atomic input. */
  append(other: NftTransaction): this {
    this.lines.push(...other.lines);
    return this;
  }
  get isEmpty(): boolean {
    return this.lines.length === 0;
  }
  render(): string {
    return this.lines.join('\n') + '\n';
  }
}

export interface NftApplyOptions {
  /** Check only (`nft -c`). */
  check?: boolean;
  timeoutMs?: number;
}

export class NftError extends Error {
  constructor(message: string, readonly stderr: string, readonly input: string) {
    super(message);
    this.name = 'NftError';
  }
}

/** Applies the transaction with `nft -f -`; rejects with nft's stderr on failure (nothing applied). */
export async function applyNft(tx: NftTransaction | string, opts: NftApplyOptions = {}): Promise<void> {
  const input = typeof tx === 'string' ? tx : tx.render();
  const r = await run(['nft', ...(opts.check ? ['-c'] : []), '-f', '-'], { input, timeoutMs: opts.timeoutMs ?? 10_000 });
  if (r.code !== 0) {
    const why = r.timedOut ? 'timed out' : `exited with ${r.code ?? r.signal}`;
    throw new NftError(`nft -f - ${why}: ${r.stderr.trim()}`, r.stderr, input);
  }
}

/** `nft -j list table ip tandem` (or the ip6 or netdev one), parsed; null when the table does not exist. */
export async function listTableJson(opts: Pick<NftApplyOptions, 'timeoutMs'> & { family?: NftFamily } = {}): Promise<unknown> {
  const r = await run(['nft', '-j', 'list', 'table', opts.family ?? 'ip', TABLE], { timeoutMs: opts.timeoutMs ?? 10_000, maxOutput: 64 << 20 });
  if (r.code !== 0) {
    if (/No such file or directory/.test(r.stderr)) return null;
    throw new NftError(`nft list table failed: ${r.stderr.trim()}`, r.stderr, '');
  }
  return JSON.parse(r.stdout) as unknown;
}

/**
 * nft -i's protocol for the long-lived session (src/util/coprocess.ts holds the process).
 *
 * nft -i runs each input line as one nft_run_cmd_from_buffer call: one netlink batch, so a
 * line of `;`-separated commands is atomic (a failing command aborts the whole line; checked
 * in test/lab/nft.test.ts). After each transaction line we send a marker line that is always a
 * syntax error (`tandem_sync_<n>`); nft echoes the offending line on stderr, so everything on
 * stderr before the marker's echo (less the marker's own "Error:" line) is the transaction's
 * error, and the caret line under the echo belongs to the marker too.
 */
export function nftInteractiveParser(): CoprocessParser<string> {
  let seq = 0;
  let errLines: string[] = [];
  let skipCarets = false;
  return {
    frame(input) {
      // One line = one batch. Our commands never hold ';' outside braces at top level except as
      // a separator, and never a newline (addRule refuses both).
      const line = input.split('\n').filter((l) => l.trim() !== '').join('; ');
      const marker = `tandem_sync_${++seq}`;
      return { text: `${line}\n${marker}\n`, marker };
    },
    line(l, marker) {
      if (skipCarets && /^\s*\^+\s*$/.test(l)) {
        skipCarets = false;
        return null;
      }
      skipCarets = false;
      if (marker !== null && l === marker) {
        errLines.pop(); // the marker's own "Error: syntax error, …"
        const text = errLines.join('\n').trim();
        errLines = [];
        skipCarets = true;
        return { error: text || null };
      }
      if (errLines.length < 200) errLines.push(l);
      return null;
    },
  };
}

/**
 * A long-lived `nft -i` for small edits. Spawning nft costs a fork, exec, library start and a
 * cache fetch per edit (~20–30 ms here, against a target of < 20 ms for one real server's
 * change); a running nft applies one in a few ms. HOME=/dev/null keeps nft from writing
 * ~/.nft.history; the process is restarted every 256 transactions because its line-editing
 * history grows with every line.
 */
export class NftSession {
  private readonly session: CoprocessSession<string>;

  constructor(opts: Pick<NftApplyOptions, 'timeoutMs'> = {}) {
    this.session = new CoprocessSession({
      argv: ['nft', '-i'],
      env: { ...process.env, HOME: '/dev/null' },
      timeoutMs: opts.timeoutMs ?? 10_000,
      restartAfter: 256,
      unref: true,
      // Edits come when real servers change, rarely: a resident nft holds 5 MiB for them. The
      // first edit after a quiet minute pays nft's start-up (about 15 ms here) once.
      idleExitMs: 60_000,
      parser: nftInteractiveParser,
      error: (f, input) => (f.kind === 'command' ? new NftError(`nft -i: ${f.text}`, f.text, input) : new NftError(`nft -i: ${f.text}`, '', input)),
    });
  }

  /** Applies one transaction atomically; rejects with nft's message (nothing applied then). */
  apply(tx: NftTransaction | string): Promise<void> {
    const input = typeof tx === 'string' ? tx : tx.render();
    if (input.trim() === '') return Promise.resolve();
    return this.session.request(input);
  }

  close(): void {
    this.session.close();
  }
}

/** The interface the daemon holds, so tests can swap the system side (DESIGN.md rule). */
export interface NftBackend {
  /** A transaction, or several rendered and joined (they apply as one). */
  apply(tx: NftTransaction | string): Promise<void>;
  /** Stops helper processes (the nft -i session). */
  close?(): void;
}

/** Inputs up to this size go through the nft -i session; larger ones (full applies) to a one-shot `nft -f -`. */
const SESSION_MAX_BYTES = 256 * 1024;

export function systemNft(opts: Pick<NftApplyOptions, 'timeoutMs'> = {}): NftBackend {
  const session = new NftSession(opts);
  return {
    apply: (tx) => {
      const input = typeof tx === 'string' ? tx : tx.render();
      return input.length <= SESSION_MAX_BYTES ? session.apply(input) : applyNft(input, opts);
    },
    close: () => session.close(),
  };
}
