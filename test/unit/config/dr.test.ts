// lb_kind DR in the configuration: accepted per virtual server, round-trips, and every DR
// configuration that cannot work is refused at its line with the fix (docs/dr.md); TUN stays
// refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, writeConfig } from '../../../src/config/index.ts';
import type { Diagnostic } from '../../../src/config/model.ts';
import { noPos } from './helpers.ts';

// The lab's layout: the public VIP on eth0, the real servers' segment behind eth1's VIP.
const PAIR = `vrrp_instance VI_PUB {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    203.0.113.1/24
  }
}
vrrp_instance VI_PRIV {
  interface eth1
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    192.0.2.1/24
  }
}
`;
const LINES = PAIR.split('\n').length - 1; // the virtual_server starts on line LINES + 1

function dr(body: string, head = '203.0.113.1 80'): string {
  return PAIR + `virtual_server ${head} {
  lb_kind DR
${body}
}
`;
}
const RS = (addr = '192.0.2.11', port = 80): string => `  real_server ${addr} ${port} {\n    weight 2\n  }`;

function diags(text: string, interfaces?: Map<string, string[]>): Diagnostic[] {
  return parseConfigText(text, 'dr.conf', interfaces ? { interfaces } : {}).diagnostics;
}
function errors(text: string, interfaces?: Map<string, string[]>): Diagnostic[] {
  return diags(text, interfaces).filter((d) => d.severity === 'error');
}
function one(ds: Diagnostic[], re: RegExp): Diagnostic {
  const hit = ds.find((d) => re.test(d.message));
  assert.ok(hit, `expected ${re}; got ${JSON.stringify(ds.map((d) => `${d.pos.line}: ${d.message}`))}`);
  return hit;
}

test('lb_kind DR and lvs_method DR are accepted with sh and mh, beside a NAT virtual server', () => {
  const text = dr(`  lb_algo mh\n${RS()}\n${RS('192.0.2.12')}`) + dr(`  lb_algo sh\n  protocol UDP\n${RS('192.0.2.11', 53)}`, '203.0.113.1 53')
    .slice(PAIR.length).replace('lb_kind DR', 'lvs_method DR')
    + `virtual_server 203.0.113.1 8080 {\n  lb_algo rr\n  lb_kind NAT\n  real_server 192.0.2.11 9000 {\n  }\n}\n`;
  const r = parseConfigText(text, 'dr.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.deepEqual(r.config!.virtualServers.map((v) => [v.port, v.protocol, v.scheduler, v.method]), [
    [80, 'TCP', 'mh', 'DR'], [53, 'UDP', 'sh', 'DR'], [8080, 'TCP', 'rr', 'NAT'],
  ]);
  // The canonical writer writes it back, and that reads the same.
  const written = writeConfig(r.config!);
  assert.match(written, /lb_kind DR/);
  assert.deepEqual(noPos(parseConfigText(written, 'dr.conf').config), noPos(r.config));
});

