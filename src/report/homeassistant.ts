// Home Assistant MQTT discovery (opt-in: mqtt { homeassistant on }): each board appears as one
// device with its mastership per VRRP instance, each real server's health and its health
// sensors. Home Assistant reads retained config messages under its discovery prefix,
// `PREFIX/COMPONENT/NODE_ID/OBJECT_ID/config` (its MQTT discovery documentation), and then follows
// the state topics we already publish: nothing is published twice, the entities point at the
// board's own `vrrp/…`, `lb/…` and `health` topics with a value template each.
//
// Availability follows the board's `status`: only `online` is available (`offline` and the will
// `lost` are not). Health sensors expire after three health intervals without a sample, as the
// fleet view calls a board stale. Pure: builders return topics and payloads; the Reporter
// (src/report/session.ts) publishes them retained and clears them with empty payloads when an
// instance or a real server goes away.
import type { NodeTopics } from './topics.ts';

export interface DiscoveryContext {
  /** Home Assistant's discovery prefix (mqtt { homeassistant_prefix }, default homeassistant). */
  prefix: string;
  topics: NodeTopics;
  node: string;
  board: string;
  version: string;
  healthIntervalMs: number;
}

export interface DiscoveryMessage {
  topic: string;
  /** JSON; '' removes the entity. */
  payload: string;
}

/** Home Assistant's node_id and object_id: [a-zA-Z0-9_-] only. */
export function discoveryId(s: string): string {
  const t = s.replace(/[^a-zA-Z0-9_-]/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '');
  return t === '' ? '_' : t.slice(0, 120);
}

function nodeId(ctx: DiscoveryContext): string {
  return discoveryId(`tandem_${ctx.node}`);
}

function device(ctx: DiscoveryContext): Record<string, unknown> {
  return {
    identifiers: [nodeId(ctx)],
    name: ctx.node,
    manufacturer: 'tandem',
    model: ctx.board,
    sw_version: ctx.version,
  };
}

function entity(ctx: DiscoveryContext, component: 'sensor' | 'binary_sensor', object: string, fields: Record<string, unknown>): DiscoveryMessage {
  const objectId = discoveryId(object);
  const payload = {
    unique_id: `${nodeId(ctx)}_${objectId}`,
    device: device(ctx),
    availability: [{ topic: ctx.topics.status, value_template: "{{ 'online' if value == 'online' else 'offline' }}" }],
    ...fields,
  };
  return { topic: `${ctx.prefix}/${component}/${nodeId(ctx)}/${objectId}/config`, payload: JSON.stringify(payload) };
}

/** The topics of an instance's entities (for removing them). */
export function instanceTopics(ctx: DiscoveryContext, instance: string): string[] {
  return instanceDiscovery(ctx, instance).map((m) => m.topic);
}

/** An instance's state (text) and mastership (on when MASTER). */
export function instanceDiscovery(ctx: DiscoveryContext, instance: string): DiscoveryMessage[] {
  const state = ctx.topics.vrrp(instance);
  return [
    entity(ctx, 'sensor', `vrrp_${instance}_state`, { name: `${instance} state`, state_topic: state, value_template: '{{ value_json.state }}', icon: 'mdi:server-network' }),
    entity(ctx, 'binary_sensor', `vrrp_${instance}_master`, {
      name: `${instance} master`, state_topic: state, value_template: "{{ 'ON' if value_json.state == 'MASTER' else 'OFF' }}", icon: 'mdi:crown',
    }),
  ];
}

/** A real server's health as seen from this board (on when up). vs and rs as "ADDRESS PORT". */
export function realServerDiscovery(ctx: DiscoveryContext, vs: string, rs: string): DiscoveryMessage[] {
  const endpoint = (n: string): string => n.replace(' ', ':');
  return [
    entity(ctx, 'binary_sensor', `rs_${vs}_${rs}`, {
      name: `${endpoint(rs)} (${endpoint(vs)})`, device_class: 'connectivity', state_topic: ctx.topics.lb(vs, rs),
      value_template: "{{ 'ON' if value_json.up else 'OFF' }}",
      json_attributes_topic: ctx.topics.lb(vs, rs),
    }),
  ];
}

/** CPU, memory, temperature, conntrack and uptime from the `health` topic. */
export function healthDiscovery(ctx: DiscoveryContext): DiscoveryMessage[] {
  const expire = Math.max(1, Math.ceil((3 * ctx.healthIntervalMs) / 1000));
  const sensor = (object: string, name: string, template: string, extra: Record<string, unknown>): DiscoveryMessage =>
    entity(ctx, 'sensor', object, { name, state_topic: ctx.topics.health, value_template: template, expire_after: expire, ...extra });
  return [
    sensor('cpu', 'CPU', '{{ value_json.cpuPercent }}', { unit_of_measurement: '%', state_class: 'measurement', icon: 'mdi:cpu-64-bit' }),
    sensor('memory', 'Memory used', '{{ value_json.memory.usedPercent }}', { unit_of_measurement: '%', state_class: 'measurement', icon: 'mdi:memory' }),
    sensor('temperature', 'Temperature', '{{ value_json.temperatureC }}', { unit_of_measurement: '°C', device_class: 'temperature', state_class: 'measurement' }),
    sensor('conntrack', 'Tracked connections', '{{ value_json.conntrackCount }}', { state_class: 'measurement', icon: 'mdi:lan-connect' }),
    sensor('uptime', 'Uptime', '{{ value_json.uptimeS | int }}', { unit_of_measurement: 's', device_class: 'duration' }),
  ];
}
