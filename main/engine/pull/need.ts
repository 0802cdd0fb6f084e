// What this device needs of a share: every path where its own entry differs from the global one
// (sync/decide), in the order the puller carries it out, plus the share's totals for status.
import type { FileRecord, PathEntries } from '../index/rows.ts';
import type { IndexStore } from '../index/store.ts';
import { decide, type Decision } from '../sync/decide.ts';
import { compareVectors } from '../sync/vv.ts';
import { readOnlyChange, sharedGlobal } from '../sync/read-only.ts';
import { tempRelPath } from './file-puller.ts';
import { unsafeRemotePath } from './path-safety.ts';
import type { RetryBook } from './retry.ts';

export interface NeedItem {
  path: string;
  global: FileRecord;
  local: FileRecord | undefined;
  decision: Exclude<Decision, { kind: 'none' }>;
  /**
   * The other devices whose entry was exactly the global version when the item was resolved
   * (resolvePlanned): whom to ask for its chunks first, without a lookup per chunk and peer.
   */
  holders?: readonly string[];
}

export interface NeedTotals {
  globalFiles: number;
  globalBytes: number;
  /** files and symlinks still to get or delete; folders and bookkeeping-only changes are not "files" */
  needFiles: number;
  needBytes: number;
  /** on a read-only share: paths changed here, which no other device accepts (sync/read-only.ts) */
  localChanges: number;
}

/**
 * A path a plan will carry out: only what ordering it and the flight decisions need. Its records
 * are read again when its turn comes (Puller.guard does anyway: the index may have moved on), so
 * a plan for 100,000 files holds ~100 B per file instead of two decoded records (~1.2 KB).
 */
export interface PlannedPath {
  path: string;
  kind: NeedItem['decision']['kind'];
  /** the global entry's type and size when the need was computed */
  type: FileRecord['type'];
  size: number;
}

export interface Need {
  /** what to do now (paths waiting after a failure are left out, but counted in the totals) */
  items: PlannedPath[];
  totals: NeedTotals;
  /** the temp files pulls still want (an interrupted pull resumes from its temp file); kept up to date by the book */
  ownedTemps: ReadonlySet<string>;
}

/** The content hash a file's temp name carries (an empty file has the hash of no bytes). */
export function contentHashOf(r: Pick<FileRecord, 'hash'>): string {
  return r.hash || 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
}

/** What a pull of a path was decided from: when either side changes, it is a new decision. */
export function decisionKey(local: FileRecord | undefined, global: FileRecord): string {
  return `${JSON.stringify(global.version)}|${global.deleted}|${local ? `${local.sequence}:${JSON.stringify(local.version)}` : '-'}`;
}

/**
 * What an unchanged path adds to a need pass, kept between passes (NeedBook): one object and its
 * strings per path (a new device keeps one per file it still needs).
 */
interface PathNeed {
  /** the global entry's contribution to the share's files and bytes less the local entry's */
  files: number;
  bytes: number;
  /** on a read-only share: changed here, and accepted by no other device */
  localChange: boolean;
  /** what to do, or null: nothing */
  planned: PlannedPath | null;
  /**
   * decisionKey() when the path had a failure as it was read, else null: read again when a
   * failure needs it (a failed pull waits only while its decision stays the same). Most paths
   * never fail, and a new device keeps ~100 000 of these.
   */
  key: string | null;
  /** the temp file a fetch of a file builds */
  temp: string | null;
  /** why this file system cannot hold the path */
  unsafe: string | null;
}

/** A path's figures as a file or symlink (not deleted, not a folder): counted, and bytes of files. */
function counted(e: FileRecord | undefined): boolean {
  return !!e && !e.deleted && e.type !== 'dir';
}