test('a stateful scheduler with DR is an error at lb_algo naming sh and mh; keepalived\'s default wlc too', () => {
  for (const s of ['rr', 'wrr', 'lc', 'wlc', 'dh']) {
    const e = one(errors(dr(`  lb_algo ${s}\n${RS()}`)), new RegExp(`^scheduler ${s} cannot be used with lb_kind DR: .*use lb_algo sh or mh$`));
    assert.equal(e.pos.line, LINES + 3, s);
  }
  const e = one(errors(dr(RS())), /^scheduler wlc \(keepalived's default when lb_algo is not given\) cannot be used with lb_kind DR/);
  assert.equal(e.pos.line, LINES + 1, 'no lb_algo line: at the virtual_server');
  // The NAT message about lc/wlc is not given on top of it.
  assert.equal(errors(dr(RS())).filter((d) => /forwarder userspace/.test(d.message)).length, 0);
});

test('a real server (or sorry server) on another port than the virtual server\'s is an error at its port', () => {
  const e = one(errors(dr(`  lb_algo mh\n${RS('192.0.2.11', 8080)}`)), /^real_server 192\.0\.2\.11 port 8080: lb_kind DR cannot rewrite the port/);
  assert.equal(e.pos.line, LINES + 4);
  assert.equal(e.pos.col, 26, 'at the port word');
  assert.match(e.message, /make the server listen on 80 and write real_server 192\.0\.2\.11 80, or use lb_kind NAT$/);
  // Without a port the real server takes the virtual server's: fine.
  assert.deepEqual(errors(dr(`  lb_algo mh\n  real_server 192.0.2.11 {\n  }`)), []);
  one(errors(dr(`  lb_algo mh\n  sorry_server 192.0.2.250 8080\n${RS()}`)), /^sorry_server 192\.0\.2\.250 port 8080: lb_kind DR cannot rewrite the port/);
});

test('forwarder userspace with DR is an error at its line', () => {
  const e = one(errors(dr(`  lb_algo mh\n  forwarder userspace\n${RS()}`)), /^forwarder userspace cannot do lb_kind DR/);
  assert.equal(e.pos.line, LINES + 4);
});

test('the VIP missing from every vrrp_instance is an error at the virtual_server', () => {
  const e = one(errors(dr(`  lb_algo mh\n${RS()}`, '203.0.113.9 80')), /lb_kind DR needs 203\.0\.113\.9 in a vrrp_instance's virtual_ipaddress/);
  assert.equal(e.pos.line, LINES + 1);
  // virtual_ipaddress_excluded counts: the MASTER adds those too.
  const excluded = PAIR.replace('  virtual_ipaddress {\n    203.0.113.1/24\n  }', '  virtual_ipaddress {\n    203.0.113.1/24\n  }\n  virtual_ipaddress_excluded {\n    203.0.113.9/24\n  }');
  assert.deepEqual(errors(excluded + dr(`  lb_algo mh\n${RS()}`, '203.0.113.9 80').slice(PAIR.length)), []);
});

test('reachability: inside a VIP subnet is fine; outside, an error with the host\'s interfaces, a warning without', () => {
  const far = dr(`  lb_algo mh\n${RS('198.51.100.20')}`);
  // Without interfaces (a build host): cannot tell, says how to find out.
  assert.deepEqual(errors(far), []);
  const w = one(diags(far), /^real_server 198\.51\.100\.20: no virtual_ipaddress subnet holds it, .*tandem check --local/);
  assert.equal(w.severity, 'warning');
  assert.equal(w.pos.line, LINES + 4);
  // On the board: its interfaces decide. Reached through a static address of its own:
  const host = new Map([['eth0', ['203.0.113.2/24']], ['eth1', ['192.0.2.2/24']], ['eth2', ['198.51.100.2/24']], ['lo', ['127.0.0.1/8']]]);
  assert.deepEqual(errors(far, host), []);
  // Not reached by any: the error, at the real server, with the fix.
  host.delete('eth2');
  const e = one(errors(far, host), /^real_server 198\.51\.100\.20: no interface of this host reaches it directly/);
  assert.equal(e.pos.line, LINES + 4);
  assert.match(e.message, /move it there, or use lb_kind NAT$/);
  // A /32 VIP holds no segment; lo never reaches a real server.
  const slash32 = PAIR.replace('192.0.2.1/24', '192.0.2.1') + dr(`  lb_algo mh\n${RS()}`).slice(PAIR.length);
  one(errors(slash32, new Map([['lo', ['127.0.0.1/8', '192.0.2.0/24']]])), /no interface of this host reaches it directly/);
});

test('with the host\'s interfaces, the VIP also on an interface no instance manages is a warning', () => {
  const text = dr(`  lb_algo mh\n${RS()}`);
  const host = new Map([['eth0', ['203.0.113.2/24']], ['eth1', ['192.0.2.2/24']], ['lo', ['127.0.0.1/8', '203.0.113.1/32']]]);
  const w = one(diags(text, host), /the VIP 203\.0\.113\.1 is also on lo, which tandem does not manage/);
  assert.equal(w.severity, 'warning');
  assert.equal(w.pos.line, LINES + 1);
  // On its own instance's interface (the MASTER added it): nothing to say.
  host.set('lo', ['127.0.0.1/8']);
  host.set('eth0', ['203.0.113.2/24', '203.0.113.1/24']);
  assert.ok(!diags(text, host).some((d) => /also on/.test(d.message)));
});

test('TUN is refused by name with the reason and the alternatives; another word is not a method', () => {
  const t = one(errors(dr(`  lb_algo mh\n${RS()}`).replace('lb_kind DR', 'lb_kind TUN')), /^lb_kind TUN is not supported: the kernels tandem runs on have no IPIP tunnels \(docs\/tun\.md\); use DR or NAT$/);
  assert.equal(t.pos.line, LINES + 2);
  one(errors(dr(RS()).replace('lb_kind DR', 'lvs_method TUN')), /^lvs_method TUN is not supported/);
  one(errors(dr(RS()).replace('lb_kind DR', 'lb_kind FOO')), /^lb_kind: 'FOO' is not a forwarding method \(tandem does NAT and DR\)$/);
});
