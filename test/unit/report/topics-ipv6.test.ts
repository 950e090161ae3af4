// MQTT topics of IPv6 virtual and real servers: one valid level each (MQTT 5 §4.7: no '/', no
// wildcard), parsed back to the same names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeTopics, parseTopic } from '../../../src/report/topics.ts';

test('an IPv6 virtual server and real server are one topic level each, and parse back', () => {
  const t = nodeTopics('tandem', 'lb-a');
  const topic = t.lb('2001:db8:0:1::1 80', '2001:db8:0:2::11 8080');
  assert.equal(topic, 'tandem/lb-a/lb/2001:db8:0:1::1:80/2001:db8:0:2::11:8080');
  assert.equal(topic.split('/').length, 5);
  assert.doesNotMatch(topic, /[+#\s]/);
  assert.deepEqual(parseTopic('tandem', topic), { node: 'lb-a', kind: 'lb', vs: '2001:db8:0:1::1:80', rs: '2001:db8:0:2::11:8080' });
});
