// Brings one share's files to the global state, one turn at a time: works out what this device
// needs (need.ts) and carries it out (apply.ts, file-puller.ts): folders, then files (chunks
// copied locally where possible, fetched from peers otherwise), then deletions, deepest first.
// The share's loop (model/share-loop.ts) decides when a turn runs; a turn gives way between
// files when other work of the share waits, and the next turn goes on where it stopped.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { PathError, PullProgress, ReadOnlyChange } from '../../../shared/api.ts';
import type { FileRecord } from '../index/rows.ts';
import type { IndexStore } from '../index/store.ts';
import { readOnlyChange, sharedGlobal } from '../sync/read-only.ts';
import { conflictPath, versionTag } from '../sync/names.ts';
import { bumpVector, compareVectors } from '../sync/vv.ts';
import {
  LocalChangeError,
  archiveCurrent,
  existsOnDisk,
  installTemp,
  makeDir,
  makeSymlink,
  removeForTombstone,
  removeInShare,
  renameInShare,
  unchangedOnDisk,
} from './apply.ts';
import type { ChunkSwarm } from './chunk-source.ts';
import { buildTempFile, readVerified, tempRelPath, type ChunkSpec } from './file-puller.ts';
import {
  contentHashOf,
  updateNeedBook,
  type NeedBook,
  decisionKey,
  resolvePlanned,
  type NeedItem,
  type NeedTotals,
  type PlannedPath,
} from './need.ts';
import { PlanQueue } from './plan-queue.ts';
import { RetryBook } from './retry.ts';
import { chunkDemandBytes, mayStartFile } from './file-flight.ts';
import { removeUnownedTemps } from './temp-files.ts';
import { archiveReplaced } from './archive-replaced.ts';

export type { ChunkSwarm } from './chunk-source.ts';

export type PullerStore = Pick<
  IndexStore,
  | 'iterateByPath'
  | 'entriesForPath'
  | 'entriesForPaths'
  | 'writeStamp'
  | 'getFile'
  | 'findChunk'
  | 'getShare'
  | 'takeChangedPaths'
  | 'entriesForPathIds'
  | 'counts'
>;

export interface PullerContext {
  shareId: string;
  root: () => string;
  store: PullerStore;
  self: string;
  /** this device's least counter for new versions (vv.ts) */
  counterFloor: () => number;
  selfName: () => string;
  swarm: () => ChunkSwarm | null;
  /** a read-only share: its own changes are never taken over by others, it syncs to theirs */
  readOnly: () => boolean;
  /** may the share touch disk and network now (not paused, folder healthy, scanned once) */
  active: () => boolean;
  /** entries for what is now on disk; written in batches by the share */
  record(records: Omit<FileRecord, 'sequence'>[]): void;
  /** writes recorded entries still held for batching */
  flush(): void;
  /** the pull writes at `path` (and records what it wrote) until `work` settles */
  writing?(path: string, work: Promise<void>): void;
  /** a path changed on disk behind the index: scan it (it runs as the share's next job) */
  requestScan(paths: string[]): void;
  conflictCreated(path: string, conflictPath: string): void;
  /**
   * A losing concurrent version another device wrote was replaced here and is kept in the archive
   * (`archivedPath`). Its author makes the conflict copy when it returns; until then this device
   * lists the conflict, so the losing version is not lost without a word.
   */
  loserArchived(kept: { path: string; archivedPath: string; loser: FileRecord; winner: FileRecord }): void;
  changed(): void;
  log(message: string): void;
  /** the clock failed pulls wait by (tests hold it still); default Date.now */
  now?: () => number;
}

export interface SyncSummary extends Omit<NeedTotals, 'globalFiles' | 'globalBytes'> {
  /** null before the first need pass */
  globalFiles: number | null;
  globalBytes: number | null;
  pulling: PullProgress[];
  errors: PathError[];
}

/** What a turn did: gave way with work left, carried out a plan, or found nothing to do. */
export type TurnResult = 'yielded' | 'executed' | 'nothing';

interface Active {
  size: number;
  done: number;
  started: number;
  abort: AbortController;
}

/** While no file can start, how often the links' windows are looked at again (they grow). */
const WINDOW_POLL_MS = 50;
/**
 * A need pass reads every path of the share (~150 ms for 10,000 files), and while a peer pulls,
 * its index updates arrive every few tens of ms, each asking for a pass. Passes therefore start at
 * least this many times the last pass's duration apart, so they cannot take the whole main thread
 * (which also serves the chunks that peer is asking for).
 */
