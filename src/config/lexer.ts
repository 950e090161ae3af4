// Lexer for keepalived.conf syntax, one logical line at a time. keepalived's own reader
// (lib/parser.c) is line oriented: `!` and `#` start a comment anywhere outside double quotes
// (`\!` and `\#` stand for the characters themselves), `{` and `}` are block delimiters even
// when glued to a word, and double quotes group words. The configuration language (language.ts)
// hands over lines whose every character knows its file, line and column (mapped.ts), so a
// token's position is where it was written, even after `@ID` stripping or `$NAME` substitution.
//
// Bad bytes never crash: invalid UTF-8 and NUL bytes are reported with their position and the
// file is not read further (a binary file would otherwise produce thousands of diagnostics).
import type { Diagnostic, Pos } from './model.ts';
import { Mapped, type LineOrigin } from './mapped.ts';

export type LexKind = 'word' | 'open' | 'close' | 'eol';

export interface LexToken {
  kind: LexKind;
  text: string;
  quoted: boolean;
  pos: Pos;
  /** The column after the token's source text on its line (quotes included). */
  end: number;
  /** Some of the token's characters came from a `$NAME` substitution. */
  substituted: boolean;
  origin: LineOrigin;
}

/** Control characters tolerated in one file before it is declared binary. */
const MAX_BAD_CONTROL = 5;

/** Per-file state of the lexer: how many bad characters it has met. */
export interface LexBudget {
  badControl: number;
  /** Set once the file was given up on: its remaining lines are not lexed. */
  gaveUp: boolean;
}

export function newBudget(): LexBudget {
  return { badControl: 0, gaveUp: false };
}

/**
 * Offsets of invalid UTF-8 sequences in buf (at most `limit`). Written out rather than relying on
 * TextDecoder so we know *where* the bad byte is.
 */
export function invalidUtf8Offsets(buf: Uint8Array, limit = 10): number[] {
  const bad: number[] = [];
  let i = 0;
  while (i < buf.length && bad.length < limit) {
    const b = buf[i]!;
    if (b < 0x80) { i++; continue; }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) { need = 1; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; min = 0x10000; }
    else { bad.push(i); i++; continue; }
    let cp = b & (0x3f >> need);
    let ok = true;
    for (let k = 1; ok && k <= need; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid (RFC 3629 section 3).
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (!ok) { bad.push(i); i++; continue; }
    i += need + 1;
  }
  return bad;
}

/** Line and column (1-based, column in characters) of a byte offset. */
function bytePos(buf: Buffer, offset: number, file: string): Pos {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (buf[i] === 0x0a) { line++; lineStart = i + 1; }
  }
  // Column counts decoded characters before the bad byte on its line.
  const col = buf.subarray(lineStart, offset).toString('utf8').length + 1;
  return { file, line, col };
}

/**
 * A file's bytes (validated as UTF-8) or text as a string without a BOM; null, with the problem
 * in `diags`, when it is not text: invalid UTF-8, or a NUL byte.
 */
export function decodeSource(src: string | Buffer, file: string, diags: Diagnostic[]): string | null {
  let text: string;
  if (typeof src === 'string') {
    text = src;
  } else {
    const bad = invalidUtf8Offsets(src);
    if (bad.length > 0) {
      for (const off of bad) {
        diags.push({
          severity: 'error',
          message: `invalid UTF-8 (byte 0x${src[off]!.toString(16).padStart(2, '0')})`,
          pos: bytePos(src, off, file),
        });
      }
      return null;
    }
    text = src.toString('utf8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 BOM is harmless
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    const before = text.slice(0, nul);
    const line = (before.match(/\n/g) ?? []).length + 1;
    const col = nul - (before.lastIndexOf('\n') + 1) + 1;
    diags.push({ severity: 'error', message: 'NUL byte: this looks like a binary file, not a configuration', pos: { file, line, col } });
    return null;
  }
  return text;
}

/** The physical lines of a text, without their line ends (LF, or CR LF as keepalived strips). */
export function physicalLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/**
 * Where the comment of a line starts (its length when it has none): the first `!` or `#` outside
 * double quotes that no `\` escapes, as keepalived's decomment() finds it.
 */
export function commentStart(text: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') { i++; continue; }
    if (c === '"') { quoted = !quoted; continue; }
    if (!quoted && (c === '!' || c === '#')) return i;
  }
  return text.length;
}

