// keepalived's configuration language (src/config/language.ts) against keepalived.conf(5)
// "Conditional configuration and configuration id", "Parameter substitution", "Pre-defined
// definitions", "Sequence blocks" and "List blocks" (keepalived 9cbce3e), with the man page's
// own examples where it gives them, and lib/parser.c where the man page is silent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText, parseTree, writeTree } from '../../../src/config/index.ts';
import { expandBraces } from '../../../src/config/language.ts';
import type { Node } from '../../../src/config/ast.ts';
import { MINIMAL, tempDir } from './helpers.ts';

/** The tree a board reads, as canonical text, and the diagnostics. */
function view(text: string, configId: string | null, file = '/etc/tandem/t.conf'): { text: string; diags: string[] } {
  const r = parseTree(text, file, { configId });
  return { text: writeTree(r.nodes), diags: r.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.severity}: ${d.message}`) };
}

function words(text: string, configId: string | null = 'a'): string {
  const v = view(text, configId);
  assert.deepEqual(v.diags.filter((d) => d.includes('error')), [], text);
  return v.text;
}

function find(nodes: Node[], kw: string): Node | undefined {
  for (const n of nodes) {
    if (n.keyword.text === kw) return n;
    const inner = n.children ? find(n.children, kw) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

// ---- conditional configuration ----

const MAN_CONDITIONAL = `global_defs {
    @main   router_id main_router
    @backup router_id backup_router
}
vrrp_instance VRRP {
    @main    unicast_src_ip 1.2.3.4
    @backup  unicast_src_ip 1.2.3.5
    @backup2 unicast_src_ip 1.2.3.6
    unicast_peer {
        @^main    1.2.3.4
        @^backup  1.2.3.5
        @^backup2 1.2.3.6
    }
}
`;

test('@ID lines: the man page example, for main, backup and an id the file does not name', () => {
  assert.equal(words(MAN_CONDITIONAL, 'main'), 'global_defs {\n  router_id main_router\n}\nvrrp_instance VRRP {\n  unicast_src_ip 1.2.3.4\n  unicast_peer {\n    1.2.3.5\n    1.2.3.6\n  }\n}\n');
  assert.match(words(MAN_CONDITIONAL, 'backup'), /router_id backup_router\n[^]*unicast_src_ip 1\.2\.3\.5\n[^]*1\.2\.3\.4\n    1\.2\.3\.6\n/);
  // "if not invoked with -i, or with -i anything else, then the router_id will not be set".
  const other = view(MAN_CONDITIONAL, 'other');
  assert.equal(other.text, 'global_defs {\n}\nvrrp_instance VRRP {\n  unicast_peer {\n    1.2.3.4\n    1.2.3.5\n    1.2.3.6\n  }\n}\n');
  assert.equal(view(MAN_CONDITIONAL, null).text, other.text, 'no config id: no @ID line, every @^ID line');
  // The ids the file names, for `tandem check`.
  assert.deepEqual(parseTree(MAN_CONDITIONAL, 't.conf', { configId: 'x' }).source.ids, ['main', 'backup', 'backup2']);
});

test('@ID: compared as a whole word; a line with nothing after the id is dropped; a bare @ is an error', () => {
  assert.equal(words('@ab x 1\n@a y 2\n@a\n@a   \n', 'a'), 'y 2\n');
  assert.equal(words('@^a x 1\n', 'ab'), 'x 1\n');
  assert.match(view('@ x 1\n', 'a').diags.join('\n'), /^1:1: error: '@' must be followed at once by a config id/);
});

test('@ID: a board none of whose lines the file names gets a warning at the first @ line', () => {
  const r = parseConfigText('! pair\n@lb1 global_defs {\n@lb1 }\n' + MINIMAL, '/etc/tandem/t.conf', { configId: 'OpenWrt' });
  assert.ok(r.config, 'it still runs the shared lines');
  const w = r.diagnostics.filter((d) => d.severity === 'warning');
  assert.equal(w.length, 1);
  assert.deepEqual([w[0]!.pos.line, w[0]!.pos.col], [2, 1]);
  assert.match(w[0]!.message, /no '@' line names config id 'OpenWrt' \(the file names lb1\)/);
  assert.deepEqual(parseConfigText('@lb1 global_defs {\n@lb1 }\n' + MINIMAL, 't.conf', { configId: 'lb1' }).diagnostics, []);
});

// ---- parameters ----

test('$NAME and ${NAME}: replaced where followed by a blank , ) or the end; undefined ones stay', () => {
  assert.equal(words('$X=42\na $X\nb ${X}9\nc $X9 $X.5 $Y "$X" "${X}" f($X,$X)\n'), 'a 42\nb 429\nc $X9 $X.5 $Y "$X" "42" f(42,42)\n');
  // No blank before '=' (keepalived's check_definition): `$X =1` is no definition.
  const notDef = parseConfigText('$X =1\n' + MINIMAL, 't.conf', { configId: 'a' }).diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`);
  assert.deepEqual(notDef, ["1:1: '$X' in the top level is no parameter defined before this line (a definition is $NAME=value, no blank before '=')"]);
  // Empty values are allowed.
  assert.equal(words('$E=\na x${E}y\n'), 'a xy\n');
});

