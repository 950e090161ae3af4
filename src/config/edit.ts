// Tree editing for the console's configure mode (`set PATH… VALUE`, `delete PATH…`).
// Pure: takes a syntax tree, returns a new one (the input is never mutated, so the console can
// keep the running tree and the candidate side by side) or an error message.
//
// The path rule (documented for users in src/console/README.md):
//   - Walk the words from the left. At each level, a block node matches when its keyword equals
//     the next word and each of its arguments equals the words after it; the walk descends into
//     the first matching block.
//   - `set`: when no block matches but the word names a known block (the directive tables say
//     which keywords open blocks where, and how many arguments name them), the block is created at the end of the level and the walk descends.
//     What is left is one directive: its keyword and values. An existing plain directive with
//     that keyword in the block is replaced (keepalived keeps the last one anyway); otherwise it
//     is appended. In list blocks (virtual_ipaddress, unicast_peer, track_interface, …) each
//     entry is a node whose keyword is the entry itself, so `set … virtual_ipaddress
//     203.0.113.10/24 dev eth1` adds or replaces that entry.
//   - `delete`: the path may end on a block (the whole block goes) or on a directive keyword,
//     optionally followed by values: every plain directive with that keyword whose arguments
//     start with those values is removed.
import type { Node, Token } from './ast.ts';
import type { Pos } from './model.ts';
import { entryFor, type Block } from './directives/engine.ts';
import { BLOCKS, TOP } from './directives/top.ts';

/** A word of a console command; quoted words keep their quotes when written back. */
export type EditWord = string | { text: string; quoted: boolean };

export type EditResult = { ok: true; nodes: Node[] } | { ok: false; error: string };

/**
 * Whether `keyword` names a block inside `parent` ('' = top level), and how many words after it
 * name one (`vrrp_instance NAME {`, `virtual_server IP PORT {`, list blocks none); -1 when it
 * is no block there. From the directive tables: `url` is a block in HTTP_GET but a plain
 * directive in `mqtt`.
 */
export function blockArity(keyword: string, parent: string): number {
  return BLOCKS.get(keyword)?.get(parent) ?? -1;
}

/** Position given to nodes the console creates: they have no line in any file yet. */
const CONSOLE_POS: Pos = { file: '<console>', line: 0, col: 0 };

function wordText(w: EditWord): string {
  return typeof w === 'string' ? w : w.text;
}

function toToken(w: EditWord): Token {
  if (typeof w === 'string') return { text: w, quoted: /\s/.test(w) || w === '', pos: CONSOLE_POS };
  return { text: w.text, quoted: w.quoted || /\s/.test(w.text) || w.text === '', pos: CONSOLE_POS };
}

/** Does `node` (a block) match words[i…]? Returns how many words it consumed, or 0. */
function blockMatch(node: Node, words: readonly EditWord[], i: number): number {
  if (node.children === null) return 0;
  if (i >= words.length || node.keyword.text !== wordText(words[i]!)) return 0;
  // Not enough words left to name all of the block's arguments.
  if (i + node.args.length > words.length - 1) return 0;
  for (let k = 0; k < node.args.length; k++) {
    if (node.args[k]!.text !== wordText(words[i + 1 + k]!)) return 0;
  }
  return 1 + node.args.length;
}

/** Replace the element at `idx` of a level, returning a new array. */
function withChild(level: readonly Node[], idx: number, node: Node): Node[] {
  const out = level.slice();
  out[idx] = node;
  return out;
}

function describe(words: readonly EditWord[], upTo: number): string {
  return words.slice(0, upTo).map(wordText).join(' ');
}

/** `set PATH… KEYWORD VALUE…`: see the file comment for the rule. */
export function setPath(nodes: readonly Node[], words: readonly EditWord[]): EditResult {
  if (words.length === 0) return { ok: false, error: 'set: nothing to set' };
  return setAt(nodes, words, 0, '');
}

