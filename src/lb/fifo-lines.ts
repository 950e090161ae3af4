// The load balancer's lines on notify_fifo and lvs_notify_fifo (keepalived check/ipwrapper.c
// notify_fifo_vs / notify_fifo_rs; keepalived.conf(5) lvs_notify_fifo):
//   VS [203.0.113.1]:tcp:80 UP|DOWN                       a virtual server's quorum
//   RS [192.0.2.11]:tcp:8080 [203.0.113.1]:tcp:80 UP|DOWN a real server
// Addresses as keepalived's inet_sockaddrtotrio writes them: [ADDRESS]:PROTOCOL:PORT.
import type { RealServer, VirtualServer } from '../config/model.ts';

function trio(address: string, protocol: VirtualServer['protocol'], port: number): string {
  return `[${address}]:${protocol.toLowerCase()}:${port}`;
}

export function vsLine(vs: VirtualServer, quorumUp: boolean): string {
  return `VS ${trio(vs.address, vs.protocol, vs.port)} ${quorumUp ? 'UP' : 'DOWN'}`;
}

export function rsLine(vs: VirtualServer, rs: RealServer, up: boolean): string {
  return `RS ${trio(rs.address, vs.protocol, rs.port)} ${trio(vs.address, vs.protocol, vs.port)} ${up ? 'UP' : 'DOWN'}`;
}
