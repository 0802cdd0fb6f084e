// One share on this device: keeps the local index in step with the folder (scans, the watcher,
// periodic rescans), pulls what peers have (pull/puller.ts) and applies their index entries. All
// three are jobs of the share's loop (share-loop.ts) and take turns; the share's state follows
// from the job that runs and is set in one place (updateState).
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceId, PathError, ShareState, VersionVector } from '../../../shared/api.ts';
import type { FileCounts, FileRecord, FileStat, ShareRow } from '../index/rows.ts';
import type { IndexStore } from '../index/store.ts';
import type { HashPool } from '../scan/hasher.ts';
import { IgnoreRules, PEERFOLD_DIR, loadIgnore } from '../scan/ignore.ts';
import { scan, type ScanEvent, type ScannedEntry } from '../scan/scanner.ts';
import { watch, type Watcher } from '../scan/watcher.ts';
import { localChange, localDeletion, symlinkHash, type LocalChange } from '../sync/local-changes.ts';
import { MASS_DELETE_WINDOW_MS, decideDeletions, deleteSettleMs } from '../sync/mass-delete.ts';
import { existsOnDisk } from '../pull/apply.ts';
import { writeFileAtomic } from '../config/atomic-write.ts';
import type { ConflictInfo, FilePreview, ResolveKeep, ArchiveEntry, ReadOnlyChange } from '../../../shared/api.ts';
import { Puller, type ChunkSwarm, type SyncSummary } from '../pull/puller.ts';
import { CONFLICT_MARK, parseConflictPath, versionTag } from '../sync/names.ts';
import { ShareLoop, type ScanRequest } from './share-loop.ts';
import { shareState } from './share-state.ts';
import { allConflicts, applyResolution, findConflict, isKeptConflict, keptConflict, touchesConflicts } from './conflicts.ts';
import { ApiError } from '../../../shared/errors.ts';
import { setAside } from './revert.ts';
import { listArchive, pruneArchive, restoreFromArchive } from './archive.ts';
import { previewFile } from './preview.ts';
import { guard } from '../net/log.ts';
import { isTempPath } from '../pull/temp-files.ts';
import { OwnWrites } from './own-writes.ts';
import { echoLeavesNeed } from '../sync/peer-echo.ts';
import { PULLED_BATCH_MAX, pulledFlushDelayMs } from './pulled-flush.ts';
import type { PeerIndexWrite } from '../peer/index-exchange.ts';
import type { PreviousState } from '../scan/scanner.ts';

export const MARKER_FILE = `${PEERFOLD_DIR}/marker`;
/** Paths of a peer's index batch looked up per query to tell whether it only echoes (onlyEchoes). */
const ECHO_BATCH = 250;

export interface FolderContext {
  store: IndexStore;
  self: { id: string; name: () => string };
  pool: HashPool;
  rescanIntervalMs: number;
  /** something in this share's status changed */
  changed(): void;
  /** new local index entries exist: peers should hear of them */
  localIndexChanged(): void;
  log(message: string): void;
  swarm: () => ChunkSwarm | null;
  /** peers may be used right now (not paused everywhere, network up) */
  networkActive: () => boolean;
  deviceName: (deviceId: string) => string;
  archiveDays: () => number;
  conflictCreated(info: { path: string; conflictPath: string }): void;
  /** every need met for the first time since the share was added */
  firstSyncDone(): void;
  /** devices connected for this share right now */
  connectedPeers(): number;
  /** the share's state changed (set only by Folder.updateState) */
  stateChanged(state: ShareState): void;
  /** the clock failed pulls wait by; default Date.now */
  now?: () => number;
  /** a scan job ran over these paths (null: the whole share); for tests */
  scanRan?: (paths: readonly string[] | null) => void;
  /** the most chunks a file may have to be synced (default the protocol's MAX_CHUNKS_PER_FILE); tests lower it */
  maxChunksPerFile?: number;
}

/** Creates the share's marker; its absence later means the folder is not what we shared. */
export function writeMarker(root: string, shareId: string): void {
  mkdirSync(join(root, PEERFOLD_DIR), { recursive: true });
  writeFileAtomic(join(root, MARKER_FILE), `${shareId}\n`);
  const ignore = join(root, PEERFOLD_DIR, 'ignore');
  if (!existsSync(ignore)) writeFileAtomic(ignore, '# Paths to leave out of syncing, in .gitignore syntax, e.g.\n# *.tmp\n# build/\n');
}

