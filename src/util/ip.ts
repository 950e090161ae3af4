// IP addresses: the one parser and formatter for both families, and the arithmetic on them
// (unsigned comparison, prefixes and masks, multicast). Pure. The configuration, the VRRP codec
// and state machine, the raw-socket transport, the nftables planner, conntrack and the
// userspace forwarder all read and write addresses through here, so they agree on what an
// address is.
//
// Text forms accepted:
// - IPv4: the dotted quad of four decimal octets, 0..255. A leading zero ("010") is refused:
//   inet_aton would read it as octal and inet_pton refuses it, so it is ambiguous.
// - IPv6: RFC 4291 §2.2: eight groups of 1..4 hex digits, "::" once for one or more zero groups,
//   and a trailing dotted quad (form 3) for the low 32 bits. Zone indexes (RFC 4007 "%eth0")
//   and prefixes ("/64") are not part of an address (see parseIpPrefix for the latter).
// IPv6 text out is RFC 5952's canonical form.

/** An address of either family: its bytes in network order (4 for IPv4, 16 for IPv6). */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** An address with a prefix length ("192.0.2.0/24", "2001:db8::/32"). */
export interface IpPrefix {
  readonly address: IpAddress;
  readonly length: number;
}

// ---------------------------------------------------------------- IPv4

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** The unsigned 32-bit value of a dotted quad, or null. */
export function parseIpv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

export function isIpv4(s: string): boolean {
  return parseIpv4(s) !== null;
}

/** Like parseIpv4 but throws a clear error: for values that must already be valid. */
export function ipv4ToUint32(s: string): number {
  const n = parseIpv4(s);
  if (n === null) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return n;
}

