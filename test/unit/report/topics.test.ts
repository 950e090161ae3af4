import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeTopics, parseTopic, sanitizeLevel, sanitizePrefix, serverLevel, fleetFilter } from '../../../src/report/topics.ts';
import { vrrpPayload, readVrrp, realServerPayload, readRealServer, birthPayload, readBirth, eventPayload, readStatus } from '../../../src/report/payloads.ts';

test('topic names follow DESIGN.md under PREFIX/NODE', () => {
  const t = nodeTopics('tandem', 'lb1');
  assert.equal(t.status, 'tandem/lb1/status');
  assert.equal(t.birth, 'tandem/lb1/birth');
  assert.equal(t.health, 'tandem/lb1/health');
  assert.equal(t.events, 'tandem/lb1/events');
  assert.equal(t.cmdRebirth, 'tandem/lb1/cmd/rebirth');
  assert.equal(t.vrrp('VI_1'), 'tandem/lb1/vrrp/VI_1');
  assert.equal(t.lb('203.0.113.10 80', '198.51.100.11 8080'), 'tandem/lb1/lb/203.0.113.10:80/198.51.100.11:8080');
  assert.equal(t.lb('203.0.113.10:80', '198.51.100.11:8080'), 'tandem/lb1/lb/203.0.113.10:80/198.51.100.11:8080');
  assert.equal(fleetFilter('site/tandem'), 'site/tandem/+/#');
});

test('names cannot add levels or wildcards', () => {
  assert.equal(sanitizeLevel('a/b'), 'a_b');
  assert.equal(sanitizeLevel('x+y#z'), 'x_y_z');
  assert.equal(sanitizeLevel('with space\u0000'), 'with_space_');
  assert.equal(sanitizeLevel(''), '_');
  assert.equal(sanitizeLevel('$SYS'), '_SYS');
  assert.equal(serverLevel('fe80::1', 80), 'fe80::1:80');
  assert.equal(sanitizePrefix('/a//b+/'), 'a/b_');
  assert.equal(sanitizePrefix(''), 'tandem');
  const t = nodeTopics('tandem', 'evil/+/#');
  assert.equal(t.status, 'tandem/evil____/status');
});

test('parseTopic inverts the names and rejects others', () => {
  assert.deepEqual(parseTopic('tandem', 'tandem/lb1/vrrp/VI_1'), { node: 'lb1', kind: 'vrrp', instance: 'VI_1' });
  assert.deepEqual(parseTopic('tandem', 'tandem/lb1/lb/1.2.3.4:80/5.6.7.8:81'), { node: 'lb1', kind: 'lb', vs: '1.2.3.4:80', rs: '5.6.7.8:81' });
  assert.deepEqual(parseTopic('tandem', 'tandem/lb1/cmd/rebirth'), { node: 'lb1', kind: 'cmd/rebirth' });
  assert.equal(parseTopic('tandem', 'other/lb1/status'), null);
  assert.equal(parseTopic('tandem', 'tandem/lb1/vrrp'), null);
  assert.equal(parseTopic('tandem', 'tandem/lb1/unknown'), null);
  assert.equal(parseTopic('tandem', 'tandem//status'), null);
});

test('payloads carry the fields of DESIGN.md and read back', () => {
  const v = JSON.parse(vrrpPayload({ state: 'MASTER', priority: 150, effectivePriority: 140, vips: ['203.0.113.10/24'], masterAddress: '192.0.2.2', since: 0, vrid: 51, interface: 'eth0', reason: 'master down timer expired' }));
  assert.deepEqual(Object.keys(v).sort(), ['effectivePriority', 'interface', 'masterAddress', 'priority', 'reason', 'since', 'state', 'vips', 'vrid']);
  assert.equal(readVrrp(JSON.stringify(v))?.reason, 'master down timer expired', 'the transition\'s reason, keepalived\'s wording');
  assert.equal(v.since, '1970-01-01T00:00:00.000Z');
  assert.equal(readVrrp(JSON.stringify(v))?.state, 'MASTER');
  assert.equal(readVrrp('{"state":"BOSS","vrid":1,"vips":[]}'), null);
  assert.equal(readVrrp('nonsense'), null);

  const r = JSON.parse(realServerPayload({ up: false, weight: 2, lastCheck: null, failures: 3, latencyMs: null }));
  assert.deepEqual(r, { up: false, weight: 2, lastCheck: null, failures: 3, latencyMs: null });
  assert.equal(readRealServer('{"up":"yes"}'), null);

  const b = birthPayload({ version: '1', board: 'nanopi-r5s', bootTimeMs: 1000, bdSeq: 7, interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', addresses: ['192.0.2.2/24'] }] });
  assert.equal(readBirth(b)?.bdSeq, 7);
  assert.equal(JSON.parse(b).bootTime, '1970-01-01T00:00:01.000Z');

  const e = JSON.parse(eventPayload({ type: 'reload', ok: true }, 0));
  assert.deepEqual(e, { time: '1970-01-01T00:00:00.000Z', type: 'reload', ok: true });
  assert.equal(readStatus('lost'), 'lost');
  assert.equal(readStatus('LOST'), null);
});