test('$NAME: replacement is recursive and happens at use, not at definition (the man page example)', () => {
  const t = '$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\nvirtual_ipaddress {\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n}\n';
  assert.equal(words(t), 'virtual_ipaddress {\n  10.2.0.100/32\n  10.2.10.100/32\n}\n');
});

test('$NAME with @ID: per-board definitions, and a definition whose value is a condition', () => {
  const t = '@main $PRIORITY=240\n@backup $PRIORITY=200\nvrrp_instance VI_0 {\n    priority $PRIORITY\n}\n$IF_MAIN=@main\n$IF_MAIN weight 240\n';
  assert.equal(words(t, 'main'), 'vrrp_instance VI_0 {\n  priority 240\n}\nweight 240\n');
  assert.equal(words(t, 'backup'), 'vrrp_instance VI_0 {\n  priority 200\n}\n');
});

test('multi-line definitions: the man page $INSTANCE example, used twice with a different $NUM', () => {
  const t = `$INSTANCE= \\
vrrp_instance VI_\${NUM} { \\
    interface eth0.\${NUM} \\
    virtual_router_id 1 \\
    @high priority 130 \\
    @low priority 120 \\
    advert_int 1 \\
    virtual_ipaddress { \\
        10.0.\${NUM}.254/24 \\
    } \\
    track_script { \\
        offset_instance_\${NUM} \\
    } \\
}

$NUM=0
$INSTANCE

$NUM=1
$INSTANCE
`;
  const text = words(t, 'high');
  assert.equal(text, [0, 1].map((n) => `vrrp_instance VI_${n} {\n  interface eth0.${n}\n  virtual_router_id 1\n  priority 130\n  advert_int 1\n  virtual_ipaddress {\n    10.0.${n}.254/24\n  }\n  track_script {\n    offset_instance_${n}\n  }\n}\n`).join(''));
  assert.match(words(t, 'low'), /priority 120/);
  // Positions: a line of the definition points where it is written, and says where it was used.
  const r = parseTree(t, '/etc/tandem/t.conf', { configId: 'high' });
  const iface = find([r.nodes[1]!], 'interface')!;
  assert.deepEqual(iface.pos, { file: '/etc/tandem/t.conf', line: 3, col: 5 });
  assert.equal(iface.keyword.origin?.via, 'definition');
  assert.deepEqual(iface.keyword.origin?.at, { file: '/etc/tandem/t.conf', line: 20, col: 1 });
  // The substituted part of a word points at its reference.
  assert.equal(iface.args[0]!.text, 'eth0.1');
  assert.equal(iface.args[0]!.substituted, true);
});

test('multi-line definitions nest, define parameters inside, and a blank line ends one', () => {
  const t = `$RS= \\
real_server 192.168.\${VS_NUM}.\${RS_NUM} 80 { \\
    weight 1 \\
}
$VS= \\
virtual_server 10.0.\${VS_NUM}.4 80 { \\
    quorum 2 \\
    $RS_NUM=1 \\
    $RS \\
    $RS_NUM=2 \\
    $RS \\
}
$VS_NUM=0
$VS
$B= \\
a 1 \\

b 2
$B
`;
  assert.equal(words(t), 'virtual_server 10.0.0.4 80 {\n  quorum 2\n  real_server 192.168.0.1 80 {\n    weight 1\n  }\n  real_server 192.168.0.2 80 {\n    weight 1\n  }\n}\nb 2\na 1\n');
  // A multi-line definition is used only where its use ends the line.
  assert.equal(words('$M= \\\nx 1 \\\ny 2\nz $M w\n'), 'z $M w\n');
});