const NEED_PASS_SPACING = 3;
/** Folders of one depth made at once. */
const DIRS_AT_ONCE = 32;
/**
 * Planned files whose records are read in one query just before the first of them starts
 * (readAhead); a query per file (`resolve`'s entriesForPath) was 5-8 % of the main thread of a
 * device pulling many small files.
 */
const READ_AHEAD = 64;

export class Puller {
  private readonly active = new Map<string, Active>();
  /** paths whose pull failed: why, and when to try again */
  readonly failures = new RetryBook();
  summary: SyncSummary = { globalFiles: null, globalBytes: null, needFiles: 0, needBytes: 0, pulling: [], errors: [], localChanges: 0 };
  /** the plan under way: what waits its turn (later need passes add to it) */
  private current: PlanQueue | null = null;
  /** the index changed since the current plan was made: make a new one */
  private stale = true;
  private stopped = false;
  /** temp files this device may have left (found by scans, or written by this puller) */
  private readonly temps = new Set<string>();
  /** the temp files the last need pass still wants (an interrupted pull resumes from them) */
  private ownedTemps: ReadonlySet<string> = new Set<string>();
  /** what the share needed at the last need pass; the next reads only the paths changed since (null: all) */
  private book: NeedBook | null = null;
  /** duration and end (performance.now()) of the last need pass */
  private lastNeedMs = 0;
  private lastNeedAt = 0;
  private readonly now: () => number;

  constructor(private readonly ctx: PullerContext) {
    this.now = ctx.now ?? Date.now;
  }

  /** How long until the next need pass may start (see NEED_PASS_SPACING). */
  spacingLeftMs(): number {
    return Math.max(0, this.lastNeedAt + NEED_PASS_SPACING * this.lastNeedMs - performance.now());
  }

  /** Local or peer entries changed: the next turn works from a new need pass. */
  indexChanged(): void {
    this.stale = true;
  }

  /**
   * The next need pass reads every path of the share, not only those changed since the last one
   * (a full rescan, an unpaused share): what the index says is looked at afresh, whatever the
   * bookkeeping of changes says.
   */
  fullPassNext(): void {
    this.book = null;
    this.stale = true;
  }

  /** When the first path waiting after a failure may be tried again, or null. */
  nextRetryAt(): number | null {
    return this.failures.nextRetryAt();
  }

  stop(): void {
    this.stopped = true;
    this.abortTransfers();
  }

  /** Cancels transfers in progress (pause); their temp files stay for the next turn. */
  abortTransfers(): void {
    for (const a of this.active.values()) a.abort.abort();
  }

  /**
   * One turn: goes on with the plan under way, or makes a new one from a need pass. Between files
   * it asks `mustYield()`; when that is true it lets the files in flight finish and returns
   * 'yielded' (the plan waits for the next turn).
   */
  async turn(mustYield: () => boolean): Promise<TurnResult> {
    if (this.stopped) return 'nothing';
    if (!this.current || this.stale) {
      // a plan under way takes in what changed; a new one lists everything to do
      const plan = this.needPass();
      if (!plan || !this.ctx.active()) {
        this.current = null;
        this.ctx.changed();
        return 'nothing';
      }
      this.current = plan;
    }
    const result = await this.execute(this.current, mustYield);
    if (result === 'yielded') return 'yielded';
    this.current = null;
    return 'executed';
  }

  /**
   * A need pass; updates the summary. With a plan under way (and the same book), only what changed
   * since is looked at and added to it (paths in flight are left out: a pull of one finishes, and
   * its record is a change the next pass reads); else a new plan of everything to do. The plan, or
   * null when there is nothing to do.
   */
  private needPass(): PlanQueue | null {
    const started = performance.now();
    this.ctx.flush();
    this.stale = false;
    const { store, shareId } = this.ctx;
    const next = updateNeedBook(this.book, store, shareId, this.ctx.self, this.ctx.readOnly(), this.failures);
    const goOn = this.current !== null && next.book === this.book;
    this.book = next.book;
    const entriesOf = (path: string) => store.entriesForPath(shareId, path);
    const need = goOn
      ? next.book.planChanges(next.local, this.failures, this.now(), entriesOf)
      : next.book.plan(next.local, this.failures, this.now(), entriesOf);
    this.ownedTemps = need.ownedTemps;
    const items = this.active.size ? need.items.filter((n) => !this.active.has(n.path)) : need.items;
    let plan: PlanQueue | null;
    if (goOn) {
      plan = this.current;
      plan!.add(items);
    } else {
      this.current = null; // the old plan is garbage before the new one is built, not beside it
      plan = items.length ? new PlanQueue(items) : null;
    }
    this.summary = { ...need.totals, pulling: this.progress(), errors: this.failures.errors() };
    this.lastNeedAt = performance.now();
    this.lastNeedMs = this.lastNeedAt - started;
    return plan;
  }

