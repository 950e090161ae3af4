// Canonical writer: model → keepalived.conf text, and tree → text. Stable order (the directive
// tables' order), two-space indent, quotes only where the lexer needs them. Values equal to
// their (effective) default are left out, so parse(write(parse(x))) gives back the same model.
import type { Node, Token } from './ast.ts';
import type { Config } from './model.ts';
import { Out, writeBlock } from './directives/engine.ts';
import { TOP } from './directives/top.ts';
import { quote } from './words.ts';

export { quote };

/** The configuration as canonical keepalived.conf text. */
export function writeConfig(config: Config): string {
  const out = new Out();
  writeBlock(TOP, config, out, { config, parent: null });
  return out.text();
}

function tok(t: Token): string {
  return quote(t.text, t.quoted);
}

/** A syntax tree as text (includes already expanded), two-space indent. */
export function writeTree(nodes: Node[]): string {
  const lines: string[] = [];
  const walk = (list: Node[], depth: number): void => {
    for (const n of list) {
      const head = '  '.repeat(depth) + [n.keyword, ...n.args].map(tok).join(' ');
      if (n.children === null) { lines.push(head); continue; }
      lines.push(head + ' {');
      walk(n.children, depth + 1);
      lines.push('  '.repeat(depth) + '}');
    }
  };
  walk(nodes, 0);
  return lines.join('\n') + (lines.length ? '\n' : '');
}
