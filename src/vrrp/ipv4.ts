// Dotted-quad helpers for the codec and the state machine's address tie-break
// (RFC 5798 §6.4.3: equal priority is decided by the larger primary IPv4 address, compared as
// an unsigned 32-bit number).

/** Parses "a.b.c.d" into an unsigned 32-bit number; null when it is not a dotted quad. */
export function parseIpv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

/** Like parseIpv4 but throws a clear error: for values that come from configuration. */
export function ipv4ToUint32(s: string): number {
  const n = parseIpv4(s);
  if (n === null) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return n;
}

export function uint32ToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** 224.0.0.0/4 */
export function isMulticast(n: number): boolean {
  return n >>> 28 === 0xe;
}

/** Compares two IPv4 addresses as unsigned numbers: negative, zero or positive. */
export function compareIpv4(a: string, b: string): number {
  return ipv4ToUint32(a) - ipv4ToUint32(b);
}
