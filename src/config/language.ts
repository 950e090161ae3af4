// keepalived's configuration language: what happens to the lines of a file before their words
// are read (keepalived.conf(5) "Conditional configuration and configuration id", "Parameter
// substitution", "Pre-defined definitions", "Sequence blocks", "List blocks"; lib/parser.c
// read_line(), check_definition(), replace_param(), add_seq(), add_lst()). One file serves both
// boards of a pair:
//
//   @ID line           read only by the board whose config id is ID; `@^ID line`: by every other
//   $NAME=value        defines a parameter (no blank before '='); `$NAME` (followed by a blank,
//                      ',', ')' or the end of the line) and `${NAME}` are replaced by the value,
//                      recursively, at the time of use; an undefined `$NAME` stays as it is
//   $NAME= \           a multi-line definition: every line ending in '\' goes on; a blank line
//                      ends it too. Its use must end its line; each of its lines is then read
//                      as a line of its own (with its own `@`, `$` and definitions)
//   ~SEQ(V, A, S, B)   the rest of the line once for each V from A by step S to B (`~SEQx`: in
//                      hex); `~LST(V, a, b)` / `~LST({V, W}, {1, 2}, {3, 4})` for listed values
//   include FILE       the lines of FILE (a glob, {a,b} alternatives too), relative to the
//                      including file's directory; includer/m/w/b/a as keepalived spells them
//
// Pre-defined: ${_PWD} (the current file's directory), ${_INSTANCE} (the config id),
// ${_RANDOM [MIN [MAX]]}, ${_ENV NAME}, ${_HASH} (#) and ${_BANG} (!).
//
// Where the man page and the code disagree we follow the man page: a substitution that yields
// an `@ID` prefix is a condition (read_line() in keepalived 9cbce3e leaves it as a word). A line
// ending in '\' outside a definition is an error: keepalived continues no other line, and would
// read the '\' as part of the last word.
//
// Every line keeps where it was written (mapped.ts): diagnostics point at the original file,
// line and column, and the console knows which lines it may rewrite (source-edit.ts).
import { dirname, join, resolve } from 'node:path';
import type { Diagnostic, Pos } from './model.ts';
import { commentStart, physicalLines } from './lexer.ts';
import { Mapped, type LineOrigin } from './mapped.ts';
import { shown } from './values.ts';

/** Lines sequences and multi-line definitions may produce in all: beyond it, a runaway expansion. */
export const MAX_EXPANDED_LINES = 200_000;
/** Longest line a substitution may produce (keepalived's MAXBUF is 64 KiB too). */
export const MAX_LINE = 65_536;
const MAX_SUBSTITUTIONS = 1000;
const MAX_NESTING = 32;
const MAX_INCLUDE_DEPTH = 16;

/** One line after the language: its text (positions kept) and where it came from. */
export interface LogicalLine {
  m: Mapped;
  origin: LineOrigin;
}

/** How the language reaches files: the disk in parser.ts, memory in tests. */
export interface SourceReader {
  /** The text of a file, or null with the problem pushed to diags (located at `at`). */
  read(path: string, at: Pos, diags: Diagnostic[]): string | null;
  /** Files a pattern (absolute, glob characters allowed) matches, sorted. */
  glob(pattern: string): string[];
  /** A stable name of a file for include-loop detection. */
  realpath(path: string): string;
}

export interface ExpandResult {
  lines: LogicalLine[];
  /** The config ids `@ID` and `@^ID` lines name, in the order they first appear. */
  ids: string[];
  /** The first conditional line, where a "no line names this board" warning points. */
  firstConditional: Pos | null;
  /** Every file read, the top-level one first. */
  files: string[];
}

interface Def {
  /** The value (single-line), or the first line of a multi-line one. */
  value: Mapped;
  /** The lines after the first of a multi-line definition; null for a single-line one. */
  more: LogicalLine[] | null;
  /** Pre-defined parameters compute their value; params are the words inside `${NAME …}`. */
  fn?: (params: string[], file: string) => string;
  maxParams?: number;
  minParams?: number;
  numbersOnly?: boolean;
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** keepalived's strtol(…, 0): sign, 0x hex, leading-0 octal, decimal. Returns [value, end] or null. */
function strtol(s: string, i: number): [number, number] | null {
  while (s[i] === ' ' || s[i] === '\t') i++;
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s.slice(i));
  if (!m) return null;
  const digits = m[2]!;
  let v = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits[0] === '0' ? parseInt(digits, 8) : parseInt(digits, 10);
  if (m[1] === '-') v = -v;
  return [v, i + m[0].length];
}

