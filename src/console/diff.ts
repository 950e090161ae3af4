// Unified-style line diff for `show diff` (running vs candidate). Pure.
// Common leading and trailing lines are trimmed first (a console edit touches a few lines), then
// the middle is diffed by longest common subsequence. The middle is bounded: past the bound the
// whole middle is shown as replaced, which is still a correct diff, only a less minimal one.

const MAX_CELLS = 4_000_000;
const CONTEXT = 3;

type Op = { kind: ' ' | '-' | '+'; text: string; a: number; b: number };

function lcsOps(a: string[], b: string[], aOff: number, bOff: number): Op[] {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0 || n * m > MAX_CELLS) {
    return [
      ...a.map((text, i) => ({ kind: '-' as const, text, a: aOff + i, b: bOff })),
      ...b.map((text, j) => ({ kind: '+' as const, text, a: aOff + n, b: bOff + j })),
    ];
  }
  // dp[i][j] = LCS length of a[i..] and b[j..], in one flat array.
  const w = m + 1;
  const dp = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i * w + j] = a[i] === b[j] ? dp[(i + 1) * w + j + 1]! + 1 : Math.max(dp[(i + 1) * w + j]!, dp[i * w + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', text: a[i]!, a: aOff + i, b: bOff + j });
      i++;
      j++;
    } else if (j < m && (i === n || dp[i * w + j + 1]! > dp[(i + 1) * w + j]!)) {
      // Ties go to the deletion, so a changed line reads '-old' then '+new' as in diff -u.
      ops.push({ kind: '+', text: b[j]!, a: aOff + i, b: bOff + j });
      j++;
    } else {
      ops.push({ kind: '-', text: a[i]!, a: aOff + i, b: bOff + j });
      i++;
    }
  }
  return ops;
}

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Returns '' when the texts are equal. */
export function unifiedDiff(oldText: string, newText: string, oldName = 'running', newName = 'candidate'): string {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  if (pre === a.length && pre === b.length) return '';
  const ops: Op[] = [];
  for (let k = 0; k < pre; k++) ops.push({ kind: ' ', text: a[k]!, a: k, b: k });
  ops.push(...lcsOps(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf), pre, pre));
  for (let k = suf; k > 0; k--) ops.push({ kind: ' ', text: a[a.length - k]!, a: a.length - k, b: b.length - k });

  // Group changes into hunks with CONTEXT lines around them (diff -u).
  const out: string[] = [`--- ${oldName}`, `+++ ${newName}`];
  let k = 0;
  while (k < ops.length) {
    while (k < ops.length && ops[k]!.kind === ' ') k++;
    if (k >= ops.length) break;
    const start = Math.max(0, k - CONTEXT);
    let end = k;
    // Extend while the next change is within 2*CONTEXT unchanged lines.
    for (;;) {
      while (end < ops.length && ops[end]!.kind !== ' ') end++;
      let gap = end;
      while (gap < ops.length && ops[gap]!.kind === ' ') gap++;
      if (gap < ops.length && gap - end <= 2 * CONTEXT) end = gap;
      else break;
    }
    const stop = Math.min(ops.length, end + CONTEXT);
    const hunk = ops.slice(start, stop);
    const aLen = hunk.filter((o) => o.kind !== '+').length;
    const bLen = hunk.filter((o) => o.kind !== '-').length;
    const aStart = hunk[0]!.a + (aLen ? 1 : 0);
    const bStart = hunk[0]!.b + (bLen ? 1 : 0);
    // diff -u leaves out ",1" for one-line ranges.
    const range = (start: number, len: number): string => (len === 1 ? `${start}` : `${start},${len}`);
    out.push(`@@ -${range(aStart, aLen)} +${range(bStart, bLen)} @@`);
    for (const o of hunk) out.push(o.kind + o.text);
    k = stop;
  }
  return out.join('\n') + '\n';
}
