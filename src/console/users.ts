// Console users: scrypt password hashes in STATE_DIR/console-users.json.
//
// File format (version 1), written atomically (temp file, fsync, rename) with mode 0600:
//   { "version": 1, "users": { "admin": { "kdf": "scrypt", "N": 16384, "r": 8, "p": 1,
//                                          "salt": "<base64, 16 bytes>", "hash": "<base64, 32 bytes>" } } }
// The parameters are stored with each hash so they can be raised later without breaking old
// entries. A technician may provision the file before first boot (e.g. generated on the bench
// with `hashPassword()` from this module); when the file has no user, the serial console asks
// for the admin password (twice) before anything else.
//
// Beside it, STATE_DIR/console-lockout.json keeps the failed-login count and lockout (login.ts)
// across restarts, written atomically with mode 0600 at each failure and at the first success
// after failures: { "version": 1, "failures": 2, "lockedUntil": <epoch ms, 0 = not locked> }.
// A separate file, so that failed logins never rewrite the password hashes.
import { scrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic } from '../util/atomic-file.ts';
import type { LoginRecord, LoginStateStore } from './login.ts';

export interface PasswordHash {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  hash: string;
}

export interface UserStore {
  hasUsers(): Promise<boolean>;
  verify(user: string, password: string): Promise<boolean>;
  setPassword(user: string, password: string): Promise<void>;
}

/** N = 2^14, r = 8, p = 1: RFC 7914's interactive-login parameters; ~16 MiB, tens of ms on an ARM board. */
export const DEFAULT_SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const KEYLEN = 32;

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: scrypt needs 128*N*r bytes; leave headroom above node's 32 MiB default for larger N.
    scrypt(password, salt, KEYLEN, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, params: { N: number; r: number; p: number } = DEFAULT_SCRYPT): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, params.N, params.r, params.p);
  return { kdf: 'scrypt', N: params.N, r: params.r, p: params.p, salt: salt.toString('base64'), hash: key.toString('base64') };
}

export async function verifyPassword(password: string, h: PasswordHash): Promise<boolean> {
  const expected = Buffer.from(h.hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(h.salt, 'base64'), h.N, h.r, h.p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

function isHash(v: unknown): v is PasswordHash {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const pow2 = typeof o.N === 'number' && o.N >= 2 && (o.N & (o.N - 1)) === 0;
  return (
    o.kdf === 'scrypt' && pow2 && typeof o.r === 'number' && o.r > 0 && typeof o.p === 'number' && o.p > 0 &&
    typeof o.salt === 'string' && typeof o.hash === 'string' && o.hash.length > 0
  );
}

/** The file store. A damaged file is an error (never silently "no users": that would reopen first-boot setup). */
export class FileUserStore implements UserStore {
  readonly path: string;
  private readonly params: { N: number; r: number; p: number };
  /** Hash of a random password: verify() of an unknown user costs the same as of a known one. */
  private dummy: Promise<PasswordHash> | null = null;

  constructor(stateDir: string, params: { N: number; r: number; p: number } = DEFAULT_SCRYPT) {
    this.path = join(stateDir, 'console-users.json');
    this.params = params;
  }

  private async load(): Promise<Record<string, PasswordHash>> {
    const doc = await readJsonFile(this.path);
    if (doc === null) return {};
    const users = (doc as { users?: unknown } | null)?.users;
    if (typeof users !== 'object' || users === null) throw new Error(`${this.path}: no "users" object`);
    const out: Record<string, PasswordHash> = {};
    for (const [name, h] of Object.entries(users)) {
      if (!isHash(h)) throw new Error(`${this.path}: user '${name}' has no valid scrypt hash`);
      out[name] = h;
    }
    return out;
  }

  async hasUsers(): Promise<boolean> {
    return Object.keys(await this.load()).length > 0;
  }

  async verify(user: string, password: string): Promise<boolean> {
    const users = await this.load();
    const h = Object.hasOwn(users, user) ? users[user] : undefined;
    if (!h) {
      this.dummy ??= hashPassword(randomBytes(12).toString('hex'), this.params);
      await verifyPassword(password, await this.dummy);
      return false;
    }
    return verifyPassword(password, h);
  }

  async setPassword(user: string, password: string): Promise<void> {
    const users = await this.load();
    users[user] = await hashPassword(password, this.params);
    await writeFileAtomic(this.path, JSON.stringify({ version: 1, users }, null, 2) + '\n', 0o600, { forceMode: true });
  }
}

export const LOCKOUT_FILE = 'console-lockout.json';

/** The login guard's record (login.ts), kept beside the users file. */
export class FileLoginStore implements LoginStateStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, LOCKOUT_FILE);
  }

  async load(): Promise<LoginRecord | null> {
    const doc = await readJsonFile(this.path);
    if (doc === null) return null;
    const o = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
    const count = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
    if (o.version !== 1 || !count(o.failures) || !count(o.lockedUntil)) throw new Error(`${this.path}: not a login record (version 1)`);
    return { failures: o.failures, lockedUntil: o.lockedUntil };
  }

  async save(r: LoginRecord): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify({ version: 1, failures: r.failures, lockedUntil: r.lockedUntil }) + '\n', 0o600, { forceMode: true });
  }
}