  /** A read-only share's local changes, read afresh from the index. */
  localChanges(): ReadOnlyChange[] {
    const out: ReadOnlyChange[] = [];
    for (const { path, entries } of this.ctx.store.iterateByPath(this.ctx.shareId)) {
      const change = readOnlyChange(
        entries.find((e) => e.deviceId === this.ctx.self),
        sharedGlobal(entries, this.ctx.self, true),
      );
      if (change) out.push({ path, change });
    }
    return out;
  }

  /** Files being pulled now (the state asks on every chunk that arrives: no list is built). */
  get pullingCount(): number {
    return this.active.size;
  }

  progress(): PullProgress[] {
    const now = Date.now();
    return [...this.active].map(([path, a]) => {
      const secs = Math.max((now - a.started) / 1000, 0.001);
      const bytesPerSec = Math.round(a.done / secs);
      return { path, size: a.size, done: a.done, bytesPerSec, etaSec: bytesPerSec > 0 ? Math.ceil((a.size - a.done) / bytesPerSec) : null };
    });
  }

  /** Temp files found by a scan: removed after a turn unless a pull still wants them. */
  noteTemps(paths: Iterable<string>): void {
    for (const p of paths) this.temps.add(p);
  }

  /**
   * A rescan ran: failures whose cause may have gone (space freed, permissions changed) are
   * tried now instead of after their wait. True when some are.
   */
  async rescanned(): Promise<boolean> {
    if (!this.failures.size) return false;
    const free = await fsp.statfs(this.ctx.root()).then(
      (s) => s.bavail * s.bsize,
      () => null,
    );
    const woken = this.failures.wake(free) > 0;
    if (woken) this.stale = true;
    return woken;
  }

  /** Removes temp files that no needed pull owns (crash leftovers, versions replaced meanwhile). */
  async removeStaleTemps(): Promise<void> {
    if (!this.temps.size || this.current) return;
    const owned = (rel: string) => this.ownedTemps.has(rel);
    const removed = await removeUnownedTemps(this.ctx.root(), [...this.temps], owned);
    for (const rel of [...this.temps]) if (!owned(rel)) this.temps.delete(rel);
    if (removed.length) this.ctx.log(`share ${this.ctx.shareId}: removed ${removed.length} temp file(s) of pulls no longer wanted`);
  }

  private canGoOn(): boolean {
    return !this.stopped && this.ctx.active();
  }

  private async execute(first: PlanQueue, mustYield: () => boolean): Promise<'done' | 'yielded'> {
    if ((await this.pullDirs(first, mustYield)) === 'yielded') return 'yielded';
    if ((await this.pullFiles(first, mustYield)) === 'yielded') return 'yielded';
    // a pass while files were in flight may have made a new plan (refill)
    const plan = this.current ?? first;
    while (plan.hasDeletes()) {
      if (!this.canGoOn()) return 'done';
      if (mustYield()) return 'yielded';
      await this.guard(plan.takeDelete()!, (n) => this.pullDelete(n));
    }
    return 'done';
  }

  private async pullDirs(plan: PlanQueue, mustYield: () => boolean): Promise<'done' | 'yielded'> {
    const adopts = plan.takeAdopts().flatMap((p) => this.resolve(p) ?? []);
    if (adopts.length) this.ctx.record(adopts.map((n) => this.adopted(n)));
    // folders come shallowest first: those of one depth are made together (a few file system
    // calls each, one after another, cost a long link's worth of time for 50 folders)
    for (let depth = plan.nextDirDepth(); depth !== null; depth = plan.nextDirDepth()) {
      if (!this.canGoOn()) return 'done';
      if (mustYield()) return 'yielded';
      const group: PlannedPath[] = [];
      for (let d = plan.takeDir(depth); d; d = group.length < DIRS_AT_ONCE ? plan.takeDir(depth) : null) group.push(d);
      await Promise.all(group.map((d) => this.guard(d, (n) => this.pullDir(n))));
    }
    return 'done';
  }

