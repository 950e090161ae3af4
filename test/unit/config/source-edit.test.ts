// The console's commit keeps the file its user wrote (src/config/source-edit.ts): only the lines
// a change needs are rewritten, everything else byte for byte; where a change would touch text
// another board reads (or an include, a $ parameter, a sequence), it is refused naming FILE:LINE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deletePath, setPath } from '../../../src/config/edit.ts';
import { tokenize } from '../../../src/console/commands.ts';
import { parseTree, patchText, writeTree } from '../../../src/config/index.ts';
import { tempDir } from './helpers.ts';

type Op = ['set' | 'delete', string];

/** The file after the console's edits, for board `id`, or the refusal. */
function commit(text: string, ops: Op[], id: string | null = 'a', file = '/etc/tandem/t.conf'): { ok: true; text: string } | { ok: false; error: string } {
  const base = parseTree(text, file, { configId: id });
  assert.deepEqual(base.diagnostics.filter((d) => d.severity === 'error'), [], 'the base parses');
  let nodes = base.nodes;
  for (const [op, path] of ops) {
    const words = tokenize(path).words;
    const r = op === 'set' ? setPath(nodes, words) : deletePath(nodes, words);
    assert.ok(r.ok, `${op} ${path}: ${r.ok ? '' : r.error}`);
    nodes = r.nodes;
  }
  const p = patchText(text, base.nodes, nodes, base.source);
  if (p.ok) assert.equal(writeTree(parseTree(p.text, file, { configId: id }).nodes), writeTree(nodes), 'reads back as the candidate');
  return p;
}

function ok(text: string, ops: Op[], id: string | null = 'a', file?: string): string {
  const r = commit(text, ops, id, file);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.text;
}

/** The lines of b that are not the same line of a: [line number in b, text]. */
function changed(a: string, b: string): Array<[number, string]> {
  const x = a.split('\n');
  const y = b.split('\n');
  assert.equal(x.length, y.length, 'same number of lines');
  return y.flatMap((l, k) => (l === x[k] ? [] : [[k + 1, l] as [number, string]]));
}

const SINGLE = `! lb pair, board A
global_defs {
    router_id lb-a      # the MQTT node name too
}

$VIP=203.0.113.10

vrrp_instance VI_PUB {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100        ! the higher wins
    advert_int 1
    virtual_ipaddress {
        \${VIP}/24 dev eth0
    }
}
`;

test('single-board file: a value is rewritten in place; comments, blank lines and $ definitions stay', () => {
  const out = ok(SINGLE, [['set', 'vrrp_instance VI_PUB priority 150']], null);
  assert.deepEqual(changed(SINGLE, out), [[12, '    priority 150        ! the higher wins']]);
  const out2 = ok(SINGLE, [['set', 'global_defs router_id "lb a"']], null);
  assert.deepEqual(changed(SINGLE, out2), [[3, '    router_id "lb a"      # the MQTT node name too']]);
});

test('single-board file: added directives go before the block end, indented like their siblings; new blocks at the end', () => {
  const out = ok(SINGLE, [['set', 'vrrp_instance VI_PUB nopreempt'], ['set', 'vrrp_instance VI_2 interface eth1'], ['set', 'vrrp_instance VI_2 virtual_router_id 52']], null);
  assert.equal(out, SINGLE.replace('    advert_int 1\n', '    advert_int 1\n').replace('        ${VIP}/24 dev eth0\n    }\n}\n', '        ${VIP}/24 dev eth0\n    }\n    nopreempt\n}\nvrrp_instance VI_2 {\n    interface eth1\n    virtual_router_id 52\n}\n'));
  // Into an empty list block: indented one step past it.
  const t = 'vrrp_instance V {\n\tinterface eth0\n\tvirtual_router_id 5\n\tunicast_peer {\n\t}\n}\n';
  assert.equal(ok(t, [['set', 'vrrp_instance V unicast_peer 192.0.2.2']], null), 'vrrp_instance V {\n\tinterface eth0\n\tvirtual_router_id 5\n\tunicast_peer {\n\t\t192.0.2.2\n\t}\n}\n');
});

test('single-board file: deleting removes exactly the lines of the directive or block', () => {
  const out = ok(SINGLE, [['delete', 'vrrp_instance VI_PUB advert_int']], null);
  assert.equal(out, SINGLE.replace('    advert_int 1\n', ''));
  const out2 = ok(SINGLE, [['delete', 'global_defs']], null);
  assert.equal(out2, SINGLE.replace('global_defs {\n    router_id lb-a      # the MQTT node name too\n}\n', ''));
  // A directive sharing its line with others is refused, never half-removed.
  const one = 'vrrp_instance V {\n  interface eth0\n  virtual_router_id 5\n  unicast_peer { 192.0.2.2 }\n}\n';
  const r = commit(one, [['delete', 'vrrp_instance V unicast_peer 192.0.2.2']], null);
  assert.ok(!r.ok);
  assert.match(r.error, /^\/etc\/tandem\/t\.conf:4 \(192\.0\.2\.2\) shares its line with other directives: edit it by hand$/);
});

const PAIR = `! one file for both boards
@a $PRIO=150
@b $PRIO=100
global_defs {
@a  router_id lb-a
@b  router_id lb-b
}
vrrp_instance VI_PUB {
    interface eth0
    virtual_router_id 51
    priority $PRIO
@a  unicast_src_ip 192.0.2.1
@b  unicast_src_ip 192.0.2.2
    advert_int 1
    virtual_ipaddress {
        203.0.113.10/24
    }
}
`;

