// Showing strings that came from MQTT. Anyone who may publish to the broker chooses them (node
// names in topics, fields of `birth`, `vrrp/…`, `lb/…`, `health`), so nothing of theirs may
// reach an operator's terminal as control sequences or a web page as markup. One place for
// both: `tandem fleet`'s table and JSON (terminal) and the fleet web page (HTML) call these.
//
// Terminal: C0 controls (ESC starts every sequence: window title, clear screen, cursor
// moves), DEL, C1 controls (U+0080–U+009F: U+009B is CSI and U+009D OSC on terminals that
// honour 8-bit controls), and the Unicode format characters that reorder or hide text (bidi
// overrides and isolates, zero-width and line/paragraph separators) are shown as \xHH or
// \u{HHHH}. Printable text, including non-ASCII letters, is left alone.

/** Characters that must never reach a terminal as they are. */
const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/gu;

/** The same without C0: inside JSON strings those are escaped already, outside they are its layout. */
const JSON_UNSAFE = /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/gu;

function visible(c: string): string {
  const n = c.codePointAt(0) ?? 0;
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
}

/** A string from MQTT as it may be written to a terminal. */
export function escapeTerminal(s: string): string {
  return s.replace(TERMINAL_UNSAFE, visible);
}

/** Any value from MQTT shown in a terminal: strings escaped, others as text. */
export function terminalText(v: unknown): string {
  return escapeTerminal(typeof v === 'string' ? v : String(v));
}

/**
 * JSON for a terminal: JSON.stringify already writes C0 controls as \u00XX, but not DEL, C1 or
 * the format characters; those become \uXXXX too, so the output is still the same JSON.
 */
export function jsonForTerminal(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(JSON_UNSAFE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * A string from MQTT as HTML text or a quoted attribute value (the fleet web page). Markup
 * characters become entities; the characters a terminal must not see are shown the same way
 * here, so a page and the table show the same text.
 */
export function escapeHtml(s: string): string {
  return escapeTerminal(s).replace(/[&<>"']/g, (c) => HTML[c] ?? c);
}
