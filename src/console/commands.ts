// The command table machinery: one table drives parsing (with unique abbreviations), help,
// `?`, tab completion and the error messages. Pure; the table itself is in engine.ts.
//
// A command is a path of keywords followed by arguments. Keywords may be abbreviated while the
// abbreviation is unique among the keywords possible at that point (`sh vr` = `show vrrp`).
// Arguments:
//   word      one word
//   number    an integer within [min, max]
//   endpoint  "ADDRESS PORT" as two words, or one word ADDRESS:PORT ([IPV6-ADDRESS]:PORT)
//   choice    one of a fixed list (abbreviations allowed)
//   rest      every remaining word (at least one), quotes kept

export type Mode = 'oper' | 'config';

export interface Word {
  text: string;
  quoted: boolean;
}

export interface ArgSpec<C> {
  arg: string;
  kind: 'word' | 'number' | 'endpoint' | 'choice' | 'rest';
  help?: string;
  min?: number;
  max?: number;
  choices?: string[];
  /** Completion candidates; `prior` are the arguments parsed before this one. */
  complete?: (ctx: C, prior: ArgValue[], restWords: Word[]) => string[];
}

export type Elem<C> = string | ArgSpec<C>;

export interface ArgValue {
  /** The value as one string: endpoints as "ADDRESS PORT", rest as the words joined. */
  text: string;
  words: Word[];
}

export interface CommandSpec<C, R> {
  path: Elem<C>[];
  modes: Mode[];
  help: string;
  run: (ctx: C, args: ArgValue[]) => R;
}

export type MatchResult<C, R> =
  | { ok: true; spec: CommandSpec<C, R>; args: ArgValue[] }
  | { ok: false; error: string };

/** Split a command line into words; double quotes group words, backslash escapes inside quotes. */
export function tokenize(line: string): { words: Word[]; trailingSpace: boolean; error: string | null } {
  const words: Word[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= line.length) break;
    if (line[i] === '"') {
      let text = '';
      i++;
      let closed = false;
      while (i < line.length) {
        const ch = line[i]!;
        if (ch === '\\' && i + 1 < line.length) {
          text += line[i + 1];
          i += 2;
          continue;
        }
        if (ch === '"') {
          closed = true;
          i++;
          break;
        }
        text += ch;
        i++;
      }
      if (!closed) return { words, trailingSpace: false, error: 'unterminated quote' };
      words.push({ text, quoted: true });
    } else {
      const start = i;
      while (i < line.length && line[i] !== ' ' && line[i] !== '\t') i++;
      words.push({ text: line.slice(start, i), quoted: false });
    }
  }
  return { words, trailingSpace: /[ \t]$/.test(line), error: null };
}

const isKw = <C>(e: Elem<C> | undefined): e is string => typeof e === 'string';

function kwMatches(options: string[], w: string): string[] {
  if (options.includes(w)) return [w];
  return options.filter((k) => k.startsWith(w));
}

interface KeywordWalk<C, R> {
  cands: CommandSpec<C, R>[];
  /** Words consumed by keywords. */
  used: number;
  error: string | null;
}

/** Resolve the keyword prefix of `words` as far as it goes. */
function walkKeywords<C, R>(specs: CommandSpec<C, R>[], words: Word[], stopAt: number): KeywordWalk<C, R> {
  let cands = specs;
  let i = 0;
  while (i < stopAt) {
    const opts = [...new Set(cands.map((s) => s.path[i]).filter(isKw))];
    const hits = kwMatches(opts, words[i]!.text);
    if (hits.length === 1) {
      cands = cands.filter((s) => s.path[i] === hits[0]);
      i++;
      continue;
    }
    if (hits.length > 1) {
      return { cands, used: i, error: `% ambiguous command '${words.slice(0, i + 1).map((w) => w.text).join(' ')}': ${hits.join(', ')}` };
    }
    const withArg = cands.filter((s) => s.path[i] !== undefined && !isKw(s.path[i]));
    if (withArg.length > 0) return { cands: withArg, used: i, error: null };
    return { cands, used: i, error: `% unknown command '${words.slice(0, i + 1).map((w) => w.text).join(' ')}'` };
  }
  return { cands, used: i, error: null };
}

export function usage<C, R>(spec: CommandSpec<C, R>): string {
  return spec.path
    .map((e) => (isKw(e) ? e : e.kind === 'choice' ? (e.choices ?? []).join('|') : e.kind === 'rest' ? `${e.arg}…` : e.arg))
    .join(' ');
}

type ArgParse = { ok: true; args: ArgValue[]; used: number } | { ok: false; error: string; partialArgs: ArgValue[]; at: number };