/** Why the folder cannot be trusted right now, or null. */
export function folderProblem(root: string, shareId: string): string | null {
  try {
    if (!statSync(root).isDirectory()) return `${root} is not a folder any more`;
  } catch {
    return `the folder ${root} is missing (an unmounted drive or a deleted folder?); syncing stopped so that its disappearance is not sent to other devices as deletions. Put it back, or unshare it`;
  }
  try {
    if (readFileSync(join(root, MARKER_FILE), 'utf8').trim() !== shareId)
      return `the marker in ${root}/${MARKER_FILE} belongs to another share; syncing stopped. Unshare and share the folder again if this is intended`;
  } catch {
    return `the marker ${MARKER_FILE} is missing from ${root} (was the folder replaced or a drive unmounted?); syncing stopped so nothing is deleted by mistake. Put the folder back, or unshare and share it again`;
  }
  return null;
}

export class Folder {
  readonly id: string;
  row: ShareRow;
  private seq: number;
  private watcher: Watcher | null = null;
  private ignore: IgnoreRules | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  errors = new Map<string, string>();
  problem: string | null = null;
  watcherState: 'watching' | 'rescan-only' | 'off' = 'off';
  lastScanAt: number | null = null;
  readonly puller: Puller;
  private readonly loop: ShareLoop;
  private everSynced = false;
  private pruneTimer: NodeJS.Timeout | null = null;
  /** a joined share has not had a peer's index yet: it cannot say it is up to date */
  private awaitingPeerIndex: boolean;
  private currentState: ShareState = 'scanning';
  private fullScanActive = false;
  /** what pulls wrote: the watcher's reports of it need no scan (own-writes.ts) */
  private readonly ownWrites = new OwnWrites({ root: () => this.root, recorded: (p) => this.recordedNow(p) });

  constructor(
    row: ShareRow,
    private readonly ctx: FolderContext,
  ) {
    this.id = row.id;
    this.row = row;
    this.seq = ctx.store.maxSequence(row.id, ctx.self.id);
    this.counterFloor = ctx.store.counterFloor(row.id);
    this.awaitingPeerIndex = ctx.store.awaitingPeerIndex(row.id);
    this.loop = new ShareLoop({
      scan: (request) => this.scanJob(request),
      pull: (mustYield) => this.pullJob(mustYield),
      jobChanged: () => this.updateState(),
      log: (m) => ctx.log(`share ${this.row.name}: ${m}`),
    });
    this.puller = new Puller({
      shareId: row.id,
      root: () => this.root,
      store: ctx.store,
      self: ctx.self.id,
      // an encrypted member syncs to its peers' (encrypted) versions like a read-only one: it makes none
      readOnly: () => this.row.access !== 'read-write',
      counterFloor: () => this.counterFloor,
      selfName: ctx.self.name,
      swarm: ctx.swarm,
      // held deletions wait for the user: nothing is pulled over the paths in question meanwhile
      active: () =>
        !this.stopped && !this.row.paused && !this.problem && this.lastScanAt !== null && this.held.size === 0 && ctx.networkActive(),
      record: (records) => this.recordPulled(records),
      flush: () => this.flushPulled(),
      writing: (path, work) => this.ownWrites.during(path, work),
      requestScan: (paths) => void this.requestScan(paths),
      conflictCreated: (path, conflictPath) => ctx.conflictCreated({ path, conflictPath }),
      loserArchived: (kept) => {
        ctx.store.addConflict(keptConflict(this.id, kept, ctx.deviceName, Date.now()));
        this.conflictCache = null;
        ctx.conflictCreated({ path: kept.path, conflictPath: kept.archivedPath });
      },
      changed: () => this.afterPullProgress(),
      log: ctx.log,
      now: ctx.now,
    });
  }

  private afterPullProgress(): void {
    const s = this.puller.summary;
    // in sync with at least one other device, not merely scanned
    if (
      !this.everSynced &&
      this.lastScanAt !== null &&
      s.needFiles === 0 &&
      s.pulling.length === 0 &&
      (s.globalFiles ?? 0) > 0 &&
      this.ctx.connectedPeers() > 0
    ) {
      this.everSynced = true;
      this.ctx.firstSyncDone();
    }
    this.updateState();
  }

  /** The only place the share's state is set; everything that may change it calls this. */
  updateState(): void {
    const s = this.puller.summary;
    const state = shareState({
      problem: this.problem !== null,
      paused: this.row.paused,
      job: this.loop.current,
      fullScan: this.fullScanActive,
      scannedOnce: this.lastScanAt !== null,
      awaitingPeerIndex: this.awaitingPeerIndex,
      needFiles: s.needFiles,
      pulling: this.puller.pullingCount,
    });
    if (state !== this.currentState) {
      this.currentState = state;
      this.ctx.stateChanged(state);
    }
    this.ctx.changed();
  }

  get state(): ShareState {
    return this.currentState;
  }

