// From an edited tree back to the text its operator wrote: the console's `commit` rewrites only
// the lines it changed and keeps every other byte of the file (comments, blank lines, includes,
// `$` definitions, the other board's `@ID` lines).
//
// The console edits a tree that was read from the file (edit.ts keeps the tokens of what it does
// not change, so a node of the edited tree is known by its keyword token). Comparing the two
// trees gives three kinds of change, each made on the lines of the top-level file:
//
//   a directive's values changed   its values are rewritten in place on its line, the keyword,
//                                  spacing before them and whatever follows them kept
//   a directive or block removed   its lines are removed
//   a directive or block added     new lines before the next directive of its block that was
//                                  read from the file, else before the block's '}', else at the
//                                  end of the file; indented like their neighbours
//
// The rule for what commit may touch: a line only this board reads. In a file without `@ID`
// lines, every line of the top-level file. In a file with them (one file for both boards), only
// lines with this board's own `@ID` prefix; lines without a prefix and `@^ID` lines are read by
// other boards too. Added lines get the `@ID` prefix in such a file, so no other board's view
// changes. Never: a line of an included file (it may be shared between boards and pairs), a line
// a `$NAME` substitution wrote, a line of a multi-line definition, a line a `~SEQ` repeats. A
// change that needs such a line is refused, naming the FILE:LINE to edit by hand.
//
// The text made is read back (with the same config id) and must give the edited tree, or the
// commit is refused: a `$` in a new value, for instance, would be substituted on the next read.
import type { Node, Token } from './ast.ts';
import type { Pos } from './model.ts';
import { parseSource, type SourceInfo } from './parser.ts';
import { writeTree } from './writer.ts';
import { quote } from './words.ts';

export type PatchResult = { ok: true; text: string } | { ok: false; error: string };

class Refusal extends Error {}

interface Edit {
  /** 1-based line; for 'insert' the new lines go before it (lines.length + 1: at the end). */
  line: number;
  kind: 'replace' | 'delete' | 'insert';
  /** replace: [col, end) of the line. */
  col?: number;
  end?: number;
  /** delete: through this line. */
  last?: number;
  text?: string;
  /** insert: the new lines. */
  lines?: string[];
  /** Order of edits on the same line, as they were made. */
  seq: number;
}

const DEFAULT_UNIT = '  ';

class Patcher {
  private readonly lines: string[];
  private readonly eol: string;
  private readonly edits: Edit[] = [];
  private seq = 0;
  /** The file has `@ID` lines: a line without one is read by every board. */
  private readonly shared: boolean;

  constructor(text: string, private readonly source: SourceInfo) {
    this.lines = text.split('\n');
    this.eol = this.lines.filter((l) => l.endsWith('\r')).length > this.lines.length / 2 ? '\r\n' : '\n';
    this.shared = source.ids.length > 0;
  }

  private get file(): string {
    return this.source.file;
  }

  private lineText(n: number): string {
    return (this.lines[n - 1] ?? '').replace(/\r$/, '');
  }

  private where(pos: Pos): string {
    return `${pos.file}:${pos.line}`;
  }

  private refuse(pos: Pos, why: string): never {
    throw new Refusal(`${this.where(pos)} ${why}: edit it by hand`);
  }

  /** Why commit may not rewrite the line a token was read from, or null. */
  private tokenProblem(t: Token): string | null {
    const o = t.origin;
    if (!o) return 'was not read from the file';
    if (o.file !== this.file) return `is in the included file ${o.file}, which other boards or pairs may share`;
    if (o.via === 'definition') return `is a line of a multi-line $ definition${o.at ? ` used at ${this.where(o.at)}` : ''}`;
    if (o.via === 'sequence') return `is repeated by a ~SEQ/~LST${o.at ? ` at ${this.where(o.at)}` : ''}`;
    if (t.substituted) return 'takes its text from a $ parameter';
    return this.lineProblem(o.line);
  }

  /** Why a physical line of the top-level file is not this board's alone, or null. */
  private lineProblem(n: number): string | null {
    const t = this.lineText(n).trimStart();
    const cond = /^@(\^?)(\S+)/.exec(t);
    if (cond) {
      if (cond[1] === '^') return `is read by every board but ${cond[2]} (@^${cond[2]})`;
      if (cond[2] !== this.source.configId) return `is board ${cond[2]}'s line`;
      return null;
    }
    if (this.shared && t !== '' && !t.startsWith('!') && !t.startsWith('#')) return "is read by every board (it has no '@ID' prefix)";
    return null;
  }

  private editable(t: Token, what: string): void {
    const why = this.tokenProblem(t);
    if (why !== null) this.refuse(t.pos, `(${what}) ${why}`);
  }

