// Typed readers for directive arguments. Each throws ConfError at the offending token, which
// the directive dispatcher turns into a located diagnostic.
import type { Node, Token } from './ast.ts';
import type { Command, Pos } from './model.ts';
import { isIpv4, looksIpv6 } from './net.ts';
import { formatIp, parseIp } from '../util/ip.ts';

export class ConfError extends Error {
  constructor(readonly pos: Pos, message: string) {
    super(message);
  }
}

/** Longest piece of a configuration word a message quotes. */
export const SHOWN_MAX = 40;

const CONTROL_NAMES: Readonly<Record<number, string>> = { 0x0a: 'LF', 0x0d: 'CR', 0x1b: 'ESC', 0x7f: 'DEL' };

/**
 * A word as a message may quote it: control characters escaped (\r, \n, \t, \xNN), cut to
 * SHOWN_MAX characters. A message shows at most the offending word this way, never more of
 * the file it came from.
 */
export function shown(text: string, max = SHOWN_MAX): string {
  const chars = [...text];
  const cut = chars.length > max ? chars.slice(0, max) : chars;
  const esc = cut.map((c) => {
    const code = c.codePointAt(0)!;
    if (c === '\r') return '\\r';
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) return '\\x' + code.toString(16).padStart(2, '0');
    return c;
  }).join('');
  return chars.length > max ? esc + '…' : esc;
}

/**
 * The first control character of a string value (C0 and DEL), as "0x0d (CR)"; null when there
 * is none. TAB is not one: keepalived's lexer treats it as a blank, like a space
 * (lib/parser.c WHITE_SPACE), so it may stand in a string where a space may.
 */
export function controlCharacter(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) {
      const name = CONTROL_NAMES[code];
      return `0x${code.toString(16).padStart(2, '0')}${name ? ` (${name})` : ''}`;
    }
  }
  return null;
}

export function arg(node: Node, k: number): Token {
  const t = node.args[k];
  if (t === undefined) throw new ConfError(node.pos, `'${node.keyword.text}' needs ${k + 1} argument(s)`);
  return t;
}

/** A whole number (optionally signed); bounds here are only sanity bounds, ranges are validated. */
export function int(t: Token, what: string, min = -(2 ** 31), max = 2 ** 31 - 1): number {
  if (!/^[+-]?\d{1,10}$/.test(t.text)) throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not a whole number`);
  const v = Number(t.text);
  if (v < min || v > max) throw new ConfError(t.pos, `${what}: ${v} is out of range ${min}..${max}`);
  return v;
}

/** Seconds, fractions allowed (keepalived reads timers as decimals), returned in milliseconds. */
export function seconds(t: Token, what: string): number {
  if (!/^\d{1,9}(\.\d{1,6})?$/.test(t.text)) throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not a number of seconds`);
  return Math.round(Number(t.text) * 1000);
}

/**
 * An IPv4 address, where a keyword takes no other. `ipv6Why` says why an IPv6 one is refused
 * there (the error names the keyword and the reason).
 */
export function ipv4(t: Token, what: string, ipv6Why = `${what} takes an IPv4 address`): string {
  if (isIpv4(t.text)) return t.text;
  if (looksIpv6(t.text)) throw new ConfError(t.pos, `IPv6 address '${shown(t.text)}' is not supported in ${what}: ${ipv6Why}`);
  throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not a valid IPv4 address`);
}

/**
 * An address of either family (IPv4 dotted quad, IPv6 in RFC 4291 text), in canonical text
 * (IPv6 as RFC 5952 writes it, so "2001:DB8::0:1" and "2001:db8::1" are one address everywhere
 * after this). A zone index ("fe80::1%eth0", RFC 4007) is not part of an address: the interface
 * is given by `interface` or `dev`.
 */
export function ipAddress(t: { text: string; pos: Pos }, what: string): string {
  const pct = t.text.indexOf('%');
  if (pct >= 0 && parseIp(t.text.slice(0, pct)) !== null) {
    throw new ConfError(t.pos, `${what}: '${shown(t.text)}' carries a zone index ('%${shown(t.text.slice(pct + 1))}'): write the address alone; the interface comes from the configuration (the instance's interface, a VIP's dev), not from the address`);
  }
  const a = parseIp(t.text);
  if (!a) {
    // Say which family it failed as, when its characters tell.
    const family = t.text.includes(':') ? 'IPv6' : 'IPv4';
    throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not a valid ${family} address`);
  }
  return formatIp(a);
}

export function oneOf<T extends string>(t: Token, what: string, allowed: readonly T[]): T {
  const hit = allowed.find((a) => a === t.text);
  if (hit === undefined) throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not one of ${allowed.join(', ')}`);
  return hit;
}

export function bool(t: Token | undefined, what: string): boolean {
  if (t === undefined) return true;
  const v = t.text.toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(v)) return true;
  if (['false', 'no', 'off', '0'].includes(v)) return false;
  throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not true or false`);
}

/**
 * Splits a quoted command line the way keepalived does for notify and script strings: words
 * separated by blanks, single or double quotes group words (keepalived's set_script_params).
 */
export function splitCommandLine(s: string, pos: Pos): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else cur += c;
      continue;
    }
    if (c === "'" || c === '"') { quote = c; inWord = true; continue; }
    if (c === ' ' || c === '\t') {
      if (inWord) { out.push(cur); cur = ''; inWord = false; }
      continue;
    }
    cur += c; inWord = true;
  }
  if (quote) throw new ConfError(pos, `unbalanced ${quote} quote in command`);
  if (inWord) out.push(cur);
  return out;
}

/**
 * A program and its arguments: either one quoted string (split like a command line) or the
 * bare words of the directive. Never run through a shell.
 */
export function command(node: Node, from = 0): Command {
  const toks = node.args.slice(from);
  if (toks.length === 0) throw new ConfError(node.pos, `'${node.keyword.text}' needs a program`);
  let argv: string[];
  if (toks.length === 1 && toks[0]!.quoted) {
    argv = splitCommandLine(toks[0]!.text, toks[0]!.pos);
  } else {
    const q = toks.find((t) => t.quoted);
    if (q !== undefined && toks.length > 1) {
      throw new ConfError(q.pos, `'${node.keyword.text}': give the command as one quoted string or as bare words, not both (running it as another user is not supported)`);
    }
    argv = toks.map((t) => t.text);
  }
  if (argv.length === 0 || argv[0] === '') throw new ConfError(node.pos, `'${node.keyword.text}' needs a program`);
  return { argv, pos: toks[0]!.pos };
}
