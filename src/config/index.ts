// Public API of the configuration part. Other parts call only these functions (DESIGN.md:
// nothing reads configuration text except src/config/).
import type { Node } from './ast.ts';
import type { Config, Diagnostic } from './model.ts';
import { buildModel } from './build.ts';
import { defaultConfigId } from './config-id.ts';
import { parseFile, parseSource, type ParseResult, type SourceInfo } from './parser.ts';
import { validate, type ValidateOptions } from './validate.ts';
import type { BoardCapacity } from './capacity.ts';
import { writeConfig, writeTree } from './writer.ts';

export type { ValidateOptions } from './validate.ts';
export type { SourceInfo } from './parser.ts';
export { configIdProblem, defaultConfigId } from './config-id.ts';
export { writeConfig, writeTree };
export { patchText, type PatchResult } from './source-edit.ts';
export { fieldPos } from './build.ts';
/** keepalived's gratuitous-ARP defaults (global_defs vrrp_garp_master_*), for src/vrrp. */
export { GARP_DEFAULTS } from './directives/global.ts';

export interface LoadOptions {
  /** The host's interfaces → their "a.b.c.d/prefix" addresses: unknown-interface and VIP-subnet warnings. */
  interfaces?: Map<string, string[]>;
  /** The board the configuration is for (`tandem check --board`): its NICs instead of the host's. */
  board?: { name: string; nics: readonly string[] };
  /** The board profile's VRRP capacity (`check --board`, `run --board`): too many adverts are warned about. */
  capacity?: BoardCapacity;
  /**
   * The board's config id: which `@ID` lines it reads (language.ts). Not given: keepalived's
   * default, the host name's first part; null: no `@ID` line (and every `@^ID` line).
   */
  configId?: string | null;
}

export interface LoadResult {
  /** null when any diagnostic is an error. */
  config: Config | null;
  diagnostics: Diagnostic[];
  /** What the configuration language found: the config ids the file names, the files read. */
  source: SourceInfo;
}

function idOf(opts: { configId?: string | null }): string | null {
  return opts.configId === undefined ? defaultConfigId() : opts.configId;
}

/**
 * A file with `@ID` lines of which none names this board's id is most likely a board that
 * does not know its name (an `OpenWrt` host name): it would run only the shared lines.
 */
function viewWarning(r: ParseResult): Diagnostic[] {
  const s = r.source;
  if (s.ids.length === 0 || s.firstConditional === null || (s.configId !== null && s.ids.includes(s.configId))) return [];
  const names = s.ids.slice(0, 8).join(', ') + (s.ids.length > 8 ? ', …' : '');
  return [{
    severity: 'warning',
    message: `no '@' line names config id '${s.configId ?? ''}' (the file names ${names}): this board reads only the lines for every board; give it its id (tandem run --config-id ID, or the console's 'config-id ID')`,
    pos: s.firstConditional,
  }];
}

function withViewWarning(r: ParseResult): ParseResult {
  return { ...r, diagnostics: [...viewWarning(r), ...r.diagnostics] };
}

/** More than this many diagnostics is noise (binary garbage); the rest are summarised. */
export const MAX_DIAGNOSTICS = 50;

/** Errors shown from one file; past this it is not configuration text (one summary instead). */
export const MAX_FILE_ERRORS = 10;

/**
 * At most MAX_FILE_ERRORS errors from one file, then one summary at the next one's place: a
 * file with an error on every line (binary, or not configuration at all) must not be printed
 * out line by line.
 */
function capPerFile(diags: Diagnostic[]): Diagnostic[] {
  const count = new Map<string, number>();
  for (const d of diags) if (d.severity === 'error') count.set(d.pos.file, (count.get(d.pos.file) ?? 0) + 1);
  if ([...count.values()].every((n) => n <= MAX_FILE_ERRORS)) return diags;
  const seen = new Map<string, number>();
  const out: Diagnostic[] = [];
  for (const d of diags) {
    if (d.severity !== 'error') { out.push(d); continue; }
    const k = (seen.get(d.pos.file) ?? 0) + 1;
    seen.set(d.pos.file, k);
    if (k <= MAX_FILE_ERRORS) out.push(d);
    else if (k === MAX_FILE_ERRORS + 1) {
      const more = count.get(d.pos.file)! - MAX_FILE_ERRORS;
      out.push({ severity: 'error', message: `too many errors in this file (${more} more not shown): it does not look like keepalived configuration text`, pos: d.pos });
    }
  }
  return out;
}

function cap(all: Diagnostic[]): Diagnostic[] {
  const diags = capPerFile(all);
  if (diags.length <= MAX_DIAGNOSTICS) return diags;
  const kept = diags.slice(0, MAX_DIAGNOSTICS);
  kept.push({ severity: 'error', message: `too many problems: ${diags.length - MAX_DIAGNOSTICS} more not shown`, pos: diags[MAX_DIAGNOSTICS]!.pos });
  return kept;
}

