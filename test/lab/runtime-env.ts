// The daemon's process settings from firmware/runtime.env (what bin/tandem applies on a board),
// so lab boards and benches run as a board does.
import { readFileSync } from 'node:fs';

const FILE = new URL('../../firmware/runtime.env', import.meta.url);

function parse(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)="?([^"]*)"?\s*$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

const vars = parse(readFileSync(FILE, 'utf8'));

/** Flags for node itself (before the bundle on its command line). */
export const RUNTIME_NODE_FLAGS: string[] = (vars.TANDEM_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
/** Environment of the daemon process. */
export const RUNTIME_ENV: Record<string, string> = Object.fromEntries(Object.entries(vars).filter(([k]) => k !== 'TANDEM_NODE_FLAGS'));
