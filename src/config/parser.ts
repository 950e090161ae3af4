// Parser: configuration text → syntax tree (ast.ts). The lines first go through keepalived's
// configuration language (language.ts: `@ID` lines for one board, `$NAME` parameters,
// sequences, `include` expanded in place), then their words are read (lexer.ts).
//
// keepalived's reader is line oriented: a directive is a keyword and its arguments up to the end
// of the line, optionally followed by a `{ … }` block (the `{` may also start the next line,
// as keepalived accepts). Includes are resolved relative to the including file's directory and
// may use the glob characters * ? [..] in any path segment, and {a,b} alternatives.
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Node, Token } from './ast.ts';
import type { Diagnostic, Pos } from './model.ts';
import { expand, type SourceReader } from './language.ts';
import { decodeSource, lexLine, newBudget, type LexBudget, type LexToken } from './lexer.ts';
import { shown } from './values.ts';

/** Total bytes read across the top-level file and every include. */
export const MAX_TOTAL_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 32;

export interface ParseOptions {
  /**
   * The board's config id: which `@ID` lines it reads. null: none (and every `@^ID` line).
   * Callers that do not say get keepalived's default, the host name's first part (config-id.ts).
   */
  configId: string | null;
}

/** What the configuration language found, beyond the tree: for `check` and the console. */
export interface SourceInfo {
  /** The top-level file. */
  file: string;
  /** The config id the tree was read for. */
  configId: string | null;
  /** Config ids the file's `@ID` / `@^ID` lines name (first appearance order). */
  ids: string[];
  /** The first conditional line. */
  firstConditional: Pos | null;
  /** Every file read, the top-level one first. */
  files: string[];
  /** The top-level file's text as read (null when it could not be read): what a commit edits. */
  text: string | null;
}

export interface ParseResult {
  nodes: Node[];
  diagnostics: Diagnostic[];
  source: SourceInfo;
}

function err(diags: Diagnostic[], pos: Pos, message: string): void {
  diags.push({ severity: 'error', message, pos });
}

/** Reads included files from disk, bounded in total size. */
class DiskReader implements SourceReader {
  private bytes = 0;

  /** Counts `size` bytes of text; false (with the problem in diags) past the bound. */
  take(size: number, shownName: string | null, at: Pos, diags: Diagnostic[]): boolean {
    if (this.bytes + size > MAX_TOTAL_BYTES) {
      err(diags, at, `file too large: ${shownName !== null ? `'${shown(shownName, 200)}' is ` : ''}${size} bytes; the configuration may total at most ${MAX_TOTAL_BYTES} bytes`);
      return false;
    }
    this.bytes += size;
    return true;
  }

  read(path: string, at: Pos, diags: Diagnostic[]): string | null {
    const buf = this.readBytes(path, at, diags);
    return buf === null ? null : decodeSource(buf, path, diags);
  }

  readBytes(path: string, at: Pos, diags: Diagnostic[]): Buffer | null {
    let size: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) { err(diags, at, `'${shown(path, 200)}' is not a regular file`); return null; }
      size = st.size;
    } catch (e) {
      err(diags, at, `cannot read '${shown(path, 200)}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      return null;
    }
    if (!this.take(size, path, at, diags)) return null;
    try {
      return readFileSync(path);
    } catch (e) {
      err(diags, at, `cannot read '${shown(path, 200)}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      return null;
    }
  }

  glob(pattern: string): string[] {
    return expandGlob(pattern);
  }

  realpath(path: string): string {
    try { return realpathSync(path); } catch { return resolve(path); }
  }
}

/** Parses source text (or bytes read from disk) of `file`; includes are read from disk. */
export function parseSource(src: string | Buffer, file: string, opts: ParseOptions): ParseResult {
  const reader = new DiskReader();
  const diags: Diagnostic[] = [];
  const at = { file, line: 1, col: 1 };
  const size = typeof src === 'string' ? Buffer.byteLength(src) : src.length;
  const text = reader.take(size, typeof src === 'string' ? null : file, at, diags) ? decodeSource(src, file, diags) : null;
  return parseText(text, file, opts, reader, diags, hasBom(src));
}

/** A UTF-8 byte order mark: decodeSource drops it, the text a commit edits keeps it. */
function hasBom(src: string | Buffer): boolean {
  return typeof src === 'string' ? src.charCodeAt(0) === 0xfeff : src[0] === 0xef && src[1] === 0xbb && src[2] === 0xbf;
}

/** Reads and parses a file from disk. */
export function parseFile(path: string, opts: ParseOptions): ParseResult {
  const reader = new DiskReader();
  const diags: Diagnostic[] = [];
  const buf = reader.readBytes(path, { file: path, line: 1, col: 1 }, diags);
  const text = buf === null ? null : decodeSource(buf, path, diags);
  return parseText(text, path, opts, reader, diags, buf !== null && hasBom(buf));
}

