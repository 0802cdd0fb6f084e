// A line diff for the conflict viewer (Myers' O(ND) algorithm), grouped into hunks with context.

export type DiffOp = { kind: 'same' | 'del' | 'add'; text: string; a: number | null; b: number | null };

export interface DiffResult {
  ops: DiffOp[];
  /** true when the inputs were too different to diff within the budget: ops is all-del then all-add */
  gaveUp: boolean;
}

export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Line diff of a -> b. `maxEdits` bounds the work (and the memory of the trace) for very different
 * inputs; past it the result is "everything changed", which is what a person would see anyway.
 */
export function diffLines(aText: string, bText: string, maxEdits = 1000): DiffResult {
  const a = splitLines(aText);
  const b = splitLines(bText);
  // Common prefix and suffix are cheap and make the search small.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: DiffOp[] = [];
  for (let i = 0; i < start; i++) ops.push({ kind: 'same', text: a[i], a: i + 1, b: i + 1 });
  const mid = myers(a.slice(start, endA), b.slice(start, endB), maxEdits);
  const gaveUp = mid === null;
  const middle = mid ?? [
    ...a.slice(start, endA).map((_, i) => ['del', i, -1] as const),
    ...b.slice(start, endB).map((_, j) => ['add', -1, j] as const),
  ];
  for (const [kind, i, j] of middle) {
    if (kind === 'same') ops.push({ kind, text: a[start + i], a: start + i + 1, b: start + j + 1 });
    else if (kind === 'del') ops.push({ kind, text: a[start + i], a: start + i + 1, b: null });
    else ops.push({ kind, text: b[start + j], a: null, b: start + j + 1 });
  }
  for (let k = 0; k < a.length - endA; k++) ops.push({ kind: 'same', text: a[endA + k], a: endA + k + 1, b: endB + k + 1 });
  return { ops, gaveUp };
}

type Step = readonly ['same' | 'del' | 'add', number, number];

function myers(a: string[], b: string[], maxEdits: number): Step[] | null {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = n === 0 && m === 0;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  if (!found) return null;
  // Walk the trace back from (n, m).
  const steps: Step[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d];
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1] < vd[offset + k + 1]) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[offset + prevK];
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      steps.push(['same', x, y]);
    }
    if (d > 0) {
      if (x === prevX) steps.push(['add', -1, prevY]);
      else steps.push(['del', prevX, -1]);
    }
    x = prevX;
    y = prevY;
  }
  return steps.reverse();
}

export type Hunk = { ops: DiffOp[] } | { skipped: number };

/** Unchanged runs longer than 2*context collapse into a "n unchanged lines" marker. */
export function hunks(ops: DiffOp[], context = 3): Hunk[] {
  const out: Hunk[] = [];
  let i = 0;
  let current: DiffOp[] = [];
  while (i < ops.length) {
    if (ops[i].kind !== 'same') {
      current.push(ops[i++]);
      continue;
    }
    let j = i;
    while (j < ops.length && ops[j].kind === 'same') j++;
    const run = ops.slice(i, j);
    const atStart = i === 0;
    const atEnd = j === ops.length;
    const keepHead = atStart ? 0 : context;
    const keepTail = atEnd ? 0 : context;
    if (run.length > keepHead + keepTail + 1) {
      current.push(...run.slice(0, keepHead));
      if (current.length) out.push({ ops: current });
      out.push({ skipped: run.length - keepHead - keepTail });
      current = run.slice(run.length - keepTail);
    } else {
      current.push(...run);
    }
    i = j;
  }
  if (current.length) out.push({ ops: current });
  return out;
}
