// Value kinds: how one argument is read (the readers of values.ts, which throw a located
// ConfError) and written back (words.ts). A table entry names its kind instead of re-knowing it.
import type { Token } from '../ast.ts';
import { ConfError, bool, int, ipAddress, ipv4, oneOf, seconds, shown } from '../values.ts';
import { quote, secs } from '../words.ts';

export interface Value<V> {
  /** `what` is the keyword as written, so messages name what the operator wrote (an alias too). */
  read(t: Token, what: string): V;
  write(v: V): string;
}

/** A whole number; the bounds are sanity bounds, ranges with reasons are the entries' checks. */
export function integer(min?: number, max?: number): Value<number> {
  return { read: (t, what) => int(t, what, min, max), write: String };
}

/** Seconds in the file (fractions allowed), milliseconds in the model. */
export const SECONDS: Value<number> = { read: seconds, write: secs };

/** Whole microseconds in the file (keepalived's min_auto_priority_delay), milliseconds in the model. */
export const MICROSECONDS: Value<number> = {
  read: (t, what) => int(t, what, 0, 2 ** 31 - 1) / 1000,
  write: (ms) => String(Math.round(ms * 1000)),
};

export const IPV4: Value<string> = { read: (t, what) => ipv4(t, what), write: (s) => s };

/** An address of either family, kept in canonical text. */
export const IP: Value<string> = { read: ipAddress, write: (s) => s };

/** Any word; written quoted where the lexer needs it. */
export const WORD: Value<string> = { read: (t) => t.text, write: (s) => quote(s) };

/** true/yes/on/1 or false/no/off/0 (keepalived's get_value_from_string). */
export const BOOL: Value<boolean> = { read: (t, what) => bool(t, what), write: (b) => (b ? 'true' : 'false') };

/** One of a fixed set of words. */
export function oneOfWords<V extends string>(allowed: readonly V[]): Value<V> {
  return { read: (t, what) => oneOf(t, what, allowed), write: (v) => v };
}

/** One of a few words that stand for numbers (`vrrp_version 3`). */
export function numbered<V extends number>(map: Readonly<Record<string, V>>): Value<V> {
  const words = Object.keys(map);
  return {
    read: (t, what) => map[oneOf(t, what, words)]!,
    write: (v) => words.find((w) => map[w] === v) ?? String(v),
  };
}

/** Hex bytes, with or without 0x (UDP_CHECK payload and require_reply). */
export function hexBytes(t: { text: string; pos: Token['pos'] }, what: string): string {
  const h = t.text.replace(/^0x/i, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(h)) throw new ConfError(t.pos, `${what}: '${shown(t.text)}' is not hex bytes`);
  return h.toLowerCase();
}
