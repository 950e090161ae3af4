// Instance and sync-group notify programs (src/vrrp/notify.ts): keepalived's argument
// conventions, and a group's programs only when the group as a whole changes state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.ts';
import type { Command, Config } from '../../../src/config/model.ts';
import { VrrpNotifier, groupState } from '../../../src/vrrp/notify.ts';
import type { InstanceStatus } from '../../../src/vrrp/worker/engine.ts';
import type { VrrpState } from '../../../src/vrrp/machine.ts';

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

function status(name: string, state: VrrpState, prio = 150): InstanceStatus {
  return {
    name, dev: 'eth0', vrid: 51, version: 2, state, priority: prio, effectivePriority: prio, vips: [], masterAddress: null,
    since: 0, counters: {} as InstanceStatus['counters'], syncGroup: 'G',
  };
}

test('group state: FAULT if any member is, else the state all share, else none', () => {
  assert.equal(groupState(['MASTER', 'MASTER']), 'MASTER');
  assert.equal(groupState(['MASTER', 'BACKUP']), null);
  assert.equal(groupState(['MASTER', 'FAULT']), 'FAULT');
  assert.equal(groupState(['STOP', 'STOP']), 'STOP');
  assert.equal(groupState(['INIT', 'INIT']), null);
  assert.equal(groupState([]), null);
});

test('instance programs as written, notify with INSTANCE NAME STATE PRIORITY; group programs on group changes only', () => {
  const cfg = config();
  const states = new Map<string, VrrpState>([['A', 'INIT'], ['B', 'INIT']]);
  const ran: string[] = [];
  const n = new VrrpNotifier({
    config: () => cfg,
    snapshot: () => [...states].map(([k, v]) => status(k, v)),
    log: () => undefined,
    run: (cmd: Command, extra: string[]) => ran.push([...cmd.argv, ...extra].join(' ')),
  });
  const change = (name: string, st: VrrpState, prio = 150): void => {
    states.set(name, st);
    n.stateChanged(status(name, st, prio));
  };
  change('A', 'BACKUP');
  assert.deepEqual(ran, ['/a-backup', '/a any INSTANCE A BACKUP 150']);
  ran.length = 0;
  change('B', 'BACKUP', 100); // now the whole group is BACKUP; G has no notify_backup
  assert.deepEqual(ran, ['/g any GROUP G BACKUP 0']);
  ran.length = 0;
  change('A', 'MASTER');
  assert.deepEqual(ran, ['/a master', '/a any INSTANCE A MASTER 150'], 'group not all MASTER yet');
  ran.length = 0;
  change('B', 'MASTER', 100);
  assert.deepEqual(ran, ['/g master', '/g any GROUP G MASTER 0']);
  ran.length = 0;
  change('B', 'MASTER', 100); // a repeated state of the group runs nothing more
  assert.deepEqual(ran, []);
  change('A', 'INIT'); // INIT runs nothing
  assert.deepEqual(ran, []);
});