test("a line ending in '\\' outside a definition is an error at the '\\'; \\# and \\! are characters", () => {
  assert.deepEqual(view('a 1 \\\nb 2\n', 'a').diags, ["1:5: error: a line ends with '\\' outside a $NAME= definition: keepalived continues only multi-line definitions onto the next line"]);
  assert.equal(words('a x\\#y \\!z # comment\nb "q # r" ! c\n'), 'a "x#y" "!z"\nb "q # r"\n');
});

// ---- pre-defined definitions ----

test('pre-defined: ${_PWD}, ${_INSTANCE}, ${_HASH}, ${_BANG}, ${_ENV X}, ${_RANDOM MIN MAX}', () => {
  process.env['TANDEM_TEST_ENV'] = 'from-env';
  const t = 'a ${_PWD}\nb ${_INSTANCE}\nc "${_HASH}${_BANG}"\nd ${_ENV TANDEM_TEST_ENV}\ne ${_RANDOM 5 5}\n';
  assert.equal(words(t, 'lb1'), 'a /etc/tandem\nb lb1\nc "#!"\nd from-env\ne 5\n');
  assert.match(view('a ${_RANDOM x}\n', 'a').diags.join('\n'), /takes whole numbers only/);
  assert.match(view('a ${_ENV}\n', 'a').diags.join('\n'), /takes 1 to 1 parameter\(s\), got 0/);
  // A definition overrides a pre-defined one.
  assert.equal(words('$_INSTANCE=mine\nb ${_INSTANCE}\n', 'lb1'), 'b mine\n');
});

// ---- sequences and lists ----

test('~SEQ: the man page examples, hex, defaults of start and step, several on one line', () => {
  assert.equal(words('~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1\n'), [0, 1, 2, 3].map((n) => `ip_address 10.0.${n}.1\n`).join(''));
  const hex = ['90', 'a0', 'b0', 'c0'].map((n) => `ip_address fe80::20:${n}:1\n`).join('');
  assert.equal(words('~SEQx(SUBNET, 144, 16, 192) ip_address fe80::20:${SUBNET}:1\n'), hex);
  assert.equal(words('~SEQx(SUBNET, 0x90, 0x10, 0xc0) ip_address fe80::20:${SUBNET}:1\n'), hex);
  assert.equal(words('~SEQ(N, 3) a $N\n'), 'a 1\na 2\na 3\n');
  assert.equal(words('~SEQ(N, -2) a $N\n'), 'a -1\na -2\n');
  assert.equal(words('~SEQ(N, 3, 1) a $N\n'), 'a 3\na 2\na 1\n');
  assert.equal(words('~SEQ(I, 0, 1) ~SEQ(J, 1, 2) a ${I}.${J}\n'), 'a 0.1\na 0.2\na 1.1\na 1.2\n');
  assert.equal(words('$MAX=2\n~SEQ(N, 1, $MAX) a $N\n'), 'a 1\na 2\n');
  assert.equal(words('x {\n~SEQx(AD2, 0x90, 0x10, 0xa0) ~SEQx(AD1, 0x12, -1, 0x11) fe81::10:${AD2}:${AD1}\n}\n'), 'x {\n  fe81::10:90:12\n  fe81::10:90:11\n  fe81::10:a0:12\n  fe81::10:a0:11\n}\n');
  for (const bad of ['~SEQ(N, 1, -1, 5) a', '~SEQ(N, 1, 0, 5) a', '~SEQ(N 1) a', '~SEQ(N, 1, 5 a', '~SEQx(N, -3, 1) a', '~SEQ(N, x) a']) {
    assert.match(view(bad + '\n', 'a').diags.join('\n'), /^1:1: error: invalid ~SEQ specification/, bad);
  }
});

