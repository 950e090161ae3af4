// Lexer for keepalived.conf syntax. keepalived's own reader (lib/parser.c) is line oriented:
// `!` and `#` start a comment anywhere outside double quotes, `{` and `}` are block delimiters
// even when glued to a word, and double quotes group words. We keep every token's file, line
// and column so a diagnostic can point at it.
//
// Bad bytes never crash: invalid UTF-8 and NUL bytes are reported with their position and the
// file is not lexed further (a binary file would otherwise produce thousands of diagnostics).
import type { Diagnostic, Pos } from './model.ts';

export type LexKind = 'word' | 'open' | 'close' | 'eol';

export interface LexToken {
  kind: LexKind;
  text: string;
  quoted: boolean;
  pos: Pos;
}

/** Control characters tolerated before a file is declared binary. */
const MAX_BAD_CONTROL = 5;

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
 * Splits source into tokens. `src` may be a Buffer (read from disk: validated as UTF-8) or an
 * already-decoded string. Problems are appended to `diags`.
 */
export function lex(src: string | Buffer, file: string, diags: Diagnostic[]): LexToken[] {
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
      return [];
    }
    text = src.toString('utf8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 BOM is harmless

  const out: LexToken[] = [];
  let line = 1;
  let col = 1;
  let i = 0;
  let badControl = 0;
  const n = text.length;
  const pos = (): Pos => ({ file, line, col });

  while (i < n) {
    const c = text[i]!;
    const code = c.charCodeAt(0);
    if (c === '\n') {
      out.push({ kind: 'eol', text: '\n', quoted: false, pos: pos() });
      i++; line++; col = 1;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') { i++; col++; continue; }
    if (code === 0) {
      diags.push({ severity: 'error', message: 'NUL byte: this looks like a binary file, not a configuration', pos: pos() });
      return out;
    }
    if (code < 0x20 || code === 0x7f || code === 0xfffd) {
      diags.push({ severity: 'error', message: `unexpected control character 0x${code.toString(16).padStart(2, '0')}`, pos: pos() });
      if (++badControl > MAX_BAD_CONTROL) {
        diags.push({ severity: 'error', message: 'too many bad characters: this looks like a binary file; giving up on it', pos: pos() });
        return out;
      }
      i++; col++;
      continue;
    }
    if (c === '!' || c === '#') {
      while (i < n && text[i] !== '\n') { i++; col++; }
      continue;
    }
    if (c === '{' || c === '}') {
      out.push({ kind: c === '{' ? 'open' : 'close', text: c, quoted: false, pos: pos() });
      i++; col++;
      continue;
    }
    if (c === '"') {
      const start = pos();
      i++; col++;
      let s = '';
      let closed = false;
      while (i < n && text[i] !== '\n') {
        const d = text[i]!;
        // keepalived has no escapes; we accept \" and \\ so the writer can quote any string.
        if (d === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) { s += text[i + 1]; i += 2; col += 2; continue; }
        if (d === '"') { closed = true; i++; col++; break; }
        if (d === '\r' && text[i + 1] === '\n') { i++; col++; continue; }
        s += d; i++; col++;
      }
      if (!closed) diags.push({ severity: 'error', message: 'unterminated quoted string', pos: start });
      out.push({ kind: 'word', text: s, quoted: true, pos: start });
      continue;
    }
    const start = pos();
    let s = '';
    while (i < n) {
      const d = text[i]!;
      const dc = d.charCodeAt(0);
      if (d === ' ' || d === '\t' || d === '\r' || d === '\n' || d === '\f' || d === '\v' || d === '{' || d === '}' ||
          d === '!' || d === '#' || d === '"' || dc < 0x20 || dc === 0x7f || dc === 0xfffd) break;
      s += d; i++; col++;
    }
    out.push({ kind: 'word', text: s, quoted: false, pos: start });
  }
  out.push({ kind: 'eol', text: '', quoted: false, pos: pos() });
  return out;
}
