// The part of src/config/index.ts the console uses, as an interface: the daemon passes the module
// itself (`import * as config from './config/index.ts'`), so the engine never reads configuration
// text on its own (DESIGN.md: nothing reads configuration text except src/config/).
import type { Node } from '../config/ast.ts';
import type { Config, Diagnostic } from '../config/model.ts';
import type { SourceInfo } from '../config/parser.ts';
import type { PatchResult } from '../config/source-edit.ts';

export interface ConfigSyntax {
  /**
   * Text → tree for one board (keepalived's configuration language applied: its `@ID` lines,
   * `$` parameters, `include`s), positions against `file`.
   */
  parseTree(text: string, file: string, opts?: { configId?: string | null }): { nodes: Node[]; diagnostics: Diagnostic[]; source: SourceInfo };
  /** The file's text with `edited` in place of `base` (parsed from it), changing only those lines; or why not. */
  patchText(text: string, base: readonly Node[], edited: readonly Node[], source: SourceInfo): PatchResult;
  /** Tree → validated model; config is null when there are errors. */
  buildConfig(nodes: Node[], file: string): { config: Config | null; diagnostics: Diagnostic[] };
  /** Tree → canonical text. */
  writeTree(nodes: Node[]): string;
  /** `FILE:LINE:COL: message`. */
  formatDiagnostic(d: Diagnostic): string;
}
