// Configurations for the two-board VRRP lab tests (and the demo): a sync group of the public
// VIP on eth0 and the private gateway VIP on eth1, as DESIGN.md draws it.
import { LAB_ADDR } from './lab.ts';

export interface PairOptions {
  routerId: string;
  priority: number;
  state?: 'MASTER' | 'BACKUP';
  version?: 2 | 3;
  advertInt?: number;
  nopreempt?: boolean;
  preemptDelay?: number;
  authPass?: string;
  /** Extra lines inside each vrrp_instance. */
  instanceExtra?: string;
  /** Extra top-level text (vrrp_script blocks, virtual_server, mqtt …). */
  extra?: string;
  vridPub?: number;
  vridPriv?: number;
  /** Leave the sync group out (single instances). */
  noSyncGroup?: boolean;
}

export function pairConfig(o: PairOptions): string {
  const v = o.version ?? 2;
  const ai = o.advertInt ?? 1;
  const inst = (name: string, dev: string, vrid: number, vip: string): string => `
vrrp_instance ${name} {
    state ${o.state ?? 'BACKUP'}
    interface ${dev}
    virtual_router_id ${vrid}
    priority ${o.priority}
    advert_int ${ai}
    version ${v}
${o.nopreempt ? '    nopreempt\n' : ''}${o.preemptDelay !== undefined ? `    preempt_delay ${o.preemptDelay}\n` : ''}${o.authPass ? `    authentication {\n        auth_type PASS\n        auth_pass ${o.authPass}\n    }\n` : ''}    virtual_ipaddress {
        ${vip}/24
    }
${o.instanceExtra ?? ''}
}
`;
  return `global_defs {
    router_id ${o.routerId}
    vrrp_garp_master_delay 5
}
${o.noSyncGroup ? '' : `vrrp_sync_group G_LB {
    group {
        VI_PUB
        VI_PRIV
    }
}
`}${inst('VI_PUB', 'eth0', o.vridPub ?? 51, LAB_ADDR.publicVip)}${inst('VI_PRIV', 'eth1', o.vridPriv ?? 52, LAB_ADDR.privateVip)}
${o.extra ?? ''}`;
}
