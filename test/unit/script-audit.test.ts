// The programs a configuration would run, examined as at `tandem check` and at start:
// refusals and warnings located at each program's line. Files are made root's by running as root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/index.ts';
import { auditScripts, configuredPrograms } from '../../src/script-audit.ts';

const asRoot = process.geteuid?.() === 0 ? false : 'needs root (files must be root-owned)';

function conf(dir: string, globals: string): string {
  const s = (n: string): string => join(dir, n);
  return `global_defs {
${globals}}
vrrp_script chk {
  script "${s('ww.sh')} arg"
}
vrrp_sync_group G {
  group {
    VI_1
  }
  notify "${s('ok.sh')}"
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.10/24
  }
  track_script {
    chk
  }
  notify_master "${s('ww.sh')} master"
  notify_backup ${s('missing.sh')}
}
virtual_server 203.0.113.1 80 {
  lb_algo rr
  lb_kind NAT
  quorum_up ${s('ok.sh')}
  real_server 192.0.2.11 80 {
    notify_up ${s('ok.sh')}
    MISC_CHECK {
      misc_path "${s('ww.sh')} misc"
      user nobody
    }
  }
}
`;
}

test('every program is listed; insecure root programs refused with enable_script_security, warned without; located', { skip: asRoot }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'ok.sh'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(dir, 'ww.sh'), '#!/bin/sh\n');
  chmodSync(join(dir, 'ww.sh'), 0o777);
  const file = join(dir, 'k.conf');
  const load = (globals: string) => {
    const r = parseConfigText(conf(dir, globals), file);
    assert.ok(r.config, JSON.stringify(r.diagnostics));
    return r.config;
  };
  /** Line (1-based) of the first line holding `needle` in the configuration with `globals`. */
  const lineOf = (globals: string, needle: string): number => conf(dir, globals).split('\n').findIndex((l) => l.includes(needle)) + 1;
  const G = '  enable_script_security\n  script_user root\n';
  const strict = load(G);
  assert.deepEqual(configuredPrograms(strict).map((p) => p.what), [
    'vrrp_script chk', 'vrrp_instance VI_1 notify_master', 'vrrp_instance VI_1 notify_backup', 'vrrp_sync_group G notify',
    'virtual_server 203.0.113.1 80 quorum_up', 'real_server 192.0.2.11 80 notify_up', 'real_server 192.0.2.11 80 MISC_CHECK',
  ]);
  const d = await auditScripts(strict);
  const at = (line: number) => d.filter((x) => x.pos.line === line).map((x) => `${x.severity}: ${x.message}`);
  assert.match(at(lineOf(G, 'ww.sh arg')).join('\n'), /^error: vrrp_script chk: .*ww\.sh runs as root \(0:0\) but .*ww\.sh: writable by others \(mode 0777\).*enable_script_security refuses it$/);
  assert.match(at(lineOf(G, 'ww.sh master')).join('\n'), /^error: vrrp_instance VI_1 notify_master: /);
  assert.match(at(lineOf(G, 'missing.sh')).join('\n'), /^warning: vrrp_instance VI_1 notify_backup: .*missing\.sh: cannot be accessed \(ENOENT\); it will fail when run$/);
  // MISC_CHECK runs as nobody: a world-writable script needs no protection then (keepalived).
  assert.deepEqual(at(lineOf(G, 'ww.sh misc')), []);
  assert.equal(d.filter((x) => x.severity === 'error').length, 2);

  const L = '  script_user root\n';
  const lax = await auditScripts(load(L));
  assert.equal(lax.filter((x) => x.severity === 'error').length, 0);
  assert.ok(lax.some((x) => x.pos.line === lineOf(L, 'ww.sh arg') && /it runs anyway \(set enable_script_security to refuse it\)/.test(x.message)));
  assert.ok(lax.some((x) => /^SECURITY VIOLATION - scripts are being executed but script_security not enabled\. There are insecure scripts\.$/.test(x.message)));

  const S = '  enable_script_security\n';
  const noUser = await auditScripts(load(S));
  assert.ok(noUser.some((x) => x.severity === 'error' && x.pos.line === lineOf(S, 'ww.sh arg') && /neither script_user nor a user keepalived_script exists/.test(x.message)),
    JSON.stringify(noUser.map((x) => x.message)));
  const unknown = await auditScripts(load('  script_user no-such-user-tandem\n'));
  assert.ok(unknown.some((x) => x.severity === 'error' && /unknown user "no-such-user-tandem"/.test(x.message)));
});
