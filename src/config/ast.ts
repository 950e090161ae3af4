// The syntax tree of a keepalived.conf-syntax file, after `include` expansion. Every node keeps
// where it was written, so validation and the console can point at a line. The console edits
// this tree (`set`, `delete`), and the model is built from it again.
import type { Pos } from './model.ts';

export interface Token {
  text: string;
  /** Written in double quotes in the source (a quoted word may hold spaces). */
  quoted: boolean;
  pos: Pos;
}

/** One directive: `keyword arg arg …` optionally followed by a `{ … }` block. */
export interface Node {
  keyword: Token;
  args: Token[];
  /** null when the directive has no block; [] for an empty block. */
  children: Node[] | null;
  pos: Pos;
}