function parseArgs<C>(elems: Elem<C>[], words: Word[], from: number): ArgParse {
  const args: ArgValue[] = [];
  let i = from;
  for (const e of elems) {
    if (isKw(e)) continue; // keywords after arguments are not used by the table
    const w = words[i];
    if (!w) return { ok: false, error: '% incomplete command', partialArgs: args, at: i };
    switch (e.kind) {
      case 'word':
        args.push({ text: w.text, words: [w] });
        i++;
        break;
      case 'number': {
        const n = /^-?\d+$/.test(w.text) ? Number(w.text) : NaN;
        if (!Number.isSafeInteger(n) || (e.min !== undefined && n < e.min) || (e.max !== undefined && n > e.max)) {
          return { ok: false, error: `% ${e.arg} must be a whole number${e.min !== undefined ? ` from ${e.min} to ${e.max}` : ''}: '${w.text}'`, partialArgs: args, at: i };
        }
        args.push({ text: String(n), words: [w] });
        i++;
        break;
      }
      case 'endpoint': {
        const m = /^([^:\s]+):(\d+)$/.exec(w.text) ?? /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(w.text);
        if (m) {
          args.push({ text: `${m[1]} ${m[2]}`, words: [w] });
          i++;
        } else {
          const port = words[i + 1];
          if (!port) return { ok: false, error: '% incomplete command', partialArgs: args, at: i };
          args.push({ text: `${w.text} ${port.text}`, words: [w, port] });
          i += 2;
        }
        break;
      }
      case 'choice': {
        const hits = kwMatches(e.choices ?? [], w.text);
        if (hits.length !== 1) {
          return { ok: false, error: `% ${hits.length ? 'ambiguous' : 'expected ' + (e.choices ?? []).join('|') + ', not'} '${w.text}'`, partialArgs: args, at: i };
        }
        args.push({ text: hits[0]!, words: [{ text: hits[0]!, quoted: false }] });
        i++;
        break;
      }
      case 'rest': {
        const rest = words.slice(i);
        args.push({ text: rest.map((x) => x.text).join(' '), words: rest });
        i = words.length;
        break;
      }
    }
  }
  return { ok: true, args, used: i };
}

export function matchCommand<C, R>(specs: CommandSpec<C, R>[], mode: Mode, words: Word[]): MatchResult<C, R> {
  const inMode = specs.filter((s) => s.modes.includes(mode));
  const walk = walkKeywords(inMode, words, words.length);
  if (walk.error) return { ok: false, error: walk.error };
  const i = walk.used;
  if (i === words.length) {
    const exact = walk.cands.find((s) => s.path.length === i);
    if (exact) return { ok: true, spec: exact, args: [] };
  }
  const withArgs = walk.cands.filter((s) => s.path.length > i && !isKw(s.path[i]));
  if (withArgs.length === 0 || (i === words.length && walk.cands.some((s) => isKw(s.path[i])))) {
    return { ok: false, error: '% incomplete command' };
  }
  const spec = withArgs[0]!;
  const p = parseArgs(spec.path.slice(i), words, i);
  if (!p.ok) return { ok: false, error: `${p.error}\nusage: ${usage(spec)}` };
  if (p.used < words.length) {
    return { ok: false, error: `% too many words: '${words.slice(p.used).map((w) => w.text).join(' ')}'\nusage: ${usage(spec)}` };
  }
  return { ok: true, spec, args: p.args };
}

export interface Choice {
  word: string;
  help: string;
}

/**
 * What may come next after the complete `words`, starting with `partial`: keywords with their
 * help, or an argument's candidates. Used by both `?` and tab.
 */
export function nextChoices<C, R>(specs: CommandSpec<C, R>[], mode: Mode, ctx: C, words: Word[], partial: string): Choice[] {
  const inMode = specs.filter((s) => s.modes.includes(mode));
  const walk = walkKeywords(inMode, words, words.length);
  if (walk.error) return [];
  const i = walk.used;
  const out: Choice[] = [];
  const seen = new Set<string>();
  if (i === words.length) {
    for (const s of walk.cands) {
      const e = s.path[i];
      if (isKw(e) && e.startsWith(partial) && !seen.has(e)) {
        seen.add(e);
        // The help of the shortest command through this keyword describes it best.
        const best = walk.cands.filter((x) => x.path[i] === e).sort((a, b) => a.path.length - b.path.length)[0]!;
        out.push({ word: e, help: best.path.length === i + 1 ? best.help : `${usage(best)}: ${best.help}` });
      }
    }
    if (partial === '' && walk.cands.some((s) => s.path.length === i)) out.push({ word: '<Enter>', help: 'run the command' });
  }
  const spec = walk.cands.find((s) => s.path.length > i && !isKw(s.path[i]));
  if (spec) {
    const p = parseArgs(spec.path.slice(i), words, i);
    const argElems = spec.path.slice(i).filter((e): e is ArgSpec<C> => !isKw(e));
    let idx: number;
    let prior: ArgValue[];
    let restWords: Word[] = [];
    if (p.ok) {
      // All arguments present: only a `rest` argument can take more.
      const last = argElems[argElems.length - 1];
      if (!last || last.kind !== 'rest') return out;
      idx = argElems.length - 1;
      prior = p.args.slice(0, -1);
      restWords = p.args[p.args.length - 1]!.words;
    } else {
      idx = p.partialArgs.length;
      prior = p.partialArgs;
      if (p.at < words.length) return out; // a bad word before the cursor: nothing sensible to offer
    }
    const a = argElems[idx];
    if (!a) return out;
    const cands = a.kind === 'choice' ? (a.choices ?? []) : a.complete ? a.complete(ctx, prior, restWords) : [];
    for (const c of cands) if (c.startsWith(partial) && !seen.has(c)) {
      seen.add(c);
      out.push({ word: c, help: a.help ?? a.arg });
    }
    if (cands.length === 0 && partial === '') out.push({ word: `<${a.arg}>`, help: a.help ?? '' });
  }
  return out;
}

export function commonPrefix(words: string[]): string {
  if (words.length === 0) return '';
  let p = words[0]!;
  for (const w of words) while (!w.startsWith(p)) p = p.slice(0, -1);
  return p;
}