  /**
   * Every file of the plan has started and the index changed meanwhile (a long index still
   * arriving page by page): a need pass adds what changed to the plan, without the files in
   * flight, so they are not waited for first. Across a long link that wait (the slowest file of
   * the batch, then the pass) left the link idle once per index page. False when nothing was
   * looked at (no change, or too soon after the last pass).
   */
  private refill(): boolean {
    if (!this.stale || this.spacingLeftMs() > 0 || !this.ctx.active()) return false;
    const plan = this.needPass();
    // a full pass (the book was read again) is a new plan: the old one is dropped
    if (plan) this.current = plan;
    return plan !== null;
  }

  /**
   * The plan's files, many at once: another starts while the links' windows have room for more
   * requests (file-flight.ts), so small files keep a long link busy instead of a few per round trip.
   */
  private async pullFiles(first: PlanQueue, mustYield: () => boolean): Promise<'done' | 'yielded'> {
    let plan = first;
    let running = 0;
    let runningBytes = 0;
    let failure: unknown = null;
    let wake: (() => void) | null = null;
    const woken = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    const wait = () =>
      new Promise<void>((resolve) => {
        // one poll timer at a time: a file finishing first clears it (thousands were pending at
        // once while small files arrived, each holding a Timeout until its 50 ms were up)
        const poll = setTimeout(woken, WINDOW_POLL_MS).unref();
        wake = () => {
          clearTimeout(poll);
          resolve();
        };
      });
    for (;;) {
      if (!this.canGoOn() || mustYield() || failure) break;
      const next = plan.nextFile();
      if (!next) {
        if (running === 0) break;
        if (!this.refill() || !this.current) {
          // the last files are in flight: a file finishing, or news in the index, may be next
          await wait();
          continue;
        }
        plan = this.current;
        if ((await this.pullDirs(plan, mustYield)) === 'yielded') break;
        continue;
      }
      if (mayStartFile(running, runningBytes, next.size, this.demandBytes())) {
        this.readAhead(plan);
        const p = plan.takeFile()!;
        const size = p.size;
        running++;
        runningBytes += size;
        this.guard(p, (n) => (n.global.type === 'symlink' ? this.pullSymlink(n) : this.pullFile(n)))
          .catch((err: unknown) => void (failure ??= err))
          .finally(() => {
            running--;
            runningBytes -= size;
            woken();
          });
        continue;
      }
      // full: a file finishing, or a window grown meanwhile, lets the next one go
      await wait();
    }
    const yielded = plan.nextFile() !== null && this.canGoOn();
    while (running > 0) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure;
    return yielded ? 'yielded' : 'done';
  }

  /** Bytes of chunks to keep asked for from this share's links (file-flight.ts). */
  private demandBytes(): number {
    return chunkDemandBytes(this.ctx.swarm()?.windowBytes(this.ctx.shareId) ?? 0);
  }

  /**
   * Records of planned files read ahead (readAhead), good while no record was written since
   * (`stamp`, IndexStore.writeStamp): then they are what a read now would return.
   */
  private ahead: { stamp: number; byPath: Map<string, FileRecord[]> } | null = null;

  /** Reads the records of the plan's next file and the ones after it in one query, unless they are read already and still good. */
  private readAhead(plan: PlanQueue): void {
    const { store, shareId } = this.ctx;
    const stamp = store.writeStamp();
    const next = plan.nextFile();
    if (!next || (this.ahead?.stamp === stamp && this.ahead.byPath.has(next.path))) return;
    const paths = plan.nextFiles(READ_AHEAD).map((f) => f.path);
    const got = store.entriesForPaths(shareId, paths);
    this.ahead = { stamp, byPath: new Map(paths.map((path) => [path, got.get(path) ?? []])) };
  }

  /** A planned path with its records as they are now (the index may have moved on since the need pass). */
  private resolve(p: PlannedPath): NeedItem | null {
    const { store, shareId } = this.ctx;
    const ahead = this.ahead?.stamp === store.writeStamp() ? this.ahead.byPath.get(p.path) : undefined;
    const entries = ahead ?? store.entriesForPath(shareId, p.path);
    return resolvePlanned(p, entries, this.ctx.self, this.ctx.readOnly());
  }

