// One entry point for "run this checker once against this real server": picks the checker
// function by kind, resolves connect_ip/connect_port, and knows each kind's time bound (the
// scheduler uses it as a backstop should a checker ever fail to honour its own timeout).

import type { Checker, RealServer, VirtualServer } from '../config/model.ts';
import { checkHttp } from './http.ts';
import { checkMisc } from './misc.ts';
import { checkTcp } from './tcp.ts';
import { checkUdp } from './udp.ts';
import type { CheckResult, CheckTarget } from './types.ts';

export interface ProbeContext {
  /** global_defs script_user / script_group: the default user of MISC_CHECK scripts. */
  scriptUser?: string | null;
  scriptGroup?: string | null;
  enableScriptSecurity?: boolean;
}

/** Runs one check. The scheduler's default is runProbe; unit tests pass a fake. */
export type ProbeFn = (checker: Checker, rs: RealServer, vs: VirtualServer, signal: AbortSignal) => Promise<CheckResult>;

export function targetOf(checker: Checker, rs: RealServer, vs: VirtualServer): CheckTarget {
  if (checker.kind === 'MISC_CHECK') return { address: rs.address, port: rs.port, virtualhost: vs.virtualhost };
  return {
    address: checker.connectIp ?? rs.address,
    port: checker.connectPort ?? rs.port,
    virtualhost: vs.virtualhost,
  };
}

/** keepalived check_misc.c: misc_timeout, else the virtual server's delay_loop. */
export function miscTimeoutMs(checker: Extract<Checker, { kind: 'MISC_CHECK' }>, vs: VirtualServer): number {
  return checker.miscTimeoutMs ?? vs.delayLoopMs;
}

/** The longest one run of this checker may take when it honours its own timeouts. */
export function probeBoundMs(checker: Checker, vs: VirtualServer): number {
  switch (checker.kind) {
    case 'MISC_CHECK':
      return miscTimeoutMs(checker, vs);
    case 'HTTP_GET':
    case 'SSL_GET':
      return checker.connectTimeoutMs * Math.max(1, checker.urls.length);
    default:
      return checker.connectTimeoutMs;
  }
}

export function makeProbe(ctx: ProbeContext = {}): ProbeFn {
  return async (checker, rs, vs, signal) => {
    const target = targetOf(checker, rs, vs);
    try {
      switch (checker.kind) {
        case 'TCP_CHECK':
          return await checkTcp(target, checker, signal);
        case 'HTTP_GET':
        case 'SSL_GET':
          return await checkHttp(target, checker, signal);
        case 'UDP_CHECK':
          return await checkUdp(target, checker, signal);
        case 'MISC_CHECK':
          return await checkMisc(checker, {
            timeoutMs: miscTimeoutMs(checker, vs),
            defaultUser: ctx.scriptUser ?? null,
            defaultGroup: ctx.scriptGroup ?? null,
            enableScriptSecurity: ctx.enableScriptSecurity ?? false,
          }, signal);
      }
    } catch (e) {
      // Checkers report failures as results; a throw is a bug or a bad address (e.g. an
      // invalid bindto): count it as a failed check rather than crash the daemon.
      return { ok: false, latencyMs: 0, detail: `${checker.kind}: ${(e as Error).message}` };
    }
  };
}
