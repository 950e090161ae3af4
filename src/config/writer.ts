// Canonical writer: model → keepalived.conf text, and tree → text. Stable order, two-space
// indent, quotes only where the lexer needs them. Values equal to their (effective) default are
// left out, so parse(write(parse(x))) gives back the same model.
import type { Node, Token } from './ast.ts';
import type { Checker, CheckTiming, Command, Config, GlobalDefs, VirtualServer, VrrpInstance } from './model.ts';

const NEEDS_QUOTES = /[\s{}!#"\\]/;

/** A word as the lexer will read it back: bare if possible, else double-quoted with \" and \\. */
export function quote(s: string, force = false): string {
  if (!force && s !== '' && !NEEDS_QUOTES.test(s)) return s;
  return '"' + s.replace(/[\\"]/g, (m) => '\\' + m) + '"';
}

function secs(ms: number): string {
  return String(ms / 1000);
}

/** A command as bare words when possible, else one quoted command line (see splitCommandLine). */
function cmd(c: Command): string {
  const simple = c.argv.every((a) => a !== '' && !NEEDS_QUOTES.test(a) && !/['"]/.test(a));
  if (simple) return c.argv.join(' ');
  const line = c.argv.map((a) => {
    if (a !== '' && !/[\s'"]/.test(a)) return a;
    return a.includes("'") ? '"' + a + '"' : "'" + a + "'";
  }).join(' ');
  return quote(line, true);
}

function prefixToMask(p: number): string {
  const v = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
}

class Out {
  lines: string[] = [];
  depth = 0;
  line(...words: string[]): void { this.lines.push('  '.repeat(this.depth) + words.join(' ')); }
  open(...words: string[]): void { this.line(...words, '{'); this.depth++; }
  close(): void { this.depth--; this.line('}'); }
  block(head: string[], body: () => void): void { this.open(...head); body(); this.close(); }
}

function writeGlobal(o: Out, g: GlobalDefs): void {
  const inner = new Out();
  inner.depth = 1;
  if (g.routerId !== null) inner.line('router_id', quote(g.routerId));
  if (g.vrrpVersion !== 2) inner.line('vrrp_version', String(g.vrrpVersion));
  if (g.notificationEmail.length > 0) inner.block(['notification_email'], () => { for (const e of g.notificationEmail) inner.line(quote(e)); });
  if (g.notificationEmailFrom !== null) inner.line('notification_email_from', quote(g.notificationEmailFrom));
  if (g.smtpServer !== null) inner.line('smtp_server', ...g.smtpServer.split(' ').map((w) => quote(w)));
  if (g.smtpConnectTimeoutMs !== null) inner.line('smtp_connect_timeout', secs(g.smtpConnectTimeoutMs));
  if (g.garpMasterDelayMs !== 5000) inner.line('vrrp_garp_master_delay', secs(g.garpMasterDelayMs));
  if (g.garpMasterRepeat !== 5) inner.line('vrrp_garp_master_repeat', String(g.garpMasterRepeat));
  if (g.garpMasterRefreshMs !== 0) inner.line('vrrp_garp_master_refresh', secs(g.garpMasterRefreshMs));
  if (g.garpMasterRefreshRepeat !== 1) inner.line('vrrp_garp_master_refresh_repeat', String(g.garpMasterRefreshRepeat));
  if (g.garpIntervalMs !== 0) inner.line('vrrp_garp_interval', secs(g.garpIntervalMs));
  if (g.vrrpSkipCheckAdvAddr) inner.line('vrrp_skip_check_adv_addr');
  if (g.vrrpStrict) inner.line('vrrp_strict');
  if (g.scriptUser !== null) inner.line('script_user', quote(g.scriptUser), ...(g.scriptGroup !== null ? [quote(g.scriptGroup)] : []));
  if (g.enableScriptSecurity) inner.line('enable_script_security');
  if (g.notifyFifo !== null) inner.line('notify_fifo', quote(g.notifyFifo));
  if (inner.lines.length === 0) return;
  o.line('global_defs {');
  o.lines.push(...inner.lines);
  o.line('}');
}

function writeInstance(o: Out, i: VrrpInstance, g: GlobalDefs): void {
  o.block(['vrrp_instance', quote(i.name)], () => {
    o.line('state', i.initialState);
    o.line('interface', quote(i.interface));
    o.line('virtual_router_id', String(i.virtualRouterId));
    o.line('priority', String(i.priority));
    o.line('advert_int', secs(i.advertIntMs));
    if (i.version !== g.vrrpVersion) o.line('version', String(i.version));
    if (i.nopreempt) o.line('nopreempt');
    if (i.preemptDelayMs !== 0) o.line('preempt_delay', secs(i.preemptDelayMs));
    if (i.accept !== !g.vrrpStrict) o.line(i.accept ? 'accept' : 'no_accept');
    if (i.dontTrackPrimary) o.line('dont_track_primary');
    if (i.smtpAlert) o.line('smtp_alert');
    if (i.authentication) {
      const a = i.authentication;
      o.block(['authentication'], () => { o.line('auth_type', a.type); o.line('auth_pass', quote(a.pass)); });
    }
    if (i.unicastSrcIp !== null) o.line('unicast_src_ip', i.unicastSrcIp);
    if (i.unicastPeers.length > 0) o.block(['unicast_peer'], () => { for (const p of i.unicastPeers) o.line(p); });
    for (const [kw, list] of [['virtual_ipaddress', i.virtualIps], ['virtual_ipaddress_excluded', i.virtualIpsExcluded]] as const) {
      if (list.length === 0) continue;
      o.block([kw], () => {
        for (const v of list) {
          const w = [`${v.address}/${v.prefix}`];
          if (v.dev !== null) w.push('dev', quote(v.dev));
          if (v.label !== null) w.push('label', quote(v.label));
          if (v.brd !== null) w.push('brd', v.brd);
          if (v.scope !== null) w.push('scope', v.scope);
          o.line(...w);
        }
      });
    }
    if (i.trackInterfaces.length > 0) {
      o.block(['track_interface'], () => { for (const t of i.trackInterfaces) o.line(quote(t.name), ...(t.weight !== 0 ? ['weight', String(t.weight)] : [])); });
    }
    if (i.trackScripts.length > 0) {
      o.block(['track_script'], () => { for (const t of i.trackScripts) o.line(quote(t.name), ...(t.weight !== null ? ['weight', String(t.weight)] : [])); });
    }
    if (i.garpMasterDelayMs !== null) o.line('garp_master_delay', secs(i.garpMasterDelayMs));
    if (i.garpMasterRepeat !== null) o.line('garp_master_repeat', String(i.garpMasterRepeat));
    if (i.garpMasterRefreshMs !== null) o.line('garp_master_refresh', secs(i.garpMasterRefreshMs));
    if (i.garpMasterRefreshRepeat !== null) o.line('garp_master_refresh_repeat', String(i.garpMasterRefreshRepeat));
    if (i.notify) o.line('notify', cmd(i.notify));
    if (i.notifyMaster) o.line('notify_master', cmd(i.notifyMaster));
    if (i.notifyBackup) o.line('notify_backup', cmd(i.notifyBackup));
    if (i.notifyFault) o.line('notify_fault', cmd(i.notifyFault));
    if (i.notifyStop) o.line('notify_stop', cmd(i.notifyStop));
  });
}

function writeTiming(o: Out, c: CheckTiming): void {
  if (c.connectIp !== null) o.line('connect_ip', c.connectIp);
  if (c.connectPort !== null) o.line('connect_port', String(c.connectPort));
  if (c.bindTo !== null) o.line('bindto', c.bindTo);
  if (c.connectTimeoutMs !== 5000) o.line('connect_timeout', secs(c.connectTimeoutMs));
  if (c.retry !== 1) o.line('retry', String(c.retry));
  if (c.delayBeforeRetryMs !== 1000) o.line('delay_before_retry', secs(c.delayBeforeRetryMs));
  if (c.delayLoopMs !== null) o.line('delay_loop', secs(c.delayLoopMs));
  if (c.warmupMs !== null) o.line('warmup', secs(c.warmupMs));
}

function writeChecker(o: Out, c: Checker): void {
  o.block([c.kind], () => {
    switch (c.kind) {
      case 'TCP_CHECK':
        writeTiming(o, c);
        break;
      case 'HTTP_GET': case 'SSL_GET':
        for (const u of c.urls) {
          o.block(['url'], () => {
            o.line('path', quote(u.path));
            if (u.digest !== null) o.line('digest', u.digest);
            if (u.statusCodes.length > 0) o.line('status_code', ...u.statusCodes.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)));
            if (u.virtualhost !== null) o.line('virtualhost', quote(u.virtualhost));
          });
        }
        if (c.virtualhost !== null) o.line('virtualhost', quote(c.virtualhost));
        if (c.enableSni) o.line('enable_sni');
        if (c.httpProtocol !== '1.0') o.line('http_protocol', c.httpProtocol);
        writeTiming(o, c);
        break;
      case 'UDP_CHECK':
        if (c.payload !== null) o.line('payload', c.payload.toString('hex'));
        if (c.requireReply !== null) o.line('require_reply', ...(c.requireReply !== '' ? [c.requireReply] : []));
        writeTiming(o, c);
        break;
      case 'MISC_CHECK':
        o.line('misc_path', cmd(c.path));
        if (c.miscTimeoutMs !== null) o.line('misc_timeout', secs(c.miscTimeoutMs));
        if (c.miscDynamic) o.line('misc_dynamic');
        if (c.user !== null) o.line('user', quote(c.user), ...(c.group !== null ? [quote(c.group)] : []));
        if (c.retry !== 1) o.line('retry', String(c.retry));
        if (c.delayBeforeRetryMs !== 1000) o.line('delay_before_retry', secs(c.delayBeforeRetryMs));
        if (c.delayLoopMs !== null) o.line('delay_loop', secs(c.delayLoopMs));
        if (c.warmupMs !== null) o.line('warmup', secs(c.warmupMs));
        break;
    }
  });
}

function writeVirtualServer(o: Out, v: VirtualServer): void {
  o.block(['virtual_server', v.address, String(v.port)], () => {
    o.line('protocol', v.protocol);
    o.line('lb_algo', v.scheduler);
    o.line('lb_kind', v.method);
    if (v.forwarder !== 'auto') o.line('forwarder', v.forwarder);
    if (v.delayLoopMs !== 60000) o.line('delay_loop', secs(v.delayLoopMs));
    if (v.persistenceTimeoutMs !== 0) o.line('persistence_timeout', secs(v.persistenceTimeoutMs));
    if (v.persistenceGranularity !== 32) o.line('persistence_granularity', prefixToMask(v.persistenceGranularity));
    if (v.quorum !== 1) o.line('quorum', String(v.quorum));
    if (v.hysteresis !== 0) o.line('hysteresis', String(v.hysteresis));
    if (v.quorumUp) o.line('quorum_up', cmd(v.quorumUp));
    if (v.quorumDown) o.line('quorum_down', cmd(v.quorumDown));
    if (v.alpha) o.line('alpha');
    if (v.omega) o.line('omega');
    if (v.inhibitOnFailure) o.line('inhibit_on_failure');
    if (v.haSuspend) o.line('ha_suspend');
    if (v.virtualhost !== null) o.line('virtualhost', quote(v.virtualhost));
    if (v.sorryServer) o.line('sorry_server', v.sorryServer.address, String(v.sorryServer.port));
    if (v.sorryServerInhibit) o.line('sorry_server_inhibit');
    for (const rs of v.realServers) {
      o.block(['real_server', rs.address, String(rs.port)], () => {
        if (rs.weight !== 1) o.line('weight', String(rs.weight));
        if (rs.inhibitOnFailure !== v.inhibitOnFailure) o.line('inhibit_on_failure', rs.inhibitOnFailure ? 'true' : 'false');
        if (rs.notifyUp) o.line('notify_up', cmd(rs.notifyUp));
        if (rs.notifyDown) o.line('notify_down', cmd(rs.notifyDown));
        for (const c of rs.checkers) writeChecker(o, c);
      });
    }
  });
}

/** The configuration as canonical keepalived.conf text. */
export function writeConfig(config: Config): string {
  const o = new Out();
  const sections: Array<() => void> = [];
  sections.push(() => writeGlobal(o, config.global));
  for (const s of config.scripts) {
    sections.push(() => o.block(['vrrp_script', quote(s.name)], () => {
      o.line('script', cmd(s.script));
      if (s.intervalMs !== 1000) o.line('interval', secs(s.intervalMs));
      if (s.timeoutMs !== s.intervalMs) o.line('timeout', secs(s.timeoutMs));
      if (s.weight !== 0 || s.weightReverse) o.line('weight', String(s.weight), ...(s.weightReverse ? ['reverse'] : []));
      if (s.rise !== 1) o.line('rise', String(s.rise));
      if (s.fall !== 1) o.line('fall', String(s.fall));
      if (s.user !== null) o.line('user', quote(s.user), ...(s.group !== null ? [quote(s.group)] : []));
      if (s.initFail) o.line('init_fail');
    }));
  }
  for (const g of config.syncGroups) {
    sections.push(() => o.block(['vrrp_sync_group', quote(g.name)], () => {
      o.block(['group'], () => { for (const m of g.group) o.line(quote(m)); });
      if (g.trackInterfaces.length > 0) o.block(['track_interface'], () => { for (const t of g.trackInterfaces) o.line(quote(t.name), ...(t.weight !== 0 ? ['weight', String(t.weight)] : [])); });
      if (g.trackScripts.length > 0) o.block(['track_script'], () => { for (const t of g.trackScripts) o.line(quote(t.name), ...(t.weight !== null ? ['weight', String(t.weight)] : [])); });
      if (g.notify) o.line('notify', cmd(g.notify));
      if (g.notifyMaster) o.line('notify_master', cmd(g.notifyMaster));
      if (g.notifyBackup) o.line('notify_backup', cmd(g.notifyBackup));
      if (g.notifyFault) o.line('notify_fault', cmd(g.notifyFault));
      if (g.notifyStop) o.line('notify_stop', cmd(g.notifyStop));
    }));
  }
  for (const i of config.instances) sections.push(() => writeInstance(o, i, config.global));
  for (const v of config.virtualServers) sections.push(() => writeVirtualServer(o, v));
  if (config.mqtt) {
    const m = config.mqtt;
    sections.push(() => o.block(['mqtt'], () => {
      o.line('url', quote(m.url));
      if (m.prefix !== 'tandem') o.line('prefix', quote(m.prefix));
      if (m.node !== null) o.line('node', quote(m.node));
      if (m.username !== null) o.line('username', quote(m.username));
      if (m.passwordFile !== null) o.line('password_file', quote(m.passwordFile));
      if (m.caFile !== null) o.line('ca_file', quote(m.caFile));
      if (m.certFile !== null) o.line('cert_file', quote(m.certFile));
      if (m.keyFile !== null) o.line('key_file', quote(m.keyFile));
      if (m.keepaliveS !== 30) o.line('keepalive', String(m.keepaliveS));
      if (m.healthIntervalMs !== 10000) o.line('health_interval', secs(m.healthIntervalMs));
      if (m.protocolVersion !== 5) o.line('protocol_version', String(m.protocolVersion));
      if (m.offlineQueue !== 1000) o.line('offline_queue', String(m.offlineQueue));
      if (!m.enabled) o.line('enabled', 'false');
    }));
  }
  if (config.serialConsole) {
    const s = config.serialConsole;
    sections.push(() => o.block(['serial_console'], () => {
      if (s.device !== null) o.line('device', quote(s.device));
      if (s.baud !== 115200) o.line('baud', String(s.baud));
      if (s.idleTimeoutMs !== 900000) o.line('idle_timeout', secs(s.idleTimeoutMs));
      if (!s.enabled) o.line('enabled', 'false');
    }));
  }
  for (const section of sections) {
    const before = o.lines.length;
    section();
    if (o.lines.length > before) o.lines.push('');
  }
  return o.lines.join('\n').replace(/\n+$/, '') + '\n';
}

function tok(t: Token): string {
  return quote(t.text, t.quoted);
}

/** A syntax tree as text (includes already expanded), two-space indent. */
export function writeTree(nodes: Node[]): string {
  const lines: string[] = [];
  const walk = (list: Node[], depth: number): void => {
    for (const n of list) {
      const head = '  '.repeat(depth) + [n.keyword, ...n.args].map(tok).join(' ');
      if (n.children === null) { lines.push(head); continue; }
      lines.push(head + ' {');
      walk(n.children, depth + 1);
      lines.push('  '.repeat(depth) + '}');
    }
  };
  walk(nodes, 0);
  return lines.join('\n') + (lines.length ? '\n' : '');
}