  /** Runs one item; failures are per path (they wait, then are tried again), never the whole turn. */
  private async guard(p: PlannedPath, fn: (n: NeedItem) => Promise<void>): Promise<void> {
    if (!this.canGoOn()) return;
    const n = this.resolve(p);
    if (!n) return;
    const key = decisionKey(n.local, n.global);
    try {
      const work = fn(n);
      this.ctx.writing?.(n.path, work);
      await work;
      this.failures.succeeded(n.path);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      // A local edit since the decision: the rescan records it, which changes the decision, and
      // the next turn tries the new one at once. When the rescan finds nothing, the same
      // decision waits like any other failure.
      if (err instanceof LocalChangeError) this.ctx.requestScan([n.path]);
      const failure = this.failures.failed(n.path, key, err, this.now(), n.global.size);
      // a partial temp file on a full disk holds the very space that is missing
      if (failure.kind === 'space')
        await removeInShare(this.ctx.root(), tempRelPath(n.path, contentHashOf(n.global)), 'entry').catch(() => undefined);
      if (failure.attempts === 1) this.ctx.log(`share ${this.ctx.shareId}: ${n.path}: ${failure.error}`);
      this.summary.errors = this.failures.errors();
    }
  }

  private adopted(n: NeedItem): Omit<FileRecord, 'sequence'> {
    const version = n.decision.kind === 'adopt' ? n.decision.version : n.global.version;
    const base = n.local && !n.local.deleted ? n.local : n.global;
    return {
      ...base,
      shareId: this.ctx.shareId,
      deviceId: this.ctx.self,
      version,
      modifiedBy: n.global.modifiedBy,
      deleted: n.global.deleted,
    };
  }

  private async ensureUnchanged(n: NeedItem): Promise<void> {
    if (!(await unchangedOnDisk(this.ctx.root(), n.path, n.local))) throw new LocalChangeError(n.path);
  }

  private async keepOld(n: NeedItem): Promise<void> {
    if (n.decision.kind !== 'fetch' || !n.local || n.local.deleted) return;
    const root = this.ctx.root();
    if (n.local.type === 'dir') return; // replaced by a file: only possible once it is empty
    if (n.decision.keepOld === 'conflict-copy') {
      const target = conflictPath(
        n.path,
        { name: this.ctx.selfName(), id: this.ctx.self },
        n.local.mtimeMs,
        (p) => this.ctx.store.getFile(this.ctx.shareId, this.ctx.self, p) !== null || existsOnDisk(root, p),
      );
      await renameInShare(root, n.path, target);
      const st = await fsp.lstat(join(root, target));
      // the copy is a new file written by this device: it carries the losing content to everyone
      const before = this.ctx.store.getFile(this.ctx.shareId, this.ctx.self, target);
      this.ctx.record([
        {
          ...n.local,
          path: target,
          version: bumpVector(before?.version ?? {}, this.ctx.self, this.ctx.counterFloor()),
          mtimeMs: st.mtimeMs,
          inode: st.ino,
          modifiedBy: this.ctx.self,
          deleted: false,
        },
      ]);
      this.ctx.conflictCreated(n.path, target);
    } else if (n.local.type === 'file') {
      if (compareVectors(n.local.version, n.global.version) === 'concurrent') {
        // a losing concurrent version is never coalesced away: it is the only copy here, listed as a conflict
        const archivedPath = await archiveCurrent(root, n.path, versionTag(n.local), false);
        this.ctx.loserArchived({ path: n.path, archivedPath, loser: n.local, winner: n.global });
      } else {
        await archiveReplaced(root, n.path, versionTag(n.local));
      }
    }
  }

  private async pullDir(n: NeedItem): Promise<void> {
    const root = this.ctx.root();
    if (n.local && !n.local.deleted && n.local.type !== 'dir') {
      await this.ensureUnchanged(n);
      await this.keepOld(n);
      if (n.local.type === 'file') await removeInShare(root, n.path, 'entry').catch(() => undefined);
      else await removeInShare(root, n.path, 'entry');
    }
    const st = await makeDir(root, n.path, n.global.mode & 0o7777 || 0o755);
    // a folder's own mtime is never compared on disk; keeping the author's time means every device
    // breaks ties between concurrent versions with the same numbers
    this.ctx.record([{ ...n.global, shareId: this.ctx.shareId, deviceId: this.ctx.self, inode: st.ino, mode: st.mode & 0o7777 }]);
  }

