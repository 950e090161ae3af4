// IPv4 helpers for the configuration. tandem is IPv4 only (DESIGN.md: the lab and the data
// plane are IPv4), so an IPv6 literal is refused by name rather than reported as garbage.

/** The 32-bit value of a dotted quad, or null. Leading zeros are refused (ambiguous: octal?). */
export function parseIpv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let v = 0;
  for (let k = 1; k <= 4; k++) {
    const part = m[k]!;
    if (part.length > 1 && part.startsWith('0')) return null;
    const n = Number(part);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

export function isIpv4(s: string): boolean {
  return parseIpv4(s) !== null;
}

export function looksIpv6(s: string): boolean {
  return s.includes(':') && /^[0-9a-fA-F:.]+(\/\d+)?$/.test(s);
}

/** Whether `addr` lies in `net/prefix`. */
export function inSubnet(addr: string, net: string, prefix: number): boolean {
  const a = parseIpv4(addr);
  const n = parseIpv4(net);
  if (a === null || n === null || prefix < 0 || prefix > 32) return false;
  if (prefix === 0) return true;
  const shift = 32 - prefix;
  return Math.floor(a / 2 ** shift) === Math.floor(n / 2 ** shift);
}

/** Prefix length of a dotted netmask such as 255.255.255.0, or null if not contiguous. */
export function maskToPrefix(mask: string): number | null {
  const v = parseIpv4(mask);
  if (v === null) return null;
  const bits = v.toString(2).padStart(32, '0');
  if (!/^1*0*$/.test(bits)) return null;
  return bits.indexOf('0') < 0 ? 32 : bits.indexOf('0');
}
