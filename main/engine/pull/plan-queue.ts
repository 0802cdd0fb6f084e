// The work of a pull plan waiting its turn, in the order a pull carries it out: bookkeeping,
// folders top-down, files and symlinks, deletions deepest first. A plan under way takes in what a
// later need pass found (NeedBook.planChanges) without being made again: a new device that gets a
// long index page by page adds each page's paths, at a cost of that page, not of the share.
import { comparePaths, depthOf, type PlannedPath } from './need.ts';

/** A binary heap: the least item (by `before`) first; O(log n) to add or take. */
class Heap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const h = this.items;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.before(h[i]!, h[up]!)) break;
      [h[i], h[up]] = [h[up]!, h[i]!];
      i = up;
    }
  }

  pop(): T | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

interface Dir {
  item: PlannedPath;
  depth: number;
}

/** Which list of a plan a path goes to. */
function listOf(p: PlannedPath): 'adopts' | 'dirs' | 'files' | 'deletes' {
  if (p.kind === 'adopt') return 'adopts';
  if (p.kind === 'delete') return 'deletes';
  return p.type === 'dir' ? 'dirs' : 'files';
}

/**
 * A plan's paths not yet taken, one per path: a path added again as it was planned is left where it
 * waits (its records are read again when its turn comes); planned otherwise (a fetch that became a
 * deletion, a new size), it waits in its new place, and its old place is skipped.
 */
export class PlanQueue {
  private adopts: PlannedPath[] = [];
  /** shallowest first, then in index order: the folders of one depth are made at once, each after its parent */
  private readonly dirs = new Heap<Dir>(
    (a, b) => a.depth - b.depth < 0 || (a.depth === b.depth && comparePaths(a.item.path, b.item.path) < 0),
  );
  /** in the order they were planned (index order within each pass) */
  private files: PlannedPath[] = [];
  private filesAt = 0;
  /** deepest first (a folder's contents sort after it), so a folder is empty when its turn comes */
  private readonly deletes = new Heap<PlannedPath>((a, b) => comparePaths(a.path, b.path) > 0);
  /** the path's place that counts: an item taken from a list where it is not this one is skipped */
  private readonly queued = new Map<string, PlannedPath>();

  constructor(items: Iterable<PlannedPath> = []) {
    this.add(items);
  }

  /** Adds what is not waiting already; returns how many were added. */
  add(items: Iterable<PlannedPath>): number {
    let added = 0;
    for (const p of items) {
      const had = this.queued.get(p.path);
      if (had && had.kind === p.kind && had.type === p.type && had.size === p.size) continue;
      this.queued.set(p.path, p);
      added++;
      switch (listOf(p)) {
        case 'adopts':
          this.adopts.push(p);
          break;
        case 'dirs':
          this.dirs.push({ item: p, depth: depthOf(p.path) });
          break;
        case 'files':
          this.files.push(p);
          break;
        case 'deletes':
          this.deletes.push(p);
          break;
      }
    }
    return added;
  }

  /** Paths waiting (tests). */
  get size(): number {
    return this.queued.size;
  }

  /** What waits, one item per path, in no particular order (tests). */
  waiting(): PlannedPath[] {
    return [...this.queued.values()];
  }

  /** Whether `p` still holds its path's place (else it was replaced, and is skipped). */
  private current(p: PlannedPath): boolean {
    if (this.queued.get(p.path) !== p) return false;
    this.queued.delete(p.path);
    return true;
  }

  takeAdopts(): PlannedPath[] {
    const out = this.adopts.filter((p) => this.current(p));
    this.adopts = [];
    return out;
  }

  /** The depth of the next folder to make, or null when none waits. */
  nextDirDepth(): number | null {
    for (;;) {
      const d = this.dirs.peek();
      if (!d) return null;
      if (this.queued.get(d.item.path) === d.item) return d.depth;
      this.dirs.pop();
    }
  }

  /** The next folder, if it is at `depth`. */
  takeDir(depth: number): PlannedPath | null {
    if (this.nextDirDepth() !== depth) return null;
    const d = this.dirs.pop()!;
    this.current(d.item);
    return d.item;
  }

  /** The next file or symlink, without taking it. */
  nextFile(): PlannedPath | null {
    while (this.filesAt < this.files.length) {
      const p = this.files[this.filesAt]!;
      if (this.queued.get(p.path) === p) return p;
      this.filesAt++;
    }
    this.compactFiles();
    return null;
  }

  /** The next files and symlinks, up to `n`, without taking them. */
  nextFiles(n: number): PlannedPath[] {
    const out: PlannedPath[] = [];
    for (let i = this.filesAt; i < this.files.length && out.length < n; i++) {
      const p = this.files[i]!;
      if (this.queued.get(p.path) === p) out.push(p);
    }
    return out;
  }

  takeFile(): PlannedPath | null {
    const p = this.nextFile();
    if (!p) return null;
    this.filesAt++;
    this.current(p);
    if (this.filesAt >= 4096 && this.filesAt * 2 >= this.files.length) this.compactFiles();
    return p;
  }

  private compactFiles(): void {
    this.files = this.files.slice(this.filesAt);
    this.filesAt = 0;
  }

  hasDeletes(): boolean {
    for (;;) {
      const p = this.deletes.peek();
      if (!p) return false;
      if (this.queued.get(p.path) === p) return true;
      this.deletes.pop();
    }
  }

  takeDelete(): PlannedPath | null {
    if (!this.hasDeletes()) return null;
    const p = this.deletes.pop()!;
    this.current(p);
    return p;
  }
}
