// The part of the configuration both boards of a pair must share, as a digest for `birth`: the
// fleet compares the two boards' digests and says which part differs (src/report/fleet.ts).
//
// What is shared is a list of fields, written out below, not "everything but": a model field
// added later stays out until someone decides it must match. Shared, because the protocol or
// the data plane breaks when the boards disagree:
// - vrrp_instance (by name): VRID, version, advert_int (RFC 3768 §7.1 drops an advertisement
//   whose interval differs: keepalived counts advert_interval_err), the VIPs (address/prefix,
//   the advertised and the excluded ones: RFC 5798 §7.1 addr_list_err), the authentication
//   type (not the password: a digest of an 8-byte password is guessed offline in no time;
//   a wrong password shows as auth_failure anyway), nopreempt, preempt_delay and accept (the
//   two boards should elect the same way), and the sync group it belongs to.
// - vrrp_sync_group (by name): its members.
// - virtual_server (by ADDRESS PORT): protocol, scheduler, method, delay_loop, persistence,
//   quorum and hysteresis, the sorry server, and every real server with its weight,
//   inhibit_on_failure and checkers (kind, timing, target, URLs, payloads): the hash schedulers
//   derive their seed from these (DESIGN.md "Data plane"), so a flow picks the same real server
//   on either board only when they match.
// Board-local, so left out: priority and state (one board is meant to win), unicast_src_ip and
// unicast_peer (each board names the other), interface names (boards of different types name
// their NICs differently), tracking (each board tracks its own links and scripts), GARP
// timing, every program (notify, quorum_up/down, misc_path: local files), global_defs, mqtt,
// serial_console and metrics.
import { createHash } from 'node:crypto';
import type { Checker, Config, RealServer, VirtualIp, VirtualServer, VrrpInstance } from '../config/model.ts';

export interface SharedConfigDigest {
  /** SHA-256 (hex, 16 characters) over every part's digest. */
  hash: string;
  /** "vrrp_instance VI_1", "vrrp_sync_group G", "virtual_server 192.0.2.1 80" → its digest. */
  parts: Record<string, string>;
}

/** JSON with keys sorted at every level, so equal values give equal text. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

const vip = (v: VirtualIp): string => `${v.address}/${v.prefix}`;

function instancePart(i: VrrpInstance, group: string | null): unknown {
  return {
    vrid: i.virtualRouterId,
    version: i.version,
    advertIntMs: i.advertIntMs,
    vips: i.virtualIps.map(vip).sort(),
    vipsExcluded: i.virtualIpsExcluded.map(vip).sort(),
    authType: i.authentication?.type ?? null,
    nopreempt: i.nopreempt,
    preemptDelayMs: i.preemptDelayMs,
    accept: i.accept,
    syncGroup: group,
  };
}

function checkerPart(c: Checker): unknown {
  if (c.kind === 'MISC_CHECK') {
    return { kind: c.kind, timeoutMs: c.miscTimeoutMs, dynamic: c.miscDynamic, delayLoopMs: c.delayLoopMs, retry: c.retry, delayBeforeRetryMs: c.delayBeforeRetryMs };
  }
  const timing = {
    kind: c.kind, connectTimeoutMs: c.connectTimeoutMs, retry: c.retry, delayBeforeRetryMs: c.delayBeforeRetryMs, delayLoopMs: c.delayLoopMs,
    connectIp: c.connectIp, connectPort: c.connectPort,
  };
  if (c.kind === 'TCP_CHECK') return timing;
  if (c.kind === 'UDP_CHECK') return { ...timing, payload: c.payload?.toString('hex') ?? null, requireReply: c.requireReply };
  return {
    ...timing, virtualhost: c.virtualhost, enableSni: c.enableSni, httpProtocol: c.httpProtocol,
    urls: c.urls.map((u) => ({ path: u.path, digest: u.digest, statusCodes: u.statusCodes, virtualhost: u.virtualhost })),
  };
}

function realServerPart(r: RealServer): unknown {
  return { address: r.address, port: r.port, weight: r.weight, inhibitOnFailure: r.inhibitOnFailure, checkers: r.checkers.map(checkerPart) };
}

function virtualServerPart(v: VirtualServer): unknown {
  return {
    protocol: v.protocol, scheduler: v.scheduler, method: v.method, delayLoopMs: v.delayLoopMs,
    persistenceTimeoutMs: v.persistenceTimeoutMs, persistenceGranularity: v.persistenceGranularity,
    quorum: v.quorum, hysteresis: v.hysteresis, alpha: v.alpha, omega: v.omega, inhibitOnFailure: v.inhibitOnFailure,
    sorryServer: v.sorryServer ? `${v.sorryServer.address} ${v.sorryServer.port}` : null, sorryServerInhibit: v.sorryServerInhibit,
    virtualhost: v.virtualhost,
    realServers: v.realServers.map(realServerPart).sort((a, b) => canonical(a).localeCompare(canonical(b))),
  };
}

export function sharedConfigDigest(c: Config): SharedConfigDigest {
  const parts: Record<string, string> = {};
  const groupOf = new Map<string, string>();
  for (const g of c.syncGroups) {
    for (const m of g.group) groupOf.set(m, g.name);
    parts[`vrrp_sync_group ${g.name}`] = digest(canonical({ members: [...g.group].sort() }));
  }
  for (const i of c.instances) parts[`vrrp_instance ${i.name}`] = digest(canonical(instancePart(i, groupOf.get(i.name) ?? null)));
  for (const v of c.virtualServers) parts[`virtual_server ${v.name}`] = digest(canonical(virtualServerPart(v)));
  const lines = Object.keys(parts).sort().map((k) => `${k}=${parts[k]}`).join('\n');
  return { hash: digest(lines), parts };
}