  private async pullSymlink(n: NeedItem): Promise<void> {
    await this.ensureUnchanged(n);
    await this.keepOld(n);
    const st = await makeSymlink(this.ctx.root(), n.path, n.global.symlinkTarget ?? '', n.global.mtimeMs);
    this.ctx.record([
      { ...n.global, shareId: this.ctx.shareId, deviceId: this.ctx.self, mtimeMs: st.mtimeMs, inode: st.ino, mode: st.mode & 0o7777 },
    ]);
  }

  private async pullDelete(n: NeedItem): Promise<void> {
    await this.ensureUnchanged(n);
    const result = await removeForTombstone(this.ctx.root(), n.path, n.local ? versionTag(n.local) : 'gone');
    if (result === 'kept-nonempty-dir') throw new Error('folder not removed: it still holds files that are not deleted everywhere');
    this.ctx.record([{ ...n.global, shareId: this.ctx.shareId, deviceId: this.ctx.self, inode: 0 }]);
  }

  private async pullFile(n: NeedItem): Promise<void> {
    const root = this.ctx.root();
    // a file to replace is looked at before anything is fetched (a local edit wins, and costs no
    // transfer); where there is nothing to replace, the one check right before the rename will do
    const replaces = !!n.local && !n.local.deleted;
    if (replaces) await this.ensureUnchanged(n);
    const g = n.global;
    const abort = new AbortController();
    const entry: Active = { size: g.size, done: 0, started: Date.now(), abort };
    this.active.set(n.path, entry);
    this.ctx.changed();
    const tempRel = tempRelPath(n.path, contentHashOf(g));
    try {
      this.temps.add(tempRel);
      const { tempPath } = await buildTempFile({
        root,
        path: n.path,
        size: g.size,
        contentHash: contentHashOf(g),
        chunks: g.chunks,
        signal: abort.signal,
        demandBytes: () => this.demandBytes(),
        provider: {
          local: (spec) => this.localChunk(spec),
          remote: (spec, signal) => {
            const swarm = this.ctx.swarm();
            if (!swarm) throw new Error('no peer is connected that has this file');
            return swarm.fetch(this.ctx.shareId, n.path, g.version, spec, signal, n.holders);
          },
          written: (data) => this.ctx.swarm()?.recycle?.(data),
        },
        onProgress: (p) => {
          entry.done = p.done;
          this.ctx.changed();
        },
        final: { mode: g.mode & 0o7777 || 0o644, mtimeMs: g.mtimeMs },
      });
      let st;
      if (replaces) {
        // the last moment before replacing: a local edit since the decision wins over us
        if (!(await unchangedOnDisk(root, n.path, n.local))) throw new LocalChangeError(n.path);
        await this.keepOld(n);
        if (n.local!.type === 'symlink') await removeInShare(root, n.path, 'entry').catch(() => undefined);
        if (n.local!.type === 'dir') await removeInShare(root, n.path, 'dir');
        st = await installTemp(root, n.path, tempPath);
      } else {
        // nothing may have appeared there meanwhile (a file made here, not yet scanned)
        st = await installTemp(root, n.path, tempPath, { expect: n.local });
      }
      // renamed into place: no temp file is left to look for after the turn
      this.temps.delete(tempRel);
      this.ctx.record([
        { ...g, shareId: this.ctx.shareId, deviceId: this.ctx.self, mtimeMs: st.mtimeMs, inode: st.ino, mode: st.mode & 0o7777 },
      ]);
    } finally {
      this.active.delete(n.path);
      this.ctx.changed();
    }
  }

  /** A chunk that some local file already holds: read it instead of fetching it. */
  private async localChunk(spec: ChunkSpec): Promise<Uint8Array | null> {
    for (const loc of this.ctx.store.findChunk(spec.hash)) {
      const share = this.ctx.store.getShare(loc.shareId);
      if (!share) continue;
      const data = await readVerified(join(share.path, loc.path), loc.offset, loc.size, spec.hash);
      if (data) return data;
    }
    return null;
  }
}