  /** The index or the peers changed: see whether anything needs pulling. */
  syncSoon(): void {
    // a peer that connected or moved on may have what failed to arrive
    if (this.puller.failures.wakeTransfers() > 0) this.puller.indexChanged();
    this.loop.requestPull(Math.max(50, this.puller.spacingLeftMs()));
  }

  /** Paused or resumed (the row was updated): transfers stop, or the share looks at its need again. */
  pauseChanged(): void {
    if (this.row.paused) this.puller.abortTransfers();
    else {
      this.puller.fullPassNext();
      this.syncSoon();
    }
    this.updateState();
  }

  /**
   * A peer's index entries for this share: `write.apply` writes them to the index, as a job of the
   * share, so that they never change the index under a scan or in the middle of a pull decision.
   * Resolves once they are written (then the peer may be acknowledged): true when they may change
   * what this device needs. Entries that only echo what this device holds (a peer that pulled
   * from it sends them back) start no need pass: on the device the peer pulls from, one pass over
   * the whole share per batch it sent back took a fifth to two fifths of the main thread.
   */
  async enqueueRemoteIndex(write: PeerIndexWrite): Promise<boolean> {
    let mayChangeNeed = true;
    await this.loop.enqueueRemoteIndex(() => {
      const echo = this.onlyEchoes(write);
      // an echo changes no path's need: the next need pass need not read its paths again
      const restarted = echo ? this.ctx.store.withoutChangeNotes(() => write.apply()) : write.apply();
      mayChangeNeed = restarted || !echo;
      if (mayChangeNeed) this.puller.indexChanged();
      if (this.awaitingPeerIndex) {
        this.awaitingPeerIndex = false;
        this.ctx.store.setAwaitingPeerIndex(this.id, false);
      }
    });
    if (mayChangeNeed) this.syncSoon();
    return mayChangeNeed;
  }

  /**
   * The peer's entries, not yet written, leave every path's need as it is (sync/peer-echo.ts). The
   * first entry is looked up alone (a page of new versions is told by it), the rest a batch of
   * paths per query: a query per echoed entry was 16 % of the main thread of a device whose 2,000
   * small files a peer had just pulled (bench/README.md, "Small files, third round").
   */
  private onlyEchoes(write: PeerIndexWrite): boolean {
    // a device that syncs to its peers' versions only cannot judge by its own entry
    if (this.row.access !== 'read-write' || !write.records.length) return false;
    const self = this.ctx.self.id;
    const echoes = (r: FileRecord, entries: readonly FileRecord[]) =>
      echoLeavesNeed(
        entries.find((e) => e.deviceId === self),
        entries.find((e) => e.deviceId === write.device),
        r,
      );
    const [first, ...rest] = write.records;
    if (!echoes(first!, this.ctx.store.entriesForPath(this.id, first!.path))) return false;
    for (let at = 0; at < rest.length; at += ECHO_BATCH) {
      const batch = rest.slice(at, at + ECHO_BATCH);
      const byPath = this.ctx.store.entriesForPaths(
        this.id,
        batch.map((r) => r.path),
      );
      for (const r of batch) if (!echoes(r, byPath.get(r.path) ?? [])) return false;
    }
    return true;
  }

  /** Resolves when scans, pulls and index work have nothing left to do right now. */
  async idle(): Promise<void> {
    await this.loop.idle();
  }

  private async pullJob(mustYield: () => boolean): Promise<'done' | 'more'> {
    try {
      const result = await this.puller.turn(mustYield);
      if (result === 'yielded') return 'more';
      // a turn that did something is followed by a need pass (it finds what is left, and shows it)
      if (result === 'executed') this.loop.requestPull(this.puller.spacingLeftMs());
      else await this.puller.removeStaleTemps();
      this.scheduleRetry();
      return 'done';
    } finally {
      // the index holds everything pulled before any other job of the share looks at it
      this.flushPulled();
      this.afterPullProgress();
    }
  }

