// Bad input: broken configurations each give a located diagnostic, never a throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFile } from '../../../src/config/index.ts';
import { MINIMAL, tempDir } from './helpers.ts';

const vs = (body: string): string => MINIMAL + `virtual_server 192.0.2.10 80 {\n lb_algo rr\n${body}\n}\n`;
const inst = (line: string): string => MINIMAL.replace('priority 100', line);

type Case = [name: string, content: string | Buffer | ((dir: string) => string | Buffer), expect: RegExp];

const CASES: Case[] = [
  ['empty file', '', /no vrrp_instance or virtual_server/],
  ['only comments', '! nothing\n# here\n', /no vrrp_instance or virtual_server/],
  ['unterminated block', MINIMAL.replace(/\}\n$/, ''), /unterminated block/],
  ['stray brace', MINIMAL + '}\n', /stray '}'/],
  ['unknown directive', inst('frobnicate yes'), /unsupported directive 'frobnicate'/],
  ['unknown top-level block', MINIMAL + 'vrrp_thing {\n}\n', /unsupported directive 'vrrp_thing'/],
  ['bad address', MINIMAL.replace('192.0.2.10/24', '192.0.2.256'), /not a valid IPv4 address/],
  ['address with letters', MINIMAL.replace('192.0.2.10/24', 'vip.example'), /not a valid IPv4 address/],
  ['VRID 300', MINIMAL.replace('51', '300'), /virtual_router_id 300 is out of range/],
  ['VRID not a number', MINIMAL.replace('51', 'fifty'), /not a whole number/],
  ['priority 0', inst('priority 0'), /priority 0 is out of range/],
  ['advert_int negative', inst('advert_int -1'), /not a number of seconds/],
  ['advert_int fraction on v2', inst('advert_int 0.3'), /not valid for VRRP v2/],
  ['duplicate VRID', MINIMAL + MINIMAL.replace('VI_1', 'VI_2'), /used twice on eth0/],
  ['missing interface', MINIMAL.replace('interface eth0', ''), /needs 'interface'/],
  ['unterminated quote', inst('notify_master "/bin/x'), /unterminated quoted string/],
  ['lb_kind DR with a stateful scheduler', vs(' lb_kind DR'), /scheduler rr cannot be used with lb_kind DR: .*use lb_algo sh or mh/],
  ['lb_kind DR rewriting the port', vs(' lb_kind DR\n lb_algo mh\n real_server 192.0.2.20 8080 {\n }'), /lb_kind DR cannot rewrite the port/],
  ['lb_kind TUN', vs(' lb_kind TUN'), /lb_kind TUN is not supported/],
  ['fwmark', MINIMAL + 'virtual_server fwmark 3 {\n}\n', /virtual_server fwmark is not supported/],
  ['port out of range', vs(' real_server 198.51.100.2 99999 {\n }'), /port 99999 is out of range/],
  ['bad status code', vs(' real_server 198.51.100.2 80 {\n HTTP_GET {\n url {\n path /\n status_code 2xx\n }\n }\n }'), /status_code: '2xx'/],
  ['HTTP_GET without url', vs(' real_server 198.51.100.2 80 {\n HTTP_GET {\n }\n }'), /needs at least one url/],
  ['MISC_CHECK without path', vs(' real_server 198.51.100.2 80 {\n MISC_CHECK {\n }\n }'), /needs misc_path/],
  ['bad payload hex', vs(' real_server 198.51.100.2 80 {\n UDP_CHECK {\n payload xyz\n }\n }'), /not hex bytes/],
  ['unknown sync group member', MINIMAL + 'vrrp_sync_group G {\n group {\n NOPE\n }\n}\n', /no vrrp_instance named NOPE/],
  ['unknown track_script', inst('track_script {\n nope\n }'), /no vrrp_script/],
  ['authentication AH', inst('authentication {\n auth_type AH\n auth_pass x\n }'), /authentication AH is not supported/],
  ['mqtt without url', MINIMAL + 'mqtt {\n prefix x\n}\n', /mqtt needs url/],
  ['mqtt bad scheme', MINIMAL + 'mqtt {\n url ftp://x\n}\n', /mqtt url/],
  ['link-local VIP without dev', MINIMAL.replace('192.0.2.10/24', 'fe80::1'), /virtual_ipaddress fe80::1 is link-local: give its interface with dev/],
  // Only the block's first line is another board's: the rest is read by this one.
  ['conditional config', '@high ' + MINIMAL, /stray '\}' with no block open/],
  ['brace without keyword', MINIMAL + '{\n}\n', /'\{' without a keyword/],
  ['include missing', (d) => `include ${join(d, 'nope.conf')}\n` + MINIMAL, /no such file/],
  ['include glob matches nothing', 'include conf.d/*.conf\n' + MINIMAL, /no such file/],
  ['include loop', (d) => { writeFileSync(join(d, 'loop.conf'), 'include t.conf\n'); return 'include loop.conf\n' + MINIMAL; }, /include loop/],
  ['include a directory', (d) => { mkdirSync(join(d, 'adir'), { recursive: true }); return `include adir\n` + MINIMAL; }, /not a regular file/],
  ['10 MB file', Buffer.alloc(10 * 1024 * 1024, '! padding padding padding\n'), /file too large/],
  ['binary garbage', Buffer.from(Array.from({ length: 4096 }, (_, k) => (k * 7919 + 13) % 256)), /binary|UTF-8|control/],
  ['NUL bytes', Buffer.concat([Buffer.from(MINIMAL), Buffer.alloc(64)]), /NUL byte/],
  ['invalid UTF-8', Buffer.concat([Buffer.from('vrrp_instance VI_'), Buffer.from([0xff, 0xfe]), Buffer.from(' {\n}\n')]), /invalid UTF-8/],
  ['deep nesting', 'a {\n'.repeat(5000), /nested too deeply/],
];