test('~LST: one variable, several with braces (missing values blank), nested, with ~SEQ', () => {
  assert.equal(words('~LST(IP, 1, 2) ~LST(IP1, 5,6) 192.169.${IP}.${IP1}\n'), '192.169.1.5\n192.169.1.6\n192.169.2.5\n192.169.2.6\n');
  assert.equal(words('~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}\n'), '192.168.10.1\n192.168.20.4\n');
  assert.equal(words('~LST({A, B}, {1}, {2, 3}) x ${A}-${B}-\n'), 'x 1--\nx 2-3-\n');
  assert.equal(words('~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}\n'), '192.168.10.1\n192.170.10.1\n192.168.20.4\n192.170.20.4\n');
  assert.match(view('~LST({A}, {1, 2}) x\n', 'a').diags.join('\n'), /invalid ~LST specification: 2 values for 1 variable/);
});

test('runaway expansions are errors, not hangs: self-reference, self-use, huge sequences', () => {
  assert.match(view('$A=x $A\nb $A\n', 'a').diags.join('\n'), /^2:3: error: parameter substitution does not end/);
  assert.match(view('$A= \\\nb \\\n$A\n$A\n', 'a').diags.join('\n'), /nested more than 32 deep/);
  assert.match(view('~SEQ(I, 1, 100000) ~SEQ(J, 1, 100000) x\n', 'a').diags.join('\n'), /produce more than 200000 lines/);
});

// ---- include ----

test('include: with @ID, $NAME and {a,b}; definitions carry across files; positions keep their file', () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'a.conf'), '@a x $V\n');
    writeFileSync(join(dir, 'conf.d', 'b.conf'), '@b x $V\n$W=from-b\n');
    writeFileSync(join(dir, 'conf.d', 'c.conf'), 'not included\n');
    const main = join(dir, 'main.conf');
    const text = '$V=v1\n$DIR=conf.d\ninclude ${DIR}/{a,b}.conf\n@a include conf.d/c.conf\ny $W\n';
    const a = parseTree(text, main, { configId: 'a' });
    assert.deepEqual(a.diagnostics, []);
    assert.equal(writeTree(a.nodes), 'x v1\nnot included\ny from-b\n');
    assert.deepEqual(a.nodes[0]!.pos, { file: join(dir, 'conf.d', 'a.conf'), line: 1, col: 4 });
    assert.equal(writeTree(parseTree(text, main, { configId: 'b' }).nodes), 'x v1\ny from-b\n');
    // includer lets a wildcard match nothing (a warning); include does not.
    assert.match(view('includer nothere/*.conf\n', 'a', main).diags.join('\n'), /warning: includer 'nothere\/\*\.conf': no file matches/);
    assert.match(view('include nothere/*.conf\n', 'a', main).diags.join('\n'), /error: include 'nothere\/\*\.conf': no such file/);
  } finally { cleanup(); }
});

test('brace alternatives expand in order, nested, unmatched braces are characters', () => {
  assert.deepEqual(expandBraces('/a/{x,y{1,2}}.conf'), ['/a/x.conf', '/a/y1.conf', '/a/y2.conf']);
  assert.deepEqual(expandBraces('/a/{x.conf'), ['/a/{x.conf']);
});

// ---- positions ----

test('positions: after an @ID prefix, at a $ reference, and errors at the original line', () => {
  const t = '$P=999\nvrrp_instance VI_1 {\n  interface eth0\n@a  virtual_router_id 51\n  priority $P\n  virtual_ipaddress {\n    192.0.2.10/24\n  }\n}\n';
  const r = parseConfigText(t, '/etc/tandem/t.conf', { configId: 'a' });
  assert.deepEqual(r.diagnostics.map((d) => [d.pos.line, d.pos.col, d.message]), [[5, 3, 'priority 999 is out of range 1-255 (0 is reserved for resigning, RFC 5798 section 5.2.4)']]);
  const tree = parseTree(t, 't.conf', { configId: 'a' }).nodes;
  const vrid = find(tree, 'virtual_router_id')!;
  assert.deepEqual([vrid.pos.line, vrid.pos.col], [4, 5]);
  assert.deepEqual(vrid.keyword.origin?.cond, { id: 'a', negated: false });
  assert.equal(vrid.args[0]!.end, 25);
});
