// The digest of what both boards of a pair must share (src/report/shared-config.ts): equal for
// two boards that differ only where boards may, different in the part that differs otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.ts';
import { sharedConfigDigest } from '../../../src/report/shared-config.ts';
import { pairConfig, type PairOptions } from '../../lab/vrrp-configs.ts';

const VS = (weight = 1, delay = 2): string => `
virtual_server 203.0.113.1 80 {
    delay_loop ${delay}
    lb_algo mh
    protocol TCP
    real_server 192.0.2.11 8080 {
        weight ${weight}
        notify_up /usr/local/bin/up-%BOARD%
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`;

function digestOf(o: Partial<PairOptions> & { routerId: string }, extra = VS()): ReturnType<typeof sharedConfigDigest> {
  const r = parseConfigText(pairConfig({ priority: 100, ...o, extra: extra.replace('%BOARD%', o.routerId) }), 't.conf');
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  return sharedConfigDigest(r.config);
}

test('boards that differ in priority, state, router_id, tracking and programs share one digest', () => {
  const a = digestOf({ routerId: 'lb-a', priority: 150, state: 'MASTER' });
  const b = digestOf({ routerId: 'lb-b', priority: 100, state: 'BACKUP', instanceExtra: '    unicast_src_ip 192.0.2.3\n    unicast_peer {\n        192.0.2.2\n    }\n' });
  assert.equal(a.hash, b.hash);
  assert.deepEqual(Object.keys(a.parts).sort(), ['virtual_server 203.0.113.1 80', 'vrrp_instance VI_PRIV', 'vrrp_instance VI_PUB', 'vrrp_sync_group G_LB']);
  assert.match(a.hash, /^[0-9a-f]{16}$/);
});

test('a different advert_int, VRID, VIP set, preemption or real-server weight changes that part only', () => {
  const base = digestOf({ routerId: 'lb-a' });
  const differing = (d: ReturnType<typeof sharedConfigDigest>): string[] => Object.keys(base.parts).filter((k) => base.parts[k] !== d.parts[k]).sort();
  assert.deepEqual(differing(digestOf({ routerId: 'lb-b', advertInt: 2 })), ['vrrp_instance VI_PRIV', 'vrrp_instance VI_PUB']);
  assert.deepEqual(differing(digestOf({ routerId: 'lb-b', vridPub: 61 })), ['vrrp_instance VI_PUB']);
  assert.deepEqual(differing(digestOf({ routerId: 'lb-b', nopreempt: true })), ['vrrp_instance VI_PRIV', 'vrrp_instance VI_PUB']);
  assert.deepEqual(differing(digestOf({ routerId: 'lb-b' }, VS(2))), ['virtual_server 203.0.113.1 80']);
  assert.deepEqual(differing(digestOf({ routerId: 'lb-b' }, VS(1, 3))), ['virtual_server 203.0.113.1 80']);
  assert.deepEqual(differing(digestOf({ routerId: 'lb-b', noSyncGroup: true })), ['vrrp_instance VI_PRIV', 'vrrp_instance VI_PUB', 'vrrp_sync_group G_LB'], 'a missing part differs too');
  assert.notEqual(digestOf({ routerId: 'lb-b', advertInt: 2 }).hash, base.hash);
});

test('the authentication password is not part of the digest; its type is', () => {
  const p1 = digestOf({ routerId: 'lb-a', authPass: 'secret1' });
  const p2 = digestOf({ routerId: 'lb-b', authPass: 'other22' });
  assert.equal(p1.hash, p2.hash);
  assert.notEqual(p1.hash, digestOf({ routerId: 'lb-a' }).hash);
});
