// Error messages never quote file contents: `include` of a file that is not configuration
// (from a file, or `set include …` at the console) gives at most the offending word of each
// line, never the line, and a bounded number of errors ending in one summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as config from '../../../src/config/index.ts';
import { checkFile, formatDiagnostic, parseConfigText } from '../../../src/config/index.ts';
import { MAX_FILE_ERRORS } from '../../../src/config/index.ts';
import { createConsoleEngine } from '../../../src/console/index.ts';
import { FileUserStore } from '../../../src/console/users.ts';
import { FakeClock, FakeHost, SAMPLE_CONF } from '../console/helpers.ts';
import { MINIMAL, tempDir } from './helpers.ts';

/** Looks like /etc/shadow and a private key; every secret holds the word SECRET. */
function secrets(): string {
  const lines: string[] = [];
  for (let i = 0; i < 25; i++) lines.push(`user${i}:$6$SECRETsalt${i}$SECREThash${i}AbCdEfGhIjKlMnOpQrStUvWxYz0123456789:19000:0:99999:7:::`);
  lines.push('daemon:*:19000:0:99999:7:::', 'svc:SECRETpw:19000:0:99999:7:::');
  lines.push('-----BEGIN PRIVATE KEY-----');
  for (let i = 0; i < 5; i++) lines.push('MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7SECRET' + String(i).repeat(6));
  lines.push('-----END PRIVATE KEY-----');
  return lines.join('\n') + '\n';
}
const LEAKS = /SECRET|19000|99999|user\d|daemon|PRIVATE|MIIEv/;

test('include of a non-configuration file: no line of it in the messages, bounded, one summary', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'shadow'), secrets());
    const main = join(dir, 'main.conf');
    writeFileSync(main, `include ${join(dir, 'shadow')}\n` + MINIMAL);
    const r = checkFile(main);
    assert.equal(r.ok, false);
    const leaked = r.lines.filter((l) => LEAKS.test(l.replace(dir, '')));
    assert.deepEqual(leaked, [], 'no file contents in any message');
    const fromShadow = r.lines.filter((l) => l.startsWith(join(dir, 'shadow') + ':'));
    assert.ok(fromShadow.length <= MAX_FILE_ERRORS + 1, `${fromShadow.length} lines`);
    assert.equal(fromShadow.filter((l) => /too many errors in this file/.test(l)).length, 1, fromShadow.join('\n'));
    assert.match(fromShadow[0]!, /:1:1: error: unsupported directive in the top level: the line does not start with a keyword$/);
  } finally { cleanup(); }
});

test('set include FILE at the console: the refused commit shows none of the file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const secret = join(dir, 'shadow');
    writeFileSync(secret, secrets());
    const cfg = join(dir, 'keepalived.conf');
    writeFileSync(cfg, SAMPLE_CONF);
    await new FileUserStore(dir).setPassword('admin', 'correct horse');
    const engine = createConsoleEngine(new FakeHost(cfg, dir, SAMPLE_CONF), config, { clock: new FakeClock() });
    const s = engine.session('serial');
    await s.start();
    await s.line('admin');
    assert.ok((await s.line('correct horse')).ok);
    await s.line('configure');
    assert.ok((await s.line(`set include ${secret}`)).ok);
    const r = await s.line('commit');
    assert.equal(r.ok, false);
    assert.match(r.output, /commit refused/);
    assert.doesNotMatch(r.output.replaceAll(dir, ''), LEAKS);
    assert.ok(r.output.split('\n').length <= MAX_FILE_ERRORS + 4, r.output);
  } finally { cleanup(); }
});

test('a quoted word in a message is cut to a sane length and its control characters escaped', () => {
  const long = 'x'.repeat(300);
  const r = parseConfigText(MINIMAL.replace('priority 100', `priority ${long}`), 't.conf');
  const msg = r.diagnostics.find((d) => /not a whole number/.test(d.message))!.message;
  assert.ok(msg.length < 120, msg);
  assert.match(msg, /'x{40}…'/);
  const esc = parseConfigText(MINIMAL.replace('priority 100', 'priority "1\u001b]2;pwned\u0007"'), 't.conf');
  const lines = esc.diagnostics.map(formatDiagnostic);
  assert.ok(lines.length >= 2);
  assert.ok(lines.every((l) => !/[\u0000-\u001f\u007f]/.test(l)), JSON.stringify(lines));
  assert.ok(lines.some((l) => l.includes("priority: '1\\x1b]2;pwned\\x07' is not a whole number")), lines.join('\n'));
});

test('one error per line in one file stops after the bound; a real configuration\'s errors are all shown', () => {
  const junk = Array.from({ length: 200 }, (_, i) => `vrrp_instance V${i} {\n}`).join('\n') + '\n';
  const r = parseConfigText(junk, 'junk.conf');
  const errs = r.diagnostics.filter((d) => d.severity === 'error');
  assert.equal(errs.length, MAX_FILE_ERRORS + 1);
  assert.match(errs.at(-1)!.message, /^too many errors in this file \(\d+ more not shown\)/);
  // Few errors: all of them.
  const few = parseConfigText(MINIMAL.replace('priority 100', 'priority 0\n advert_int 0\n frobnicate\n state X'), 't.conf');
  assert.equal(few.diagnostics.filter((d) => d.severity === 'error').length, 4);
});
