// Syntax tree → typed model (model.ts), filling keepalived's defaults (keepalived.conf(5),
// keepalived 2.2.x). What each keyword means lives in the directive tables (directives/): a
// directive no table knows is an error at its line, never silently ignored (DESIGN.md).
import type { Node } from './ast.ts';
import type { Config, Diagnostic } from './model.ts';
import { controlCharacter, shown } from './values.ts';
import { create, dispatch, inheritAll, type BuildCtx } from './directives/engine.ts';
import { GLOBAL } from './directives/global.ts';
import { REFUSALS, TOP } from './directives/top.ts';

export { fieldPos } from './positions.ts';

/**
 * Every word of the tree with a control character in it, located at the word: a quoted string
 * can hold one as a raw byte, and a word typed at the console never went through the lexer.
 * A CR or LF in a health check's path or Host, in a notify argument or in a name shown on a
 * terminal must never get that far.
 */
function controlCharacters(nodes: readonly Node[], out: Diagnostic[]): void {
  for (const n of nodes) {
    for (const t of [n.keyword, ...n.args]) {
      const c = controlCharacter(t.text);
      if (c !== null) {
        out.push({ severity: 'error', message: `control character ${c} in '${shown(t.text)}': configuration strings may not hold control characters`, pos: t.pos });
      }
    }
    if (n.children) controlCharacters(n.children, out);
  }
}

/**
 * Builds the model from a tree. Returns the model even when there are errors (partial, for
 * the validator to look at more); callers treat any error as "no configuration".
 */
export function buildModel(nodes: Node[], file: string): { config: Config; diagnostics: Diagnostic[] } {
  const ctx: BuildCtx = { diags: [], refusals: REFUSALS };
  controlCharacters(nodes, ctx.diags);
  const config = create(TOP, { file, global: create(GLOBAL, { pos: { file, line: 1, col: 1 } }) });
  // global_defs first: instances take their VRRP version and accept default from it, wherever it is.
  const isGlobal = (n: Node): boolean => n.keyword.text === 'global_defs' && !n.keyword.quoted;
  dispatch(nodes.filter(isGlobal), TOP, config, ctx);
  dispatch(nodes.filter((n) => !isGlobal(n)), TOP, config, ctx);
  inheritAll(TOP, config);
  return { config, diagnostics: ctx.diags };
}
