// The nftables edge: a transaction builder (in the spirit of Kubernetes' knftables) that
// renders `nft -f -` input, and the one function that runs nft. Everything tandem does to the
// kernel's packet path goes through applyNft, as one atomic transaction (nft applies a whole
// -f input or nothing), inside `table ip tandem` only.
import { run } from '../util/exec.ts';

export const TABLE = 'tandem';
const FAMILY = 'ip';

/** Names we generate are [a-z0-9_]; nothing from the configuration is pasted unchecked. */
function checkName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,60}$/.test(name)) throw new Error(`bad nftables object name ${JSON.stringify(name)}`);
  return name;
}

/** Builder for one atomic nftables transaction on `table ip tandem`. */
export class NftTransaction {
  private readonly lines: string[] = [];

  /** Replace-table idiom: create if missing, delete, so the rest re-creates it from scratch. */
  resetTable(): this {
    this.lines.push(`add table ${FAMILY} ${TABLE}`, `delete table ${FAMILY} ${TABLE}`);
    return this;
  }
  addTable(): this {
    this.lines.push(`add table ${FAMILY} ${TABLE}`);
    return this;
  }
  /** Removes the table (on stop). Idempotent: creates an empty one first, so it never fails for absence. */
  deleteTable(): this {
    this.lines.push(`add table ${FAMILY} ${TABLE}`, `delete table ${FAMILY} ${TABLE}`);
    return this;
  }
  /** A base chain when `hook` is given (`type nat hook prerouting priority dstnat`), else a regular one. */
  addChain(name: string, hook?: { type: 'nat' | 'filter'; hook: string; priority: string; policy?: 'accept' | 'drop' }): this {
    const spec = hook
      ? ` { type ${hook.type} hook ${hook.hook} priority ${hook.priority}; policy ${hook.policy ?? 'accept'}; }`
      : '';
    this.lines.push(`add chain ${FAMILY} ${TABLE} ${checkName(name)}${spec}`);
    return this;
  }
  flushChain(name: string): this {
    this.lines.push(`flush chain ${FAMILY} ${TABLE} ${checkName(name)}`);
    return this;
  }
  addRule(chain: string, rule: string): this {
    if (/[\n;#]/.test(rule)) throw new Error(`nftables rule must be one statement list: ${rule}`);
    this.lines.push(`add rule ${FAMILY} ${TABLE} ${checkName(chain)} ${rule}`);
    return this;
  }
  /** `spec` is the body, e.g. `type ipv4_addr; flags dynamic,timeout; timeout 360s;`. */
  addSet(name: string, spec: string): this {
    this.lines.push(`add set ${FAMILY} ${TABLE} ${checkName(name)} { ${spec} }`);
    return this;
  }
  addMap(name: string, spec: string): this {
    this.lines.push(`add map ${FAMILY} ${TABLE} ${checkName(name)} { ${spec} }`);
    return this;
  }
  flushSet(name: string): this {
    this.lines.push(`flush set ${FAMILY} ${TABLE} ${checkName(name)}`);
    return this;
  }
  flushMap(name: string): this {
    this.lines.push(`flush map ${FAMILY} ${TABLE} ${checkName(name)}`);
    return this;
  }
  /** Elements as nft writes them (`1.2.3.4 . 80`, `0 : 1.2.3.4 . 80`); batched per line. */
  addElements(setOrMap: string, elements: readonly string[], batch = 512): this {
    for (let i = 0; i < elements.length; i += batch) {
      this.lines.push(`add element ${FAMILY} ${TABLE} ${checkName(setOrMap)} { ${elements.slice(i, i + batch).join(', ')} }`);
    }
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
  /** Run inside this network namespace (`ip netns exec NAME nft …`); tests and the lab. */
  netns?: string;
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

function argv(args: string[], netns?: string): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, 'nft', ...args] : ['nft', ...args];
}

/** Applies the transaction with `nft -f -`; rejects with nft's stderr on failure (nothing applied). */
export async function applyNft(tx: NftTransaction | string, opts: NftApplyOptions = {}): Promise<void> {
  const input = typeof tx === 'string' ? tx : tx.render();
  const r = await run(argv([...(opts.check ? ['-c'] : []), '-f', '-'], opts.netns), { input, timeoutMs: opts.timeoutMs ?? 10_000 });
  if (r.code !== 0) {
    const why = r.timedOut ? 'timed out' : `exited with ${r.code ?? r.signal}`;
    throw new NftError(`nft -f - ${why}: ${r.stderr.trim()}`, r.stderr, input);
  }
}

/** `nft -j list table ip tandem`, parsed; null when the table does not exist. */
export async function listTableJson(opts: NftApplyOptions = {}): Promise<unknown> {
  const r = await run(argv(['-j', 'list', 'table', FAMILY, TABLE], opts.netns), { timeoutMs: opts.timeoutMs ?? 10_000, maxOutput: 64 << 20 });
  if (r.code !== 0) {
    if (/No such file or directory/.test(r.stderr)) return null;
    throw new NftError(`nft list table failed: ${r.stderr.trim()}`, r.stderr, '');
  }
  return JSON.parse(r.stdout) as unknown;
}

/** The interface the daemon holds, so tests can swap the system side (DESIGN.md rule). */
export interface NftBackend {
  /** A transaction, or several rendered and joined (they apply as one). */
  apply(tx: NftTransaction | string): Promise<void>;
}

export function systemNft(opts: Omit<NftApplyOptions, 'check'> = {}): NftBackend {
  return { apply: (tx) => applyNft(tx, opts) };
}
