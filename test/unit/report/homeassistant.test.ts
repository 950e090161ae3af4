// Home Assistant discovery messages (src/report/homeassistant.ts): topics HA accepts, entities
// that follow the board's own state topics, availability from `status`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoveryId, healthDiscovery, instanceDiscovery, realServerDiscovery, type DiscoveryContext } from '../../../src/report/homeassistant.ts';
import { nodeTopics } from '../../../src/report/topics.ts';

const ctx: DiscoveryContext = { prefix: 'homeassistant', topics: nodeTopics('tandem', 'lb-a'), node: 'lb-a', board: 'nanopi-r5s', version: '0.1.0', healthIntervalMs: 10_000 };
const TOPIC = /^homeassistant\/(sensor|binary_sensor)\/[a-zA-Z0-9_-]+\/[a-zA-Z0-9_-]+\/config$/;

test('ids keep to what discovery topics allow', () => {
  assert.equal(discoveryId('203.0.113.1 80'), '203_0_113_1_80');
  assert.equal(discoveryId('VI/+#x'), 'VI_x');
  assert.equal(discoveryId('...'), '_');
});

test('an instance is a state sensor and a MASTER binary sensor on its vrrp topic, available while the board is online', () => {
  const [state, master] = instanceDiscovery(ctx, 'VI_PUB');
  assert.equal(state!.topic, 'homeassistant/sensor/tandem_lb-a/vrrp_VI_PUB_state/config');
  assert.equal(master!.topic, 'homeassistant/binary_sensor/tandem_lb-a/vrrp_VI_PUB_master/config');
  const p = JSON.parse(master!.payload) as Record<string, unknown>;
  assert.equal(p.state_topic, 'tandem/lb-a/vrrp/VI_PUB');
  assert.equal(p.unique_id, 'tandem_lb-a_vrrp_VI_PUB_master');
  assert.deepEqual(p.device, { identifiers: ['tandem_lb-a'], name: 'lb-a', manufacturer: 'tandem', model: 'nanopi-r5s', sw_version: '0.1.0' });
  assert.deepEqual(p.availability, [{ topic: 'tandem/lb-a/status', value_template: "{{ 'online' if value == 'online' else 'offline' }}" }]);
});

test('real servers and health sensors; every topic is a discovery topic', () => {
  const [rs] = realServerDiscovery(ctx, '203.0.113.1 80', '192.0.2.11 8080');
  const p = JSON.parse(rs!.payload) as Record<string, unknown>;
  assert.equal(p.state_topic, 'tandem/lb-a/lb/203.0.113.1:80/192.0.2.11:8080');
  assert.equal(p.device_class, 'connectivity');
  const health = healthDiscovery(ctx);
  assert.deepEqual(health.map((m) => m.topic.split('/')[3]), ['cpu', 'memory', 'temperature', 'conntrack', 'uptime']);
  assert.equal((JSON.parse(health[0]!.payload) as { expire_after: number }).expire_after, 30);
  for (const m of [...instanceDiscovery(ctx, 'V I/1'), rs!, ...health]) assert.match(m.topic, TOPIC);
});