  /** Wakes the loop when the first path waiting after a failure may be tried again. */
  private scheduleRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const at = this.puller.nextRetryAt();
    if (at === null || this.stopped) return;
    const now = (this.ctx.now ?? Date.now)();
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        this.puller.indexChanged();
        this.loop.requestPull();
      },
      Math.max(0, at - now) + 10,
    );
    this.retryTimer.unref();
  }

  syncSummary(): SyncSummary & { conflicts: number } {
    return { ...this.puller.summary, pulling: this.puller.progress(), conflicts: this.conflicts().length };
  }

  /** derived from the local index; recomputed only after it changed (status asks several times a second) */
  private conflictCache: ConflictInfo[] | null = null;

  conflicts(): ConflictInfo[] {
    if (!this.conflictCache) {
      // only conflict copies and the files they are copies of: status asks for this while a scan
      // or a pull changes the index, and decoding every entry each time was a large part of a scan
      const copies = this.ctx.store.listFiles(this.id, this.ctx.self.id, { pathContains: CONFLICT_MARK });
      const named = new Set(copies.map((r) => r.path));
      const originals: FileRecord[] = [];
      for (const r of copies) {
        const original = parseConflictPath(r.path)?.original;
        if (original === undefined || named.has(original)) continue;
        named.add(original);
        const rec = this.ctx.store.getFile(this.id, this.ctx.self.id, original);
        if (rec) originals.push(rec);
      }
      const { conflicts, stale } = allConflicts(
        this.id,
        [...copies, ...originals],
        this.ctx.store.listConflicts(this.id),
        this.ctx.deviceName,
        (p) => existsOnDisk(this.root, p),
      );
      for (const k of stale) this.ctx.store.removeConflict(this.id, k.conflictPath);
      this.conflictCache = conflicts;
    }
    return this.conflictCache;
  }

  /** Local entries at `paths` were written: the conflicts are derived again only if they may differ. */
  private localEntriesWritten(paths: Iterable<string>): void {
    if (this.conflictCache && touchesConflicts(paths, this.conflictCache)) this.conflictCache = null;
  }

  /**
   * This device's files, folders and bytes in the share. Status asks several times a second; the
   * store keeps the local counts up to date as it writes, so asking is cheap.
   */
  localCounts(): FileCounts {
    return this.ctx.store.counts(this.id, this.ctx.self.id);
  }

  /** Forgets this device's own entries for `paths` (see IndexStore.removeLocalFiles). */
  private forgetLocal(paths: readonly string[]): void {
    this.ctx.store.removeLocalFiles(this.id, paths);
    this.conflictCache = null;
  }

  async resolveConflict(path: string, keep: ResolveKeep): Promise<void> {
    const c = findConflict(this.conflicts(), path);
    const rec = this.ctx.store.getFile(this.id, this.ctx.self.id, c.conflictPath);
    const paths = await applyResolution(this.root, c, keep, this.ctx.self.id, rec ? versionTag(rec) : 'conflict');
    if (isKeptConflict(c)) {
      this.ctx.store.removeConflict(this.id, c.conflictPath);
      this.conflictCache = null;
      this.ctx.changed();
    }
    if (paths.length) await this.requestScan(paths);
  }

  preview(path: string, maxBytes: number): Promise<FilePreview> {
    return previewFile(this.root, path, maxBytes);
  }

  archiveEntries(): Promise<ArchiveEntry[]> {
    return listArchive(this.root, (p) => {
      const r = this.ctx.store.getFile(this.id, this.ctx.self.id, p);
      return !!r && !r.deleted;
    });
  }

  /** A read-only share's local changes (none on any other). */
  localChanges(): ReadOnlyChange[] {
    return this.row.access === 'read-only' ? this.puller.localChanges() : [];
  }

  /**
   * Restores the shared version of one local change (`path`) or of all of them on a read-only
   * share: what is there now goes to the archive, and this device forgets its own entry, so the
   * shared version is pulled again (or, for a path the share does not have, nothing comes back).
   */
  async revert(path?: string): Promise<number> {
    if (this.row.access !== 'read-only') {
      const why =
        this.row.access === 'encrypted'
          ? 'this device keeps it encrypted and makes no changes to it'
          : 'its changes go to the other devices';
      throw new ApiError('refused', `"${this.row.name}" is a ${this.row.access} share: ${why}, so there is nothing to revert`);
    }
    await this.idle();
    const all = this.puller.localChanges();
    const targets = path === undefined ? all : all.filter((c) => c.path === path);
    if (path !== undefined && !targets.length) throw new ApiError('not-found', `${path} has no local change in "${this.row.name}"`);
    const paths = targets.map((c) => c.path).sort((a, b) => b.localeCompare(a)); // deepest first
    for (const p of paths) await setAside(this.root, p);
    this.forgetLocal(paths);
    // a scan that ran meanwhile saw the files go and recorded their deletion: the revert stands
    await this.idle();
    const again = paths.filter((p) => this.ctx.store.getFile(this.id, this.ctx.self.id, p)?.deleted);
    if (again.length) this.forgetLocal(again);
    this.puller.indexChanged();
    this.ctx.changed();
    this.syncSoon();
    return paths.length;
  }

  async restoreArchived(archivedPath: string): Promise<void> {
    const restored = await restoreFromArchive(this.root, archivedPath, 'restored');
    await this.requestScan([restored]);
  }

  get root(): string {
    return this.row.path;
  }

  /** this device's least counter for new versions in this share (0 unless its index started over) */
  private readonly counterFloor: number;

  async start(): Promise<void> {
    this.ignore = await loadIgnore(this.root).catch(() => null);
    this.checkHealth();
    this.startWatcher();
    this.requestScan();
    this.rescanTimer = setInterval(() => this.requestScan(), this.ctx.rescanIntervalMs);
    this.rescanTimer.unref();
    // a kept conflict whose archived file was pruned is no longer listed
    const prune = () =>
      void pruneArchive(this.root, this.ctx.archiveDays()).then(
        () => (this.conflictCache = null),
        () => undefined,
      );
    prune();
    this.pruneTimer = setInterval(prune, 6 * 3600_000);
    this.pruneTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.puller.stop();
    await this.watcher?.close();
    this.watcher = null;
    await this.loop.stop();
    this.flushPulled();
  }

  private startWatcher(): void {
    if (this.watcher || this.problem) return;
    try {
      this.watcher = watch(this.root, (paths) => this.requestScan(paths), {
        ignore: this.ignore ?? undefined,
        needsScan: (paths) => this.ownWrites.needsScan(paths),
        onState: (s) => {
          this.watcherState = s;
          if (s === 'rescan-only')
            this.ctx.log(
              `share ${this.row.name}: the OS limit on watched folders was reached; changes are found by periodic rescans instead`,
            );
          this.ctx.changed();
        },
        onError: (message) => this.ctx.log(`share ${this.row.name}: ${message}`),
      });
      this.watcherState = this.watcher.state();
    } catch (err) {
      this.watcherState = 'rescan-only';
      this.ctx.log(`share ${this.row.name}: cannot watch for changes (${(err as Error).message}); relying on periodic rescans`);
    }
  }

  /** Re-checks the folder and its marker; true when it is safe to sync. */
  checkHealth(): boolean {
    const problem = folderProblem(this.root, this.id);
    if (problem !== this.problem) {
      this.problem = problem;
      if (problem) this.ctx.log(`share ${this.row.name}: ${problem}`);
      this.updateState();
    }
    if (!problem && !this.watcher && !this.stopped && this.rescanTimer) this.startWatcher();
    return !problem;
  }

  pathErrors(): PathError[] {
    return [...this.errors].map(([path, error]) => ({ path, error }));
  }

  /** Scans some paths (or everything) as a job of the share; resolves when it has run. */
  requestScan(paths?: readonly string[]): Promise<void> {
    return this.loop.requestScan(paths);
  }

  private async scanJob(request: ScanRequest): Promise<void> {
    if (!this.checkHealth()) return;
    this.fullScanActive = request.all;
    this.updateState();
    try {
      this.ctx.scanRan?.(request.all ? null : [...request.paths]);
      await this.scanOnce(request.all ? undefined : [...request.paths]);
      if (request.all) {
        this.lastScanAt = Date.now();
        // derived afresh after a full scan: device names, archived files removed by hand
        this.conflictCache = null;
        // a failed pull whose cause may have gone (space freed, permissions changed) is tried now
        if (await this.puller.rescanned()) this.loop.requestPull();
      }
    } catch (err) {
      this.ctx.log(`share ${this.row.name}: scan failed: ${(err as Error).message}`);
    } finally {
      this.fullScanActive = false;
    }
    this.syncSoon();
  }

  /**
   * Files written within the file system's timestamp granularity of being read: a same-size
   * rewrite could keep size, mtime and inode, so the next scan hashes them again.
   */
  private readonly racy = new Set<string>();

  /** Whether a file whose stat matches its entry holds what the entry says, as far as the scan can tell. */
  trustsStat(path: string): boolean {
    return !this.racy.has(path);
  }

  private previous(path: string): PreviousState | undefined {
    // stat fields only: the watcher's report of every pulled file asks, and a whole entry (chunk
    // list, version, signature) decoded each time was 5 % of a new device's main thread
    return this.asPrevious(path, this.ctx.store.fileStat(this.id, this.ctx.self.id, path));
  }

  /**
   * The records of the folder the scan is walking, loaded in one query when it enters the folder:
   * the walk reports a folder's entries one after another, and a query per file was the largest
   * part of a scan's main-thread time (bench/README.md, "Scan"). Scans and pulls take turns, so
   * nothing else writes these records while the scan looks at them.
   */
  private scanDir: { dir: string; byPath: Map<string, FileStat> } | null = null;
  /**
   * Paths the running scan asked about that this device has no record of (not even a tombstone):
   * a new file it then hashes needs no lookup of its entry. That lookup (`getFile`, a miss) was 13 %
   * of the main thread of a scan of 2,000 new small files (bench/README.md, "Small files, third
   * round"). Nothing else writes this device's records while a scan runs (scans and pulls take
   * turns), and the scan reports each path once.
   */
  private scanUnrecorded = new Set<string>();

  private scannedBefore(path: string): PreviousState | undefined {
    const slash = path.lastIndexOf('/');
    const dir = slash < 0 ? '' : path.slice(0, slash);
    if (this.scanDir?.dir !== dir) {
      const byPath = new Map<string, FileStat>();
      for (const r of this.ctx.store.childStats(this.id, this.ctx.self.id, dir)) byPath.set(r.path, r);
      this.scanDir = { dir, byPath };
    }
    const r = this.scanDir.byPath.get(path) ?? null;
    if (!r) this.scanUnrecorded.add(path);
    return this.asPrevious(path, r);
  }

  /** This device's entry for a path the scan found changed (null: none, as the scan already saw). */
  private scannedEntry(path: string): FileRecord | null {
    if (this.scanUnrecorded.delete(path)) return null;
    return this.ctx.store.getFile(this.id, this.ctx.self.id, path);
  }

  private asPrevious(path: string, r: Omit<FileStat, 'path'> | null): PreviousState | undefined {
    if (!r || r.deleted) return undefined;
    return { type: r.type, size: r.size, mtimeMs: r.mtimeMs, inode: r.inode, mode: r.mode, racy: this.racy.has(path) };
  }

  /** What the index records for a path, pulled entries still waiting to be written included. */
  private recordedNow(path: string): PreviousState | undefined {
    const waiting = this.pulledBatch.get(path);
    return waiting ? this.asPrevious(path, waiting) : this.previous(path);
  }

  private async scanOnce(paths: string[] | undefined): Promise<void> {
    const seen = new Set<string>();
    const keep = new Set<string>(); // errors and ignored paths: what the index has stays
    const batch: { path: string; change: LocalChange; prev: FileRecord | null }[] = [];
    const newErrors = new Map<string, string>();
    let roots: string[] = [];
    let incomplete: string[] = [];
    const temps: string[] = [];

    const flush = () => {
      if (batch.length) this.applyChanges(batch.splice(0));
    };
    this.scanDir = null;
    this.scanUnrecorded.clear();
    const events: AsyncGenerator<ScanEvent> = scan({
      root: this.root,
      paths,
      previous: (p) => this.scannedBefore(p),
      pool: this.ctx.pool,
      ignore: this.ignore ?? undefined,
      maxChunksPerFile: this.ctx.maxChunksPerFile,
    });
    for await (const ev of events) {
      if (this.stopped) return;
      switch (ev.kind) {
        case 'unchanged':
          seen.add(ev.path);
          break;
        case 'changed': {
          seen.add(ev.entry.path);
          if (ev.entry.racy) this.racy.add(ev.entry.path);
          else this.racy.delete(ev.entry.path);
          const prev = this.scannedEntry(ev.entry.path);
          const change = localChange(prev ?? undefined, toDiskEntry(ev.entry), this.ctx.self.id, this.counterFloor);
          if (change.kind !== 'none') batch.push({ path: ev.entry.path, change, prev });
          if (batch.length >= 500) flush();
          break;
        }
        case 'error':
          keep.add(ev.path);
          newErrors.set(ev.path, ev.error);
          break;
        case 'ignored':
          keep.add(ev.path);
          if (isTempPath(ev.path)) temps.push(ev.path);
          break;
        case 'skipped':
          keep.add(ev.path);
          break;
        case 'done':
          roots = ev.summary.roots;
          incomplete = ev.summary.incomplete;
          break;
      }
    }
    flush();
    this.scanDir = null;
    this.scanUnrecorded.clear();
    this.puller.noteTemps(temps);

    // Whatever the walk covered but did not see is gone from disk: tombstones. Only when the
    // folder is still the one we shared, so an unmounted drive never turns into mass deletes.
    if (!this.checkHealth()) return;
    const under = (p: string, dirs: readonly string[]) => dirs.some((d) => d === '' || p === d || p.startsWith(d + '/'));
    const gone: FileRecord[] = [];
    const kept = [...keep];
    for (const root of roots) {
      // stat fields a page at a time: whole records of the share at once were a scan's peak
      for (const st of this.ctx.store.liveStatsUnder(this.id, this.ctx.self.id, root)) {
        if (seen.has(st.path) || under(st.path, incomplete) || under(st.path, kept)) continue;
        if (this.ignore?.ignores(st.path, st.type === 'dir')) continue;
        const rec = this.ctx.store.getFile(this.id, this.ctx.self.id, st.path);
        if (rec && !rec.deleted) gone.push(rec);
      }
    }
    // back on disk: nothing to decide
    for (const p of [...this.held.keys()]) if (seen.has(p)) this.held.delete(p);
    for (const p of [...this.settling.keys()]) if (seen.has(p)) this.settling.delete(p);
    this.settleDeletions(gone);

    if (!paths) this.errors = newErrors;
    else {
      for (const p of [...this.errors.keys()]) if (under(p, roots)) this.errors.delete(p);
      for (const [p, e] of newErrors) this.errors.set(p, e);
    }
  }

  /** Local deletions the mass-delete guard holds (path -> the entry that was deleted) until the user decides. */
  private readonly held = new Map<string, FileRecord>();
  /** recorded deletions of files and symlinks, for the guard's window: [when, how many] */
  private recentDeletes: [number, number][] = [];

  get heldDeletes(): number {
    return this.held.size;
  }

  /** Deletions scans found, waiting for the rest of their burst (path -> entry found gone). */
  private readonly settling = new Map<string, FileRecord>();
  private settlingSince = 0;
  private settlingJoinedAt = 0;
  private settleTimer: NodeJS.Timeout | null = null;

  /**
   * Adds what a scan found gone to the deletions that settle, and once no more join, records them
   * (sends them to peers) or, when it looks like the folder was emptied by mistake, holds them.
   * The wait is a rescan of the waiting paths: a job of the share's loop like any scan.
   */
  private settleDeletions(gone: FileRecord[]): void {
    const now = (this.ctx.now ?? Date.now)();
    const joining = gone.filter((r) => !this.settling.has(r.path));
    if (joining.length) {
      if (!this.settling.size) this.settlingSince = now;
      this.settlingJoinedAt = now;
      for (const r of joining) this.settling.set(r.path, r);
    }
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    if (!this.settling.size) return;
    this.recentDeletes = this.recentDeletes.filter(([at]) => now - at < MASS_DELETE_WINDOW_MS);
    const decide = (recs: FileRecord[]) => {
      const local = this.ctx.store.counts(this.id, this.ctx.self.id);
      const batch = {
        live: local.files + local.symlinks,
        deleting: recs.filter((r) => r.type !== 'dir').length,
        recentlyDeleted: this.recentDeletes.reduce((n, [, k]) => n + k, 0),
        holding: this.held.size > 0,
        firstAt: this.settlingSince,
        lastAt: this.settlingJoinedAt,
      };
      return { batch, decision: decideDeletions(batch, now, deleteSettleMs()) };
    };
    const first = decide([...this.settling.values()]).decision;
    if (first.kind === 'wait') {
      this.settleTimer = setTimeout(() => void this.requestScan([...this.settling.keys()]), first.ms);
      this.settleTimer.unref();
      return;
    }
    // decided: only what is still gone from disk (and not deleted meanwhile) counts
    const still: FileRecord[] = [];
    for (const path of this.settling.keys()) {
      const cur = this.ctx.store.getFile(this.id, this.ctx.self.id, path);
      if (cur && !cur.deleted && !existsOnDisk(this.root, path)) still.push(cur);
    }
    this.settling.clear();
    if (!still.length) return;
    const { batch, decision } = decide(still);
    if (decision.kind === 'hold') {
      const firstHold = this.held.size === 0;
      for (const r of still) this.held.set(r.path, r);
      if (firstHold)
        this.ctx.log(
          `share ${this.row.name}: ${batch.deleting} of ${batch.live} files were deleted at once; the deletions are held (not sent to other devices) until they are confirmed (peerfold confirm-deletes ${this.id}) or the files restored from peers (peerfold restore-deletes ${this.id})`,
        );
      this.ctx.changed();
      return;
    }
    this.recentDeletes.push([now, batch.deleting]);
    for (let i = 0; i < still.length; i += 500) {
      this.applyChanges(
        still
          .slice(i, i + 500)
          .map((rec) => ({ path: rec.path, change: localDeletion(rec, this.ctx.self.id, this.counterFloor), prev: rec })),
      );
    }
  }

  /** The user confirmed the held deletions: record and announce those still gone from disk. */
  confirmHeldDeletes(): number {
    const items: { path: string; change: LocalChange; prev: FileRecord | null }[] = [];
    for (const path of this.held.keys()) {
      const cur = this.ctx.store.getFile(this.id, this.ctx.self.id, path);
      if (cur && !cur.deleted && !existsOnDisk(this.root, path))
        items.push({ path, change: localDeletion(cur, this.ctx.self.id, this.counterFloor), prev: cur });
    }
    this.held.clear();
    for (let i = 0; i < items.length; i += 500) this.applyChanges(items.slice(i, i + 500));
    this.ctx.changed();
    this.syncSoon();
    return items.length;
  }

  /**
   * The user wants the held files back: this device forgets its entries for them, so the versions
   * its peers hold are pulled again, as for any file this device lacks.
   */
  restoreHeldDeletes(): number {
    const paths = [...this.held.keys()].filter((p) => !existsOnDisk(this.root, p));
    this.held.clear();
    this.forgetLocal(paths);
    this.puller.indexChanged();
    this.ctx.changed();
    this.syncSoon();
    return paths.length;
  }

  /** Records local changes in one transaction, each new version with the next local sequence. */
  private applyChanges(items: { path: string; change: LocalChange; prev: FileRecord | null }[]): void {
    const records: FileRecord[] = [];
    let announced = false;
    for (const { path, change, prev } of items) {
      if (change.kind === 'none') continue;
      // a refresh keeps the recorded version; a new version gets its sequence in the transaction
      let version: VersionVector, sequence: number, deleted: boolean, modifiedBy: DeviceId;
      if (change.kind === 'version') {
        announced = true;
        ({ version, deleted } = change);
        sequence = 0;
        modifiedBy = this.ctx.self.id;
      } else if (prev) {
        ({ version, sequence, modifiedBy } = prev);
        deleted = false;
      } else continue;
      const e = change.entry;
      // one literal of one shape (not a base object spread into each): a scan writes 10,000s of
      // these and each lives through its batch's transaction (bench/README.md, "Memory, fifth round")
      records.push({
        shareId: this.id,
        deviceId: this.ctx.self.id,
        path,
        type: e.type,
        size: e.size,
        mode: e.mode,
        mtimeMs: e.mtimeMs,
        inode: e.inode,
        symlinkTarget: e.symlinkTarget,
        version,
        sequence,
        deleted,
        chunks: e.chunks,
        hash: e.hash,
        modifiedBy,
      });
    }
    if (!records.length) return;
    this.ctx.store.transaction(() => {
      for (const r of records) if (r.sequence === 0) r.sequence = ++this.seq;
      this.ctx.store.putFiles(records);
    });
    this.localEntriesWritten(records.map((r) => r.path));
    this.puller.indexChanged();
    if (announced) this.ctx.localIndexChanged();
    this.ctx.changed();
  }

  /** Writes entries the puller produced (content now on disk), each with the next local sequence. */
  // by path (a path written twice keeps its last entry): the watcher's reports of these files look
  // their entries up here, one per file, while the batch waits
  private pulledBatch = new Map<string, Omit<FileRecord, 'sequence'>>();
  private pulledTimer: NodeJS.Timeout | null = null;
  /** when the last batch of pulled entries was written (performance.now()) */
  private pulledFlushedAt = -Infinity;

  /**
   * Records entries the puller produced (content now on disk), each with the next local sequence.
   * Many small files arrive at once: they are written in batches, one durable commit per batch. A
   * crash before a batch is written loses nothing: the next scan finds those files and, their
   * content being the global one, merges them silently.
   */
  recordPulled(records: Omit<FileRecord, 'sequence'>[]): void {
    if (!records.length) return;
    for (const r of records) this.pulledBatch.set(r.path, r);
    this.ownWrites.note(records.map((r) => r.path));
    if (this.pulledBatch.size >= PULLED_BATCH_MAX) this.flushPulled();
    else
      this.pulledTimer ??= setTimeout(
        guard(
          (_, m) => this.ctx.log(`share ${this.row.name}: ${m}`),
          'recording pulled files',
          () => this.flushPulled(),
        ),
        pulledFlushDelayMs(performance.now() - this.pulledFlushedAt),
      );
  }

  /** Writes the pending pulled entries now (the puller reads the index right after some steps). */
  flushPulled(): void {
    if (this.pulledTimer) clearTimeout(this.pulledTimer);
    this.pulledTimer = null;
    const batch = this.pulledBatch;
    if (!batch.size) return;
    this.pulledBatch = new Map();
    this.pulledFlushedAt = performance.now();
    this.ctx.store.transaction(() => {
      this.ctx.store.putFiles([...batch.values()].map((r) => ({ ...r, sequence: ++this.seq })));
    });
    this.localEntriesWritten(batch.keys());
    this.ctx.localIndexChanged();
    this.ctx.changed();
  }
}

/** A symlink's content is its target: give it a hash so versions of links compare by content. */
function toDiskEntry(e: ScannedEntry) {
  const hash = e.type === 'symlink' ? symlinkHash(e.symlinkTarget ?? '') : e.type === 'dir' ? '' : e.hash;
  return {
    path: e.path,
    type: e.type,
    size: e.size,
    mode: e.mode,
    mtimeMs: e.mtimeMs,
    inode: e.inode,
    symlinkTarget: e.symlinkTarget,
    chunks: e.chunks,
    hash,
  };
}
