// tandem check --board: a configuration asking the VRRP thread for more adverts than the board's
// profile says it holds is warned about, with the numbers (src/config/capacity.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFile, parseConfigText } from '../../../src/config/index.ts';
import type { Diagnostic } from '../../../src/config/model.ts';
import { boardCapacity, loadBoardProfile } from '../../../src/board/profile.ts';
import { tempDir } from './helpers.ts';

const small = { name: 'small', nics: ['eth0', 'eth1'], vrrpPacketsPerSecond: 2000 };

function instances(n: number, advertInt: number, o: { peers?: string[]; first?: number } = {}): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const ai = i === 0 && o.first !== undefined ? o.first : advertInt;
    s += `vrrp_instance VI_${i + 1} {\n interface eth0\n virtual_router_id ${i + 1}\n priority 100\n version 3\n advert_int ${ai}\n`;
    if (o.peers) s += ` unicast_peer {\n${o.peers.map((p) => `  ${p}\n`).join('')} }\n`;
    s += ` virtual_ipaddress {\n  203.0.113.${(i % 200) + 20}/32\n }\n}\n`;
  }
  return s;
}

function capacity(text: string, board: typeof small | { name: string; nics: string[] } = small): Diagnostic[] {
  const r = parseConfigText(text, 'c.conf', { board: { name: board.name, nics: board.nics }, ...('vrrpPacketsPerSecond' in board ? { capacity: { name: board.name, vrrpPacketsPerSecond: board.vrrpPacketsPerSecond } } : {}) });
  assert.ok(r.config, `it runs: ${JSON.stringify(r.diagnostics)}`);
  return r.diagnostics.filter((d) => /adverts a second/.test(d.message));
}

test('200 instances at advert_int 0.01 on a small board: warned at the advert_int, with the load, the budget and what fits', () => {
  const ds = capacity(instances(200, 0.01));
  assert.equal(ds.length, 1);
  const d = ds[0]!;
  assert.equal(d.severity, 'warning');
  assert.equal(d.pos.line, 6, 'at the advert_int of the first instance');
  assert.match(d.message, /^200 VRRP instances at advert_int 0\.01 ask the VRRP thread for 40000 adverts a second \(20000 sent as MASTER, 20000 received as BACKUP\); board small holds about 2000/);
  assert.match(d.message, /advert_int 0\.2 or longer fits, or fewer instances$/);
});

test('what fits is not warned about: 2 instances at 1 s, 10 at 0.01 (2,000 a second) on the small board, anything on a board without a capacity', () => {
  assert.deepEqual(capacity(instances(2, 1)), []);
  assert.deepEqual(capacity(instances(10, 0.01)), []);
  assert.equal(capacity(instances(11, 0.01)).length, 1, 'one more is over');
  assert.deepEqual(capacity(instances(200, 0.01), { name: 'other', nics: ['eth0', 'eth1'] }), []);
  assert.deepEqual(parseConfigText(instances(200, 0.01), 'c.conf').diagnostics.filter((d) => /adverts a second/.test(d.message)), [], 'no board: nothing to check against');
});

test('unicast peers: one advert to each peer; mixed intervals: the shortest carries the warning', () => {
  const peers = ['203.0.113.3', '203.0.113.4', '203.0.113.5'];
  assert.deepEqual(capacity(instances(5, 0.01, { peers })), [], '1500 sent + 500 received fits 2000');
  const [d] = capacity(instances(6, 0.01, { peers }));
  assert.match(d!.message, /^6 VRRP instances at advert_int 0\.01 ask the VRRP thread for 2400 adverts a second \(1800 sent as MASTER, 600 received as BACKUP\)/);
  assert.match(d!.message, /advert_int 0\.02 or longer fits/);
  const mixed = instances(100, 0.1, { first: 0.01 }).replace('vrrp_instance VI_1 {', 'vrrp_instance VI_1 {\n');
  const [m] = capacity(mixed);
  assert.equal(m!.pos.line, 7, 'at VI_1, the one at 0.01');
  assert.match(m!.message, /^100 VRRP instances \(advert_int 0\.01 to 0\.1\) ask the VRRP thread for 2180 adverts a second \(1090 sent as MASTER, 1090 received as BACKUP\).*every advert_int 1\.1 times as long fits, or fewer instances$/);
});

test('the board profiles carry a capacity, and tandem check --board warns with it', () => {
  for (const name of ['generic-x64', 'generic-arm64', 'nanopi-r4s', 'bpi-r3']) {
    const c = loadBoardProfile(name).capacity;
    assert.ok(c && c.vrrpPacketsPerSecond > 0 && c.basis.length > 0, `${name} has a capacity`);
  }
  const p = loadBoardProfile('bpi-r3');
  const { dir, cleanup } = tempDir();
  try {
    const f = join(dir, 'c.conf');
    writeFileSync(f, instances(200, 0.01).replaceAll('interface eth0', 'interface wan'));
    const r = checkFile(f, { board: { name: p.name, nics: [p.nics.public, p.nics.private] }, capacity: boardCapacity(p)! });
    assert.equal(r.ok, true, 'a warning: it still runs');
    assert.ok(r.lines.some((l) => l.startsWith(`${f}:6:`) && /warning: 200 VRRP instances at advert_int 0\.01 ask .* board bpi-r3 holds about/.test(l)), r.lines.join('\n'));
  } finally { cleanup(); }
});