function parseText(text: string | null, file: string, opts: ParseOptions, reader: SourceReader, diags: Diagnostic[], bom: boolean): ParseResult {
  const asRead = text === null ? null : (bom ? '\ufeff' : '') + text;
  const empty: SourceInfo = { file, configId: opts.configId, ids: [], firstConditional: null, files: [file], text: asRead };
  if (text === null) return { nodes: [], diagnostics: diags, source: empty };
  const x = expand(text, file, opts.configId, reader, diags);
  const budgets = new Map<string, LexBudget>();
  const tokens: LexToken[] = [];
  for (const l of x.lines) {
    let b = budgets.get(l.origin.file);
    if (!b) { b = newBudget(); budgets.set(l.origin.file, b); }
    for (const t of lexLine(l.m, l.origin, diags, b)) tokens.push(t);
    const end = l.m.endAt(l.m.length - 1);
    tokens.push({ kind: 'eol', text: '\n', quoted: false, pos: { file: l.origin.file, line: l.origin.line, col: end }, end, substituted: false, origin: l.origin });
  }
  const nodes = new TokenParser(tokens, diags).parseTop();
  return { nodes, diagnostics: diags, source: { file, configId: opts.configId, ids: x.ids, firstConditional: x.firstConditional, files: x.files, text: asRead } };
}

function token(t: LexToken): Token {
  return { text: t.text, quoted: t.quoted, pos: t.pos, end: t.end, origin: t.origin, substituted: t.substituted };
}

class TokenParser {
  private i = 0;
  constructor(private readonly t: LexToken[], private readonly diags: Diagnostic[]) {}

  parseTop(): Node[] {
    return this.parseBlock(0, null);
  }

  private peek(): LexToken | undefined { return this.t[this.i]; }

  private skipEol(): void {
    while (this.i < this.t.length && this.t[this.i]!.kind === 'eol') this.i++;
  }

  /** Parses directives until the matching `}` (depth > 0) or the end of input. */
  private parseBlock(depth: number, open: LexToken | null): Node[] & { close?: Token } {
    const nodes: Node[] & { close?: Token } = [];
    for (;;) {
      this.skipEol();
      const tok = this.peek();
      if (tok === undefined) {
        if (open) err(this.diags, open.pos, `unterminated block: this '{' has no matching '}'`);
        return nodes;
      }
      if (tok.kind === 'close') {
        this.i++;
        if (depth === 0) { err(this.diags, tok.pos, `stray '}' with no block open`); continue; }
        nodes.close = token(tok);
        return nodes;
      }
      if (tok.kind === 'open') {
        this.i++;
        err(this.diags, tok.pos, `'{' without a keyword before it`);
        if (depth + 1 > MAX_DEPTH) { err(this.diags, tok.pos, 'blocks nested too deeply'); this.i = this.t.length; return nodes; }
        this.parseBlock(depth + 1, tok);
        continue;
      }
      // A word: keyword and arguments up to the end of line or a brace.
      this.i++;
      const keyword = token(tok);
      const args: Token[] = [];
      while (this.peek()?.kind === 'word') args.push(token(this.t[this.i++]!));
      let next = this.peek();
      if (next?.kind === 'eol') {
        // keepalived accepts the opening brace on the line after the keyword.
        let j = this.i;
        while (j < this.t.length && this.t[j]!.kind === 'eol') j++;
        if (this.t[j]?.kind === 'open') { this.i = j; next = this.t[j]; }
      }
      const node: Node = { keyword, args, children: null, pos: keyword.pos };
      if (next?.kind === 'open') {
        this.i++;
        if (depth + 1 > MAX_DEPTH) { err(this.diags, next.pos, 'blocks nested too deeply'); this.i = this.t.length; return nodes; }
        const children = this.parseBlock(depth + 1, next);
        node.children = [...children];
        node.open = token(next);
        if (children.close) node.close = children.close;
      }
      nodes.push(node);
    }
  }
}

const GLOB_CHARS = /[*?[]/;

/** Matches one path segment against a glob with * ? and [..] / [!..] classes. */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      let cls = glob.slice(i + 1, end);
      let neg = false;
      if (cls.startsWith('!') || cls.startsWith('^')) { neg = true; cls = cls.slice(1); }
      re += '[' + (neg ? '^' : '') + cls.replace(/[\\\]^]/g, (m) => '\\' + m) + ']';
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, (m) => '\\' + m);
  }
  return new RegExp(re + '$');
}

/** Expands a path whose segments may hold globs, one directory level per segment. Sorted. */
export function expandGlob(path: string): string[] {
  if (!GLOB_CHARS.test(path)) {
    try { statSync(path); return [path]; } catch { return []; }
  }
  const abs = isAbsolute(path);
  const segs = path.split('/').filter((s, k) => s !== '' || k === 0);
  let current: string[] = [abs ? '/' : (segs[0] === '' ? '/' : '')];
  for (const seg of segs) {
    if (seg === '') continue;
    const next: string[] = [];
    for (const dir of current) {
      if (!GLOB_CHARS.test(seg)) {
        next.push(dir === '' ? seg : join(dir, seg));
        continue;
      }
      let names: string[];
      try { names = readdirSync(dir === '' ? '.' : dir); } catch { continue; }
      const re = globToRegExp(seg);
      // Like glob(3): a leading dot is only matched by a pattern that starts with one.
      for (const n of names.sort()) {
        if (n.startsWith('.') && !seg.startsWith('.')) continue;
        if (re.test(n)) next.push(dir === '' ? n : join(dir, n));
      }
    }
    current = next;
  }
  return current.filter((p) => { try { return statSync(p).isFile(); } catch { return false; } });
}
