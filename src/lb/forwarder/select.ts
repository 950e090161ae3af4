// Which data plane serves a virtual server (DESIGN.md "Data plane"):
//   forwarder userspace → userspace;  lc / wlc → userspace (they need live connection counts,
//   which the kernel's nat chain cannot see);  forwarder nftables → nftables;
//   forwarder auto → nftables when `nft` works on this host (probed once), else userspace.
//   lb_kind DR → nftables always: the forwarder relays connections and cannot hand the
//   client's packets on unchanged (the configuration refuses `forwarder userspace` with DR).
import type { VirtualServer } from '../../config/model.ts';
import { isNftScheduler } from '../sched/index.ts';

export type DataPlane = 'nftables' | 'userspace';

export function chooseDataPlane(vs: Pick<VirtualServer, 'forwarder' | 'scheduler'> & Partial<Pick<VirtualServer, 'method'>>, nftWorks: boolean): DataPlane {
  if (vs.method === 'DR') return 'nftables';
  if (vs.forwarder === 'userspace' || !isNftScheduler(vs.scheduler)) return 'userspace';
  if (vs.forwarder === 'nftables') return 'nftables';
  return nftWorks ? 'nftables' : 'userspace';
}
