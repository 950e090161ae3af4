// The config id: which `@ID` lines of a configuration a board reads (keepalived.conf(5)
// "Conditional configuration and configuration id"). Like keepalived (core/main.c: `-i`,
// else the node name up to its first '.'), with one more source so a board is provisioned like
// the rest of its state: the file STATE_DIR/config-id, which the console's `config-id ID`
// command writes.
//
// Order: `tandem run --config-id ID`, else STATE_DIR/config-id, else the host name's first part.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.ts';

/** The file in the state directory that holds a board's config id (one line). */
export const CONFIG_ID_FILE = 'config-id';

export type ConfigIdSource = 'option' | 'state' | 'hostname';

export interface ConfigIdChoice {
  id: string;
  source: ConfigIdSource;
  /** Set when the state file could not be used (unreadable, or not an id): said at start. */
  problem: string | null;
}

/** keepalived's default: the node name up to its first '.'. */
export function defaultConfigId(host: string = hostname()): string {
  const dot = host.indexOf('.');
  return dot < 0 ? host : host.slice(0, dot);
}

/**
 * Why a word cannot be a config id, or null. keepalived compares the word after '@' up to the
 * first blank; we keep to words a file name, a shell and a log line can carry unquoted.
 */
export function configIdProblem(id: string): string | null {
  if (id === '') return 'a config id cannot be empty';
  if (id.length > 64) return 'a config id is at most 64 characters';
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) return 'a config id is letters, digits, ".", "_" and "-"';
  return null;
}

/** The id STATE_DIR/config-id holds: null when there is no such file. Throws when it is unusable. */
export function readConfigIdFile(stateDir: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(stateDir, CONFIG_ID_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${join(stateDir, CONFIG_ID_FILE)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const id = text.trim();
  const why = configIdProblem(id);
  if (why !== null) throw new Error(`${join(stateDir, CONFIG_ID_FILE)}: ${why}`);
  return id;
}

/** Saves the id atomically (util/atomic-file.ts), for the next start and the init scripts. */
export async function saveConfigIdFile(stateDir: string, id: string): Promise<void> {
  const why = configIdProblem(id);
  if (why !== null) throw new Error(why);
  await writeFileAtomic(join(stateDir, CONFIG_ID_FILE), id + '\n', 0o644);
}

/** The id a board runs with, and where it came from. */
export function chooseConfigId(option: string | null, stateDir: string, host: string = hostname()): ConfigIdChoice {
  if (option !== null) return { id: option, source: 'option', problem: null };
  try {
    const id = readConfigIdFile(stateDir);
    if (id !== null) return { id, source: 'state', problem: null };
    return { id: defaultConfigId(host), source: 'hostname', problem: null };
  } catch (e) {
    return { id: defaultConfigId(host), source: 'hostname', problem: `${(e as Error).message}; using the host name's '${defaultConfigId(host)}'` };
  }
}