function setAt(level: readonly Node[], words: readonly EditWord[], i: number, parent: string): EditResult {
  // Descend into an existing block when one matches and words are left for a directive.
  for (let idx = 0; idx < level.length; idx++) {
    const node = level[idx]!;
    const used = blockMatch(node, words, i);
    if (used === 0) continue;
    if (i + used >= words.length) {
      return { ok: false, error: `'${describe(words, i + used)}' is a block: name a directive inside it` };
    }
    const inner = setAt(node.children ?? [], words, i + used, node.keyword.text);
    if (!inner.ok) return inner;
    return { ok: true, nodes: withChild(level, idx, { ...node, children: inner.nodes }) };
  }
  const kw = wordText(words[i]!);
  const arity = blockArity(kw, parent);
  // Create a known block when the path goes on past its name: `set vrrp_instance VI_2 priority 90`.
  if (arity >= 0 && words.length > i + arity + 1) {
    const created: Node = {
      keyword: toToken(words[i]!),
      args: words.slice(i + 1, i + 1 + arity).map(toToken),
      children: [],
      pos: CONSOLE_POS,
    };
    const inner = setAt([], words, i + 1 + arity, kw);
    if (!inner.ok) return inner;
    return { ok: true, nodes: [...level, { ...created, children: inner.nodes }] };
  }
  // What is left is one directive.
  const args = words.slice(i + 1).map(toToken);
  const existing = level.findIndex((n) => n.keyword.text === kw && n.children === null);
  if (existing >= 0) {
    const old = level[existing]!;
    // Keep the original position, so diagnostics and the diff still point at its line.
    const replaced: Node = { ...old, args };
    // keepalived takes the last of repeated directives; drop later duplicates so `set` wins.
    const out = withChild(level, existing, replaced).filter(
      (n, j) => j <= existing || !(n.keyword.text === kw && n.children === null),
    );
    return { ok: true, nodes: out };
  }
  if (level.some((n) => n.keyword.text === kw && n.children !== null)) {
    return { ok: false, error: `'${describe(words, i + 1)}' names a block: give its arguments and a directive inside it` };
  }
  const node: Node = { keyword: toToken(words[i]!), args, children: null, pos: CONSOLE_POS };
  return { ok: true, nodes: [...level, node] };
}

/** `delete PATH…`: removes a block, or the directives with a keyword (and leading values). */
export function deletePath(nodes: readonly Node[], words: readonly EditWord[]): EditResult {
  if (words.length === 0) return { ok: false, error: 'delete: nothing to delete' };
  return deleteAt(nodes, words, 0);
}

function deleteAt(level: readonly Node[], words: readonly EditWord[], i: number): EditResult {
  for (let idx = 0; idx < level.length; idx++) {
    const node = level[idx]!;
    const used = blockMatch(node, words, i);
    if (used === 0) continue;
    if (i + used === words.length) {
      // The path names this block: delete it.
      return { ok: true, nodes: level.filter((_, j) => j !== idx) };
    }
    const inner = deleteAt(node.children ?? [], words, i + used);
    if (!inner.ok) continue; // another block with the same name may hold it
    return { ok: true, nodes: withChild(level, idx, { ...node, children: inner.nodes }) };
  }
  const kw = wordText(words[i]!);
  const values = words.slice(i + 1).map(wordText);
  const hit = (n: Node): boolean =>
    n.keyword.text === kw &&
    values.length <= n.args.length &&
    values.every((v, k) => n.args[k]!.text === v);
  if (!level.some(hit)) {
    return { ok: false, error: `nothing to delete at '${describe(words, words.length)}'` };
  }
  return { ok: true, nodes: level.filter((n) => !hit(n)) };
}

/**
 * Words that may follow `words` in a path, for tab completion and `?`: the keywords at the level
 * the path reaches, and the arguments of blocks named by the last keyword.
 */
export function pathCompletions(nodes: readonly Node[], words: readonly EditWord[]): string[] {
  let level: readonly Node[] = nodes;
  let i = 0;
  outer: while (i < words.length) {
    for (const node of level) {
      const used = blockMatch(node, words, i);
      if (used > 0 && i + used <= words.length) {
        level = node.children ?? [];
        i += used;
        continue outer;
      }
    }
    break;
  }
  const rest = words.slice(i).map(wordText);
  const out = new Set<string>();
  for (const node of level) {
    const names = [node.keyword.text, ...node.args.map((a) => a.text)];
    // The next word of the first node whose leading words equal what was typed.
    if (rest.length < names.length && rest.every((w, k) => names[k] === w)) out.add(names[rest.length]!);
  }
  return [...out];
}

/**
 * Keywords the directive tables allow at the block a path names (whether or not the candidate
 * holds that block yet), in the order the canonical writer uses: for `?` and completion of
 * what could be set. Empty when the path ends inside a list block or on a directive's values.
 */
export function keywordChoices(words: readonly EditWord[]): string[] {
  let block: Block<object> | null = TOP as unknown as Block<object>;
  let i = 0;
  while (i < words.length) {
    if (block === null) return [];
    const kw = wordText(words[i]!);
    const sub: { arity: number; block: Block<object> | null } | undefined = entryFor(block, kw)?.subs?.find((s) => s.names.includes(kw));
    if (sub === undefined) return [];
    i += 1 + sub.arity;
    if (i > words.length) return [];
    block = sub.block;
  }
  if (block === null) return [];
  return block.entries.filter((e) => e.refused === undefined && e.ignored === undefined).flatMap((e) => e.names);
}