/** What one path adds to a need pass, from all devices' entries for it; null when nothing. */
function pathNeed(path: string, entries: readonly FileRecord[], self: string, readOnly: boolean, failures: RetryBook): PathNeed | null {
  const global = sharedGlobal(entries, self, readOnly);
  const local = entries.find((e) => e.deviceId === self);
  const localChange = readOnly && readOnlyChange(local, global) !== null;
  // the local entry's figures are the store's kept counts (IndexStore.counts: files + symlinks,
  // bytes of files), so a path adds only where the global entry's differ
  const files = (counted(global) ? 1 : 0) - (counted(local) ? 1 : 0);
  const bytes = (counted(global) ? global!.size : 0) - (counted(local) && local!.type === 'file' ? local!.size : 0);
  const decision = decide(local, global, self);
  if (decision.kind === 'none' || !global)
    return files || bytes || localChange ? { files, bytes, localChange, planned: null, key: null, temp: null, unsafe: null } : null;
  return {
    files,
    bytes,
    localChange,
    planned: { path, kind: decision.kind, type: global.type, size: global.size },
    key: failures.has(path) ? decisionKey(local, global) : null,
    temp: decision.kind === 'fetch' && global.type === 'file' ? tempRelPath(path, contentHashOf(global)) : null,
    unsafe: unsafeRemotePath(path),
  };
}

/**
 * Orders paths as the index does (SQLite compares text as UTF-8 bytes, i.e. by code point; JS
 * compares UTF-16 units, which puts U+E000..U+FFFF after the surrogates of higher code points).
 */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/** The local entries' figures, as IndexStore.counts gives them for the local device. */
export interface LocalTotals {
  files: number;
  bytes: number;
}

/**
 * What a share needs, kept between need passes: only the paths that add something (a decision,
 * a global entry unlike the local one, a local change of a read-only share), so that a pass after
 * a few paths changed reads those paths only. Every decision is the one a pass over every path
 * makes (need-book.test.ts compares them on random indexes); the local entries' totals come from
 * the store (kept up to date by its writes), the rest from sums kept as paths come and go.
 *
 * Two ways to plan: `plan()` lists everything to do now (a new plan, O(paths kept)), and
 * `planChanges()` only what changed since the last plan of either kind (O(paths changed and
 * failures)), for a plan under way to take in: on a new device the book holds every file still
 * needed, and a plan per index page over all of them cost the whole share per page.
 */
export class NeedBook {
  private readonly paths = new Map<string, PathNeed>();
  /** the kept paths in index order (may still hold paths since dropped: skipped when read) */
  private order: string[] = [];
  /** paths kept since `order` was last sorted */
  private readonly added = new Set<string>();
  /** paths whose need was read since the last plan (planChanges looks at these) */
  private readonly touched = new Set<string>();
  /** the paths with a failure after the last plan: one whose failure has gone may be planned again */
  private failedAtPlan: string[] = [];
  /** the sums over the kept paths (the local entries' totals are added when planning) */
  private readonly sums = { files: 0, bytes: 0, needFiles: 0, needBytes: 0, localChanges: 0 };
  /** the temp files the kept fetches of files build (an interrupted pull resumes from its temp file) */
  readonly ownedTemps = new Set<string>();
  /**
   * Paths looked at: read from the index (update) or walked by a plan. Tests count it: a pass
   * must cost the paths that changed, not the share.
   */
  visits = 0;

  constructor(
    readonly self: string,
    readonly readOnly: boolean,
  ) {}

  /** A book of every path of a share, with the local entries' totals it read on the way. */
  static full(all: Iterable<PathEntries>, self: string, readOnly: boolean, failures: RetryBook): { book: NeedBook; local: LocalTotals } {
    const book = new NeedBook(self, readOnly);
    const local: LocalTotals = { files: 0, bytes: 0 };
    for (const { path, entries } of all) {
      book.visits++;
      const own = entries.find((e) => e.deviceId === self);
      if (counted(own)) {
        local.files++;
        if (own!.type === 'file') local.bytes += own!.size;
      }
      const n = pathNeed(path, entries, self, readOnly, failures);
      if (n) {
        book.keep(path, n);
        book.order.push(path); // iterateByPath reads in index order
      }
    }
    return { book, local };
  }

