import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTree } from '../../../src/config/index.ts';
import { expandGlob, globToRegExp } from '../../../src/config/parser.ts';
import type { Node } from '../../../src/config/ast.ts';
import { tempDir } from './helpers.ts';

function shape(nodes: Node[]): unknown[] {
  return nodes.map((n) => [n.keyword.text, n.args.map((a) => a.text), n.children === null ? null : shape(n.children)]);
}

test('directives, args and nested blocks (brace on the next line too)', () => {
  const r = parseTree('a 1 2\nb {\n  c\n  d { e f }\n}\ng\n{\n  h\n}\n', '/x/k.conf');
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(shape(r.nodes), [['a', ['1', '2'], null], ['b', [], [['c', [], null], ['d', [], [['e', ['f'], null]]]]], ['g', [], [['h', [], null]]]]);
  assert.deepEqual(r.nodes[1]!.children![1]!.pos, { file: '/x/k.conf', line: 4, col: 3 });
});

test('unterminated block points at its opening brace', () => {
  const r = parseTree('a {\n  b {\n    c\n  }\n', 'k.conf');
  assert.equal(r.diagnostics.length, 1);
  assert.match(r.diagnostics[0]!.message, /unterminated block/);
  assert.deepEqual([r.diagnostics[0]!.pos.line, r.diagnostics[0]!.pos.col], [1, 3]);
});

test('stray closing brace is located', () => {
  const r = parseTree('a\n}\nb\n', 'k.conf');
  assert.equal(r.diagnostics.length, 1);
  assert.match(r.diagnostics[0]!.message, /stray '}'/);
  assert.equal(r.diagnostics[0]!.pos.line, 2);
  assert.deepEqual(shape(r.nodes), [['a', [], null], ['b', [], null]]);
});

test('deep nesting is refused, not a stack overflow', () => {
  const r = parseTree('a {'.repeat(100000), 'k.conf');
  assert.ok(r.diagnostics.some((d) => /nested too deeply/.test(d.message)));
});

test('glob matching: * ? [..] [!..], dot files skipped', () => {
  assert.ok(globToRegExp('*.conf').test('a.conf'));
  assert.ok(!globToRegExp('*.conf').test('a.confx'));
  assert.ok(globToRegExp('v?.c[0-9]').test('v1.c7'));
  assert.ok(!globToRegExp('v[!1].c').test('v1.c'));
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'd1')); mkdirSync(join(dir, 'd2'));
    writeFileSync(join(dir, 'd1', 'a.conf'), ''); writeFileSync(join(dir, 'd2', 'b.conf'), '');
    writeFileSync(join(dir, 'd2', '.hidden.conf'), ''); writeFileSync(join(dir, 'd2', 'c.txt'), '');
    assert.deepEqual(expandGlob(join(dir, 'd*', '*.conf')), [join(dir, 'd1', 'a.conf'), join(dir, 'd2', 'b.conf')]);
    assert.deepEqual(expandGlob(join(dir, 'nope', '*.conf')), []);
  } finally { cleanup(); }
});

test('include: relative to the including file, glob, nested, positions keep their file', () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', '10-a.conf'), 'a 1\ninclude ../sub/x.inc\n');
    writeFileSync(join(dir, 'conf.d', '20-b.conf'), 'b 2\n');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'x.inc'), '\n  x {\n  }\n');
    const main = join(dir, 'main.conf');
    const r = parseTree('top {\n  include conf.d/*.conf\n}\n', main);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(shape(r.nodes), [['top', [], [['a', ['1'], null], ['x', [], []], ['b', ['2'], null]]]]);
    assert.deepEqual(r.nodes[0]!.children![1]!.pos, { file: join(dir, 'conf.d', '../sub/x.inc'), line: 2, col: 3 });
  } finally { cleanup(); }
});

test('missing include is an error at the include line', () => {
  const { dir, cleanup } = tempDir();
  try {
    const r = parseTree('a\ninclude nothere.conf\n', join(dir, 'main.conf'));
    assert.equal(r.diagnostics.length, 1);
    assert.match(r.diagnostics[0]!.message, /include 'nothere.conf': no such file/);
    assert.deepEqual([r.diagnostics[0]!.pos.line, r.diagnostics[0]!.pos.col], [2, 1]);
  } finally { cleanup(); }
});

test('include loop is reported at the include line, also through a symlink', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'a.conf'), 'x\ninclude b.conf\n');
    writeFileSync(join(dir, 'b.conf'), 'y\n\ninclude link.conf\n');
    symlinkSync(join(dir, 'a.conf'), join(dir, 'link.conf'));
    const r = parseTree('include a.conf\n', join(dir, 'main.conf'));
    assert.equal(r.diagnostics.length, 1);
    assert.match(r.diagnostics[0]!.message, /include loop/);
    assert.equal(r.diagnostics[0]!.pos.file, join(dir, 'b.conf'));
    assert.equal(r.diagnostics[0]!.pos.line, 3);
    assert.deepEqual(shape(r.nodes), [['x', [], null], ['y', [], null]]);
  } finally { cleanup(); }
});

test('the same file included twice (not a loop) is fine', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'c.conf'), 'c\n');
    const r = parseTree('include c.conf\ninclude c.conf\n', join(dir, 'main.conf'));
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.nodes.length, 2);
  } finally { cleanup(); }
});
