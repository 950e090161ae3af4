// src/config/edit.ts: set/delete paths on hand-built trees (independent of the parser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Token } from '../../../src/config/ast.ts';
import { setPath, deletePath, pathCompletions } from '../../../src/config/edit.ts';

const P = { file: 't.conf', line: 1, col: 1 };
const tok = (text: string): Token => ({ text, quoted: false, pos: P });
const dir = (kw: string, ...args: string[]): Node => ({ keyword: tok(kw), args: args.map(tok), children: null, pos: P });
const blk = (kw: string, args: string[], children: Node[]): Node => ({ keyword: tok(kw), args: args.map(tok), children, pos: P });

/** A compact text form for assertions. */
function show(nodes: readonly Node[], ind = ''): string {
  return nodes
    .map((n) => {
      const head = ind + [n.keyword.text, ...n.args.map((a) => (a.quoted ? `"${a.text}"` : a.text))].join(' ');
      return n.children === null ? head : `${head} {\n${show(n.children, ind + '  ')}${ind}}`;
    })
    .map((l) => l + '\n')
    .join('');
}

const tree = (): Node[] => [
  blk('global_defs', [], [dir('router_id', 'lb-a')]),
  blk('vrrp_instance', ['VI_PUB'], [dir('state', 'MASTER'), dir('priority', '100'), dir('nopreempt'),
    blk('virtual_ipaddress', [], [dir('203.0.113.1/24')])]),
  blk('virtual_server', ['203.0.113.1', '80'], [dir('lb_algo', 'rr'),
    blk('real_server', ['192.0.2.11', '8080'], [dir('weight', '1')]),
    blk('real_server', ['192.0.2.12', '8080'], [dir('weight', '1')])]),
];

function set(nodes: Node[], line: string): Node[] {
  const r = setPath(nodes, line.split(' '));
  if (!r.ok) assert.fail(r.error);
  return r.nodes;
}

test('set replaces a directive inside the matching block and leaves the input untouched', () => {
  const t = tree();
  const before = show(t);
  const out = set(t, 'vrrp_instance VI_PUB priority 150');
  assert.match(show(out), /vrrp_instance VI_PUB \{\n  state MASTER\n  priority 150\n/);
  assert.equal(show(t), before);
});

test('set appends a missing directive and creates known blocks', () => {
  let t = set(tree(), 'global_defs vrrp_version 3');
  assert.match(show(t), /global_defs \{\n  router_id lb-a\n  vrrp_version 3\n\}/);
  t = set(t, 'mqtt url mqtt://192.0.2.5:1883');
  assert.match(show(t), /mqtt \{\n  url mqtt:\/\/192.0.2.5:1883\n\}\n$/);
  t = set(t, 'vrrp_instance VI_PRIV priority 90');
  assert.match(show(t), /vrrp_instance VI_PRIV \{\n  priority 90\n\}/);
});

test('set walks nested blocks by keyword and arguments', () => {
  const t = set(tree(), 'virtual_server 203.0.113.1 80 real_server 192.0.2.12 8080 weight 3');
  const s = show(t);
  assert.match(s, /real_server 192.0.2.11 8080 \{\n    weight 1\n/);
  assert.match(s, /real_server 192.0.2.12 8080 \{\n    weight 3\n/);
  const t2 = set(t, 'virtual_server 203.0.113.1 80 real_server 192.0.2.13 8080 weight 2');
  assert.match(show(t2), /real_server 192.0.2.13 8080 \{\n    weight 2\n  \}\n\}/);
});

test('list blocks: an entry is a node named by the entry itself', () => {
  const t = set(tree(), 'vrrp_instance VI_PUB virtual_ipaddress 203.0.113.2/24 dev eth0');
  assert.match(show(t), /virtual_ipaddress \{\n    203.0.113.1\/24\n    203.0.113.2\/24 dev eth0\n  \}/);
  const r = deletePath(t, ['vrrp_instance', 'VI_PUB', 'virtual_ipaddress', '203.0.113.1/24']);
  assert.ok(r.ok);
  assert.doesNotMatch(show(r.nodes), /203.0.113.1\/24/);
});

test('quoted values keep their quotes; values with spaces are quoted', () => {
  const r = setPath(tree(), ['vrrp_instance', 'VI_PUB', 'notify_master', { text: '/usr/bin/note master', quoted: true }]);
  assert.ok(r.ok);
  assert.match(show(r.nodes), /notify_master "\/usr\/bin\/note master"/);
});

test('set errors: empty path, path ending on a block, block named without arguments', () => {
  assert.equal(setPath(tree(), []).ok, false);
  const r = setPath(tree(), ['vrrp_instance', 'VI_PUB']);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error : '', /is a block/);
  const r2 = setPath(tree(), ['vrrp_instance', 'VI_PUB', 'virtual_ipaddress']);
  assert.equal(r2.ok, false);
});

test('set keeps the first of duplicated directives and drops later ones', () => {
  const t: Node[] = [blk('global_defs', [], [dir('router_id', 'a'), dir('x'), dir('router_id', 'b')])];
  assert.equal(show(set(t, 'global_defs router_id c')), 'global_defs {\n  router_id c\n  x\n}\n');
});

test('delete removes directives, blocks, and reports what is missing', () => {
  let r = deletePath(tree(), ['vrrp_instance', 'VI_PUB', 'nopreempt']);
  assert.ok(r.ok);
  assert.doesNotMatch(show(r.nodes), /nopreempt/);
  r = deletePath(tree(), ['virtual_server', '203.0.113.1', '80', 'real_server', '192.0.2.11', '8080']);
  assert.ok(r.ok);
  assert.doesNotMatch(show(r.nodes), /192.0.2.11/);
  assert.match(show(r.nodes), /192.0.2.12/);
  r = deletePath(tree(), ['vrrp_instance', 'VI_PUB']);
  assert.ok(r.ok);
  assert.doesNotMatch(show(r.nodes), /VI_PUB/);
  r = deletePath(tree(), ['vrrp_instance', 'VI_PUB', 'priority', '99']);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.error : '', /nothing to delete at 'vrrp_instance VI_PUB priority 99'/);
  r = deletePath(tree(), ['vrrp_instance', 'VI_NONE', 'priority']);
  assert.equal(r.ok, false);
});

test('completions list keywords and block arguments at the reached level', () => {
  assert.deepEqual(pathCompletions(tree(), []).sort(), ['global_defs', 'virtual_server', 'vrrp_instance']);
  assert.deepEqual(pathCompletions(tree(), ['vrrp_instance']), ['VI_PUB']);
  assert.deepEqual(pathCompletions(tree(), ['vrrp_instance', 'VI_PUB']).sort(), ['nopreempt', 'priority', 'state', 'virtual_ipaddress']);
  assert.deepEqual(pathCompletions(tree(), ['virtual_server', '203.0.113.1', '80', 'real_server']).sort(), ['192.0.2.11', '192.0.2.12']);
});