  /** Some paths' entries as they are now (a path without entries left: an empty list). */
  update(changed: Iterable<PathEntries>, failures: RetryBook): void {
    for (const { path, entries } of changed) {
      this.visits++;
      this.touched.add(path);
      const n = entries.length ? pathNeed(path, entries, this.self, this.readOnly, failures) : null;
      const had = this.paths.get(path);
      if (had) this.drop(path, had);
      if (n) {
        if (!had) this.added.add(path);
        this.keep(path, n);
      }
    }
  }

  private keep(path: string, n: PathNeed): void {
    this.paths.set(path, n);
    this.count(n, 1);
  }

  private drop(path: string, n: PathNeed): void {
    this.paths.delete(path);
    this.count(n, -1);
  }

  private count(n: PathNeed, sign: 1 | -1): void {
    const s = this.sums;
    s.files += sign * n.files;
    s.bytes += sign * n.bytes;
    if (n.localChange) s.localChanges += sign;
    const p = n.planned;
    if (p && p.kind !== 'adopt' && p.type !== 'dir') s.needFiles += sign;
    if (p && p.kind === 'fetch' && p.type === 'file') s.needBytes += sign * p.size;
    if (n.temp !== null) {
      if (sign > 0) this.ownedTemps.add(n.temp);
      else this.ownedTemps.delete(n.temp);
    }
  }

  /** Paths kept (tests and benches). */
  get size(): number {
    return this.paths.size;
  }

  private totals(local: LocalTotals): NeedTotals {
    const s = this.sums;
    return {
      globalFiles: local.files + s.files,
      globalBytes: local.bytes + s.bytes,
      needFiles: s.needFiles,
      needBytes: s.needBytes,
      localChanges: s.localChanges,
    };
  }

  /**
   * The need, in index order. `failures` learns which paths are no longer needed and which names
   * this file system cannot hold; paths waiting after a failure are counted but not planned.
   */
  plan(local: LocalTotals, failures: RetryBook, now: number, entriesOf: (path: string) => readonly FileRecord[]): Need {
    this.sort();
    this.touched.clear();
    return this.needOf(this.order, local, failures, now, entriesOf);
  }

  /**
   * What to do now that was not in the last plan, in index order: the paths read since (a plan under
   * way may hold them already: PlanQueue keeps one of each) and the failed paths that may be tried
   * again (their wait is over, their decision changed, or their failure has gone). Together with
   * the plans before it, it holds everything `plan()` would list, and never something it would not
   * list at the time. Totals as `plan()` gives them.
   */
  planChanges(local: LocalTotals, failures: RetryBook, now: number, entriesOf: (path: string) => readonly FileRecord[]): Need {
    const look = new Set(this.touched);
    this.touched.clear();
    for (const path of failures.paths()) look.add(path);
    for (const path of this.failedAtPlan) look.add(path);
    return this.needOf([...look].sort(comparePaths), local, failures, now, entriesOf);
  }

  /** What to do about `paths` (in index order), the totals, and the failures of paths no longer needed dropped. */
  private needOf(
    paths: readonly string[],
    local: LocalTotals,
    failures: RetryBook,
    now: number,
    entriesOf: (path: string) => readonly FileRecord[],
  ): Need {
    const items: PlannedPath[] = [];
    for (const path of paths) {
      this.visits++;
      const item = this.toDo(path, failures, now, entriesOf);
      if (item) items.push(item);
    }
    failures.keepOnly({ has: (path) => !!this.paths.get(path)?.planned });
    this.failedAtPlan = failures.paths();
    return { items, totals: this.totals(local), ownedTemps: this.ownedTemps };
  }

  /** What to do about one path now, if anything (a refused name is recorded as such). */
  private toDo(path: string, failures: RetryBook, now: number, entriesOf: (path: string) => readonly FileRecord[]): PlannedPath | null {
    const p = this.paths.get(path);
    const n = p?.planned;
    if (!p || !n) return null;
    if (p.unsafe !== null) {
      failures.refused(path, `not synced: ${p.unsafe}`);
      return null;
    }
    // a path that failed since it was read is unchanged since (else it would have been read
    // again): its decision, from its entries as they are, is the one its failure was for
    if (failures.has(path) && failures.waiting(path, p.key ?? this.keyOf(path, entriesOf(path)), now)) return null;
    return n;
  }

