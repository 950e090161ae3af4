// Parser: tokens → syntax tree (ast.ts), with `include` expanded in place.
//
// keepalived's reader is line oriented: a directive is a keyword and its arguments up to the end
// of the line, optionally followed by a `{ … }` block (the `{` may also start the next line,
// as keepalived accepts). Includes are resolved relative to the including file's directory and
// may use the glob characters * ? [..] in any path segment.
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Node, Token } from './ast.ts';
import type { Diagnostic, Pos } from './model.ts';
import { lex, type LexToken } from './lexer.ts';

/** Total bytes read across the top-level file and every include. */
export const MAX_TOTAL_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 32;
const MAX_INCLUDE_DEPTH = 16;

interface ParseState {
  diags: Diagnostic[];
  /** Real paths of the files currently being included (outermost first): loop detection. */
  stack: string[];
  bytes: number;
}

export interface ParseResult {
  nodes: Node[];
  diagnostics: Diagnostic[];
}

/** Parses source text (or bytes read from disk) of `file`; includes are read from disk. */
export function parseSource(src: string | Buffer, file: string): ParseResult {
  const state: ParseState = { diags: [], stack: [], bytes: 0 };
  const nodes = parseOne(src, file, state, { file, line: 1, col: 1 });
  return { nodes, diagnostics: state.diags };
}

/** Reads and parses a file from disk. */
export function parseFile(path: string): ParseResult {
  const state: ParseState = { diags: [], stack: [], bytes: 0 };
  const nodes = readAndParse(path, path, state, { file: path, line: 1, col: 1 });
  return { nodes, diagnostics: state.diags };
}

function err(state: ParseState, pos: Pos, message: string): void {
  state.diags.push({ severity: 'error', message, pos });
}

function readAndParse(path: string, shown: string, state: ParseState, at: Pos): Node[] {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) { err(state, at, `'${shown}' is not a regular file`); return []; }
    size = st.size;
  } catch (e) {
    err(state, at, `cannot read '${shown}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return [];
  }
  if (state.bytes + size > MAX_TOTAL_BYTES) {
    err(state, at, `file too large: '${shown}' is ${size} bytes; the configuration may total at most ${MAX_TOTAL_BYTES} bytes`);
    return [];
  }
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    err(state, at, `cannot read '${shown}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return [];
  }
  return parseOne(buf, shown, state, at);
}

function parseOne(src: string | Buffer, file: string, state: ParseState, at: Pos): Node[] {
  const size = typeof src === 'string' ? Buffer.byteLength(src) : src.length;
  if (typeof src === 'string') {
    if (state.bytes + size > MAX_TOTAL_BYTES) {
      err(state, at, `file too large: ${size} bytes; the configuration may total at most ${MAX_TOTAL_BYTES} bytes`);
      return [];
    }
  }
  state.bytes += size;
  let real: string;
  try { real = realpathSync(file); } catch { real = resolve(file); }
  state.stack.push(real);
  try {
    const tokens = lex(src, file, state.diags);
    const p = new TokenParser(tokens, file, state);
    return p.parseTop();
  } finally {
    state.stack.pop();
  }
}

class TokenParser {
  private i = 0;
  constructor(private readonly t: LexToken[], private readonly file: string, private readonly state: ParseState) {}

  parseTop(): Node[] {
    const nodes = this.parseBlock(0, null);
    return nodes;
  }

  private peek(): LexToken | undefined { return this.t[this.i]; }

  private skipEol(): void {
    while (this.i < this.t.length && this.t[this.i]!.kind === 'eol') this.i++;
  }

  /** Parses directives until the matching `}` (depth > 0) or the end of input. */
  private parseBlock(depth: number, open: LexToken | null): Node[] {
    const nodes: Node[] = [];
    for (;;) {
      this.skipEol();
      const tok = this.peek();
      if (tok === undefined) {
        if (open) err(this.state, open.pos, `unterminated block: this '{' has no matching '}'`);
        return nodes;
      }
      if (tok.kind === 'close') {
        this.i++;
        if (depth === 0) { err(this.state, tok.pos, `stray '}' with no block open`); continue; }
        return nodes;
      }
      if (tok.kind === 'open') {
        this.i++;
        err(this.state, tok.pos, `'{' without a keyword before it`);
        if (depth + 1 > MAX_DEPTH) { err(this.state, tok.pos, 'blocks nested too deeply'); this.i = this.t.length; return nodes; }
        this.parseBlock(depth + 1, tok);
        continue;
      }
      // A word: keyword and arguments up to the end of line or a brace.
      this.i++;
      const keyword: Token = { text: tok.text, quoted: tok.quoted, pos: tok.pos };
      const args: Token[] = [];
      while (this.peek()?.kind === 'word') {
        const a = this.t[this.i++]!;
        args.push({ text: a.text, quoted: a.quoted, pos: a.pos });
      }
      let children: Node[] | null = null;
      let next = this.peek();
      if (next?.kind === 'eol') {
        // keepalived accepts the opening brace on the line after the keyword.
        let j = this.i;
        while (j < this.t.length && this.t[j]!.kind === 'eol') j++;
        if (this.t[j]?.kind === 'open') { this.i = j; next = this.t[j]; }
      }
      if (next?.kind === 'open') {
        this.i++;
        if (depth + 1 > MAX_DEPTH) { err(this.state, next.pos, 'blocks nested too deeply'); this.i = this.t.length; return nodes; }
        children = this.parseBlock(depth + 1, next);
      }
      if (keyword.text === 'include' && !keyword.quoted) {
        if (children !== null) err(this.state, keyword.pos, `'include' takes no { } block`);
        nodes.push(...this.include(keyword, args));
        continue;
      }
      nodes.push({ keyword, args, children, pos: keyword.pos });
    }
  }

  private include(kw: Token, args: Token[]): Node[] {
    if (args.length !== 1) {
      err(this.state, kw.pos, `'include' takes one file name or glob (got ${args.length})`);
      return [];
    }
    if (this.state.stack.length >= MAX_INCLUDE_DEPTH) {
      err(this.state, kw.pos, `includes nested more than ${MAX_INCLUDE_DEPTH} deep`);
      return [];
    }
    const pattern = args[0]!.text;
    const base = dirname(this.file);
    const files = expandGlob(isAbsolute(pattern) ? pattern : join(base, pattern));
    if (files.length === 0) {
      // keepalived only warns about a missing include; we refuse, so a typo in a file name
      // cannot silently drop part of the configuration.
      err(this.state, kw.pos, `include '${pattern}': no such file`);
      return [];
    }
    const out: Node[] = [];
    for (const f of files) {
      let real: string;
      try { real = realpathSync(f); } catch { real = resolve(f); }
      if (this.state.stack.includes(real)) {
        err(this.state, kw.pos, `include loop: '${f}' is already being read (${this.state.stack.join(' -> ')} -> ${real})`);
        continue;
      }
      out.push(...readAndParse(f, f, this.state, kw.pos));
    }
    return out;
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
