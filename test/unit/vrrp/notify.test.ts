// Instance and sync-group notify programs (src/vrrp/notify.ts): keepalived's argument
// conventions; a group's programs when the worker reports that the group as a whole changed
// state (which it decides once, in its SyncGroup: test/unit/vrrp/engine.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.ts';
import type { Command, Config } from '../../../src/config/model.ts';
import { VrrpNotifier } from '../../../src/vrrp/notify.ts';
import type { SyncGroupState, VrrpInstanceStatus, VrrpState } from '../../../src/status.ts';
import { createCounters } from '../../../src/vrrp/counters.ts';

const TEXT = `vrrp_sync_group G {
  group {
    A
    B
  }
  notify_master "/g master"
  notify "/g any"
}
vrrp_instance A {
  interface eth0
  virtual_router_id 51
  priority 150
  virtual_ipaddress {
    192.0.2.10/24
  }
  notify_master "/a master"
  notify_backup /a-backup
  notify "/a any"
}
vrrp_instance B {
  interface eth1
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    198.51.100.10/24
  }
}
`;

function config(): Config {
  const r = parseConfigText(TEXT, '/test.conf');
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  return r.config;
}

function status(name: string, state: VrrpState, prio = 150): VrrpInstanceStatus {
  return {
    name, interface: 'eth0', vrid: 51, version: 2, state, priority: prio, effectivePriority: prio, vips: [], masterAddress: null,
    since: 0, reason: 'test', fault: null, counters: createCounters(), syncGroup: 'G',
  };
}

test('instance programs as written, notify with INSTANCE NAME STATE PRIORITY; group programs with GROUP NAME STATE 0', () => {
  const cfg = config();
  const ran: string[] = [];
  const n = new VrrpNotifier({
    config: () => cfg,
    log: () => undefined,
    run: (cmd: Command, extra: string[]) => ran.push([...cmd.argv, ...extra].join(' ')),
  });
  const group = (state: SyncGroupState): void => n.groupChanged({ name: 'G', state, members: ['A', 'B'] });
  n.stateChanged(status('A', 'BACKUP'));
  assert.deepEqual(ran, ['/a-backup', '/a any INSTANCE A BACKUP 150']);
  ran.length = 0;
  n.stateChanged(status('B', 'BACKUP', 100)); // B has no programs
  group('BACKUP'); // G has no notify_backup
  assert.deepEqual(ran, ['/g any GROUP G BACKUP 0']);
  ran.length = 0;
  n.stateChanged(status('A', 'MASTER'));
  assert.deepEqual(ran, ['/a master', '/a any INSTANCE A MASTER 150']);
  ran.length = 0;
  group('MASTER');
  assert.deepEqual(ran, ['/g master', '/g any GROUP G MASTER 0']);
  ran.length = 0;
  n.stateChanged(status('A', 'INIT')); // INIT runs nothing
  group('INIT');
  assert.deepEqual(ran, []);
});