/** The dotted quad of an unsigned 32-bit value. */
export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The four bytes of an IPv4 value, network order. */
export function ipv4Bytes(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** Compares two dotted quads as unsigned numbers (RFC 5798 §6.4.3's tie-break): negative, 0, positive. Throws on a bad address. */
export function compareIpv4(a: string, b: string): number {
  return ipv4ToUint32(a) - ipv4ToUint32(b);
}

/** 224.0.0.0/4 (RFC 5771). */
export function isMulticastIpv4(n: number): boolean {
  return n >>> 28 === 0xe;
}

/** The IPv4 netmask of a prefix length 0..32, as an unsigned number. */
export function ipv4PrefixMask(length: number): number {
  if (!Number.isInteger(length) || length < 0 || length > 32) throw new RangeError(`bad prefix length ${length}`);
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** The prefix length of a contiguous IPv4 netmask (255.255.255.0 → 24), or null. */
export function ipv4MaskLength(mask: number): number | null {
  for (let len = 0; len <= 32; len++) if (ipv4PrefixMask(len) === mask >>> 0) return len;
  return null;
}

// ---------------------------------------------------------------- IPv6

const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/** The 16 bytes of an IPv6 address in RFC 4291 §2.2 text, or null. */
export function parseIpv6(s: string): Uint8Array | null {
  if (s.length === 0 || s.length > 45) return null; // 45: the longest form, with a dotted quad
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (text: string, last: boolean): number[] | null => {
    if (text === '') return [];
    const out: number[] = [];
    const parts = text.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (last && i === parts.length - 1 && p.includes('.')) {
        // Form 3: the low 32 bits as a dotted quad.
        const v4 = parseIpv4(p);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!HEXTET.test(p)) return null;
        out.push(Number.parseInt(p, 16));
      }
    }
    return out;
  };
  let words: number[];
  if (halves.length === 1) {
    const all = groups(s, true);
    if (!all || all.length !== 8) return null;
    words = all;
  } else {
    const head = groups(halves[0]!, false);
    const tail = groups(halves[1]!, true);
    // "::" stands for one or more zero groups (RFC 4291 §2.2 item 2).
    if (!head || !tail || head.length + tail.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >>> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

export function isIpv6(s: string): boolean {
  return parseIpv6(s) !== null;
}

/** RFC 5952 §4's canonical text of 16 address bytes; IPv4-mapped addresses in §5's mixed form. */
export function formatIpv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`an IPv6 address has 16 bytes, not ${bytes.length}`);
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  const mapped = mappedIpv4(bytes);
  if (mapped !== null) return `::ffff:${formatIpv4(mapped)}`;
  // §4.2: "::" replaces the longest run of zero groups (the first of equal runs, §4.2.3), and
  // never a single group (§4.2.2).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  // §4.1 no leading zeros, §4.3 lower case: toString(16) gives both.
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address ::ffff:a.b.c.d (RFC 4291 §2.5.5.2), or null. */
function mappedIpv4(bytes: Uint8Array): number | null {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return null;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return null;
  return ((bytes[12]! << 24) | (bytes[13]! << 16) | (bytes[14]! << 8) | bytes[15]!) >>> 0;
}

// ---------------------------------------------------------------- either family

/** An address of either family, or null. */
export function parseIp(s: string): IpAddress | null {
  const v4 = parseIpv4(s);
  if (v4 !== null) return { family: 4, bytes: ipv4Bytes(v4) };
  const v6 = parseIpv6(s);
  return v6 ? { family: 6, bytes: v6 } : null;
}

/** 4, 6, or 0 when `s` is not an address (the shape of node:net's isIP). */
export function ipFamily(s: string): 0 | 4 | 6 {
  return parseIp(s)?.family ?? 0;
}

export function formatIp(a: IpAddress): string {
  return a.family === 4 ? formatIpv4(ipv4Value(a)) : formatIpv6(a.bytes);
}

/** The canonical text of an address in any accepted text form, or null. */
export function canonicalIp(s: string): string | null {
  const a = parseIp(s);
  return a ? formatIp(a) : null;
}

/** The unsigned 32-bit value of an IPv4 address. */
export function ipv4Value(a: IpAddress): number {
  if (a.family !== 4) throw new RangeError('not an IPv4 address');
  return ((a.bytes[0]! << 24) | (a.bytes[1]! << 16) | (a.bytes[2]! << 8) | a.bytes[3]!) >>> 0;
}

/**
 * The IPv4 value of an address as a dual-stack socket reports it: a dotted quad, or the same
 * as an IPv4-mapped IPv6 address (::ffff:192.0.2.1). Null for anything else.
 */
export function ipv4OfSocketAddress(s: string): number | null {
  const a = parseIp(s);
  if (!a) return null;
  return a.family === 4 ? ipv4Value(a) : mappedIpv4(a.bytes);
}

/** Orders by family (IPv4 first), then as unsigned numbers of the address width. */
export function compareIp(a: IpAddress, b: IpAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) {
    const d = a.bytes[i]! - b.bytes[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** IPv4 224.0.0.0/4 (RFC 5771), IPv6 ff00::/8 (RFC 4291 §2.7). */
export function isMulticast(a: IpAddress): boolean {
  return a.family === 4 ? isMulticastIpv4(ipv4Value(a)) : a.bytes[0] === 0xff;
}

/** IPv6 link-local unicast fe80::/10 (RFC 4291 §2.5.6); false for IPv4. */
export function isLinkLocal(a: IpAddress): boolean {
  return a.family === 6 && a.bytes[0] === 0xfe && (a.bytes[1]! & 0xc0) === 0x80;
}

/** "ADDRESS:PORT", an IPv6 address in brackets (RFC 3986 §3.2.2): "[2001:db8::1]:80". */
export function hostPort(address: string, port: number): string {
  return ipFamily(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A server's configuration name "ADDRESS PORT" as hostPort writes it; any other text as it is. */
export function serverEndpoint(name: string): string {
  const m = /^(\S+) (\d+)$/.exec(name);
  return m ? hostPort(m[1]!, Number(m[2])) : name;
}

/** Lower-case hex of the address bytes (8 digits for IPv4, 32 for IPv6): for object names. */
export function ipHex(a: IpAddress): string {
  return Buffer.from(a.bytes).toString('hex');
}

/** Bits in an address of the family. */
export function addressBits(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

/** The netmask of a prefix length as address bytes. */
export function prefixMaskBytes(family: 4 | 6, length: number): Uint8Array {
  const bits = addressBits(family);
  if (!Number.isInteger(length) || length < 0 || length > bits) throw new RangeError(`bad prefix length ${length}`);
  const out = new Uint8Array(bits / 8);
  for (let i = 0; i < out.length; i++) {
    const left = length - 8 * i;
    out[i] = left >= 8 ? 0xff : left <= 0 ? 0 : (0xff << (8 - left)) & 0xff;
  }
  return out;
}

/** The address with every bit after the first `length` cleared (the network of a prefix). */
export function networkOf(a: IpAddress, length: number): IpAddress {
  const mask = prefixMaskBytes(a.family, length);
  return { family: a.family, bytes: a.bytes.map((b, i) => b & mask[i]!) };
}

/** Whether `addr` lies in `net`/`length`; false across families or for a bad length. */
export function inPrefix(addr: IpAddress, net: IpAddress, length: number): boolean {
  if (addr.family !== net.family || !Number.isInteger(length) || length < 0 || length > addressBits(addr.family)) return false;
  return compareIp(networkOf(addr, length), networkOf(net, length)) === 0;
}

/** "ADDRESS/LENGTH" (a decimal length without leading zeros, within the family's width), or null. */
export function parseIpPrefix(s: string): IpPrefix | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const address = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!address || !/^(?:0|[1-9][0-9]{0,2})$/.test(lenText)) return null;
  const length = Number(lenText);
  return length <= addressBits(address.family) ? { address, length } : null;
}
