import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBoardProfile, parseBoardProfile, BoardProfileError } from '../../../src/board/profile.ts';

const root = new URL('../../..', import.meta.url).pathname;
const boardDir = join(root, 'board');
const names = readdirSync(boardDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));

test('every board profile in board/ validates and names an existing default config', () => {
  assert.ok(names.length >= 4, `only ${names.length} profiles`);
  for (const n of names) {
    const p = loadBoardProfile(n, [boardDir]);
    assert.equal(p.name, n);
    assert.ok(existsSync(join(root, p.defaultConfig)), `${n}: ${p.defaultConfig} missing`);
    assert.equal(p.node.package, `node-linux-${p.arch}`);
  }
});

test('the required boards are there with their real names', () => {
  for (const n of ['generic-arm64', 'generic-x64', 'nanopi-r4s', 'bpi-r3']) assert.ok(names.includes(n), n);
  const r4s = loadBoardProfile('nanopi-r4s', [boardDir]);
  assert.deepEqual(r4s.nics, { public: 'eth0', private: 'eth1' });
  assert.deepEqual(r4s.console, { device: '/dev/ttyS2', baud: 1500000 });
  assert.equal(r4s.statusLeds?.MASTER.led, '/sys/class/leds/red:sys');
  const r3 = loadBoardProfile('bpi-r3', [boardDir]);
  assert.equal(r3.nics.public, 'wan');
  assert.equal(r3.init, 'procd');
  assert.equal(r3.libc, 'musl');
  assert.equal(loadBoardProfile('generic-x64', [boardDir]).statusLeds, null);
});

function good(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(boardDir, 'nanopi-r4s.json'), 'utf8')) as Record<string, unknown>;
}

test('bad profiles are refused with the field named', () => {
  const cases: [string, (p: Record<string, unknown>) => void, RegExp][] = [
    ['arch', (p) => { p['arch'] = 'mips'; }, /"arch" must be one of arm64, x64/],
    ['unknown field', (p) => { p['colour'] = 'red'; }, /unknown field "colour"/],
    ['same NICs', (p) => { p['nics'] = { public: 'eth0', private: 'eth0' }; }, /both "eth0"/],
    ['long ifname', (p) => { p['nics'] = { public: 'averyveryverylongname0', private: 'eth1' }; }, /"public"/],
    ['baud', (p) => { p['console'] = { device: '/dev/ttyS2', baud: 1234 }; }, /"baud" must be one of/],
    ['led mode', (p) => { (p['statusLeds'] as Record<string, { mode: string }>)['FAULT']!.mode = 'disco'; }, /statusLeds\.FAULT: "mode"/],
    ['node vs arch', (p) => { p['arch'] = 'x64'; }, /does not match arch x64/],
    ['node version', (p) => { (p['node'] as Record<string, string>)['version'] = '20.1.0'; }, /"version"/],
    ['config path', (p) => { p['defaultConfig'] = '/etc/passwd'; }, /"defaultConfig"/],
    ['thermal', (p) => { p['thermalZone'] = 3; }, /"thermalZone"/],
    ['capacity zero', (p) => { p['capacity'] = { vrrpPacketsPerSecond: 0, basis: 'x' }; }, /capacity: "vrrpPacketsPerSecond" must be a positive integer/],
    ['capacity without basis', (p) => { p['capacity'] = { vrrpPacketsPerSecond: 100 }; }, /capacity: "basis"/],
    ['capacity field', (p) => { p['capacity'] = { vrrpPacketsPerSecond: 100, basis: 'x', cores: 4 }; }, /unknown field "cores"/],
  ];
  for (const [what, mutate, re] of cases) {
    const p = good();
    mutate(p);
    assert.throws(() => parseBoardProfile(p, 'x.json'), (e: unknown) => e instanceof BoardProfileError && re.test(e.message), what);
  }
  assert.throws(() => parseBoardProfile([], 'x.json'), /must be a JSON object/);
});

test('loadBoardProfile: unknown board, bad name, broken JSON, name mismatch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-board-'));
  try {
    assert.throws(() => loadBoardProfile('nope', [dir]), /unknown board "nope"/);
    assert.throws(() => loadBoardProfile('../etc/passwd', [dir]), /bad board name/);
    writeFileSync(join(dir, 'broken.json'), '{ "name": ');
    assert.throws(() => loadBoardProfile('broken', [dir]), (e: unknown) => e instanceof BoardProfileError && e.message.includes('broken.json'));
    writeFileSync(join(dir, 'other.json'), JSON.stringify(good()));
    assert.throws(() => loadBoardProfile('other', [dir]), /"name" is nanopi-r4s, expected other/);
    // First directory with the file wins.
    writeFileSync(join(dir, 'nanopi-r4s.json'), JSON.stringify({ ...good(), description: 'override' }));
    assert.equal(loadBoardProfile('nanopi-r4s', [dir, boardDir]).description, 'override');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadBoardProfile finds the repository board/ by default and honours TANDEM_BOARD_DIR', () => {
  assert.equal(loadBoardProfile('generic-x64').arch, 'x64');
  const dir = mkdtempSync(join(tmpdir(), 'tandem-board-'));
  const saved = process.env['TANDEM_BOARD_DIR'];
  try {
    writeFileSync(join(dir, 'generic-x64.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(boardDir, 'generic-x64.json'), 'utf8')), description: 'from env' }));
    process.env['TANDEM_BOARD_DIR'] = dir;
    assert.equal(loadBoardProfile('generic-x64').description, 'from env');
  } finally {
    if (saved === undefined) delete process.env['TANDEM_BOARD_DIR'];
    else process.env['TANDEM_BOARD_DIR'] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
