// Checks an operator wants before flashing a board: ranges, addresses, cross references.
// Works on the model; positions of individual directives come from build.ts's fieldPos when the
// model was built from text (else the enclosing block's position).
import type { Config, Diagnostic, Pos, VrrpInstance } from './model.ts';
import { fieldPos } from './build.ts';
import { inSubnet, isIpv4 } from './net.ts';

export interface ValidateOptions {
  /** interface name → its addresses as "a.b.c.d/prefix"; enables the VIP-subnet warning. */
  interfaces?: Map<string, string[]>;
}

export function validate(config: Config, opts: ValidateOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (pos: Pos, message: string): void => { out.push({ severity: 'error', message, pos }); };
  const warn = (pos: Pos, message: string): void => { out.push({ severity: 'warning', message, pos }); };
  const at = (obj: object & { pos: Pos }, field: string): Pos => fieldPos(obj, field) ?? obj.pos;
  const addr = (a: string, pos: Pos, what: string): void => {
    if (!isIpv4(a)) error(pos, `${what}: '${a}' is not a valid IPv4 address`);
  };
  const port = (p: number, pos: Pos, what: string): void => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) error(pos, `${what}: port ${p} is out of range 1-65535`);
  };

  // ---- instances ----
  const instanceNames = new Map<string, VrrpInstance>();
  const byIfVrid = new Map<string, VrrpInstance>();
  for (const i of config.instances) {
    const prev = instanceNames.get(i.name);
    if (prev) error(i.pos, `vrrp_instance ${i.name} is defined twice (also at line ${prev.pos.line})`);
    else instanceNames.set(i.name, i);

    if (!Number.isInteger(i.virtualRouterId) || i.virtualRouterId < 1 || i.virtualRouterId > 255) {
      error(at(i, 'virtualRouterId'), `virtual_router_id ${i.virtualRouterId} is out of range 1-255 (RFC 5798 section 5.2.3)`);
    } else {
      const key = `${i.interface}\u0000${i.virtualRouterId}`;
      const other = byIfVrid.get(key);
      if (other) {
        const msg = (x: VrrpInstance, y: VrrpInstance): string =>
          `virtual_router_id ${i.virtualRouterId} is used twice on ${i.interface}: by ${x.name} and by ${y.name} (${y.pos.file}:${y.pos.line})`;
        error(at(other, 'virtualRouterId'), msg(other, i));
        error(at(i, 'virtualRouterId'), msg(i, other));
      } else byIfVrid.set(key, i);
    }
    if (!Number.isInteger(i.priority) || i.priority < 1 || i.priority > 255) {
      error(at(i, 'priority'), `priority ${i.priority} is out of range 1-255 (0 is reserved for resigning, RFC 5798 section 5.2.4)`);
    } else if (i.priority === 255) {
      warn(at(i, 'priority'), 'priority 255 claims to own the virtual addresses (RFC 5798 section 5.2.4); keepalived reserves it for the address owner');
    }
    const adv = i.advertIntMs;
    if (!(adv > 0)) error(at(i, 'advertIntMs'), 'advert_int must be greater than 0');
    else if (i.version === 2) {
      // RFC 3768 section 5.3.7: Adver Int is an 8-bit count of whole seconds.
      if (adv % 1000 !== 0 || adv < 1000 || adv > 255000) {
        error(at(i, 'advertIntMs'), `advert_int ${adv / 1000} s is not valid for VRRP v2: whole seconds 1-255 (RFC 3768 section 5.3.7); use vrrp_version 3 for fractions`);
      }
    } else if (adv % 10 !== 0 || adv < 10 || adv > 40950) {
      // RFC 5798 section 5.2.7: 12-bit Max Adver Int in centiseconds.
      error(at(i, 'advertIntMs'), `advert_int ${adv / 1000} s is not valid for VRRP v3: 0.01-40.95 s in hundredths (RFC 5798 section 5.2.7)`);
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
    }
    if (i.virtualIps.length === 0) warn(i.pos, `vrrp_instance ${i.name} has no virtual_ipaddress`);
    if (i.unicastSrcIp !== null) addr(i.unicastSrcIp, i.pos, 'unicast_src_ip');
    for (const p of i.unicastPeers) addr(p, i.pos, 'unicast_peer');
    if (i.preemptDelayMs < 0 || i.preemptDelayMs > 1000000) error(at(i, 'preemptDelayMs'), 'preempt_delay is out of range 0-1000 s');

    if (opts.interfaces) {
      if (!opts.interfaces.has(i.interface)) warn(at(i, 'interface'), `interface ${i.interface} does not exist on this host`);
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
    if (scriptNames.has(s.name)) error(s.pos, `vrrp_script ${s.name} is defined twice`);
    scriptNames.add(s.name);
    if (!(s.intervalMs > 0)) error(at(s, 'intervalMs'), 'interval must be greater than 0');
    if (!(s.timeoutMs > 0)) error(at(s, 'timeoutMs'), 'timeout must be greater than 0');
  }
  const trackRefs = (list: Array<{ name: string; pos: Pos }>): void => {
    for (const t of list) if (!scriptNames.has(t.name)) error(t.pos, `track_script ${t.name}: no vrrp_script of that name`);
  };
  for (const i of config.instances) trackRefs(i.trackScripts);

  // ---- sync groups ----
  const memberOf = new Map<string, string>();
  const groupNames = new Set<string>();
  for (const g of config.syncGroups) {
    if (groupNames.has(g.name)) error(g.pos, `vrrp_sync_group ${g.name} is defined twice`);
    groupNames.add(g.name);
    for (const m of g.group) {
      const pos = at(g, 'group');
      if (!instanceNames.has(m)) error(pos, `vrrp_sync_group ${g.name}: no vrrp_instance named ${m}`);
      const other = memberOf.get(m);
      if (other !== undefined) error(pos, `vrrp_instance ${m} is in two sync groups: ${other} and ${g.name}`);
      else memberOf.set(m, g.name);
    }
    trackRefs(g.trackScripts);
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
    if ((v.scheduler === 'lc' || v.scheduler === 'wlc') && v.forwarder !== 'userspace') {
      error(at(v, 'scheduler'), `scheduler ${v.scheduler}${fieldPos(v, 'scheduler') ? '' : " (keepalived's default when lb_algo is not given)"} needs connection counts that only 'forwarder userspace' keeps; with nftables use rr, wrr, sh, dh or mh`);
    }
    if (v.persistenceGranularity < 0 || v.persistenceGranularity > 32) error(v.pos, 'persistence_granularity is out of range 0-32');
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
      if (!Number.isInteger(rs.weight) || rs.weight < 0 || rs.weight > 65535) error(at(rs, 'weight'), `weight ${rs.weight} is out of range 0-65535`);
      else weightSum += rs.weight;
      for (const c of rs.checkers) {
        if (c.kind === 'MISC_CHECK') continue;
        if (c.connectPort !== null) port(c.connectPort, at(c, 'connectPort'), 'connect_port');
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
    const m = config.mqtt;
    const scheme = /^([a-z]+):\/\/[^/\s]+/.exec(m.url);
    if (!scheme || !['mqtt', 'mqtts', 'ws', 'wss'].includes(scheme[1]!)) {
      error(at(m, 'url'), `mqtt url '${m.url}' must be mqtt://, mqtts://, ws:// or wss:// followed by a host`);
    }
    if (!(m.healthIntervalMs > 0)) error(at(m, 'healthIntervalMs'), 'health_interval must be greater than 0');
    if (m.prefix === '' || /[#+]/.test(m.prefix)) error(m.pos, `mqtt prefix '${m.prefix}' must be non-empty and hold no MQTT wildcards`);
    if (m.node !== null && (m.node === '' || /[#+/]/.test(m.node))) error(m.pos, `mqtt node '${m.node}' must be non-empty and hold no '/', '+' or '#'`);
  }
  return out;
}