const BLANK = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v';

function posAt(m: Mapped, origin: LineOrigin, i: number): Pos {
  return { file: origin.file, line: origin.line, col: m.colAt(i) };
}

function push(out: LexToken[], m: Mapped, origin: LineOrigin, kind: LexKind, s: string, quoted: boolean, a: number, b: number): void {
  out.push({ kind, text: s, quoted, pos: posAt(m, origin, a), end: m.endAt(b - 1), substituted: m.substitutedIn(a, b), origin });
}

/** Splits one logical line into tokens (no 'eol'). Problems are appended to `diags`. */
export function lexLine(m: Mapped, origin: LineOrigin, diags: Diagnostic[], budget: LexBudget): LexToken[] {
  const out: LexToken[] = [];
  if (budget.gaveUp) return out;
  const text = m.text;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    const code = c.charCodeAt(0);
    if (BLANK(c)) { i++; continue; }
    if (code < 0x20 || code === 0x7f || code === 0xfffd) {
      diags.push({ severity: 'error', message: `unexpected control character 0x${code.toString(16).padStart(2, '0')}`, pos: posAt(m, origin, i) });
      if (++budget.badControl > MAX_BAD_CONTROL) {
        diags.push({ severity: 'error', message: 'too many bad characters: this looks like a binary file; giving up on it', pos: posAt(m, origin, i) });
        budget.gaveUp = true;
        return out;
      }
      i++;
      continue;
    }
    if (c === '!' || c === '#') break;
    if (c === '{' || c === '}') {
      push(out, m, origin, c === '{' ? 'open' : 'close', c, false, i, i + 1);
      i++;
      continue;
    }
    if (c === '"') {
      const start = i;
      i++;
      let s = '';
      let closed = false;
      while (i < n) {
        const d = text[i]!;
        // keepalived has no escapes here; we accept \" and \\ so the writer can quote any string.
        if (d === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) { s += text[i + 1]; i += 2; continue; }
        if (d === '"') { closed = true; i++; break; }
        s += d; i++;
      }
      if (!closed) diags.push({ severity: 'error', message: 'unterminated quoted string', pos: posAt(m, origin, start) });
      push(out, m, origin, 'word', s, true, start, i);
      continue;
    }
    const start = i;
    let escaped = false;
    while (i < n) {
      const d = text[i]!;
      const dc = d.charCodeAt(0);
      // keepalived's decomment(): `\!` and `\#` are the characters, not a comment.
      if (d === '\\' && (text[i + 1] === '!' || text[i + 1] === '#')) { escaped = true; i += 2; continue; }
      if (BLANK(d) || d === '{' || d === '}' || d === '!' || d === '#' || d === '"' || dc < 0x20 || dc === 0x7f || dc === 0xfffd) break;
      i++;
    }
    const word = text.slice(start, i);
    push(out, m, origin, 'word', escaped ? word.replace(/\\([!#])/g, '$1') : word, false, start, i);
  }
  return out;
}

/**
 * Splits a whole text into tokens, one 'eol' after each line (no configuration language: the
 * lines are read as written). `src` may be a Buffer (read from disk: validated as UTF-8) or an
 * already-decoded string. Problems are appended to `diags`.
 */
export function lex(src: string | Buffer, file: string, diags: Diagnostic[]): LexToken[] {
  const text = decodeSource(src, file, diags);
  if (text === null) return [];
  const out: LexToken[] = [];
  const budget = newBudget();
  const lines = physicalLines(text);
  lines.forEach((line, k) => {
    const origin: LineOrigin = { file, line: k + 1, via: 'text', at: null, cond: null };
    out.push(...lexLine(Mapped.text(line, 1), origin, diags, budget));
    out.push({ kind: 'eol', text: '\n', quoted: false, pos: { file, line: k + 1, col: line.length + 1 }, end: line.length + 1, substituted: false, origin });
  });
  return out;
}
