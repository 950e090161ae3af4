// How values are written back as words of keepalived.conf text: the inverse of the lexer
// (quoting) and of the readers in values.ts (seconds, commands, netmasks).
import type { Command } from './model.ts';

const NEEDS_QUOTES = /[\s{}!#"\\]/;

/** A word as the lexer will read it back: bare if possible, else double-quoted with \" and \\. */
export function quote(s: string, force = false): string {
  if (!force && s !== '' && !NEEDS_QUOTES.test(s)) return s;
  return '"' + s.replace(/[\\"]/g, (m) => '\\' + m) + '"';
}

/** Milliseconds as keepalived's seconds (fractions where needed). */
export function secs(ms: number): string {
  return String(ms / 1000);
}

/** A command as bare words when possible, else one quoted command line (see splitCommandLine). */
export function commandText(c: Command): string {
  const simple = c.argv.every((a) => a !== '' && !NEEDS_QUOTES.test(a) && !/['"]/.test(a));
  if (simple) return c.argv.join(' ');
  const line = c.argv.map((a) => {
    if (a !== '' && !/[\s'"]/.test(a)) return a;
    return a.includes("'") ? '"' + a + '"' : "'" + a + "'";
  }).join(' ');
  return quote(line, true);
}

/** A prefix length as a dotted netmask (persistence_granularity is written as keepalived does). */
export function prefixToMask(p: number): string {
  const v = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
}
