// Constructors for table entries: the usual shapes of a keepalived keyword (a value, a flag, a
// program to run, a list block, a sub-block, a refusal), each bundling how the keyword is read,
// written back, defaulted and checked. A table writes `const E = directivesOf<VrrpInstance>()`
// and then one line per keyword.
import type { Node } from '../ast.ts';
import type { Command } from '../model.ts';
import { fieldPos, mark } from '../positions.ts';
import { arg, bool, command } from '../values.ts';
import { commandText, quote } from '../words.ts';
import { dispatch, kids, writeBlock, type Block, type BuildCtx, type Directive, type Problem, type Scope } from './engine.ts';
import type { Value } from './kinds.ts';

type Field<T> = keyof T & string;
/** The fields of T whose type is V. */
type FieldOf<T, V> = { [K in keyof T]-?: T[K] extends V ? K : never }[keyof T] & string;

/** A check's finding; `field` defaults to the entry's own field. */
export type Finding = Omit<Problem, 'field'> & { field?: string | null };

/** Arity bound for "any number of words" (commands). */
export const MANY = 1000;

function same(a: unknown, b: unknown): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
}

function located(field: string, found: Finding[]): Problem[] {
  return found.map((f) => ({ severity: f.severity, message: f.message, field: f.field === undefined ? field : f.field }));
}

export interface ScalarOptions<T, V> {
  aliases?: readonly string[];
  example: string;
  /** Written even at its default: the lines a reader of the canonical text looks for first. */
  always?: boolean;
  /** The value when the keyword is given without an argument (keepalived's persistence_timeout). */
  bare?: V;
  /** The default keepalived derives from other values when the keyword is absent. */
  inherit?: (t: T, scope: Scope) => V;
  check?: (v: V, t: T, scope: Scope) => Finding[];
}

export interface FlagOptions<T> {
  example: string;
  /** The keyword that turns it off again (`preempt` for `nopreempt`, `no_accept` for `accept`). */
  off?: string;
  default?: boolean;
  inherit?: (t: T, scope: Scope) => boolean;
}

export interface ListOptions<E> {
  example: string;
  /** One line of the block → one element; throws ConfError for a bad line. */
  item: (line: Node, block: Node) => E;
  write: (e: E) => string[];
  /** All lines or none: a bad line leaves the list as it was. */
  atomic?: boolean;
  /** Written even when empty. */
  always?: boolean;
}

export interface SubOptions<T, C> {
  names: readonly string[];
  /** Arguments after the keyword (the words that name the block, e.g. `vrrp_instance VI_1`). */
  args: readonly [number, number];
  /** How many words name it in a console path. */
  arity: number;
  block: Block<C>;
  example: string;
  /** The parent's fields it fills (a list of children, or a nullable single one). */
  defaults: Partial<T>;
  /** A new child from the block's header (may throw ConfError). */
  open(t: T, node: Node, ctx: BuildCtx): C;
  /** After the block's directives: checks what must be there, attaches the child to the parent. */
  close(t: T, c: C, node: Node, ctx: BuildCtx, refused: boolean): void;
  children(t: T): readonly C[];
  /** Header words of the block as written back. */
  head(c: C): string[];
  /** Nothing at all is written for a child whose block would be empty (global_defs). */
  omitEmpty?: boolean;
}

/** A keyword tandem refuses, with the reason; `block` = how many words name it when it opens one. */
export function refused(names: string | readonly string[], reason: string, opts: { block?: number } = {}): Directive<object> {
  const list = typeof names === 'string' ? [names] : [...names];
  const arity = opts.block;
  return {
    names: list, args: null, shape: 'any', defaults: {}, refused: reason,
    example: arity === undefined ? list[0]! : `${list[0]}${' x'.repeat(arity)} {\n}`,
    ...(arity !== undefined ? { subs: [{ names: list, arity, block: null }] } : {}),
    read() { /* never called: the dispatcher reports the refusal */ },
    write() { /* nothing of it is in the model */ },
  };
}

