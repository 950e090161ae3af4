// The userspace forwarder's edge to the host besides its sockets: the nft probe and the
// ip_nonlocal_bind sysctl (written through src/net/sysctl.ts, which owns kernel settings).
import { run } from '../../util/spawn.ts';
import { NONLOCAL_BIND6_SYSCTLS, NONLOCAL_BIND_SYSCTLS, setSysctls } from '../../net/sysctl.ts';

/** `nft list tables` exits 0: the kernel and the tool can run our table. */
export async function probeNft(): Promise<boolean> {
  return (await probeNftTables()).works;
}

/** The same probe, with the tables it listed ("ip tandem", "netdev tandem", …). */
export async function probeNftTables(): Promise<{ works: boolean; tables: string[] }> {
  try {
    const r = await run(['nft', 'list', 'tables'], { timeoutMs: 5_000, maxOutput: 64 << 10 });
    const tables = r.stdout.split('\n').flatMap((l) => {
      const m = /^table (\S+) (\S+)$/.exec(l.trim());
      return m ? [`${m[1]} ${m[2]}`] : [];
    });
    return { works: r.code === 0, tables };
  } catch {
    return { works: false, tables: [] };
  }
}

/**
 * Lets the forwarder bind the VIP while it is absent (this board BACKUP): the listener then
 * exists on both boards and starts receiving the moment VRRP adds the VIP, like HAProxy with
 * `transparent`/nonlocal bind behind keepalived. Per network namespace (src/net/sysctl.ts).
 * Returns null when set, else the reason it could not be.
 */
export async function enableNonlocalBind(family: 4 | 6 = 4): Promise<string | null> {
  let why: string | null = null;
  await setSysctls(family === 6 ? NONLOCAL_BIND6_SYSCTLS : NONLOCAL_BIND_SYSCTLS, (_level, msg) => {
    why = msg;
  });
  return why;
}
