// Calls tandem's own functions inside a namespace: starts fixtures/netns-agent.ts there (under
// `ip netns exec`, through LabProcess) and forwards calls to it, so production code runs in
// the namespace the way the daemon does on a board, with no namespace option of its own.
//
//   const agent = await startNetnsAgent(ns, { errors: { NftError } });
//   const nft = agent.module<typeof import('../../src/lb/nft.ts')>('src/lb/nft.ts');
//   await nft.applyNft(tx);                        // runs `nft -f -` inside ns
//   const session = await agent.create<NftSession>('src/lb/nft.ts', 'NftSession');
//   await session.apply(edit);                     // the nft -i process lives in ns
//
// Arguments travel as JSON; an object with a render() method (NftTransaction) travels as its
// rendered text, which every nft entry point accepts in its place. Errors come back with their
// message and own properties, as instances of the classes given in `errors` when the name
// matches (so `e instanceof NftError` holds).
import { fileURLToPath } from 'node:url';
import { LabProcess } from './process.ts';

const AGENT = fileURLToPath(new URL('./fixtures/netns-agent.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

type AnyFn = (...args: never[]) => unknown;
/** The functions of M, each returning a promise of what it returns. */
export type Remote<M> = {
  [K in keyof M as NonNullable<M[K]> extends AnyFn ? K : never]-?: NonNullable<M[K]> extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never;
};

export interface NetnsAgent {
  readonly ns: string;
  /** The exported functions of a module under src/, called inside the namespace. */
  module<M>(path: string): Remote<M>;
  /** An object made inside the namespace (a class constructed, or a factory called), driven by its methods. */
  create<T>(path: string, name: string, ...args: unknown[]): Promise<Remote<T>>;
  /** Ends the agent (its objects are closed at stdin EOF). */
  close(): Promise<void>;
}

// An error class revived from its name; the instance is made without calling the constructor.
// `any[]`: error classes of every constructor signature must fit (NftError, ConntrackError, …).
type ErrorClass = abstract new (...args: any[]) => Error;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export async function startNetnsAgent(ns: string, opts: { errors?: Record<string, ErrorClass>; timeoutMs?: number } = {}): Promise<NetnsAgent> {
  const proc = new LabProcess(ns, [process.execPath, '--import', 'tsx', AGENT], { stdin: true, cwd: REPO, label: `netns-agent ${ns}` });
  const pending = new Map<number, Pending>();
  let seq = 0;
  proc.onLine((l) => {
    if (l.stream !== 'stdout' || !l.text.startsWith('@agent ')) return;
    const m = JSON.parse(l.text.slice(7)) as { id?: number; ok?: boolean; value?: unknown; error?: Record<string, unknown> };
    const p = m.id === undefined ? undefined : pending.get(m.id);
    if (!p) return;
    pending.delete(m.id!);
    if (m.ok) p.resolve(m.value);
    else p.reject(revive(m.error ?? {}, opts.errors ?? {}));
  });
  void proc.exited.then((st) => {
    for (const p of pending.values()) p.reject(new Error(`netns agent in ${ns} exited (${st.code ?? st.signal})\n${proc.tail()}`));
    pending.clear();
  });
  await proc.waitForLog(/^@agent \{"ready":true\}$/, opts.timeoutMs ?? 30_000);

  const send = (req: object): Promise<unknown> => {
    if (!proc.running || proc.child.stdin!.writableEnded) return Promise.reject(new Error(`netns agent in ${ns} is closed`));
    const id = ++seq;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      proc.child.stdin!.write(JSON.stringify({ id, ...req }, (_k, v: unknown) => (hasRender(v) ? v.render() : v)) + '\n');
    });
  };
  const methods = <T>(call: (name: string, args: unknown[]) => Promise<unknown>): T =>
    // Not a thenable: `then` stays undefined so the proxy can be returned from an async function.
    new Proxy({}, { get: (_t, name) => (typeof name === 'string' && name !== 'then' ? (...args: unknown[]) => call(name, args) : undefined) }) as T;

  return {
    ns,
    module: <M>(path: string) => methods<Remote<M>>((name, args) => send({ op: 'call', module: path, name, args })),
    async create<T>(path: string, name: string, ...args: unknown[]) {
      const handle = await send({ op: 'create', module: path, name, args });
      return methods<Remote<T>>((method, margs) => send({ op: 'invoke', handle, name: method, args: margs }));
    },
    async close() {
      proc.child.stdin!.end();
      const st = await Promise.race([proc.exited, new Promise<null>((r) => setTimeout(() => r(null), 5_000))]);
      if (!st) await proc.stop('SIGKILL');
    },
  };
}

function hasRender(v: unknown): v is { render(): string } {
  return typeof v === 'object' && v !== null && typeof (v as { render?: unknown }).render === 'function';
}

function revive(e: Record<string, unknown>, classes: Record<string, ErrorClass>): Error {
  const cls = typeof e.name === 'string' ? classes[e.name] : undefined;
  const err: Error = cls ? (Object.create(cls.prototype) as Error) : new Error(String(e.message));
  Object.assign(err, e);
  return err;
}
