// What the fleet view and the board do with hostile MQTT input: display escaping (terminal
// and HTML), the packet-size guard, stale wills recognised by bdSeq, the per-boot client id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeHtml, escapeTerminal, jsonForTerminal } from '../../../src/report/escape.ts';
import { packetSizeGuard } from '../../../src/report/packet-guard.ts';
import { applyMessage, boardCondition, fleetSnapshot, newFleet, renderFleetTable } from '../../../src/report/fleet.ts';
import { birthPayload } from '../../../src/report/payloads.ts';
import { clientIdSuffix, CLIENT_ID_FILE } from '../../../src/report/client-id.ts';

const EVIL = '\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil\u200b\r\n\x7f';

test('terminal escaping shows control sequences instead of sending them; printable text stays', () => {
  assert.equal(escapeTerminal(EVIL), '\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u{202e}evil\\u{200b}\\x0d\\x0a\\x7f');
  assert.equal(escapeTerminal('café 東京 ok-1.2_3'), 'café 東京 ok-1.2_3');
  const j = jsonForTerminal({ name: EVIL }, 2);
  assert.doesNotMatch(j, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e\u200b]/);
  assert.deepEqual(JSON.parse(j), { name: EVIL }, 'still the same JSON');
  assert.equal(escapeHtml('<b a="1">&\'x\x1b'), '&lt;b a=&quot;1&quot;&gt;&amp;&#39;x\\x1b');
});

test('the fleet table escapes node names from topics and every field from payloads', () => {
  const m = newFleet('tandem', 0);
  applyMessage(m, `tandem/lb${EVIL}/status`, 'online', 0);
  applyMessage(m, 'tandem/lb1/status', 'online', 0);
  applyMessage(m, 'tandem/lb1/birth', birthPayload({ version: `1.0${EVIL}`, board: `b${EVIL}`, bootTimeMs: 0, bdSeq: 1, interfaces: [] }), 0);
  applyMessage(m, 'tandem/lb1/vrrp/VI_1', JSON.stringify({ state: 'MASTER', vrid: 51, vips: [`203.0.113.1${EVIL}`], interface: EVIL }), 0);
  applyMessage(m, `tandem/lb1/lb/x${EVIL}/y`, JSON.stringify({ up: true }), 0);
  const out = renderFleetTable(m, 0);
  assert.doesNotMatch(out, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e\u200b]/, 'nothing but newlines between rows');
  assert.match(out, /lb\\x1b\]0;owned\\x07/);
  assert.match(out, /1\.0\\x1b/);
});

test('packet guard: announced sizes over the bound are caught from the header, across chunks', () => {
  const g = packetSizeGuard(1024);
  // PINGRESP, then a PUBLISH of 100 bytes (fits), split anywhere.
  const small = Buffer.concat([Buffer.from([0xd0, 0x00, 0x30, 100]), Buffer.alloc(100)]);
  for (const b of small) assert.equal(g.feed(Buffer.from([b])), null);
  // A PUBLISH announcing 32 MiB: remaining length 0x80 0x80 0x80 0x10 = 33554432; header split.
  assert.equal(g.feed(Buffer.from([0x30, 0x80, 0x80])), null);
  assert.equal(g.feed(Buffer.from([0x80, 0x10, 0x00])), 1 + 4 + 32 * 1024 * 1024);
  // Five length bytes is malformed: treated as too large.
  assert.ok((packetSizeGuard(1024).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])) ?? 0) > 1024);
});

test('a lost will older than the board\'s birth is ignored; one of the current session counts', () => {
  const m = newFleet('tandem', 0);
  applyMessage(m, 'tandem/a/birth', birthPayload({ version: 'v', board: 'b', bootTimeMs: 0, bdSeq: 8, interfaces: [] }), 0);
  applyMessage(m, 'tandem/a/status', 'online', 0, { bdSeq: 8 });
  applyMessage(m, 'tandem/a/health', JSON.stringify({ intervalMs: 1000 }), 0);
  assert.equal(applyMessage(m, 'tandem/a/status', 'lost', 0, { bdSeq: 7 }), true);
  assert.equal(boardCondition(m.boards.get('a')!, m, 100), 'online');
  assert.equal(m.staleWills, 1);
  assert.equal((fleetSnapshot(m, 100) as { staleWills: number }).staleWills, 1);
  applyMessage(m, 'tandem/a/status', 'lost', 0, { bdSeq: 8 });
  assert.equal(boardCondition(m.boards.get('a')!, m, 100), 'lost');
  // Retained messages in any order: the stale will first, then the newer birth.
  const late = newFleet('tandem', 0);
  applyMessage(late, 'tandem/a/status', 'lost', 0, { bdSeq: 3 });
  applyMessage(late, 'tandem/a/birth', birthPayload({ version: 'v', board: 'b', bootTimeMs: 0, bdSeq: 4, interfaces: [] }), 0);
  assert.equal(boardCondition(late.boards.get('a')!, late, 100), 'online');
  // The newer birth first, then the stale will, nothing else: not lost either.
  const first = newFleet('tandem', 0);
  applyMessage(first, 'tandem/a/birth', birthPayload({ version: 'v', board: 'b', bootTimeMs: 0, bdSeq: 4, interfaces: [] }), 0);
  applyMessage(first, 'tandem/a/status', 'lost', 0, { bdSeq: 3 });
  assert.equal(boardCondition(first.boards.get('a')!, first, 100), 'online');
  assert.equal(first.staleWills, 1);
  // Without a bdSeq (a 3.1.1 subscriber, an old board) a lost is believed.
  const plain = newFleet('tandem', 0);
  applyMessage(plain, 'tandem/a/birth', birthPayload({ version: 'v', board: 'b', bootTimeMs: 0, bdSeq: 4, interfaces: [] }), 0);
  applyMessage(plain, 'tandem/a/status', 'lost', 0);
  assert.equal(boardCondition(plain.boards.get('a')!, plain, 100), 'lost');
});

test('client id random part: kept within one boot, new after a reboot, new per start without a boot id', async (t) => {
  const d = mkdtempSync(join(tmpdir(), 'tandem-cid-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  const a = await clientIdSuffix(d, 'boot-1');
  assert.match(a.suffix, /^[0-9a-f]{16}$/);
  assert.equal((await clientIdSuffix(d, 'boot-1')).suffix, a.suffix);
  assert.equal(statSync(join(d, CLIENT_ID_FILE)).mode & 0o777, 0o600);
  const b = await clientIdSuffix(d, 'boot-2');
  assert.notEqual(b.suffix, a.suffix);
  assert.equal(readFileSync(join(d, CLIENT_ID_FILE), 'utf8'), `boot-2 ${b.suffix}\n`);
  const c = await clientIdSuffix(d, null);
  assert.notEqual(c.suffix, b.suffix);
  assert.match(c.problem ?? '', /changes at each start/);
});
