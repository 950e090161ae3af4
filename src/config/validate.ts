// Checks an operator wants before flashing a board: ranges, addresses, cross references.
// Works on the model; positions of individual directives come from fieldPos when the model was
// built from text (else the enclosing block's position). A range that belongs to one keyword
// is that keyword's check in its directive table; this file runs them per object, in place,
// and does what spans keywords and objects.
import type { Config, Diagnostic, IpRoute, IpRule, Pos, VirtualServer, VrrpInstance } from './model.ts';
import { fieldPos } from './positions.ts';
import { inSubnet, isIpv4 } from './net.ts';
import { addressBits, ipFamily, isLinkLocal, isMulticast, parseIp } from '../util/ip.ts';
import { controlCharacter, shown } from './values.ts';
import { ifnameProblem, labelProblem } from './ifname.ts';
import { vmacNames } from '../vrrp/vmac.ts';
import { fieldChecks, type Scope } from './directives/engine.ts';
import { checkerBlock, URL_BLOCK } from './directives/checkers.ts';
import { familyOf, INSTANCE, isLinkLocalText, validVrid } from './directives/instance.ts';
import { SCRIPT } from './directives/script.ts';
import { MQTT, NOTIFY_PROGRAMS } from './directives/tandem.ts';
import { TRACK_FILE, TRACK_PROCESS } from './directives/trackers.ts';
import { REAL_SERVER, VIRTUAL_SERVER, validWeight } from './directives/virtual-server.ts';
import { capacityWarnings, type BoardCapacity } from './capacity.ts';

export interface ValidateOptions {
  /** interface name → its addresses as "a.b.c.d/prefix": the host's; enables the VIP-subnet warning. */
  interfaces?: Map<string, string[]>;
  /** The board the configuration is for (its profile's NICs): checked instead of the host's. */
  board?: { name: string; nics: readonly string[] };
  /** The board profile's VRRP capacity: the adverts the configuration asks for are checked
   *  against it (`tandem check --board` and `tandem run --board` both give it). */
  capacity?: BoardCapacity;
}