test(`bad input: ${CASES.length} broken configurations each give a located FILE:LINE:COL: error`, () => {
  assert.ok(CASES.length >= 30);
  for (const [name, content, expect] of CASES) {
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, 't.conf');
      const data = typeof content === 'function' ? content(dir) : content;
      writeFileSync(path, data);
      let r: { ok: boolean; lines: string[] } = { ok: true, lines: [] };
      assert.doesNotThrow(() => { r = checkFile(path); }, name);
      assert.equal(r.ok, false, `${name}: must not pass`);
      assert.ok(r.lines.length >= 1 && r.lines.length <= 51, `${name}: bounded diagnostics (${r.lines.length})`);
      // Located in the checked file or in a file it includes (the loop case points into loop.conf).
      const hit = r.lines.find((l) => l.startsWith(dir + '/') && /^[^:]+:[1-9]\d*:[1-9]\d*: error: /.test(l) && expect.test(l));
      assert.ok(hit, `${name}: expected ${expect} in\n${r.lines.join('\n')}`);
      assert.ok(!r.lines.some((l) => /\n\s+at /.test(l)), `${name}: no stack trace`);
    } finally { cleanup(); }
  }
});

test('checkFile: ok with warnings, FILE:LINE:COL format, unreadable file', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'w.conf');
    writeFileSync(path, MINIMAL.replace('priority 100', 'priority 255'));
    const r = checkFile(path);
    assert.equal(r.ok, true);
    assert.deepEqual(r.lines, [`${path}:4:3: warning: priority 255 claims to own the virtual addresses (RFC 5798 section 5.2.4); keepalived reserves it for the address owner`]);
    const bad = join(dir, 'b.conf');
    writeFileSync(bad, MINIMAL.replace('51', '300'));
    assert.deepEqual(checkFile(bad), { ok: false, lines: [`${bad}:3:3: error: virtual_router_id 300 is out of range 1-255 (RFC 5798 section 5.2.3)`] });
    const missing = checkFile(join(dir, 'absent.conf'));
    assert.equal(missing.ok, false);
    assert.match(missing.lines[0]!, /absent\.conf:1:1: error: cannot read .*ENOENT/);
  } finally { cleanup(); }
});
