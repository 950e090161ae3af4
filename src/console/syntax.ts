// The part of src/config/index.ts the console uses, as an interface: the daemon passes the module
// itself (`import * as config from './config/index.ts'`), so the engine never reads configuration
// text on its own (DESIGN.md: nothing reads configuration text except src/config/).
import type { Node } from '../config/ast.ts';
import type { Config, Diagnostic } from '../config/model.ts';

export interface ConfigSyntax {
  /** Text → tree (with `include` expanded), positions against `file`. */
  parseTree(text: string, file: string): { nodes: Node[]; diagnostics: Diagnostic[] };
  /** Tree → validated model; config is null when there are errors. */
  buildConfig(nodes: Node[], file: string): { config: Config | null; diagnostics: Diagnostic[] };
  /** Tree → canonical text. */
  writeTree(nodes: Node[]): string;
  /** `FILE:LINE:COL: message`. */
  formatDiagnostic(d: Diagnostic): string;
}
