// The engine that interprets the directive tables (one file per block beside this one).
//
// keepalived tables its keywords the same way: install_keyword() in global_parser.c,
// vrrp_parser.c and check_parser.c binds a keyword to a handler, install_sublevel() opens a
// block. Our entries carry more: the model fields a keyword fills and their defaults, how it is
// written back, its range check, its refusal reason. So building the model (build.ts), writing
// it back (writer.ts), the console's path editing (edit.ts) and validation (validate.ts) all
// read one table, and a new keyword is one entry (plus its model field).
import type { Node } from '../ast.ts';
import type { Config, Diagnostic, Pos } from '../model.ts';
import { fieldPos } from '../positions.ts';
import { ConfError, shown } from '../values.ts';

export interface BuildCtx {
  diags: Diagnostic[];
  /** keyword → refusal reason, over every block (a refused keyword gives its reason anywhere). */
  refusals: ReadonlyMap<string, string>;
}

/** What a writer or a check sees besides the object itself. */
export interface Scope {
  config: Config;
  /** The object whose block holds this one (null at the top level). */
  parent: object | null;
}

export interface Problem {
  severity: 'error' | 'warning';
  message: string;
  /** The field whose directive line the problem points at; null: the block's own line. */
  field: string | null;
}

/** A block a directive opens: for the console's paths (keyword, how many words name it). */
export interface SubBlock {
  readonly names: readonly string[];
  readonly arity: number;
  /** The block's own table; null for list blocks (their lines are values) and refused blocks. */
  readonly block: Block<object> | null;
}

/** One keyword (with its aliases) of one block. Methods, so tables of different blocks mix. */
export interface Directive<T> {
  /** The keyword the writer writes first, then aliases (and e.g. `preempt` for `nopreempt`). */
  readonly names: readonly string[];
  /** Arguments after the keyword, [min, max]; null when the reader checks them itself. */
  readonly args: readonly [number, number] | null;
  /** 'none': no { } block; 'block': needs one; 'any': the reader decides. */
  readonly shape: 'none' | 'block' | 'any';
  /** The model fields this keyword fills, with their defaults: the one home of the defaults. */
  readonly defaults: Readonly<Partial<T>>;
  /** Set for keywords tandem refuses: the reason given to the operator. */
  readonly refused?: string;
  /** Set for keywords accepted for compatibility and ignored (no model field): why. A warning at its line says so. */
  readonly ignored?: string;
  /** Set for keywords read into the model but not acted on (email, for instance): a warning at its line says why. */
  readonly warn?: string;
  /** A directive (text, possibly a block) setting it to a non-default value; the table tests use it. */
  readonly example: string;
  readonly subs?: readonly SubBlock[];
  read(t: T, node: Node, ctx: BuildCtx): void;
  write(t: T, out: Out, scope: Scope): void;
  /** After the whole configuration is built: defaults that keepalived derives from other values. */
  inherit?(t: T, scope: Scope): void;
  /** Range checks on the built model (validate.ts runs them). */
  check?(t: T, scope: Scope): Problem[];
  /** The objects of the blocks it opened, for the walks over the model. */
  children?(t: T): Array<{ block: Block<object>; obj: object }>;
}

export interface Block<T> {
  readonly name: string;
  /** How diagnostics name one instance of the block: `vrrp_instance VI_1`. */
  where(t: T): string;
  readonly entries: ReadonlyArray<Directive<T>>;
  /** 'stop': the first problem fails the whole block, which the parent reports (authentication). */
  readonly onError?: 'collect' | 'stop';
  /** A better message than "unsupported directive" for a line no entry takes, or null. */
  unknown?(node: Node, t: T): string | null;
}

export function kids(node: Node): Node[] {
  return node.children ?? [];
}

// ---- reading ----

const indexes = new WeakMap<object, Map<string, Directive<object>>>();

/** The entry a keyword selects in a block. */
export function entryFor<T>(block: Block<T>, keyword: string): Directive<T> | undefined {
  let idx = indexes.get(block);
  if (!idx) {
    idx = new Map();
    for (const e of block.entries as ReadonlyArray<Directive<object>>) for (const n of e.names) idx.set(n, e);
    indexes.set(block, idx);
  }
  return idx.get(keyword) as Directive<T> | undefined;
}