/** Alternatives of csh-style braces in a path ("{a,b}.conf" → a.conf, b.conf), in order. */
export function expandBraces(p: string): string[] {
  const open = p.indexOf('{');
  if (open < 0) return [p];
  let depth = 0;
  const commas: number[] = [];
  for (let i = open; i < p.length; i++) {
    if (p[i] === '{') depth++;
    else if (p[i] === '}') {
      if (--depth === 0) {
        const head = p.slice(0, open);
        const tail = p.slice(i + 1);
        const cuts = [open, ...commas, i];
        const out: string[] = [];
        for (let k = 0; k + 1 < cuts.length; k++) {
          for (const rest of expandBraces(head + p.slice(cuts[k]! + 1, cuts[k + 1]) + tail)) out.push(rest);
        }
        return out;
      }
    } else if (p[i] === ',' && depth === 1) commas.push(i);
  }
  return [p]; // an unmatched '{' is a character of the name
}

const GLOB_CHARS = /[*?[{]/;

class Expander {
  private readonly defs = new Map<string, Def>();
  private readonly out: LogicalLine[] = [];
  private readonly ids: string[] = [];
  private firstConditional: Pos | null = null;
  private readonly files: string[] = [];
  private readonly stack: string[] = [];
  private expanded = 0;
  private overflow = false;

  constructor(private readonly configId: string | null, private readonly reader: SourceReader, private readonly diags: Diagnostic[]) {
    const fixed = (v: string): Def => ({ value: Mapped.text(v, 1), more: null, fn: () => v });
    this.defs.set('_PWD', { value: Mapped.text('', 1), more: null, fn: (_p, file) => resolve(dirname(file)) });
    this.defs.set('_INSTANCE', { value: Mapped.text('', 1), more: null, fn: () => configId ?? '' });
    this.defs.set('_RANDOM', {
      value: Mapped.text('', 1), more: null, maxParams: 2, minParams: 0, numbersOnly: true,
      fn: (p) => {
        const min = p[0] !== undefined ? Number(p[0]) : 0;
        const max = Math.max(min, p[1] !== undefined ? Number(p[1]) : 32767);
        return String(min + Math.floor(Math.random() * (max - min + 1)));
      },
    });
    this.defs.set('_ENV', { value: Mapped.text('', 1), more: null, maxParams: 1, minParams: 1, fn: (p) => process.env[p[0]!] ?? '' });
    this.defs.set('_HASH', fixed('#'));
    this.defs.set('_BANG', fixed('!'));
  }

  private err(pos: Pos, message: string): void {
    this.diags.push({ severity: 'error', message, pos });
  }

  result(): ExpandResult {
    return { lines: this.out, ids: this.ids, firstConditional: this.firstConditional, files: this.files };
  }

  // ---- files ----

  file(text: string, path: string): void {
    this.files.push(path);
    this.stack.push(this.reader.realpath(path));
    try {
      this.lines(text, path);
    } finally {
      this.stack.pop();
    }
  }

  private lines(text: string, file: string): void {
    let collecting: { def: Def; name: string; pos: Pos } | null = null;
    const end = (): void => {
      // keepalived: a multi-line definition with nothing in it is an empty single-line one.
      if (collecting && collecting.def.value.length === 0 && collecting.def.more!.length === 0) collecting.def.more = null;
      collecting = null;
    };
    const phys = physicalLines(text);
    for (let k = 0; k < phys.length; k++) {
      const raw = phys[k]!;
      const origin: LineOrigin = { file, line: k + 1, via: 'text', at: null, cond: null };
      if (collecting && raw === '') { end(); continue; }
      // keepalived's decomment(): no comment, no leading or trailing blanks.
      let a = 0;
      let b = raw.includes('!') || raw.includes('#') ? commentStart(raw) : raw.length;
      while (a < b && (raw[a] === ' ' || raw[a] === '\t')) a++;
      while (b > a && (raw[b - 1] === ' ' || raw[b - 1] === '\t')) b--;
      const cut = Mapped.text(raw.slice(a, b), a + 1);
      if (collecting) {
        const c: { def: Def; name: string; pos: Pos } = collecting;
        const cont = cut.text.endsWith('\\');
        const body = cont ? cut.slice(0, cut.length - 1).trim() : cut;
        if (body.length > 0) c.def.more!.push({ m: body, origin });
        if (!cont) end();
        continue;
      }
      if (cut.length === 0) continue;
      const started = this.process({ m: cut, origin }, 0, true);
      if (started) collecting = started;
    }
  }

  // ---- one line ----

  /**
   * Reads one line: its condition, a definition, a sequence, substitutions, an include; emits
   * what is left. Returns the definition a physical line starts collecting, if it does.
   */
  private process(line: LogicalLine, depth: number, physical: boolean): { def: Def; name: string; pos: Pos } | null {
    if (depth > MAX_NESTING) {
      this.err(this.pos(line, 0), `definitions or sequences nested more than ${MAX_NESTING} deep (a $NAME that uses itself?)`);
      return null;
    }
    let { m, origin } = line;
    const selected = this.condition(m, origin);
    if (selected === null) {
      // Another board's multi-line definition: its continuation lines are its own, not lines
      // of this board (keepalived would read them as lines ending in '\').
      return physical && /^@\^?\S+[ \t]+\$[A-Za-z_][A-Za-z0-9_]*=.*\\$/.test(m.text)
        ? { def: { value: Mapped.text('', 1), more: [] }, name: '', pos: this.pos(line, 0) }
        : null;
    }
    ({ m, origin } = selected);
    if (m.length === 0) return null;

    const def = /^\$([A-Za-z_][A-Za-z0-9_]*)=/.exec(m.text);
    if (def) {
      const name = def[1]!;
      let value = m.slice(def[0].length).trim();
      const multi = physical && value.text.endsWith('\\');
      if (multi) value = value.slice(0, value.length - 1).trim();
      const d: Def = { value, more: multi ? [] : null };
      this.defs.set(name, d);
      return multi ? { def: d, name, pos: this.pos({ m, origin }, 0) } : null;
    }
    if (physical && m.text.endsWith('\\')) {
      this.err(this.pos({ m, origin }, m.length - 1), "a line ends with '\\' outside a $NAME= definition: keepalived continues only multi-line definitions onto the next line");
      return null;
    }
    if (m.text.startsWith('~SEQ') || m.text.startsWith('~LST')) {
      this.sequence({ m, origin }, depth);
      return null;
    }
    if (m.text.includes('$')) {
      const s = this.substitute({ m, origin });
      if (s === null) return null;
      if (s.changed) {
        let next = s.m.slice(0, commentStart(s.m.text)).trim();
        const again = this.condition(next, origin);
        if (again === null) return null;
        ({ m: next, origin } = again);
        m = next;
        if (m.text.startsWith('~SEQ') || m.text.startsWith('~LST')) {
          this.sequence({ m, origin }, depth);
          this.more(s.pending, origin, depth);
          return null;
        }
      }
      if (m.length > 0) this.emit({ m, origin });
      this.more(s.pending, origin, depth);
      return null;
    }
    this.emit({ m, origin });
    return null;
  }

  /** The lines of multi-line definitions used on a line, innermost first (keepalived's stack). */
  private more(pending: Array<{ def: Def; at: Pos }>, origin: LineOrigin, depth: number): void {
    for (let k = pending.length - 1; k >= 0; k--) {
      const { def, at } = pending[k]!;
      for (const l of def.more ?? []) {
        if (!this.count(at)) return;
        // A definition's line is read under the condition of the line that used it, and its own.
        const o: LineOrigin = { file: l.origin.file, line: l.origin.line, via: 'definition', at, cond: origin.cond };
        this.process({ m: l.m, origin: o }, depth + 1, false);
      }
    }
  }

  private count(at: Pos): boolean {
    if (this.overflow) return false;
    if (++this.expanded > MAX_EXPANDED_LINES) {
      this.overflow = true;
      this.err(at, `sequences and multi-line definitions produce more than ${MAX_EXPANDED_LINES} lines`);
      return false;
    }
    return true;
  }

  private pos(line: LogicalLine, i: number): Pos {
    return { file: line.origin.file, line: line.origin.line, col: line.m.colAt(i) };
  }

  /** `@ID` / `@^ID`: the line without its prefix when this board reads it, null when it does not. */
  private condition(m: Mapped, origin: LineOrigin): LogicalLine | null {
    if (!m.text.startsWith('@')) return { m, origin };
    const negated = m.text[1] === '^';
    const ofs = negated ? 2 : 1;
    let blank = ofs;
    while (blank < m.length && m.text[blank] !== ' ' && m.text[blank] !== '\t') blank++;
    const id = m.text.slice(ofs, blank);
    const at = this.pos({ m, origin }, 0);
    if (id === '') {
      this.err(at, `'${negated ? '@^' : '@'}' must be followed at once by a config id (keepalived.conf(5) "Conditional configuration")`);
      return null;
    }
    if (!this.ids.includes(id)) this.ids.push(id);
    if (this.firstConditional === null) this.firstConditional = at;
    // keepalived: with no config id, no `@ID` line matches and every `@^ID` line does.
    const matches = this.configId !== null && id === this.configId;
    if (matches === negated || blank >= m.length) return null;
    return { m: m.slice(blank).trim(), origin: { ...origin, cond: { id, negated } } };
  }

  // ---- parameters ----

  /**
   * A `$NAME` or `${NAME …}` reference at i: the name, its parameters and where it ends, or
   * null when what follows the '$' is no reference keepalived would replace (find_definition()).
   */
  private reference(t: string, i: number): { name: string; params: string[]; end: number } | null {
    let p = i + 1;
    const braces = t[p] === '{';
    if (braces) p++;
    if (!NAME_START.test(t[p] ?? '')) return null;
    const start = p;
    while (p < t.length && NAME_CHAR.test(t[p]!)) p++;
    const name = t.slice(start, p);
    if (!braces) {
      const next = t[p];
      if (next !== undefined && next !== ' ' && next !== '\t' && next !== ',' && next !== ')') return null;
      return { name, params: [], end: p };
    }
    const close = t.indexOf('}', p);
    if (close < 0) return null;
    const inner = t.slice(p, close);
    if (!/^[ \tA-Za-z0-9_]*$/.test(inner)) return null;
    if (inner.trim() !== '' && /[ \t]$/.test(inner)) return null;
    if (inner !== '' && !/^[ \t]/.test(inner)) return null;
    return { name, params: inner.trim() === '' ? [] : inner.trim().split(/[ \t]+/), end: close + 1 };
  }

  private substitute(line: LogicalLine): { m: Mapped; changed: boolean; pending: Array<{ def: Def; at: Pos }> } | null {
    let m = line.m;
    let changed = false;
    const pending: Array<{ def: Def; at: Pos }> = [];
    let from = 0;
    let count = 0;
    for (;;) {
      const i = m.text.indexOf('$', from);
      if (i < 0 || i + 1 >= m.length) break;
      const ref = this.reference(m.text, i);
      const def = ref ? this.defs.get(ref.name) : undefined;
      // A multi-line definition is used only where its use ends the line (keepalived).
      if (!ref || !def || (def.more !== null && ref.end !== m.length)) { from = i + 1; continue; }
      const at = this.pos({ m, origin: line.origin }, i);
      if (ref.params.length > 0 || def.minParams) {
        const n = ref.params.length;
        if (!def.maxParams || n > def.maxParams || n < (def.minParams ?? 0)) {
          this.err(at, `'\${${shown(ref.name)}}' takes ${def.maxParams ? `${def.minParams ?? 0} to ${def.maxParams}` : 'no'} parameter(s), got ${n}`);
          return null;
        }
        if (def.numbersOnly && ref.params.some((x) => !/^\d+$/.test(x))) {
          this.err(at, `'\${${shown(ref.name)}}' takes whole numbers only`);
          return null;
        }
      }
      if (++count > MAX_SUBSTITUTIONS) {
        this.err(at, `parameter substitution does not end after ${MAX_SUBSTITUTIONS} replacements (a $NAME whose value uses itself?)`);
        return null;
      }
      const value = def.fn ? def.fn(ref.params, line.origin.file) : def.value.text;
      const by = Mapped.substituted(value, m.colAt(i), m.endAt(ref.end - 1));
      m = m.splice(i, ref.end, by);
      changed = true;
      if (m.length > MAX_LINE) {
        this.err(at, `parameter substitution makes the line longer than ${MAX_LINE} characters`);
        return null;
      }
      if (def.more !== null) pending.push({ def, at });
      // keepalived stops at a value that starts a sequence: the sequence reads the rest.
      if (value.trimStart().startsWith('~')) break;
      from = i;
    }
    return { m, changed, pending };
  }

  // ---- sequences ----

  private sequence(line: LogicalLine, depth: number): void {
    const t = line.m.text;
    const at = this.pos(line, 0);
    const bad = (why: string): void => this.err(at, `invalid ${t.slice(0, 4)} specification: ${why} (keepalived.conf(5) "${t.startsWith('~SEQ') ? 'Sequence' : 'List'} blocks")`);
    const spec = t.startsWith('~SEQ') ? this.seqSpec(t, line) : this.lstSpec(t);
    if (typeof spec === 'string') { bad(spec); return; }
    const rest = line.m.slice(spec.restAt).trim();
    const origin: LineOrigin = { file: line.origin.file, line: line.origin.line, via: 'sequence', at, cond: line.origin.cond };
    for (const values of spec.sets) {
      if (!this.count(at)) return;
      spec.vars.forEach((v, k) => this.defs.set(v, { value: Mapped.text(values[k] ?? '', 1), more: null }));
      this.process({ m: rest, origin }, depth + 1, false);
    }
  }

  /** `~SEQ(VAR, [START,] [STEP,] END)` / `~SEQx(…)`: the values, or why not. */
  private seqSpec(t: string, line: LogicalLine): { vars: string[]; sets: string[][]; restAt: number } | string {
    let p = 4;
    const hex = t[p] === 'x';
    if (hex) p++;
    while (t[p] === ' ' || t[p] === '\t') p++;
    if (t[p++] !== '(') return "'(' expected";
    while (t[p] === ' ' || t[p] === '\t') p++;
    const vs = p;
    while (p < t.length && !' \t,)'.includes(t[p]!)) p++;
    const v = t.slice(vs, p);
    while (t[p] === ' ' || t[p] === '\t') p++;
    if (v === '' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) return 'a variable name must come first';
    if (t[p] !== ',') return "',' expected after the variable";
    p++;
    const close = t.indexOf(')', p);
    if (close < 0) return "')' missing";
    // The numbers may be parameters themselves.
    const sub = this.substitute({ m: line.m.slice(p, close), origin: line.origin });
    if (sub === null) return 'its numbers could not be substituted';
    if (sub.pending.length > 0) return 'a multi-line definition cannot give its numbers';
    const nums: number[] = [];
    const s = sub.m.text;
    let q = 0;
    for (;;) {
      const r = strtol(s, q);
      if (r === null) return `'${shown(s)}' is not 1 to 3 numbers`;
      nums.push(r[0]);
      q = r[1];
      while (s[q] === ' ' || s[q] === '\t') q++;
      if (q >= s.length) break;
      if (s[q] !== ',' || nums.length === 3) return `'${shown(s)}' is not 1 to 3 numbers`;
      q++;
    }
    let start: number;
    let step: number;
    let end: number;
    if (nums.length === 1) {
      end = nums[0]!;
      step = end < 1 ? -1 : 1;
      start = end < 0 ? -1 : 1;
    } else if (nums.length === 2) {
      [start, end] = nums as [number, number];
      step = start <= end ? 1 : -1;
    } else {
      [start, step, end] = nums as [number, number, number];
      if (step === 0 || (start < end && step < 0) || (start > end && step > 0)) return 'the step does not lead from the start to the end';
    }
    if (hex && (start < 0 || end < 0)) return '~SEQx is only valid for positive numbers';
    const count = Math.floor((end - start) / step) + 1;
    if (count > MAX_EXPANDED_LINES) return `more than ${MAX_EXPANDED_LINES} values`;
    const sets: string[][] = [];
    for (let k = 0, x = start; k < count; k++, x += step) sets.push([hex ? x.toString(16) : String(x)]);
    return { vars: [v], sets, restAt: close + 1 };
  }

  /** `~LST(VAR, a, b, …)` / `~LST({V, W}, {a, b}, {c, d})`: the value sets, or why not. */
  private lstSpec(t: string): { vars: string[]; sets: string[][]; restAt: number } | string {
    let p = 4;
    const skip = (): void => { while (t[p] === ' ' || t[p] === '\t') p++; };
    skip();
    if (t[p++] !== '(') return "'(' expected";
    skip();
    const group = (stop: string): string[] | string => {
      const braced = t[p] === '{';
      if (braced) { p++; skip(); }
      const items: string[] = [];
      for (;;) {
        const s = p;
        while (p < t.length && !' \t,})'.includes(t[p]!)) p++;
        items.push(t.slice(s, p));
        skip();
        if (braced && t[p] === '}') { p++; skip(); return items; }
        if (!braced && (t[p] === ',' || stop.includes(t[p] ?? ''))) return items;
        if (t[p] !== ',') return `'${shown(t.slice(p, p + 1) || 'end of line')}' unexpected`;
        p++;
        skip();
      }
    };
    const vars = group(',');
    if (typeof vars === 'string') return vars;
    if (vars.some((v) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))) return 'variables must be names';
    if (t[p] !== ',') return "',' expected after the variables";
    p++;
    skip();
    const sets: string[][] = [];
    for (;;) {
      const g = group(')');
      if (typeof g === 'string') return g;
      if (g.length > vars.length) return `${g.length} values for ${vars.length} variable(s)`;
      sets.push(g);
      if (t[p] === ')') break;
      if (t[p] !== ',') return "',' or ')' expected";
      p++;
      skip();
    }
    return { vars, sets, restAt: p + 1 };
  }

  // ---- include and output ----

  private emit(line: LogicalLine): void {
    const inc = /^include([rmwba]?)(?:[ \t]+|$)/.exec(line.m.text);
    if (!inc) { this.out.push(line); return; }
    this.include(line, inc[1]!, line.m.slice(inc[0].length).trim());
  }

  private include(line: LogicalLine, variant: string, arg: Mapped): void {
    const at = this.pos(line, 0);
    let pattern = arg.text;
    const quoted = /^"([^"]*)"$/.exec(pattern);
    if (quoted) pattern = quoted[1]!;
    else {
      const words = pattern.split(/[ \t]+/).filter((w) => w !== '' && w !== '{' && w !== '}');
      if (/[{}]/.test(pattern) && /(^|[ \t])[{}]([ \t]|$)/.test(pattern)) { this.err(at, "'include' takes no { } block"); return; }
      if (words.length !== 1) { this.err(at, `'include' takes one file name or glob (got ${words.length})`); return; }
    }
    if (this.stack.length >= MAX_INCLUDE_DEPTH) { this.err(at, `includes nested more than ${MAX_INCLUDE_DEPTH} deep`); return; }
    const base = dirname(line.origin.file);
    const full = pattern.startsWith('/') ? pattern : join(base, pattern);
    const files: string[] = [];
    for (const alt of expandBraces(full)) for (const f of this.reader.glob(alt)) if (!files.includes(f)) files.push(f);
    if (files.length === 0) {
      // keepalived: includer, includem and includeb let a wildcard match nothing (conf.d may be
      // empty). Otherwise we refuse, so a typo in a file name cannot drop part of the configuration.
      if ('rmb'.includes(variant) && variant !== '' && GLOB_CHARS.test(pattern)) {
        this.diags.push({ severity: 'warning', message: `include${variant} '${shown(pattern)}': no file matches`, pos: at });
      } else this.err(at, `include '${shown(pattern)}': no such file`);
      return;
    }
    for (const f of files) {
      const real = this.reader.realpath(f);
      if (this.stack.includes(real)) {
        this.err(at, `include loop: '${shown(f, 200)}' is already being read (${this.stack.map((s) => shown(s, 200)).join(' -> ')} -> ${shown(real, 200)})`);
        continue;
      }
      const text = this.reader.read(f, at, this.diags);
      if (text === null) continue;
      this.file(text, f);
    }
  }
}

/**
 * The logical lines of a top-level file's text for the board whose config id is `configId`
 * (null: none; keepalived's default is the host name's first part, see config-id.ts).
 */
export function expand(text: string, file: string, configId: string | null, reader: SourceReader, diags: Diagnostic[]): ExpandResult {
  const x = new Expander(configId, reader, diags);
  x.file(text, file);
  return x.result();
}
