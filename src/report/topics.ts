// MQTT topic names of DESIGN.md's "MQTT" table, all under `PREFIX/NODE/`.
//
// Topic levels built from names we do not control (node, instance, VS, RS) are sanitized so a
// name can never add a level or act as a wildcard (MQTT 5 §4.7.1: `/` separates levels, `+` and
// `#` are wildcards and are not allowed in a PUBLISH topic; §4.7.3: no U+0000; §1.5.4: no
// control characters in practice). Each such character, and whitespace, becomes `_`.
// Virtual and real servers are named "ADDRESS PORT" in the configuration (keepalived syntax);
// in topics they are written `ADDRESS:PORT`, e.g. `tandem/lb1/lb/203.0.113.10:80/198.51.100.11:8080`.

/** Characters that must not appear inside one topic level we generate. */
const UNSAFE = /[\s/+#\u0000-\u001f\u007f]/gu;

/** One topic level from an arbitrary name: never empty, never a wildcard, never a separator. */
export function sanitizeLevel(name: string): string {
  const s = name.trim().replace(UNSAFE, '_');
  // A level starting with `$` is reserved for the broker ($SYS) only at the topic's start, but
  // keeping it out everywhere is simpler to reason about.
  const t = s.startsWith('$') ? `_${s.slice(1)}` : s;
  return t.length === 0 ? '_' : t;
}

/**
 * A virtual or real server as a topic level. Accepts "ADDRESS PORT" (the model's `name`),
 * "ADDRESS:PORT", or an address and port given apart.
 */
export function serverLevel(nameOrAddress: string, port?: number): string {
  if (port !== undefined) return sanitizeLevel(`${nameOrAddress}:${port}`);
  const m = /^\s*(\S+)\s+(\d+)\s*$/u.exec(nameOrAddress);
  return sanitizeLevel(m ? `${m[1]}:${m[2]}` : nameOrAddress);
}

/**
 * The prefix may have several levels ("site3/tandem"), so `/` is kept; wildcards, empty levels
 * and control characters are not.
 */
export function sanitizePrefix(prefix: string): string {
  const levels = prefix.split('/').filter((l) => l.length > 0).map(sanitizeLevel);
  return levels.length === 0 ? 'tandem' : levels.join('/');
}

export interface NodeTopics {
  /** `PREFIX/NODE` */
  base: string;
  status: string;
  birth: string;
  health: string;
  events: string;
  cmdRebirth: string;
  vrrp(instance: string): string;
  /** vs and rs as "ADDRESS PORT" or "ADDRESS:PORT". */
  lb(vs: string, rs: string): string;
}

export function nodeTopics(prefix: string, node: string): NodeTopics {
  const base = `${sanitizePrefix(prefix)}/${sanitizeLevel(node)}`;
  return {
    base,
    status: `${base}/status`,
    birth: `${base}/birth`,
    health: `${base}/health`,
    events: `${base}/events`,
    cmdRebirth: `${base}/cmd/rebirth`,
    vrrp: (instance) => `${base}/vrrp/${sanitizeLevel(instance)}`,
    lb: (vs, rs) => `${base}/lb/${serverLevel(vs)}/${serverLevel(rs)}`,
  };
}

/** The subscription that sees every board under a prefix (the fleet view). */
export function fleetFilter(prefix: string): string {
  return `${sanitizePrefix(prefix)}/+/#`;
}

export type ParsedTopic =
  | { node: string; kind: 'status' | 'birth' | 'health' | 'events' | 'cmd/rebirth' }
  | { node: string; kind: 'vrrp'; instance: string }
  | { node: string; kind: 'lb'; vs: string; rs: string };

/** Splits a topic received under `prefix` back into its parts; null for anything else. */
export function parseTopic(prefix: string, topic: string): ParsedTopic | null {
  const p = sanitizePrefix(prefix) + '/';
  if (!topic.startsWith(p)) return null;
  const rest = topic.slice(p.length).split('/');
  const [node, ...tail] = rest;
  if (!node) return null;
  const k = tail.join('/');
  switch (k) {
    case 'status':
    case 'birth':
    case 'health':
    case 'events':
    case 'cmd/rebirth':
      return { node, kind: k };
    default:
      break;
  }
  if (tail.length === 2 && tail[0] === 'vrrp' && tail[1]) return { node, kind: 'vrrp', instance: tail[1] };
  if (tail.length === 3 && tail[0] === 'lb' && tail[1] && tail[2]) return { node, kind: 'lb', vs: tail[1], rs: tail[2] };
  return null;
}