  private add(e: Omit<Edit, 'seq'>): void {
    this.edits.push({ ...e, seq: this.seq++ });
  }

  // ---- the walk ----

  level(base: readonly Node[], edited: readonly Node[], parent: Node | null): void {
    const byKeyword = new Map<Token, Node>();
    for (const b of base) byKeyword.set(b.keyword, b);
    const kept = new Set<Node>();
    for (let k = 0; k < edited.length; k++) {
      const e = edited[k]!;
      const b = byKeyword.get(e.keyword);
      if (b === undefined || kept.has(b) || (b.children === null) !== (e.children === null)) {
        this.insert(e, edited, k, base, parent);
        continue;
      }
      kept.add(b);
      if (!sameWords(b.args, e.args)) this.rewriteArgs(b, e);
      if (b.children !== null && e.children !== null && b.children !== e.children) this.level(b.children, e.children, b);
    }
    for (const b of base) if (!kept.has(b)) this.remove(b);
  }

  private rewriteArgs(b: Node, e: Node): void {
    const name = b.keyword.text;
    this.editable(b.keyword, name);
    for (const a of b.args) {
      this.editable(a, name);
      if (a.pos.line !== b.keyword.pos.line) this.refuse(a.pos, `(${name}) spans lines`);
    }
    const words = e.args.map((a) => quote(a.text, a.quoted)).join(' ');
    const line = b.keyword.pos.line;
    if (b.args.length === 0) {
      this.add({ kind: 'replace', line, col: b.keyword.end!, end: b.keyword.end!, text: words === '' ? '' : ' ' + words });
    } else if (e.args.length === 0) {
      this.add({ kind: 'replace', line, col: b.keyword.end!, end: b.args[b.args.length - 1]!.end!, text: '' });
    } else {
      this.add({ kind: 'replace', line, col: b.args[0]!.pos.col, end: b.args[b.args.length - 1]!.end!, text: words });
    }
  }

  /** The tokens of a node and all it holds. */
  private tokens(n: Node): Token[] {
    const out: Token[] = [n.keyword, ...n.args];
    if (n.open) out.push(n.open);
    for (const c of n.children ?? []) out.push(...this.tokens(c));
    if (n.close) out.push(n.close);
    return out;
  }

  private lastLine(n: Node): number {
    if (n.close) return n.close.pos.line;
    const last = n.args[n.args.length - 1] ?? n.keyword;
    return last.pos.line;
  }

  private remove(n: Node): void {
    const name = describe(n);
    for (const t of this.tokens(n)) this.editable(t, name);
    if (n.children !== null && !n.close) this.refuse(n.pos, `(${name}) has no closing '}'`);
    const first = n.keyword.pos.line;
    const last = this.lastLine(n);
    const endTok = n.close ?? n.args[n.args.length - 1] ?? n.keyword;
    if (!onlyPrefixBefore(this.lineText(first), n.keyword.pos.col)) this.refuse(n.pos, `(${name}) shares its line with other directives`);
    if (!onlyCommentAfter(this.lineText(last), endTok.end!)) this.refuse(endTok.pos, `(${name}) shares its line with other directives`);
    // Every line it covers goes: none of them may be another board's or hold a definition.
    for (let l = first; l <= last; l++) {
      const why = this.lineProblem(l);
      if (why !== null) this.refuse({ file: this.file, line: l, col: 1 }, `(inside ${name}) ${why}`);
      const body = this.lineText(l).trimStart().replace(/^@\S+[ \t]*/, '');
      if (/^(\$|~|include)/.test(body)) this.refuse({ file: this.file, line: l, col: 1 }, `(inside ${name}) is a ${body[0] === '$' ? '$ definition' : body[0] === '~' ? 'sequence' : 'include'} line`);
    }
    this.add({ kind: 'delete', line: first, last });
  }

