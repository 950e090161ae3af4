// Linux interface names and IPv4 address labels, as the kernel takes them: a name it refuses
// would only show at run time, as a VIP that is not there on a board that is MASTER.

/** IFNAMSIZ (include/uapi/linux/if.h): names and labels hold at most 15 bytes. */
export const IFNAME_MAX_BYTES = 15;

const RULE = "Linux: 1-15 bytes, no '/', ':' or blanks, not '.' or '..'";

/** What is wrong with an interface name (net/core/dev.c dev_valid_name), or null. */
export function ifnameProblem(name: string): string | null {
  if (name === '') return `it is empty (${RULE})`;
  if (Buffer.byteLength(name) > IFNAME_MAX_BYTES) return `it is longer than ${IFNAME_MAX_BYTES} bytes (${RULE})`;
  if (name === '.' || name === '..') return `'.' and '..' are not names (${RULE})`;
  if (/[/:\s]/.test(name)) return `it holds '/', ':' or a blank (${RULE}; ':' belongs in a label)`;
  return null;
}

/**
 * What is wrong with an address label for device `dev` (IFA_LABEL: at most 15 bytes, and it
 * must start with the device's name; keepalived documents `label eth0:1`), or null.
 */
export function labelProblem(label: string, dev: string): string | null {
  if (Buffer.byteLength(label) > IFNAME_MAX_BYTES) return `is longer than ${IFNAME_MAX_BYTES} bytes`;
  if (/[/\s]/.test(label)) return "holds a blank or '/'";
  if (!label.startsWith(dev)) return `must start with the device name ${dev} (e.g. ${dev}:1)`;
  return null;
}
