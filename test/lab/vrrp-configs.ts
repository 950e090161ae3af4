// Configurations for the two-board VRRP lab tests (and the demo): a sync group of the public
// VIP on eth0 and the private gateway VIP on eth1, as DESIGN.md draws it.
import { LAB_ADDR, LAB_ADDR6 } from './lab.ts';

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

export interface Pair6Options extends PairOptions {
  /** Also the IPv4 pair (VI_PUB, VI_PRIV) of pairConfig, all four instances in one sync group: the dual-stack pair. */
  dualStack?: boolean;
  /** VRIDs of the IPv6 instances; default 61 and 62 (the IPv4 ones' 51 and 52 would do too: VRIDs are per family). */
  vridPub6?: number;
  vridPriv6?: number;
}

/**
 * The IPv6 pair (the lab built with ipv6: true): VI_PUB6 on eth0 holding the public IPv6 VIP,
 * VI_PRIV6 on eth1 holding the real servers' link-local gateway fe80::1 (with its dev, as a
 * link-local VIP must) and the private IPv6 VIP, VRRPv3, in one sync group G_LB6; with dualStack
 * the IPv4 instances join them in G_LB. The same text runs tandem and keepalived.
 */
export function pairConfig6(o: Pair6Options): string {
  const ai = o.advertInt ?? 1;
  const inst = (name: string, dev: string, vrid: number, vips: string[]): string => `
vrrp_instance ${name} {
    state ${o.state ?? 'BACKUP'}
    interface ${dev}
    virtual_router_id ${vrid}
    priority ${o.priority}
    advert_int ${ai}
    version 3
${o.nopreempt ? '    nopreempt\n' : ''}${o.preemptDelay !== undefined ? `    preempt_delay ${o.preemptDelay}\n` : ''}    virtual_ipaddress {
${vips.map((v) => `        ${v}\n`).join('')}    }
${o.instanceExtra ?? ''}
}
`;
  const v6 = inst('VI_PUB6', 'eth0', o.vridPub6 ?? 61, [`${LAB_ADDR6.publicVip}/64`])
    + inst('VI_PRIV6', 'eth1', o.vridPriv6 ?? 62, [`${LAB_ADDR6.gatewayVip}/64 dev eth1`, `${LAB_ADDR6.privateVip}/64`]);
  if (o.dualStack) {
    const v4 = pairConfig({ ...o, version: 3, noSyncGroup: true });
    return `${v4}${v6}
vrrp_sync_group G_LB {
    group {
        VI_PUB
        VI_PRIV
        VI_PUB6
        VI_PRIV6
    }
}
`;
  }
  return `global_defs {
    router_id ${o.routerId}
    vrrp_garp_master_delay 5
}
${o.noSyncGroup ? '' : `vrrp_sync_group G_LB6 {
    group {
        VI_PUB6
        VI_PRIV6
    }
}
`}${v6}
${o.extra ?? ''}`;
}