  private keyOf(path: string, entries: readonly FileRecord[]): string {
    const global = sharedGlobal(entries, this.self, this.readOnly);
    return global
      ? decisionKey(
          entries.find((e) => e.deviceId === this.self),
          global,
        )
      : '';
  }

  /** Merges the paths kept since the last pass into the ordered list, and drops those gone. */
  private sort(): void {
    if (!this.added.size && this.order.length <= 2 * this.paths.size + 64) return;
    const fresh = [...this.added].filter((p) => this.paths.has(p)).sort(comparePaths);
    const old = this.order.filter((p) => this.paths.has(p) && !this.added.has(p));
    this.added.clear();
    const out: string[] = new Array<string>(old.length + fresh.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old.length && j < fresh.length) out[k++] = comparePaths(old[i]!, fresh[j]!) <= 0 ? old[i++]! : fresh[j++]!;
    while (i < old.length) out[k++] = old[i++]!;
    while (j < fresh.length) out[k++] = fresh[j++]!;
    this.order = out;
  }
}

/** What a need pass reads of the index. */
export type NeedSource = Pick<IndexStore, 'iterateByPath' | 'takeChangedPaths' | 'entriesForPathIds' | 'counts' | 'entriesForPath'>;

/**
 * `book` brought up to date with the index: from the paths changed since the last pass, or from
 * every path when the store cannot say which changed (the first pass, a forgotten device, very
 * many changes), when there is no book, or when the share became read-only or read-write.
 */
export function updateNeedBook(
  book: NeedBook | null,
  store: NeedSource,
  shareId: string,
  self: string,
  readOnly: boolean,
  failures: RetryBook,
): { book: NeedBook; local: LocalTotals } {
  const changed = store.takeChangedPaths(shareId);
  if (!book || changed === 'all' || book.readOnly !== readOnly)
    return NeedBook.full(store.iterateByPath(shareId), self, readOnly, failures);
  book.update(store.entriesForPathIds(shareId, changed), failures);
  // the local entries' totals as the store keeps them, not read row by row
  const c = store.counts(shareId, self);
  return { book, local: { files: c.files + c.symlinks, bytes: c.bytes } };
}

/**
 * A need pass over every path of a share. `failures` learns which paths are no longer needed and
 * which names this file system cannot hold; paths waiting after a failure are counted but not planned.
 */
/** `readOnly`: the share is read-only here, so it syncs to its peers' versions (sync/read-only.ts). */
export function computeNeed(paths: Iterable<PathEntries>, self: string, failures: RetryBook, now: number, readOnly = false): Need {
  const { book, local } = NeedBook.full(paths, self, readOnly, failures);
  // the book was read just now: every path with a failure has its decision's key
  return book.plan(local, failures, now, () => []);
}

/** How many folders deep a share path is ('a' is 0, 'a/b' is 1). */
export function depthOf(path: string): number {
  let n = 0;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) n++;
  return n;
}

/**
 * A planned path as it is now: its records read again, the decision made again. Null when there
 * is nothing (left) to do, or something else than planned (the index moved on: a new plan follows).
 */
export function resolvePlanned(p: PlannedPath, entries: readonly FileRecord[], self: string, readOnly: boolean): NeedItem | null {
  const global = sharedGlobal(entries, self, readOnly);
  if (!global) return null;
  const local = entries.find((e) => e.deviceId === self);
  const decision = decide(local, global, self);
  if (decision.kind !== p.kind) return null;
  const holders = entries
    .filter((e) => e.deviceId !== self && !e.deleted && compareVectors(e.version, global.version) === 'equal')
    .map((e) => e.deviceId);
  return { path: p.path, global, local, decision, holders };
}
