// Text layout for `show` output: fixed-width tables that read well on an 80-column serial terminal.

export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return (
    cells
      .map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!))).join('  ').trimEnd())
      .join('\n') + '\n'
  );
}

export function duration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d${h}h${m}m`;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function opt(v: number | null | undefined, suffix = '', digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : `${Number.isInteger(v) ? v : v.toFixed(digits)}${suffix}`;
}

/** A number with line numbers, for showing the candidate next to `candidate:LINE:COL` errors. */
export function numbered(text: string): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const w = String(lines.length).length;
  return lines.map((l, i) => `${String(i + 1).padStart(w)}  ${l}`).join('\n') + '\n';
}