/**
 * Whether a word looks like a keyword: keepalived's are lower_case or UPPER_CASE identifiers
 * (vrrp_instance, TCP_CHECK), short, with few digits. Anything else that stands where a
 * keyword should is not quoted back: it may be a line of a file that is no configuration
 * (`include /etc/shadow`), a key, a token.
 */
function keywordLike(kw: string): boolean {
  return kw.length <= 40 && /^(?:[a-z][a-z0-9_]*|[A-Z][A-Z0-9_]*)$/.test(kw) && (kw.match(/\d/g) ?? []).length <= 3;
}

export function unsupported(node: Node, where: string, refusals: ReadonlyMap<string, string>, own?: string): string {
  const kw = node.keyword.text;
  // What the configuration language (language.ts) left: it never reaches here on a well-formed line.
  if (kw.startsWith('@')) return `'${shown(kw)}' in ${where}: a line takes one '@ID' prefix, at its start`;
  // A `$NAME=value` the language did not take as a definition: the value is not shown.
  if (kw.startsWith('$')) return `'${shown(kw.split('=')[0]!)}' in ${where} is no parameter defined before this line (a definition is $NAME=value, no blank before '=')`;
  if (kw.startsWith('~')) return `'${shown(kw)}' in ${where} is no sequence: keepalived's are ~SEQ(…), ~SEQx(…) and ~LST(…)`;
  if (!keywordLike(kw) && !refusals.has(kw)) return `unsupported directive in ${where}: the line does not start with a keyword`;
  const reason = own ?? refusals.get(kw);
  return `unsupported directive '${shown(kw)}' in ${where}${reason ? `: ${reason}` : ''}`;
}

/**
 * Runs each directive's entry. Returns true when some directive was refused as unsupported: the
 * caller then does not also complain that something is missing (it may sit on the refused line,
 * e.g. behind keepalived's `@host` conditionals), so the refusal stays the one message.
 */
export function dispatch<T>(nodes: readonly Node[], block: Block<T>, target: T, ctx: BuildCtx): boolean {
  const where = block.where(target);
  const stop = block.onError === 'stop';
  const fail = (pos: Pos, message: string): void => {
    if (stop) throw new ConfError(pos, message);
    ctx.diags.push({ severity: 'error', message, pos });
  };
  let refused = false;
  for (const node of nodes) {
    const e = entryFor(block, node.keyword.text);
    if (e === undefined || node.keyword.quoted || e.refused !== undefined) {
      const better = e === undefined && !node.keyword.quoted ? block.unknown?.(node, target) ?? null : null;
      fail(node.pos, better ?? unsupported(node, where, ctx.refusals, e?.refused));
      refused = true;
      continue;
    }
    const kw = node.keyword.text;
    if (e.args !== null) {
      const [min, max] = e.args;
      if (node.args.length < min || node.args.length > max) {
        const want = min === max ? `${min}` : max > 99 ? `at least ${min}` : `${min} to ${max}`;
        fail(node.pos, `'${kw}' takes ${want} argument(s), got ${node.args.length}`);
        continue;
      }
    }
    if (e.shape === 'block' && node.children === null) { fail(node.pos, `'${kw}' needs a { } block`); continue; }
    if (e.shape === 'none' && node.children !== null) { fail(node.pos, `'${kw}' takes no { } block`); continue; }
    try {
      e.read(target, node, ctx);
    } catch (err) {
      if (!(err instanceof ConfError) || stop) throw err;
      ctx.diags.push({ severity: 'error', message: err.message, pos: err.pos });
      continue;
    }
    // Accepted for compatibility, never silently: the line says what tandem does instead.
    const note = e.warn ?? e.ignored;
    if (note !== undefined) ctx.diags.push({ severity: 'warning', message: `'${kw}' is accepted and not acted on: ${note}`, pos: node.pos });
  }
  return refused;
}

/** A fresh object of a block: every entry's defaults, then `own` (header fields, position). */
export function create<T>(block: Block<T>, own: Partial<T>): T {
  const out: Record<string, unknown> = {};
  for (const e of block.entries) {
    for (const [k, v] of Object.entries(e.defaults)) out[k] = Array.isArray(v) ? [...(v as unknown[])] : v;
  }
  // The cast is the table's promise: its entries' defaults and `own` together fill every field
  // of T (test/unit/config/directives.test.ts builds each block and compares it with the model).
  return Object.assign(out, own) as T;
}

