// Control characters in configuration strings, and the parts of an HTTP request: nothing a
// configuration says can put a CR or LF into a health check's request (RFC 9112 section 2.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig, checkFile, parseConfigText, parseTree } from '../../../src/config/index.ts';
import { setPath } from '../../../src/config/edit.ts';
import { MINIMAL, tempDir } from './helpers.ts';

const http = (url: string, checker = ''): string => MINIMAL +
  `virtual_server 192.0.2.10 80 {\n lb_algo rr\n real_server 198.51.100.2 80 {\n  HTTP_GET {\n   url {\n${url}\n   }\n${checker}\n  }\n }\n}\n`;

function errors(text: string): Array<{ line: number; col: number; message: string }> {
  return parseConfigText(text, 't.conf').diagnostics.filter((d) => d.severity === 'error').map((d) => ({ line: d.pos.line, col: d.pos.col, message: d.message }));
}

test('a raw CR inside a quoted path or virtualhost is refused at its token, by tandem check', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'cr.conf');
    writeFileSync(path, http('    path "/x\rHost: evil.example"', '   virtualhost "a.example\r\nX: y"'.replace('\n', '')));
    const r = checkFile(path);
    assert.equal(r.ok, false);
    assert.ok(r.lines.some((l) => l.startsWith(`${path}:14:10: error: `) && /control character 0x0d \(CR\)/.test(l)), r.lines.join('\n'));
    assert.ok(r.lines.some((l) => l.startsWith(`${path}:16:16: error: `) && /control character 0x0d \(CR\)/.test(l)), r.lines.join('\n'));
    assert.ok(r.lines.every((l) => !l.includes('\r')), 'the message shows the character escaped, never raw');
  } finally { cleanup(); }
});

test('control characters in any string value are refused; TAB is a blank, as in keepalived\'s lexer', () => {
  for (const [ch, name] of [['\u0001', '0x01'], ['\u001b', '0x1b (ESC)'], ['\u007f', '0x7f (DEL)'], ['\u000b', '0x0b'], ['\u0008', '0x08']] as const) {
    const e = errors(MINIMAL.replace('priority 100', `notify_master "/bin/echo a${ch}b"`));
    assert.equal(e.length, 1, JSON.stringify(e));
    assert.deepEqual([e[0]!.line, e[0]!.col], [4, 17]);
    assert.ok(e[0]!.message.includes(`control character ${name}`), e[0]!.message);
  }
  assert.deepEqual(errors(MINIMAL.replace('priority 100', 'notify_master "/bin/echo a\tb"')), []);
  assert.deepEqual(errors('global_defs {\n router_id "lb\u001b]0;owned\u0007"\n}\n' + MINIMAL).map((e) => [e.line, e.col]), [[2, 12]]);
});

test('a control character typed at the console (not through the lexer) is refused too', () => {
  const tree = parseTree(MINIMAL, 'running.conf').nodes;
  const r = setPath(tree, ['vrrp_instance', 'VI_1', 'notify_master', '/bin/x\r\ny']);
  assert.ok(r.ok);
  const b = buildConfig(r.nodes, 'candidate');
  assert.equal(b.config, null);
  assert.ok(b.diagnostics.some((d) => /control character 0x0d \(CR\)/.test(d.message)), JSON.stringify(b.diagnostics));
});

test('HTTP path: an origin-form request target (RFC 9112 section 3.2.1)', () => {
  for (const ok of ['/', '/health', '/a%20b', '/status?full&x=1', "/a!$&'()*+,;=:@~._-b", '/?q=/x?y']) {
    assert.deepEqual(errors(http(`    path "${ok}"`)), [], ok);
  }
  const bad: Array<[string, RegExp]> = [
    ['health', /must start with '\/'/],
    ['/a b', /space/],
    ['/a#frag', /'#' is not allowed/],
    ['/a%zz', /'%' must start a %XX escape/],
    ['/caf\u00e9', /'é' is not allowed/],
    ['/a"b', /'"' is not allowed/],
    ['http://h/x', /must start with '\/'/],
  ];
  for (const [p, re] of bad) {
    const e = errors(http(`    path "${p.replace(/"/g, '\\"')}"`));
    assert.equal(e.length, 1, `${p}: ${JSON.stringify(e)}`);
    assert.match(e[0]!.message, /^path: /);
    assert.match(e[0]!.message, re);
    assert.deepEqual([e[0]!.line, e[0]!.col], [14, 5], p);
  }
});

test('virtualhost: host[:port] (RFC 9110 section 7.2), on the url, the checker and the virtual server', () => {
  for (const ok of ['www.example.com', 'www.example.com:8080', '192.0.2.1', '192.0.2.1:80', '[2001:db8::1]', '[2001:db8::1]:443', 'under_score.example']) {
    assert.deepEqual(errors(http('    path /\n    virtualhost ' + `"${ok}"`)), [], ok);
  }
  for (const bad of ['a b', 'host:99999', 'host:', 'h:1:2', '', 'h/x', '[2001:db8::1', 'h@x']) {
    const url = errors(http(`    path /\n    virtualhost "${bad}"`));
    assert.equal(url.length, 1, `${bad}: ${JSON.stringify(url)}`);
    assert.match(url[0]!.message, /^virtualhost: .* is not a host\[:port\] \(RFC 9110 section 7\.2\)/);
    assert.equal(url[0]!.line, 15);
    assert.equal(errors(http('    path /', `   virtualhost "${bad}"`))[0]?.line, 16, `checker ${bad}`);
    const vs = errors(MINIMAL + `virtual_server 192.0.2.10 80 {\n lb_algo rr\n virtualhost "${bad}"\n}\n`);
    assert.equal(vs[0]?.line, 11, `virtual server ${bad}`);
  }
});