  private insert(n: Node, level: readonly Node[], k: number, base: readonly Node[], parent: Node | null): void {
    const name = describe(n);
    // Before the next sibling that was read from the file…
    const next = level.slice(k + 1).find((x) => base.includes(x) || base.some((b) => b.keyword === x.keyword));
    let before: number;
    let indent: string;
    if (next) {
      this.editable(next.keyword, `before which ${name} goes`);
      if (!onlyPrefixBefore(this.lineText(next.pos.line), next.keyword.pos.col)) this.refuse(next.pos, `(before which ${name} goes) shares its line with other directives`);
      before = next.pos.line;
      indent = leading(this.lineText(before));
    } else if (parent) {
      // …else before the block's closing brace…
      const close = parent.close;
      if (!close || !close.origin) this.refuse(parent.pos, `(${describe(parent)}, where ${name} goes) has no closing '}' in the file`);
      const why = close.origin.file !== this.file ? `is in the included file ${close.origin.file}` : close.origin.via !== 'text' ? 'is not written in the file as it is read' : null;
      if (why !== null) this.refuse(close.pos, `(the '}' of ${describe(parent)}, where ${name} goes) ${why}`);
      if (!onlyPrefixBefore(this.lineText(close.pos.line), close.pos.col)) this.refuse(close.pos, `(the '}' of ${describe(parent)}, where ${name} goes) shares its line`);
      before = close.pos.line;
      const sibling = [...base].reverse().find((b) => b.keyword.origin?.file === this.file && b.keyword.origin.via === 'text');
      indent = sibling ? leading(this.lineText(sibling.pos.line)) : leading(this.lineText(parent.pos.line)) + this.unit(leading(this.lineText(parent.pos.line)));
    } else {
      // …else at the end of the file.
      before = this.lines[this.lines.length - 1] === '' ? this.lines.length : this.lines.length + 1;
      indent = '';
    }
    this.add({ kind: 'insert', line: before, lines: this.render(n, indent) });
  }

  /** One indentation step: the file's first indented line's, else two spaces (tabs where tabs are used). */
  private unit(around: string): string {
    if (around.includes('\t')) return '\t';
    for (let l = 1; l <= this.lines.length; l++) {
      const w = leading(this.lineText(l));
      if (w !== '' && this.lineText(l).trim() !== '') return w;
    }
    return DEFAULT_UNIT;
  }

  private render(n: Node, indent: string): string[] {
    const prefix = this.shared ? `@${this.source.configId} ` : '';
    const head = [n.keyword, ...n.args].map((t) => quote(t.text, t.quoted)).join(' ');
    if (n.children === null) return [`${indent}${prefix}${head}`];
    const inner = indent + this.unit(indent);
    return [`${indent}${prefix}${head} {`, ...n.children.flatMap((c) => this.render(c, inner)), `${indent}${prefix}}`];
  }

  text(): string {
    const out = this.lines.slice();
    // Bottom to top, so earlier line numbers stay valid; on one line, right to left.
    const order = [...this.edits].sort((a, b) => b.line - a.line || (b.col ?? 0) - (a.col ?? 0) || b.seq - a.seq);
    for (const e of order) {
      if (e.kind === 'replace') {
        const raw = out[e.line - 1]!;
        out[e.line - 1] = raw.slice(0, e.col! - 1) + e.text! + raw.slice(e.end! - 1);
      } else if (e.kind === 'delete') {
        out.splice(e.line - 1, e.last! - e.line + 1);
      } else {
        const cr = this.eol === '\r\n' ? '\r' : '';
        out.splice(e.line - 1, 0, ...e.lines!.map((l) => l + cr));
      }
    }
    return out.join('\n');
  }
}

function sameWords(a: readonly Token[], b: readonly Token[]): boolean {
  return a.length === b.length && a.every((t, k) => t.text === b[k]!.text && t.quoted === b[k]!.quoted);
}

function describe(n: Node): string {
  return [n.keyword, ...n.args].map((t) => t.text).join(' ').slice(0, 60);
}

function leading(line: string): string {
  return /^[ \t]*/.exec(line)![0];
}

/** Only blanks, and an `@ID` prefix, before column `col`. */
function onlyPrefixBefore(line: string, col: number): boolean {
  return /^[ \t]*(@\^?\S+[ \t]+)?$/.test(line.slice(0, col - 1));
}

/** Only blanks or a comment from column `col` on. */
function onlyCommentAfter(line: string, col: number): boolean {
  return /^[ \t]*([!#].*)?$/.test(line.slice(col - 1));
}

/**
 * The top-level file's text with `edited` in place of `base` (the tree `text` gave for the
 * board `source.configId`), or why not: the FILE:LINE to edit by hand.
 */
export function patchText(withBom: string, base: readonly Node[], edited: readonly Node[], source: SourceInfo): PatchResult {
  // Columns count from after a byte order mark (lexer.ts drops it); the saved file keeps it.
  const bom = withBom.charCodeAt(0) === 0xfeff ? '\ufeff' : '';
  const text = withBom.slice(bom.length);
  const p = new Patcher(text, source);
  try {
    p.level(base, edited, null);
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, error: e.message };
    throw e;
  }
  const out = bom + p.text();
  // Read back for the same board: it must be the edited tree.
  const again = parseSource(out, source.file, { configId: source.configId });
  if (writeTree(again.nodes) !== writeTree([...edited])) {
    return { ok: false, error: `the edited ${source.file} would not read back as the candidate (a '$', '@' or '~' in a new value is read as keepalived's configuration language): edit it by hand` };
  }
  return { ok: true, text: out };
}