test("pair file: this board's @ID lines are rewritten, new lines get its prefix, the other board's view does not change", () => {
  const out = ok(PAIR, [['set', 'global_defs router_id lb-a1'], ['set', 'vrrp_instance VI_PUB unicast_src_ip 192.0.2.11'], ['set', 'vrrp_instance VI_PUB garp_master_delay 2']]);
  assert.equal(out, PAIR.replace('@a  router_id lb-a\n', '@a  router_id lb-a1\n').replace('@a  unicast_src_ip 192.0.2.1\n', '@a  unicast_src_ip 192.0.2.11\n')
    .replace('        203.0.113.10/24\n    }\n}\n', '        203.0.113.10/24\n    }\n    @a garp_master_delay 2\n}\n'));
  assert.equal(writeTree(parseTree(out, 't.conf', { configId: 'b' }).nodes), writeTree(parseTree(PAIR, 't.conf', { configId: 'b' }).nodes));
  // Deleting this board's line.
  assert.equal(ok(PAIR, [['delete', 'vrrp_instance VI_PUB unicast_src_ip']]), PAIR.replace('@a  unicast_src_ip 192.0.2.1\n', ''));
});

test('pair file: a change to a line both boards read, or to a $ parameter, is refused with FILE:LINE', () => {
  const shared = commit(PAIR, [['set', 'vrrp_instance VI_PUB advert_int 2']]);
  assert.deepEqual(shared, { ok: false, error: "/etc/tandem/t.conf:14 (advert_int) is read by every board (it has no '@ID' prefix): edit it by hand" });
  const param = commit(PAIR, [['set', 'vrrp_instance VI_PUB priority 120']]);
  assert.deepEqual(param, { ok: false, error: "/etc/tandem/t.conf:11 (priority) is read by every board (it has no '@ID' prefix): edit it by hand" });
  const block = commit(PAIR, [['delete', 'vrrp_instance VI_PUB']]);
  assert.ok(!block.ok && /t\.conf:8 \(vrrp_instance VI_PUB\) is read by every board/.test(block.error), JSON.stringify(block));
  // @^ID lines are read by every other board: shared too.
  const neg = commit('vrrp_instance V {\n  interface eth0\n  virtual_router_id 5\n@^b priority 9\n}\n', [['set', 'vrrp_instance V priority 10']]);
  assert.ok(!neg.ok && /:4 \(priority\) is read by every board but b \(@\^b\)/.test(neg.error), JSON.stringify(neg));
  // Own line whose value is a $ parameter.
  const own = commit('$P=9\nvrrp_instance V {\n  interface eth0\n  virtual_router_id 5\n  priority $P\n}\n', [['set', 'vrrp_instance V priority 10']], null);
  assert.deepEqual(own, { ok: false, error: '/etc/tandem/t.conf:5 (priority) takes its text from a $ parameter: edit it by hand' });
});

test('included files, multi-line definitions and sequences are not rewritten: refused with their FILE:LINE', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'vi.conf'), 'vrrp_instance V {\n  interface eth0\n  virtual_router_id 5\n}\n');
    const main = join(dir, 'main.conf');
    const inc = commit('! main\ninclude vi.conf\n', [['set', 'vrrp_instance V priority 10']], null, main);
    assert.deepEqual(inc, { ok: false, error: `${join(dir, 'vi.conf')}:4 (the '}' of vrrp_instance V, where priority 10 goes) is in the included file ${join(dir, 'vi.conf')}: edit it by hand` });
    const inc2 = commit('! main\ninclude vi.conf\n', [['delete', 'vrrp_instance V virtual_router_id']], null, main);
    assert.ok(!inc2.ok && inc2.error.startsWith(`${join(dir, 'vi.conf')}:3 (virtual_router_id 5) is in the included file`), JSON.stringify(inc2));
    // A new top-level block goes into the main file, the include line stays.
    const added = ok('! main\ninclude vi.conf\n', [['set', 'global_defs router_id x']], null, main);
    assert.equal(added, '! main\ninclude vi.conf\nglobal_defs {\n  router_id x\n}\n');
  } finally { cleanup(); }
  const ml = '$I= \\\nvrrp_instance V { \\\n  interface eth0 \\\n  virtual_router_id 5 \\\n}\n$I\n';
  const r = commit(ml, [['set', 'vrrp_instance V interface eth1']], null);
  assert.deepEqual(r, { ok: false, error: '/etc/tandem/t.conf:3 (interface) is a line of a multi-line $ definition used at /etc/tandem/t.conf:6: edit it by hand' });
  const seq = commit('x {\n~SEQ(N, 1, 2) 192.0.2.$N\n}\n', [['delete', 'x 192.0.2.1']], null);
  assert.deepEqual(seq, { ok: false, error: '/etc/tandem/t.conf:2 (192.0.2.1) is repeated by a ~SEQ/~LST at /etc/tandem/t.conf:2: edit it by hand' });
});

test('a new value the configuration language would read otherwise is refused; CRLF files stay CRLF', () => {
  const t = '$HOME=/x\nvrrp_instance V {\n  interface eth0\n  virtual_router_id 5\n}\n';
  const r = commit(t, [['set', 'vrrp_instance V notify "/bin/echo $HOME now"']], null);
  assert.ok(!r.ok && /would not read back as the candidate/.test(r.error), JSON.stringify(r));
  const crlf = 'vrrp_instance V {\r\n  interface eth0\r\n  virtual_router_id 5\r\n  priority 1\r\n}\r\n';
  assert.equal(ok(crlf, [['set', 'vrrp_instance V priority 2'], ['set', 'vrrp_instance V nopreempt']], null), 'vrrp_instance V {\r\n  interface eth0\r\n  virtual_router_id 5\r\n  priority 2\r\n  nopreempt\r\n}\r\n');
  // A byte order mark stays, and columns on the first line count after it.
  assert.equal(ok('\ufeffpriority 1 # x\n', [['set', 'priority 2']], null), '\ufeffpriority 2 # x\n');
});
