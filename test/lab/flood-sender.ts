// A flood from a lab host: one IPv4 packet (whole, IP header included) sent to 224.0.0.18 on
// the host's eth0 as fast as one Python sender can, for a number of seconds. The flood lab test
// and the soak bench use it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Host, Lab } from './lab.ts';

const FLOOD_PY = `
import socket, sys, time
pkt = bytes.fromhex(sys.argv[1])
end = time.time() + float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')
n = 0
while time.time() < end:
    for _ in range(200):
        try:
            s.sendto(pkt, ('224.0.0.18', 0))
            n += 1
        except OSError:
            pass
print('sent %d' % n)
`;

/** Routes multicast out of eth0 on `host` (once) and floods `packet` for `seconds`; returns how many were sent. */
export async function flood(lab: Lab, host: Host, packet: Buffer, seconds: number): Promise<number> {
  const script = join(lab.tmpDir, 'flood.py');
  await writeFile(script, FLOOD_PY);
  await lab.exec(host, ['ip', 'route', 'replace', '224.0.0.0/4', 'dev', 'eth0']);
  const r = await lab.exec(host, ['python3', script, packet.toString('hex'), String(seconds)], { timeoutMs: (seconds + 30) * 1000 });
  if (r.code !== 0) throw new Error(`flood sender failed: ${r.stderr}`);
  return Number(/sent (\d+)/.exec(r.stdout)?.[1] ?? 0);
}
