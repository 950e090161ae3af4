// metrics { listen …; allow … } and mqtt { homeassistant on }: read, checked at their line,
// written back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, writeConfig } from '../../../src/config/index.ts';
import { MINIMAL } from '../config/helpers.ts';

function errors(text: string): string[] {
  return parseConfigText(text, 't.conf').diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.pos.line}: ${d.message}`);
}

test('metrics: off unless configured; several listen lines, IPv6 in brackets, allow networks', () => {
  assert.equal(parseConfigText(MINIMAL, 't.conf').config?.metrics, null);
  const text = MINIMAL + 'metrics {\n listen 127.0.0.1:9650\n listen [2001:DB8::1]:9650\n allow 192.0.2.0/24 198.51.100.7\n allow 2001:db8::/32\n}\n';
  const c = parseConfigText(text, 't.conf').config!;
  assert.deepEqual(c.metrics?.listen, [{ address: '127.0.0.1', port: 9650 }, { address: '2001:db8::1', port: 9650 }]);
  assert.deepEqual(c.metrics?.allow, [{ address: '192.0.2.0', prefix: 24 }, { address: '198.51.100.7', prefix: 32 }, { address: '2001:db8::', prefix: 32 }]);
  const written = writeConfig(c);
  assert.match(written, /metrics \{\n {2}listen 127\.0\.0\.1:9650\n {2}listen \[2001:db8::1\]:9650\n {2}allow 192\.0\.2\.0\/24 198\.51\.100\.7\/32 2001:db8::\/32\n\}/);
  assert.deepEqual(parseConfigText(written, 't.conf').config?.metrics?.listen, c.metrics?.listen);
});

test('metrics: bad listen and allow values are errors at their line', () => {
  const at = (body: string): string[] => errors(MINIMAL + `metrics {\n listen 127.0.0.1:9650\n${body}\n}\n`);
  const base = MINIMAL.split('\n').length; // the metrics block opens on this line
  assert.match(at(' listen 2001:db8::1:9650')[0]!, /an IPv6 address goes in brackets/);
  assert.match(at(' listen [192.0.2.1]:9650')[0]!, /brackets are for IPv6/);
  assert.match(at(' listen 192.0.2.1')[0]!, /ADDRESS:PORT/);
  assert.match(at(' listen 192.0.2.1:0')[0]!, /port must be 1 to 65535/);
  assert.match(at(' listen host.example:9650')[0]!, /not an IP address/);
  assert.match(at(' listen 127.0.0.1:9650')[0]!, /given twice/);
  assert.match(at(' allow 192.0.2.1/24')[0]!, /host bits set \(the network is 192\.0\.2\.0\/24\)/);
  assert.match(at(' allow everyone')[0]!, /ADDRESS\/LENGTH/);
  assert.equal(at(' allow everyone')[0]!.split(':')[0], String(base + 2));
  assert.match(errors(MINIMAL + 'metrics {\n allow 192.0.2.0/24\n}\n')[0]!, /metrics needs at least one listen/);
  assert.match(errors(MINIMAL + 'metrics {\n listen 127.0.0.1:1\n}\nmetrics {\n listen 127.0.0.1:2\n}\n')[0]!, /metrics block given twice/);
});

test('mqtt homeassistant: off by default, on with its prefix; a prefix with a wildcard is refused', () => {
  const mq = (body: string): string => MINIMAL + `mqtt {\n url mqtt://192.0.2.5\n${body}\n}\n`;
  const off = parseConfigText(mq(''), 't.conf').config!.mqtt!;
  assert.equal(off.homeassistant, false);
  assert.equal(off.homeassistantPrefix, 'homeassistant');
  const on = parseConfigText(mq(' homeassistant on\n homeassistant_prefix site3/ha'), 't.conf').config!.mqtt!;
  assert.equal(on.homeassistant, true);
  assert.equal(on.homeassistantPrefix, 'site3/ha');
  assert.match(errors(mq(' homeassistant_prefix ha/#'))[0]!, /homeassistant_prefix/);
});
