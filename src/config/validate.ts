// Checks an operator wants before flashing a board: ranges, addresses, cross references.
// Works on the model; positions of individual directives come from fieldPos when the model was
// built from text (else the enclosing block's position). A range that belongs to one keyword
// is that keyword's check in its directive table; this file runs them per object, in place,
// and does what spans keywords and objects.
import type { Config, Diagnostic, Pos, VrrpInstance } from './model.ts';
import { fieldPos } from './positions.ts';
import { inSubnet, isIpv4 } from './net.ts';
import { controlCharacter, shown } from './values.ts';
import { ifnameProblem, labelProblem } from './ifname.ts';
import { fieldChecks, type Scope } from './directives/engine.ts';
import { checkerBlock, URL_BLOCK } from './directives/checkers.ts';
import { INSTANCE, validVrid } from './directives/instance.ts';
import { SCRIPT } from './directives/script.ts';
import { MQTT, NOTIFY_PROGRAMS } from './directives/tandem.ts';
import { TRACK_FILE, TRACK_PROCESS } from './directives/trackers.ts';
import { REAL_SERVER, VIRTUAL_SERVER, validWeight } from './directives/virtual-server.ts';

export interface ValidateOptions {
  /** interface name → its addresses as "a.b.c.d/prefix": the host's; enables the VIP-subnet warning. */
  interfaces?: Map<string, string[]>;
  /** The board the configuration is for (its profile's NICs): checked instead of the host's. */
  board?: { name: string; nics: readonly string[] };
}

