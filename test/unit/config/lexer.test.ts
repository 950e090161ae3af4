import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invalidUtf8Offsets, lex } from '../../../src/config/lexer.ts';
import type { Diagnostic } from '../../../src/config/model.ts';

function words(src: string | Buffer): { toks: Array<[string, string, number, number]>; diags: Diagnostic[] } {
  const diags: Diagnostic[] = [];
  const toks = lex(src, 'f.conf', diags).filter((t) => t.kind !== 'eol').map((t) => [t.kind, t.text, t.pos.line, t.pos.col] as [string, string, number, number]);
  return { toks, diags };
}

test('positions, comments and braces glued to words', () => {
  const { toks, diags } = words('a b # c\n  foo{ bar}\n! all comment\nx!y');
  assert.deepEqual(diags, []);
  assert.deepEqual(toks, [
    ['word', 'a', 1, 1], ['word', 'b', 1, 3],
    ['word', 'foo', 2, 3], ['open', '{', 2, 6], ['word', 'bar', 2, 8], ['close', '}', 2, 11],
    ['word', 'x', 4, 1],
  ]);
});

test('quoted strings keep spaces, comment characters and escapes', () => {
  const diags: Diagnostic[] = [];
  const t = lex('script "a b # !{}" "q\\"x\\\\"', 'f', diags).filter((x) => x.kind === 'word');
  assert.deepEqual(diags, []);
  assert.deepEqual(t.map((x) => [x.text, x.quoted]), [['script', false], ['a b # !{}', true], ['q"x\\', true]]);
});

test('CRLF line endings are tolerated', () => {
  const { toks, diags } = words('a 1\r\nb "2"\r\n');
  assert.deepEqual(diags, []);
  assert.deepEqual(toks, [['word', 'a', 1, 1], ['word', '1', 1, 3], ['word', 'b', 2, 1], ['word', '2', 2, 3]]);
});

test('unterminated quote is a located error', () => {
  const { diags } = words('x\n  y "abc\n');
  assert.equal(diags.length, 1);
  assert.match(diags[0]!.message, /unterminated quoted string/);
  assert.deepEqual([diags[0]!.pos.line, diags[0]!.pos.col], [2, 5]);
});

test('invalid UTF-8 is located and lexing stops', () => {
  const buf = Buffer.concat([Buffer.from('ok line\nab'), Buffer.from([0xc3, 0x28]), Buffer.from(' x\n')]);
  const { toks, diags } = words(buf);
  assert.deepEqual(toks, []);
  assert.equal(diags.length, 1);
  assert.match(diags[0]!.message, /invalid UTF-8 \(byte 0xc3\)/);
  assert.deepEqual([diags[0]!.pos.line, diags[0]!.pos.col], [2, 3]);
});

test('utf-8 validator: overlong, surrogate, truncated, valid multibyte', () => {
  assert.deepEqual(invalidUtf8Offsets(Buffer.from('héllo €  𝄞')), []);
  assert.deepEqual(invalidUtf8Offsets(Buffer.from([0x41, 0xc0, 0x80])), [1, 2]);
  assert.deepEqual(invalidUtf8Offsets(Buffer.from([0xed, 0xa0, 0x80])), [0, 1, 2]);
  assert.deepEqual(invalidUtf8Offsets(Buffer.from([0x41, 0xe2, 0x82])), [1, 2]);
});

test('NUL byte stops lexing with one located error', () => {
  const { diags } = words(Buffer.from('a\nbc\u0000def\u0000'));
  assert.equal(diags.length, 1);
  assert.match(diags[0]!.message, /NUL byte/);
  assert.deepEqual([diags[0]!.pos.line, diags[0]!.pos.col], [2, 3]);
});

test('control characters: a few are reported, then the file is given up', () => {
  const { diags } = words('a\u0001b\u0002c\u0003d\u0004e\u0005f\u0006g\u0007h\u0008');
  assert.ok(diags.length <= 7, `bounded, got ${diags.length}`);
  assert.match(diags.at(-1)!.message, /binary file/);
});