function hasError(diags: Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

function sortDiags(diags: Diagnostic[]): Diagnostic[] {
  // Stable: by file order of appearance is kept; within a file by line and column.
  return diags.map((d, k) => ({ d, k })).sort((a, b) =>
    a.d.pos.file === b.d.pos.file ? (a.d.pos.line - b.d.pos.line) || (a.d.pos.col - b.d.pos.col) || (a.k - b.k) : a.k - b.k,
  ).map((x) => x.d);
}

/** Text → syntax tree (includes expanded relative to dirname(file)), for one config id. */
export function parseTree(text: string, file: string, opts: { configId?: string | null } = {}): { nodes: Node[]; diagnostics: Diagnostic[]; source: SourceInfo } {
  const r = withViewWarning(parseSource(text, file, { configId: idOf(opts) }));
  return { nodes: r.nodes, diagnostics: cap(r.diagnostics), source: r.source };
}

/** Syntax tree → validated model. The console edits the tree and calls this again. */
export function buildConfig(nodes: Node[], file: string, opts: LoadOptions = {}): Omit<LoadResult, 'source'> {
  const b = buildAll(nodes, file, opts);
  const diagnostics = cap(b.diagnostics);
  return { config: hasError(diagnostics) ? null : b.config, diagnostics };
}

/** Built model and every diagnostic, sorted, not yet bounded. */
function buildAll(nodes: Node[], file: string, opts: LoadOptions): { config: Config; diagnostics: Diagnostic[] } {
  const built = buildModel(nodes, file);
  const diags = [...built.diagnostics];
  const c = built.config;
  if (!hasError(diags) && c.instances.length === 0 && c.virtualServers.length === 0) {
    diags.push({ severity: 'error', message: 'no vrrp_instance or virtual_server: nothing to run', pos: { file, line: 1, col: 1 } });
  }
  const vopts: ValidateOptions = {
    ...(opts.interfaces ? { interfaces: opts.interfaces } : {}),
    ...(opts.board ? { board: opts.board } : {}),
    ...(opts.capacity ? { capacity: opts.capacity } : {}),
  };
  diags.push(...validate(c, vopts));
  return { config: c, diagnostics: sortDiags(diags) };
}

function finish(parsed: ParseResult, file: string, opts: LoadOptions): LoadResult {
  const tree = withViewWarning(parsed);
  if (hasError(tree.diagnostics)) {
    // Still build, to report directive-level problems too, but the syntax errors come first.
    const b = buildAll(tree.nodes, file, opts);
    const rest = b.diagnostics.filter((d) => d.message !== 'no vrrp_instance or virtual_server: nothing to run');
    return { config: null, diagnostics: cap([...tree.diagnostics, ...rest]), source: tree.source };
  }
  const warnings = tree.diagnostics;
  const b = buildAll(tree.nodes, file, opts);
  const diagnostics = cap(sortDiags([...warnings, ...b.diagnostics]));
  return { config: hasError(diagnostics) ? null : b.config, diagnostics, source: tree.source };
}

/** Parses and validates configuration text; includes resolve relative to dirname(file). */
export function parseConfigText(text: string, file: string, opts: LoadOptions = {}): LoadResult {
  return finish(parseSource(text, file, { configId: idOf(opts) }), file, opts);
}

/** Reads, parses and validates a configuration file. Never throws for bad input. */
export function loadConfigFile(path: string, opts: LoadOptions = {}): LoadResult {
  return finish(parseFile(path, { configId: idOf(opts) }), path, opts);
}

/** `FILE:LINE:COL: error: message` (or `warning:`). */
export function formatDiagnostic(d: Diagnostic): string {
  // Messages quote words escaped already; this makes sure no control character reaches a
  // terminal, whatever a message or a file name holds.
  const esc = (s: string): string => s.replace(/[\u0000-\u001f\u007f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
  return `${esc(d.pos.file)}:${d.pos.line}:${d.pos.col}: ${d.severity}: ${esc(d.message)}`;
}

export interface CheckResult {
  ok: boolean;
  lines: string[];
  /** The config ids whose views were checked ([] when the file has no `@` lines and none was given). */
  views: string[];
}

/** What `tandem check -f FILE` prints and whether it would run (warnings allowed); see checkViews. */
export function checkFile(path: string, opts: LoadOptions = {}): { ok: boolean; lines: string[] } {
  const r = checkViews(path, opts);
  return { ok: r.ok, lines: r.lines };
}

/**
 * `tandem check`: with a config id (opts.configId), that board's view. Without one, the view of
 * every id the file's `@ID` lines name and of the default id (the host name's first part),
 * each message prefixed with the ids whose view has it (`FILE:LINE:COL: error: @a,b: …`); a
 * file without `@` lines has one view and no prefix.
 */
export function checkViews(path: string, opts: LoadOptions = {}): CheckResult {
  try {
    if (opts.configId !== undefined) {
      const r = loadConfigFile(path, opts);
      return { ok: !hasError(r.diagnostics), lines: r.diagnostics.map(formatDiagnostic), views: opts.configId === null ? [] : [opts.configId] };
    }
    const own = defaultConfigId();
    const first = loadConfigFile(path, { ...opts, configId: own });
    if (first.source.ids.length === 0) return { ok: !hasError(first.diagnostics), lines: first.diagnostics.map(formatDiagnostic), views: [] };
    const ids = [...first.source.ids];
    if (!ids.includes(own)) ids.push(own);
    // One line per problem, naming every view that has it.
    const seen = new Map<string, { d: Diagnostic; ids: string[] }>();
    let ok = true;
    for (const id of ids) {
      const r = id === own ? first : loadConfigFile(path, { ...opts, configId: id });
      if (hasError(r.diagnostics)) ok = false;
      for (const d of r.diagnostics) {
        const key = formatDiagnostic(d);
        const e = seen.get(key);
        if (e) { if (!e.ids.includes(id)) e.ids.push(id); } else seen.set(key, { d, ids: [id] });
      }
    }
    const lines = [...seen.values()].map(({ d, ids: who }) => formatDiagnostic({ ...d, message: `@${who.join(',')}: ${d.message}` }));
    return { ok, lines, views: ids };
  } catch (e) {
    // Defensive: a bug here must still come out as a located message, not a stack trace.
    return { ok: false, lines: [`${path}:1:1: error: internal error while checking: ${e instanceof Error ? e.message : String(e)}`], views: [] };
  }
}