/** The default an entry of `block` gives `field` (for parts that need keepalived's defaults). */
export function defaultOf<T>(block: Block<T>, field: keyof T & string): unknown {
  for (const e of block.entries) if (Object.hasOwn(e.defaults, field)) return (e.defaults as Record<string, unknown>)[field];
  throw new Error(`${block.name}: no default for ${field}`);
}

// ---- walking the model ----

/** Visits every object of the model with its block, parents before children. */
export function walk(block: Block<object>, obj: object, scope: Scope, visit: (block: Block<object>, obj: object, scope: Scope) => void): void {
  visit(block, obj, scope);
  const inner: Scope = { config: scope.config, parent: obj };
  for (const e of block.entries) for (const c of e.children?.(obj) ?? []) walk(c.block, c.obj, inner, visit);
}

/** Fills the defaults keepalived derives from other values, for every object of the model. */
export function inheritAll(top: Block<Config>, config: Config): void {
  walk(top as unknown as Block<object>, config, { config, parent: null }, (block, obj, scope) => {
    for (const e of block.entries) e.inherit?.(obj, scope);
  });
}

/** The range checks of one object's keywords, located at the line that set each value. */
export function fieldChecks<T extends { pos: Pos }>(block: Block<T>, obj: T, scope: Scope): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of block.entries) {
    for (const p of e.check?.(obj, scope) ?? []) {
      out.push({ severity: p.severity, message: p.message, pos: (p.field !== null ? fieldPos(obj, p.field) : undefined) ?? obj.pos });
    }
  }
  return out;
}

// ---- writing ----

/** Lines of canonical text: two-space indent, a blank line after each top-level block. */
export class Out {
  readonly lines: string[] = [];
  private depth = 0;

  line(...words: string[]): void {
    this.lines.push('  '.repeat(this.depth) + words.join(' '));
  }

  /** `head… {`, the body, `}`; with omitEmpty nothing at all when the body wrote nothing. */
  block(head: readonly string[], body: () => void, omitEmpty = false): void {
    const start = this.lines.length;
    this.line(...head, '{');
    this.depth++;
    body();
    this.depth--;
    if (omitEmpty && this.lines.length === start + 1) { this.lines.length = start; return; }
    this.line('}');
    if (this.depth === 0) this.lines.push('');
  }

  text(): string {
    return this.lines.join('\n').replace(/\n+$/, '') + '\n';
  }
}

export function writeBlock<T>(block: Block<T>, obj: T, out: Out, scope: Scope): void {
  for (const e of block.entries) e.write(obj, out, scope);
}

// ---- what the tables know as a whole ----

/** keyword → refusal reason, over every block reachable from `top`. */
export function refusalIndex(top: Block<object>): Map<string, string> {
  const out = new Map<string, string>();
  eachBlock(top, (b) => {
    for (const e of b.entries) if (e.refused !== undefined) for (const n of e.names) out.set(n, e.refused);
  });
  return out;
}

/** block keyword → (parent block keyword, '' for the top level) → words that name it. */
export function blockIndex(top: Block<object>): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  const seen = new Set<string>();
  const visit = (block: Block<object>, parents: readonly string[]): void => {
    for (const e of block.entries) {
      for (const s of e.subs ?? []) {
        for (const name of s.names) {
          let m = out.get(name);
          if (!m) { m = new Map(); out.set(name, m); }
          for (const p of parents) m.set(p, s.arity);
        }
        const key = `${parents.join(',')}>${s.names.join(',')}`;
        if (s.block && !seen.has(key)) { seen.add(key); visit(s.block, s.names); }
      }
    }
  };
  visit(top, ['']);
  return out;
}

/** Every block reachable from `top`, each once. */
export function eachBlock(top: Block<object>, visit: (block: Block<object>) => void): void {
  const seen = new Set<Block<object>>();
  const go = (b: Block<object>): void => {
    if (seen.has(b)) return;
    seen.add(b);
    visit(b);
    for (const e of b.entries) for (const s of e.subs ?? []) if (s.block) go(s.block);
  };
  go(top);
}