/**
 * Keywords accepted for compatibility and ignored (no model field), with a warning at their line
 * saying why; any arguments, any block.
 */
export function ignored(names: string | readonly string[], reason: string, example?: string): Directive<object> {
  const list = typeof names === 'string' ? [names] : [...names];
  return {
    names: list, args: null, shape: 'any', defaults: {}, ignored: reason, example: example ?? list[0]!,
    read() { /* accepted, nothing to keep */ },
    write() { /* nothing to write back */ },
  };
}

/** An entry whose keyword is read into the model but not acted on: a warning at its line says why. */
export function warned<T>(d: Directive<T>, reason: string): Directive<T> {
  return { ...d, warn: reason };
}

export function directivesOf<T extends object>() {
  return {
    /** One value (`priority 150`) in one field. */
    scalar<K extends Field<T>>(kw: string, field: K, value: Value<NonNullable<T[K]>>, def: T[K], o: ScalarOptions<T, T[K]>): Directive<T> {
      const effective = (t: T, scope: Scope): T[K] => (o.inherit ? o.inherit(t, scope) : def);
      const d: Directive<T> = {
        names: [kw, ...(o.aliases ?? [])],
        args: o.bare !== undefined ? [0, 1] : [1, 1],
        shape: 'none',
        defaults: { [field]: def } as unknown as Partial<T>,
        example: o.example,
        read(t, n) {
          const a = n.args[0];
          t[field] = a === undefined ? (o.bare as T[K]) : value.read(a, n.keyword.text);
          mark(t, field, n.pos);
        },
        write(t, out, scope) {
          const v = t[field];
          if (v === null || v === undefined) return;
          if (!o.always && same(v, effective(t, scope))) return;
          out.line(kw, value.write(v as NonNullable<T[K]>));
        },
      };
      const inherit = o.inherit;
      if (inherit) d.inherit = (t, scope) => { if (fieldPos(t, field) === undefined) t[field] = inherit(t, scope); };
      const check = o.check;
      if (check) d.check = (t, scope) => located(field, check(t[field], t, scope));
      return d;
    },

    /** A keyword without arguments that turns a boolean on (and, with `off`, its opposite). */
    flag<K extends FieldOf<T, boolean>>(kw: string, field: K, o: FlagOptions<T>): Directive<T> {
      const def = o.default ?? false;
      const d: Directive<T> = {
        names: o.off !== undefined ? [kw, o.off] : [kw],
        args: [0, 0],
        shape: 'none',
        defaults: { [field]: def } as unknown as Partial<T>,
        example: o.example,
        read(t, n) {
          t[field] = (n.keyword.text !== o.off) as T[K];
          mark(t, field, n.pos);
        },
        write(t, out, scope) {
          const v = t[field] as boolean;
          if (v === (o.inherit ? o.inherit(t, scope) : def)) return;
          if (v) out.line(kw);
          else if (o.off !== undefined) out.line(o.off);
          else throw new Error(`${kw}: cannot write false without an 'off' keyword`);
        },
      };
      const inherit = o.inherit;
      if (inherit) d.inherit = (t, scope) => { if (fieldPos(t, field) === undefined) t[field] = inherit(t, scope) as T[K]; };
      return d;
    },

    /** `keyword [true|false]`: a boolean whose bare keyword means true (keepalived's alpha, omega…). */
    optBool<K extends FieldOf<T, boolean>>(kw: string, field: K, o: { example: string; explicit?: boolean; inherit?: (t: T, scope: Scope) => boolean }): Directive<T> {
      const d: Directive<T> = {
        names: [kw],
        args: [0, 1],
        shape: 'none',
        defaults: { [field]: false } as Partial<T>,
        example: o.example,
        read(t, n) {
          t[field] = bool(n.args[0], n.keyword.text) as T[K];
          mark(t, field, n.pos);
        },
        write(t, out, scope) {
          const v = t[field] as boolean;
          if (v === (o.inherit ? o.inherit(t, scope) : false)) return;
          if (o.explicit) out.line(kw, v ? 'true' : 'false');
          else if (v) out.line(kw);
          else out.line(kw, 'false');
        },
      };
      const inherit = o.inherit;
      if (inherit) d.inherit = (t, scope) => { if (fieldPos(t, field) === undefined) t[field] = inherit(t, scope) as T[K]; };
      return d;
    },

    /**
     * A program and its arguments (notify scripts, quorum_up…), never run through a shell.
     * `required`: the block cannot do without it, so there is no default (its opener puts a
     * placeholder and its closer says what is missing).
     */
    command<K extends FieldOf<T, Command | null>>(kw: string, field: K, example: string, o: { required?: boolean } = {}): Directive<T> {
      return {
        names: [kw], args: [1, MANY], shape: 'none',
        defaults: (o.required ? {} : { [field]: null }) as Partial<T>,
        example,
        read(t, n) { t[field] = command(n) as T[K]; mark(t, field, n.pos); },
        write(t, out) {
          const c = t[field] as Command | null;
          if (c) out.line(kw, commandText(c));
        },
      };
    },

    /** `keyword USER [GROUP]`. */
    userGroup<U extends FieldOf<T, string | null>, G extends FieldOf<T, string | null>>(kw: string, user: U, group: G, example: string): Directive<T> {
      return {
        names: [kw], args: [1, 2], shape: 'none',
        defaults: { [user]: null, [group]: null } as Partial<T>,
        example,
        read(t, n) {
          t[user] = arg(n, 0).text as T[U];
          t[group] = (n.args[1]?.text ?? null) as T[G];
          mark(t, user, n.pos);
        },
        write(t, out) {
          const u = t[user] as string | null;
          const g = t[group] as string | null;
          if (u !== null) out.line(kw, quote(u), ...(g !== null ? [quote(g)] : []));
        },
      };
    },

    /** A block of one value per line (`virtual_ipaddress { … }`); repeated blocks append. */
    list<K extends Field<T>, E>(kw: string, field: K, o: ListOptions<E>): Directive<T> {
      return {
        names: [kw], args: [0, 0], shape: 'block',
        defaults: { [field]: [] } as Partial<T>,
        example: o.example,
        subs: [{ names: [kw], arity: 0, block: null }],
        read(t, n) {
          const list = t[field] as unknown as E[];
          if (o.atomic) list.push(...kids(n).map((c) => o.item(c, n)));
          else for (const c of kids(n)) list.push(o.item(c, n));
          mark(t, field, n.pos);
        },
        write(t, out) {
          const list = t[field] as unknown as E[];
          if (list.length === 0 && !o.always) return;
          out.block([kw], () => { for (const e of list) out.line(...o.write(e)); });
        },
      };
    },

    /** A block with its own table (`real_server ADDRESS PORT { … }`). */
    sub<C extends object>(o: SubOptions<T, C>): Directive<T> {
      const block = o.block as unknown as Block<object>;
      return {
        names: o.names, args: o.args, shape: 'block', defaults: o.defaults, example: o.example,
        subs: [{ names: o.names, arity: o.arity, block }],
        read(t, n, ctx) {
          const c = o.open(t, n, ctx);
          const refusedHere = dispatch(kids(n), o.block, c, ctx);
          o.close(t, c, n, ctx, refusedHere);
        },
        write(t, out, scope) {
          const inner: Scope = { config: scope.config, parent: t };
          for (const c of o.children(t)) out.block(o.head(c), () => writeBlock(o.block, c, out, inner), o.omitEmpty);
        },
        children: (t) => o.children(t).map((obj) => ({ block, obj })),
      };
    },

    /** Anything else: the entry spelled out. */
    custom(d: Directive<T>): Directive<T> {
      return d;
    },
  };
}