export function validate(config: Config, opts: ValidateOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (pos: Pos, message: string): void => { out.push({ severity: 'error', message, pos }); };
  const warn = (pos: Pos, message: string): void => { out.push({ severity: 'warning', message, pos }); };
  const at = (obj: object & { pos: Pos }, field: string): Pos => fieldPos(obj, field) ?? obj.pos;
  const addr = (a: string, pos: Pos, what: string): void => {
    if (!isIpv4(a)) error(pos, `${what}: '${shown(a)}' is not a valid IPv4 address`);
  };
  const port = (p: number, pos: Pos, what: string): void => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) error(pos, `${what}: port ${p} is out of range 1-65535`);
  };
  const top: Scope = { config, parent: null };
  // Interface names: valid as the kernel takes them, and (when known) present on the host or board.
  const board = opts.board;
  const known = board ? new Set(board.nics) : opts.interfaces ? new Set(opts.interfaces.keys()) : null;
  const ifname = (name: string, pos: Pos, what: string): void => {
    if (controlCharacter(name) !== null) return; // reported by the build, at its word
    const why = ifnameProblem(name);
    if (why !== null) error(pos, `${what}: '${shown(name)}' is not a valid interface name: ${why}`);
  };
  const present = (name: string, pos: Pos, what: string): void => {
    if (known === null || known.has(name) || ifnameProblem(name) !== null || controlCharacter(name) !== null) return;
    warn(pos, board ? `${what} ${shown(name)} is not a NIC of board ${board.name} (${board.nics.join(', ')})` : `${what} ${shown(name)} does not exist on this host`);
  };
  const tracked = (list: ReadonlyArray<{ name: string; pos: Pos }>): void => {
    for (const t of list) { ifname(t.name, t.pos, 'track_interface'); present(t.name, t.pos, 'track_interface'); }
  };
  const under = (parent: object): Scope => ({ config, parent });

  // ---- instances ----
  const instanceNames = new Map<string, VrrpInstance>();
  const byIfVrid = new Map<string, VrrpInstance>();
  for (const i of config.instances) {
    const prev = instanceNames.get(i.name);
    if (prev) error(i.pos, `vrrp_instance ${shown(i.name)} is defined twice (also at line ${prev.pos.line})`);
    else instanceNames.set(i.name, i);

    // The instance's keyword ranges: virtual_router_id, priority, advert_int, preempt_delay.
    out.push(...fieldChecks(INSTANCE, i, top));
    if (validVrid(i.virtualRouterId)) {
      const key = `${i.interface}\u0000${i.virtualRouterId}`;
      const other = byIfVrid.get(key);
      if (other) {
        const msg = (x: VrrpInstance, y: VrrpInstance): string =>
          `virtual_router_id ${i.virtualRouterId} is used twice on ${shown(i.interface)}: by ${shown(x.name)} and by ${shown(y.name)} (${y.pos.file}:${y.pos.line})`;
        error(at(other, 'virtualRouterId'), msg(other, i));
        error(at(i, 'virtualRouterId'), msg(i, other));
      } else byIfVrid.set(key, i);
    }
    if (i.authentication) {
      if (i.authentication.type === 'AH') error(at(i.authentication, 'type'), 'authentication AH is not supported: use auth_type PASS or none');
      else if (i.version === 3) warn(i.authentication.pos, 'authentication is not part of VRRP v3 (RFC 5798 section 9); it is ignored');
      else if (Buffer.byteLength(i.authentication.pass) > 8) warn(i.authentication.pos, 'auth_pass is longer than 8 bytes; only the first 8 are sent (RFC 3768 section 5.3.10)');
    }
    for (const v of [...i.virtualIps, ...i.virtualIpsExcluded]) {
      addr(v.address, v.pos, 'virtual_ipaddress');
      if (!Number.isInteger(v.prefix) || v.prefix < 0 || v.prefix > 32) error(v.pos, `virtual_ipaddress: prefix /${v.prefix} is out of range 0-32`);
      if (v.brd !== null) addr(v.brd, v.pos, 'virtual_ipaddress brd');
      if (v.dev !== null) { ifname(v.dev, v.pos, 'virtual_ipaddress dev'); present(v.dev, v.pos, 'virtual_ipaddress dev'); }
      const label = v.label !== null && controlCharacter(v.label) === null ? labelProblem(v.label, v.dev ?? i.interface) : null;
      if (label !== null) error(v.pos, `virtual_ipaddress label '${shown(v.label!)}' ${label}`);
    }
    tracked(i.trackInterfaces);
    if (i.virtualIps.length === 0) warn(i.pos, `vrrp_instance ${shown(i.name)} has no virtual_ipaddress`);
    if (i.unicastSrcIp !== null) addr(i.unicastSrcIp, i.pos, 'unicast_src_ip');
    for (const p of i.unicastPeers) addr(p, i.pos, 'unicast_peer');

    present(i.interface, at(i, 'interface'), 'interface');
    // The host's addresses: the board's are not known before it runs.
    if (opts.interfaces && !board) {
      const subnets = [...opts.interfaces.values()].flat();
      for (const v of i.virtualIps) {
        const inside = subnets.some((s) => {
          const [net, pre] = s.split('/');
          return net !== undefined && inSubnet(v.address, net, pre === undefined ? 32 : Number(pre));
        });
        if (!inside) warn(v.pos, `VIP ${v.address} is outside every interface's subnet: neighbours will not reach it without a route`);
      }
    }
  }

  // ---- scripts ----
  const scriptNames = new Set<string>();
  for (const s of config.scripts) {
    if (scriptNames.has(s.name)) error(s.pos, `vrrp_script ${shown(s.name)} is defined twice`);
    scriptNames.add(s.name);
    out.push(...fieldChecks(SCRIPT, s, top));
  }
  const trackRefs = (list: Array<{ name: string; pos: Pos }>): void => {
    for (const t of list) if (!scriptNames.has(t.name)) error(t.pos, `track_script ${shown(t.name)}: no vrrp_script of that name`);
  };
  for (const i of config.instances) trackRefs(i.trackScripts);

  // ---- track_file and vrrp_track_process blocks, and what names them ----
  const named = <T extends { name: string; pos: Pos }>(list: readonly T[], what: string): Set<string> => {
    const names = new Set<string>();
    for (const x of list) {
      if (names.has(x.name)) error(x.pos, `${what} ${shown(x.name)} is defined twice`);
      names.add(x.name);
    }
    return names;
  };
  const fileNames = named(config.trackFiles, 'track_file');
  for (const f of config.trackFiles) out.push(...fieldChecks(TRACK_FILE, f, top));
  const processNames = named(config.trackProcesses, 'vrrp_track_process');
  for (const p of config.trackProcesses) {
    out.push(...fieldChecks(TRACK_PROCESS, p, top));
    // The kernel keeps 15 characters of a process name (TASK_COMM_LEN): a longer one never matches.
    const name = p.process[0] ?? '';
    if (!p.fullCommand && [...name].length > 15) warn(at(p, 'process'), `vrrp_track_process ${shown(p.name)}: process '${shown(name)}' is longer than the 15 characters of /proc/PID/comm and never matches; add full_command to match the command line`);
  }
  const refs = (list: ReadonlyArray<{ name: string; pos: Pos }>, names: Set<string>, kw: string, block: string): void => {
    const seen = new Set<string>();
    for (const t of list) {
      if (!names.has(t.name)) error(t.pos, `${kw} ${shown(t.name)}: no ${block} of that name`);
      else if (seen.has(t.name)) error(t.pos, `${kw} ${shown(t.name)} is listed twice`);
      seen.add(t.name);
    }
  };
  for (const o of [...config.instances, ...config.syncGroups]) {
    refs(o.trackFiles, fileNames, 'track_file', 'track_file block');
    refs(o.trackProcesses, processNames, 'track_process', 'vrrp_track_process');
  }

  // ---- sync groups ----
  const memberOf = new Map<string, string>();
  const groupNames = new Set<string>();
  for (const g of config.syncGroups) {
    if (groupNames.has(g.name)) error(g.pos, `vrrp_sync_group ${shown(g.name)} is defined twice`);
    groupNames.add(g.name);
    for (const m of g.group) {
      const pos = at(g, 'group');
      if (!instanceNames.has(m)) error(pos, `vrrp_sync_group ${shown(g.name)}: no vrrp_instance named ${shown(m)}`);
      const other = memberOf.get(m);
      if (other !== undefined) error(pos, `vrrp_instance ${shown(m)} is in two sync groups: ${shown(other)} and ${shown(g.name)}`);
      else memberOf.set(m, g.name);
    }
    trackRefs(g.trackScripts);
    tracked(g.trackInterfaces);
  }

  // ---- virtual servers ----
  const vsKeys = new Map<string, Pos>();
  for (const v of config.virtualServers) {
    addr(v.address, v.pos, 'virtual_server');
    port(v.port, at(v, 'port'), 'virtual_server');
    const key = `${v.address}:${v.port}/${v.protocol}`;
    const prev = vsKeys.get(key);
    if (prev) error(v.pos, `virtual_server ${v.name} ${v.protocol} is defined twice (also at line ${prev.line})`);
    else vsKeys.set(key, v.pos);
    // lb_algo against the forwarder, persistence_granularity.
    out.push(...fieldChecks(VIRTUAL_SERVER, v, top));
    if (v.sorryServer) {
      addr(v.sorryServer.address, v.sorryServer.pos, 'sorry_server');
      port(v.sorryServer.port, v.sorryServer.pos, 'sorry_server');
    }
    const rsKeys = new Map<string, Pos>();
    let weightSum = 0;
    for (const rs of v.realServers) {
      addr(rs.address, rs.pos, 'real_server');
      port(rs.port, at(rs, 'port'), 'real_server');
      const prevRs = rsKeys.get(rs.name);
      if (prevRs) error(rs.pos, `real_server ${rs.name} appears twice in virtual_server ${v.name} (also at line ${prevRs.line})`);
      else rsKeys.set(rs.name, rs.pos);
      out.push(...fieldChecks(REAL_SERVER, rs, under(v)));
      if (validWeight(rs.weight)) weightSum += rs.weight;
      for (const c of rs.checkers) {
        out.push(...fieldChecks(checkerBlock(c), c, under(rs)));
        if (c.kind === 'HTTP_GET' || c.kind === 'SSL_GET') for (const u of c.urls) out.push(...fieldChecks(URL_BLOCK, u, under(c)));
        if (c.kind === 'MISC_CHECK') continue;
        if (c.connectIp !== null) addr(c.connectIp, c.pos, 'connect_ip');
        if (c.bindTo !== null) addr(c.bindTo, c.pos, 'bindto');
        if (c.kind === 'UDP_CHECK' && v.protocol !== 'UDP') warn(c.pos, `UDP_CHECK on a ${v.protocol} virtual server`);
      }
    }
    if (v.realServers.length === 0) warn(v.pos, `virtual_server ${v.name} has no real_server`);
    if (v.quorum > weightSum && v.realServers.length > 0) {
      warn(at(v, 'quorum'), `quorum ${v.quorum} is more than the sum of real server weights (${weightSum}): the quorum can never be met`);
    }
  }

  // ---- tandem blocks ----
  if (config.mqtt) {
    // url scheme, prefix and node names, health_interval.
    out.push(...fieldChecks(MQTT, config.mqtt, top));
  }
  if (config.notifyPrograms) out.push(...fieldChecks(NOTIFY_PROGRAMS, config.notifyPrograms, top));
  return out;
}