export function validate(config: Config, opts: ValidateOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (pos: Pos, message: string): void => { out.push({ severity: 'error', message, pos }); };
  const warn = (pos: Pos, message: string): void => { out.push({ severity: 'warning', message, pos }); };
  const at = (obj: object & { pos: Pos }, field: string): Pos => fieldPos(obj, field) ?? obj.pos;
  const addr = (a: string, pos: Pos, what: string): void => {
    if (!isIpv4(a)) error(pos, `${what}: '${shown(a)}' is not a valid IPv4 address`);
  };
  /** Either family (the places that take IPv6). */
  const anyAddr = (a: string, pos: Pos, what: string): boolean => {
    if (ipFamily(a) !== 0) return true;
    error(pos, `${what}: '${shown(a)}' is not a valid IPv4 or IPv6 address`);
    return false;
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
  // VMAC interfaces are tandem's own: not on the board's list, nor on the host before it runs.
  const vmacs = vmacNames(config.instances);
  const ownIfs = new Set(vmacs.values());
  const present = (name: string, pos: Pos, what: string): void => {
    if (known === null || known.has(name) || ownIfs.has(name) || ifnameProblem(name) !== null || controlCharacter(name) !== null) return;
    warn(pos, board ? `${what} ${shown(name)} is not a NIC of board ${board.name} (${board.nics.join(', ')})` : `${what} ${shown(name)} does not exist on this host`);
  };
  const tracked = (list: ReadonlyArray<{ name: string; pos: Pos }>): void => {
    for (const t of list) { ifname(t.name, t.pos, 'track_interface'); present(t.name, t.pos, 'track_interface'); }
  };
  const under = (parent: object): Scope => ({ config, parent });

  // ---- routes and rules (keepalived vrrp_iproute.c, vrrp_iprule.c) ----
  const route = (r: IpRoute, what: string): void => {
    if (r.dev !== null) { ifname(r.dev, r.pos, `${what} dev`); present(r.dev, r.pos, `${what} dev`); }
  };
  const rule = (r: IpRule, what: string): void => {
    for (const d of [r.iif, r.oif]) if (d !== null) { ifname(d, r.pos, `${what} iif/oif`); present(d, r.pos, `${what} iif/oif`); }
    // keepalived gives such a rule a preference counting down from 16384 and says so.
    if (r.priority === null) warn(r.pos, `${what}: the rule has no preference; tandem gives it one as keepalived does (counting down from 16384), which is probably not what you want: give a preference`);
  };
  for (const v of config.staticIps) {
    if (v.dev === null) error(v.pos, `static_ipaddress ${v.address}: give its interface with dev (it belongs to no instance)`);
    else { ifname(v.dev, v.pos, 'static_ipaddress dev'); present(v.dev, v.pos, 'static_ipaddress dev'); }
  }
  for (const r of config.staticRoutes) route(r, 'static_routes');
  for (const r of config.staticRules) rule(r, 'static_rules');

  // ---- instances ----
  const instanceNames = new Map<string, VrrpInstance>();
  const byIfVrid = new Map<string, VrrpInstance>();
  for (const i of config.instances) {
    const prev = instanceNames.get(i.name);
    if (prev) error(i.pos, `vrrp_instance ${shown(i.name)} is defined twice (also at line ${prev.pos.line})`);
    else instanceNames.set(i.name, i);

    // The instance's keyword ranges: virtual_router_id, priority, advert_int, preempt_delay.
    out.push(...fieldChecks(INSTANCE, i, top));
    // RFC 5798 §5.2.3: a VRID names a virtual router of one family on a LAN: an IPv4 and an
    // IPv6 instance may share one (keepalived keys its sockets by family too).
    const fam = familyOf(i);
    if (validVrid(i.virtualRouterId)) {
      const key = `${i.interface}\u0000${fam.family}\u0000${i.virtualRouterId}`;
      const other = byIfVrid.get(key);
      if (other) {
        const msg = (x: VrrpInstance, y: VrrpInstance): string =>
          `virtual_router_id ${i.virtualRouterId} is used twice on ${shown(i.interface)}${fam.family === 6 ? ' over IPv6' : ''}: by ${shown(x.name)} and by ${shown(y.name)} (${y.pos.file}:${y.pos.line})`;
        error(at(other, 'virtualRouterId'), msg(other, i));
        error(at(i, 'virtualRouterId'), msg(i, other));
      } else byIfVrid.set(key, i);
    }
    if (i.authentication) {
      if (i.authentication.type === 'AH') error(at(i.authentication, 'type'), 'authentication AH is not supported: use auth_type PASS or none');
      else if (i.version === 3) warn(i.authentication.pos, 'authentication is not part of VRRP v3 (RFC 5798 section 9); it is ignored');
      else if (Buffer.byteLength(i.authentication.pass) > 8) warn(i.authentication.pos, 'auth_pass is longer than 8 bytes; only the first 8 are sent (RFC 3768 section 5.3.10)');
    }
    // keepalived: one instance, one family (vrrp_data.c alloc_vrrp_vip "address family must
    // match VRRP instance"); native_ipv6 with IPv4 addresses is refused too. The excluded list
    // may hold the other family: those addresses are not in the advert.
    const other = (): string => `vrrp_instance ${shown(i.name)} is IPv${fam.family} (${fam.from})`;
    const mixed = (f: 4 | 6): string => `an instance is one family, as in keepalived: give the IPv${f} addresses a vrrp_instance of their own (a vrrp_sync_group moves both as one)`;
    if (i.version === 2 && fam.family === 6 && fieldPos(i, 'version') !== undefined) {
      error(at(i, 'version'), `version 2 cannot carry IPv6: ${other()} and VRRPv2 is IPv4 only (RFC 3768); use version 3 (keepalived's version for IPv6 instances)`);
    }
    for (const v of i.virtualIps) {
      const f = ipFamily(v.address);
      if (f !== 0 && f !== fam.family) error(v.pos, `virtual_ipaddress ${v.address} is IPv${f} but ${other()}: ${mixed(f)}, or list it in virtual_ipaddress_excluded`);
    }
    // RFC 5798 §5.2.9: over IPv6 the first address of the advert is the virtual router's
    // link-local one. keepalived logs it otherwise, and refuses it with vrrp_strict.
    const first = i.virtualIps[0];
    if (fam.family === 6 && i.unicastPeers.length === 0 && first !== undefined && ipFamily(first.address) === 6 && !isLinkLocalText(first.address)) {
      const msg = `the first IPv6 virtual_ipaddress of vrrp_instance ${shown(i.name)} should be link-local (RFC 5798 section 5.2.9); ${first.address} is not`;
      if (config.global.vrrpStrict) error(first.pos, `${msg} (vrrp_strict)`);
      else warn(first.pos, msg);
    }
    for (const v of [...i.virtualIps, ...i.virtualIpsExcluded]) {
      if (!anyAddr(v.address, v.pos, 'virtual_ipaddress')) continue;
      const max = ipFamily(v.address) === 6 ? 128 : 32;
      if (!Number.isInteger(v.prefix) || v.prefix < 0 || v.prefix > max) error(v.pos, `virtual_ipaddress: prefix /${v.prefix} is out of range 0-${max}`);
      // RFC 4291 §2.5.6: fe80::/10 is on every link; which one this VIP belongs to must be said.
      if (isLinkLocalText(v.address) && v.dev === null) {
        error(v.pos, `virtual_ipaddress ${v.address} is link-local: give its interface with dev (e.g. '${v.address}/64 dev ${shown(i.interface)}'); a link-local address means nothing without one (RFC 4291 section 2.5.6)`);
      }
      if (v.brd !== null) addr(v.brd, v.pos, 'virtual_ipaddress brd');
      if (v.dev !== null) { ifname(v.dev, v.pos, 'virtual_ipaddress dev'); present(v.dev, v.pos, 'virtual_ipaddress dev'); }
      const label = v.label !== null && controlCharacter(v.label) === null ? labelProblem(v.label, v.dev ?? i.interface) : null;
      if (label !== null) error(v.pos, `virtual_ipaddress label '${shown(v.label!)}' ${label}`);
    }
    tracked(i.trackInterfaces);
    if (i.virtualIps.length === 0) warn(i.pos, `vrrp_instance ${shown(i.name)} has no virtual_ipaddress`);
    if (i.unicastSrcIp !== null && anyAddr(i.unicastSrcIp, at(i, 'unicastSrcIp'), 'unicast_src_ip')) {
      const f = ipFamily(i.unicastSrcIp);
      if (f !== fam.family) error(at(i, 'unicastSrcIp'), `unicast_src_ip ${i.unicastSrcIp} is IPv${f} but ${other()}: the adverts go out in the instance's family`);
    }
    for (const p of i.unicastPeers) {
      if (!anyAddr(p, at(i, 'unicastPeers'), 'unicast_peer')) continue;
      const f = ipFamily(p);
      if (f !== fam.family) error(at(i, 'unicastPeers'), `unicast_peer ${p} is IPv${f} but ${other()}: the adverts go out in the instance's family (keepalived refuses a peer of the other family too)`);
    }

    present(i.interface, at(i, 'interface'), 'interface');
    // keepalived.conf(5) use_vmac, NOTE 2: unicast adverts go from the parent interface.
    if (i.vmac && i.unicastPeers.length > 0 && !i.vmacXmitBase) {
      error(at(i, 'vmac'), `vrrp_instance ${shown(i.name)}: use_vmac with unicast_peer needs vmac_xmit_base (unicast adverts go out from ${shown(i.interface)} with its own MAC)`);
    }
    // keepalived (vrrp.c vrrp_complete_instance): "xmit_base is incompatible with strict mode - resetting".
    if (i.vmacXmitBase && i.vmac && config.global.vrrpStrict) warn(at(i, 'vmacXmitBase'), `vmac_xmit_base is incompatible with vrrp_strict: adverts go out from the VMAC, as keepalived then sends them`);
    if (i.vmacXmitBase && !i.vmac) warn(at(i, 'vmacXmitBase'), `vmac_xmit_base is only meaningful with use_vmac; vrrp_instance ${shown(i.name)} has none`);
    const vmacName = vmacs.get(i.name);
    if (vmacName !== undefined) {
      if (vmacName === i.interface) error(at(i, 'vmac'), `use_vmac ${shown(vmacName)} is the instance's own interface: the VMAC is a new interface on top of it`);
      // A board's NIC; on the host, one of that name may be the VMAC a crash left behind (it is replaced).
      else if (board && board.nics.includes(vmacName)) error(at(i, 'vmac'), `use_vmac ${shown(vmacName)} is the name of a NIC of board ${board.name}: tandem creates (and removes) its VMAC interfaces itself`);
      const twice = config.instances.find((o) => o !== i && vmacs.get(o.name) === vmacName);
      if (twice && config.instances.indexOf(twice) < config.instances.indexOf(i)) error(at(i, 'vmac'), `use_vmac ${shown(vmacName)} is vrrp_instance ${shown(twice.name)}'s VMAC too: one VMAC interface per instance`);
    }
    for (const r of i.virtualRoutes) route(r, 'virtual_routes');
    for (const r of i.virtualRules) rule(r, 'virtual_rules');
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
    const vf = vsAddress(v);
    port(v.port, at(v, 'port'), 'virtual_server');
    const key = `${v.address}:${v.port}/${v.protocol}`;
    const prev = vsKeys.get(key);
    if (prev) error(v.pos, `virtual_server ${v.name} ${v.protocol} is defined twice (also at line ${prev.line})`);
    else vsKeys.set(key, v.pos);
    // lb_algo against the forwarder, persistence_granularity.
    out.push(...fieldChecks(VIRTUAL_SERVER, v, top));
    if (v.sorryServer) {
      sameFamily(v, vf, v.sorryServer.address, v.sorryServer.pos, 'sorry_server');
      port(v.sorryServer.port, v.sorryServer.pos, 'sorry_server');
    }
    const rsKeys = new Map<string, Pos>();
    let weightSum = 0;
    for (const rs of v.realServers) {
      sameFamily(v, vf, rs.address, rs.pos, 'real_server');
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
        // Checkers connect over either family: the target's (connect_ip, else the real server)
        // and bindto's must agree, or the kernel refuses the bind.
        const target = c.connectIp ?? rs.address;
        if (c.connectIp !== null) anyAddr(c.connectIp, at(c, 'connectIp'), 'connect_ip');
        if (c.bindTo !== null && anyAddr(c.bindTo, at(c, 'bindTo'), 'bindto')) {
          const fb = ipFamily(c.bindTo);
          const ft = ipFamily(target);
          if (ft !== 0 && fb !== ft) error(at(c, 'bindTo'), `bindto ${c.bindTo} is IPv${fb} but the checker connects to ${target}, an IPv${ft} address${c.connectIp === null ? ' (the real server; set connect_ip to check it over IPv' + fb + ')' : ''}`);
        }
        if (c.kind === 'UDP_CHECK' && v.protocol !== 'UDP') warn(c.pos, `UDP_CHECK on a ${v.protocol} virtual server`);
      }
    }
    if (v.realServers.length === 0) warn(v.pos, `virtual_server ${v.name} has no real_server`);
    if (v.method === 'DR') drChecks(v);
    if (v.quorum > weightSum && v.realServers.length > 0) {
      warn(at(v, 'quorum'), `quorum ${v.quorum} is more than the sum of real server weights (${weightSum}): the quorum can never be met`);
    }
  }

  /** A virtual server's address: either family, but a unicast address a board can own (not link-local, not multicast). */
  function vsAddress(v: VirtualServer): 0 | 4 | 6 {
    if (!anyAddr(v.address, v.pos, 'virtual_server')) return 0;
    const a = parseIp(v.address)!;
    if (isMulticast(a)) error(v.pos, `virtual_server ${v.address} is a multicast address: a virtual server's address is a unicast VIP`);
    else if (isLinkLocal(a)) error(v.pos, `virtual_server ${v.address} is link-local: clients beyond the segment cannot reach it, and it is no address of one interface; use a global IPv6 VIP (RFC 4291 section 2.5.6)`);
    return a.family;
  }

  /**
   * A real or sorry server is of its virtual server's family: NAT and DR keep the packet's family
   * (IPVS does no NAT46/NAT64 for NAT or DR; keepalived refuses mixed families there too).
   */
  function sameFamily(v: VirtualServer, vf: 0 | 4 | 6, address: string, pos: Pos, what: string): void {
    if (!anyAddr(address, pos, what)) return;
    const f = ipFamily(address);
    if (vf !== 0 && f !== vf) {
      error(pos, `${what} ${address} is IPv${f} but virtual_server ${v.name} is IPv${vf}: NAT and DR keep the packet's family (no NAT46 or NAT64); give the IPv${f} servers a virtual_server of their own`);
    } else if (isLinkLocal(parseIp(address)!)) {
      error(pos, `${what} ${address} is link-local: give the server's global address (a link-local one means nothing without an interface, RFC 4291 section 2.5.6)`);
    }
  }

  // ---- lb_kind DR: what the packet path needs (docs/dr.md) ----
  function drChecks(v: VirtualServer): void {
    // The board's segments as the configuration tells them: every VIP with its prefix, on its
    // device; and, where known (the daemon, `tandem check --local`), the host's own addresses.
    const segments: Array<{ dev: string; net: string; prefix: number }> = [];
    for (const i of config.instances) {
      for (const x of [...i.virtualIps, ...i.virtualIpsExcluded]) segments.push({ dev: x.dev ?? i.interface, net: x.address, prefix: x.prefix });
    }
    for (const [dev, cidrs] of opts.interfaces ?? []) {
      for (const c of cidrs) {
        const [net, pre] = c.split('/');
        if (net !== undefined && ipFamily(net) !== 0) segments.push({ dev, net, prefix: pre === undefined ? addressBits(ipFamily(net) as 4 | 6) : Number(pre) });
      }
    }
    const holders = config.instances.filter((i) => [...i.virtualIps, ...i.virtualIpsExcluded].some((x) => x.address === v.address));
    if (holders.length === 0) {
      error(v.pos, `virtual_server ${v.name}: lb_kind DR needs ${v.address} in a vrrp_instance's virtual_ipaddress: the MASTER must own the VIP (answer ARP for it) while the real servers hold it on lo without answering; add it to the instance on the clients' interface`);
    }
    // A host route (/32, /128) is no segment; inSubnet is false across families.
    const reached = (a: string): boolean => segments.some((g) => g.dev !== 'lo' && g.prefix < addressBits(ipFamily(g.net) === 6 ? 6 : 4) && inSubnet(a, g.net, g.prefix));
    const servers: Array<{ what: string; address: string; port: number; pos: Pos; portPos: Pos }> = v.realServers.map((rs) => ({
      what: `real_server ${rs.address}`, address: rs.address, port: rs.port, pos: rs.pos, portPos: at(rs, 'port'),
    }));
    if (v.sorryServer) servers.push({ what: `sorry_server ${v.sorryServer.address}`, ...v.sorryServer, portPos: v.sorryServer.pos });
    for (const s of servers) {
      if (ipFamily(s.address) === 0) continue;
      if (s.port !== v.port) {
        error(s.portPos, `${s.what} port ${s.port}: lb_kind DR cannot rewrite the port (the client's packet reaches the real server unchanged, to port ${v.port}); make the server listen on ${v.port} and write ${s.what} ${v.port}, or use lb_kind NAT`);
      }
      if (reached(s.address)) continue;
      const fix = `lb_kind DR hands the client's packet to the real server's MAC, so it must sit on a segment the board is on; move it there, or use lb_kind NAT`;
      if (opts.interfaces && !board) error(s.pos, `${s.what}: no interface of this host reaches it directly (no interface's subnet holds it): ${fix}`);
      else {
        warn(s.pos, `${s.what}: no virtual_ipaddress subnet holds it, so whether the board reaches it directly is known only on the board: run \`tandem check --local\` there (the daemon refuses it at start if no interface does; ${fix})`);
      }
    }
    // A VIP also on an interface no vrrp_instance manages (typically lo, copied from the real
    // servers' preparation): Linux answers ARP for any local address on every interface
    // (arp_ignore 0), so this board would draw the clients' packets whether MASTER or not. Not
    // for IPv6: neighbour discovery answers only for the receiving interface's own addresses.
    if (opts.interfaces && !board && ipFamily(v.address) === 4) {
      const managed = new Set(config.instances.flatMap((i) => [i.interface, ...[...i.virtualIps, ...i.virtualIpsExcluded].map((x) => x.dev ?? i.interface)]));
      for (const [dev, cidrs] of opts.interfaces) {
        if (managed.has(dev) || !cidrs.some((c) => c.split('/')[0] === v.address)) continue;
        warn(v.pos, `virtual_server ${v.name}: the VIP ${v.address} is also on ${shown(dev)}, which tandem does not manage: this board answers ARP for it whether MASTER or not, so clients may send to a BACKUP or a dead board; remove it there (the VIP on lo belongs on the real servers, not on the load balancer)`);
      }
    }
  }

  // ---- tandem blocks ----
  if (config.mqtt) {
    // url scheme, prefix and node names, health_interval.
    out.push(...fieldChecks(MQTT, config.mqtt, top));
  }
  if (config.notifyPrograms) out.push(...fieldChecks(NOTIFY_PROGRAMS, config.notifyPrograms, top));
  // ---- what the board holds ----
  if (opts.capacity) out.push(...capacityWarnings(config, opts.capacity));
  return out;
}
