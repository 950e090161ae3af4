// vrrp_sync_group NAME { … } (keepalived.conf(5) "VRRP synchronization group(s)").
import type { SyncGroup } from '../model.ts';
import { ConfError, shown } from '../values.ts';
import { quote } from '../words.ts';
import type { Block } from './engine.ts';
import { directivesOf, ignored, refused } from './entries.ts';
import { BOOL } from './kinds.ts';
import { EMAIL } from './reasons.ts';
import { REFUSED_TRACKING, trackFile, trackInterface, trackProcess, trackScript } from './tracking.ts';

const E = directivesOf<SyncGroup>();

export const SYNC_GROUP: Block<SyncGroup> = {
  name: 'vrrp_sync_group',
  where: (g) => `vrrp_sync_group ${shown(g.name)}`,
  // keepalived 1.x listed the instances in the block itself; keepalived 2 reads such a line as
  // an unknown keyword, and so the group has no instances.
  unknown: (n, g) => (n.args.length === 0 && n.children === null
    ? `'${shown(n.keyword.text)}' in vrrp_sync_group ${shown(g.name)}: a sync group lists its instances in group { } (keepalived 2 does not read a bare name either)`
    : null),
  entries: [
    E.list('group', 'group', {
      example: 'group {\n VI_2\n}',
      always: true,
      item: (c) => {
        if (c.args.length > 0 || c.children !== null) throw new ConfError(c.pos, 'group: one vrrp_instance name per line');
        return c.keyword.text;
      },
      write: (m) => [quote(m)],
    }),
    trackInterface<SyncGroup>(),
    trackScript<SyncGroup>(),
    trackFile<SyncGroup>(),
    trackProcess<SyncGroup>(),
    E.command('notify', 'notify', 'notify /etc/tandem/notify.sh'),
    E.command('notify_master', 'notifyMaster', 'notify_master "/etc/tandem/notify.sh MASTER"'),
    E.command('notify_backup', 'notifyBackup', 'notify_backup /etc/tandem/notify.sh BACKUP'),
    E.command('notify_fault', 'notifyFault', 'notify_fault /etc/tandem/notify.sh FAULT'),
    E.command('notify_stop', 'notifyStop', 'notify_stop /etc/tandem/notify.sh STOP'),
    ignored('smtp_alert', EMAIL),
    // The members' default (keepalived vrrp.c: an instance's own setting, else its group's, else global_defs').
    E.scalar('notify_priority_changes', 'notifyPriorityChanges', BOOL, null, { bare: true, example: 'notify_priority_changes true' }),
    ...REFUSED_TRACKING,
    refused('sync_group_tracking_weight', 'sync groups track with track_interface, track_script, track_file and track_process, applied to every member'),
    refused('global_tracking', 'sync groups track with track_interface, track_script, track_file and track_process, applied to every member'),
  ],
};
