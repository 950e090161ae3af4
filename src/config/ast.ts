// The syntax tree of a keepalived.conf-syntax file, after keepalived's configuration language
// (language.ts: `@ID` lines, `$NAME` parameters, sequences, `include`). Every node keeps where
// it was written, so validation and the console can point at a line, and the console can
// rewrite the lines it changed and nothing else (source-edit.ts). The console edits this tree
// (`set`, `delete`), and the model is built from it again.
import type { LineOrigin } from './mapped.ts';
import type { Pos } from './model.ts';

export interface Token {
  text: string;
  /** Written in double quotes in the source (a quoted word may hold spaces). */
  quoted: boolean;
  pos: Pos;
  /** Read from a file: the column after its source text on pos.line. */
  end?: number;
  /** Read from a file: the logical line it is on. Absent for words the console made. */
  origin?: LineOrigin;
  /** Some of its characters came from a `$NAME` substitution. */
  substituted?: boolean;
}

/** One directive: `keyword arg arg …` optionally followed by a `{ … }` block. */
export interface Node {
  keyword: Token;
  args: Token[];
  /** null when the directive has no block; [] for an empty block. */
  children: Node[] | null;
  pos: Pos;
  /** A block's braces as read from a file. */
  open?: Token;
  close?: Token;
}
