// Text that remembers where each character was written. keepalived's configuration language
// (language.ts) rewrites lines before they are read: it strips `@ID` prefixes, substitutes
// `$NAME` parameters, repeats `~SEQ` lines. A diagnostic must still point at the original file,
// line and column, and the console must know which characters it may rewrite (source-edit.ts),
// so every logical line carries, per character, the column it came from on its physical line.
//
// Characters substituted for a `$NAME` reference all map to the reference itself (its first
// column, and the column after it): that is where the operator wrote them.
import type { Pos } from './model.ts';

/** Where a logical line came from. One object per logical line; its tokens share it. */
export interface LineOrigin {
  /** The file and physical line the line's text was written on. */
  readonly file: string;
  readonly line: number;
  /**
   * 'text': written as it is read; 'definition': a line of a multi-line `$NAME=` definition,
   * expanded where `at` points; 'sequence': repeated by a `~SEQ`/`~LST` written at `at`.
   */
  readonly via: 'text' | 'definition' | 'sequence';
  /** Where the definition was expanded or the sequence written (null for 'text'). */
  readonly at: Pos | null;
  /** The `@ID` / `@^ID` prefix the line was selected by, null for a line every board reads. */
  readonly cond: { readonly id: string; readonly negated: boolean } | null;
}

/** A run of characters [start, next run's start): text (columns from `col` on) or one substitution. */
interface Run {
  start: number;
  /** Text: the column of the run's first character. Substitution: the reference's first column. */
  col: number;
  /** Substitution: the column after the reference; -1 for text. */
  end: number;
}

export class Mapped {
  private constructor(readonly text: string, private readonly runs: readonly Run[]) {}

  /** Text written at column `col` onwards of its line. */
  static text(text: string, col: number): Mapped {
    return new Mapped(text, [{ start: 0, col, end: -1 }]);
  }

  /** Text that stands for the reference written at columns [col, end). */
  static substituted(text: string, col: number, end: number): Mapped {
    return new Mapped(text, [{ start: 0, col, end }]);
  }

  get length(): number {
    return this.text.length;
  }

  private runAt(i: number): Run {
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runs[mid]!.start <= i) lo = mid; else hi = mid - 1;
    }
    return this.runs[lo]!;
  }

  /** The column character i was written at (the reference's for a substituted one). */
  colAt(i: number): number {
    if (this.text.length === 0) return this.runs[0]!.col;
    const k = Math.min(Math.max(i, 0), this.text.length - 1);
    const r = this.runAt(k);
    return r.end < 0 ? r.col + (k - r.start) + (i > k ? i - k : 0) : r.col;
  }

  /** The column after character i's source text. */
  endAt(i: number): number {
    const r = this.runAt(Math.min(Math.max(i, 0), Math.max(0, this.text.length - 1)));
    return r.end < 0 ? this.colAt(i) + 1 : r.end;
  }

  /** Whether any character in [a, b) came from a substitution. */
  substitutedIn(a: number, b: number): boolean {
    if (this.runs.length === 1) return this.runs[0]!.end >= 0 && b > a;
    for (let k = 0; k < this.runs.length; k++) {
      const r = this.runs[k]!;
      const next = this.runs[k + 1]?.start ?? this.text.length;
      if (r.end >= 0 && r.start < b && next > a && next > r.start) return true;
    }
    return false;
  }

  slice(a: number, b: number = this.text.length): Mapped {
    a = Math.max(0, Math.min(a, this.text.length));
    b = Math.max(a, Math.min(b, this.text.length));
    if (a === b) return new Mapped('', [{ start: 0, col: this.colAt(a), end: -1 }]);
    const runs: Run[] = [];
    for (let k = 0; k < this.runs.length; k++) {
      const r = this.runs[k]!;
      const next = this.runs[k + 1]?.start ?? this.text.length;
      if (next <= a || r.start >= b) continue;
      const s = Math.max(r.start, a);
      runs.push({ start: s - a, col: r.end < 0 ? r.col + (s - r.start) : r.col, end: r.end });
    }
    return new Mapped(this.text.slice(a, b), runs);
  }

  concat(other: Mapped): Mapped {
    if (other.length === 0) return this;
    if (this.length === 0) return other;
    const runs = [...this.runs.filter((r, k) => (this.runs[k + 1]?.start ?? this.text.length) > r.start)];
    for (const r of other.runs) runs.push({ start: r.start + this.text.length, col: r.col, end: r.end });
    return new Mapped(this.text + other.text, runs);
  }

  /** [a, b) replaced by `by`. */
  splice(a: number, b: number, by: Mapped): Mapped {
    return this.slice(0, a).concat(by).concat(this.slice(b));
  }

  /** Without leading and trailing blanks (space, tab). */
  trim(): Mapped {
    let a = 0;
    let b = this.text.length;
    while (a < b && (this.text[a] === ' ' || this.text[a] === '\t')) a++;
    while (b > a && (this.text[b - 1] === ' ' || this.text[b - 1] === '\t')) b--;
    return a === 0 && b === this.text.length ? this : this.slice(a, b);
  }
}
