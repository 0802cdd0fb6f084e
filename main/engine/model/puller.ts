// Brings one share's files to the global state: works out what this device needs (sync/decide)
// and carries it out (pull/): directories, then files (chunks copied locally where possible,
// fetched from peers otherwise), then deletions, deepest first.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { PullProgress, VersionVector } from '../../../shared/api.ts';
import type { FileRecord } from '../index/rows.ts';
import type { IndexStore } from '../index/store.ts';
import { LocalChangeError, existsOnDisk, installTemp, makeDir, makeSymlink, removeForTombstone, removeInShare, renameInShare, unchangedOnDisk } from '../pull/apply.ts';
import { buildTempFile, readVerified, tempRelPath, type ChunkSpec } from '../pull/file-puller.ts';
import { unsafeRemotePath } from '../pull/path-safety.ts';
import { RetryBook } from '../pull/retry.ts';
import { removeUnownedTemps } from '../pull/temp-files.ts';
import { decide, type Decision } from '../sync/decide.ts';
import { pickGlobal } from '../sync/global.ts';
import { conflictPath } from '../sync/names.ts';
import { bumpVector } from '../sync/vv.ts';
import { archiveReplaced } from './archive.ts';

/** Fetches a verified chunk of a file's global version from connected peers. */
export interface ChunkSwarm {
  fetch(shareId: string, path: string, version: VersionVector, spec: ChunkSpec, signal: AbortSignal): Promise<Uint8Array>;
  /** devices connected for this share that hold exactly this version of the path */
  holders(shareId: string, path: string, version: VersionVector): number;
}

export interface PullerContext {
  shareId: string;
  root: () => string;
  store: IndexStore;
  self: string;
  /** this device's least counter for new versions (vv.ts) */
  counterFloor: () => number;
  selfName: () => string;
  swarm: () => ChunkSwarm | null;
  /** may the share touch disk and network now (not paused, folder healthy) */
  active: () => boolean;
  record(records: Omit<FileRecord, 'sequence'>[]): void;
  /** writes recorded entries still held for batching */
  flush(): void;
  rescan(paths: string[]): Promise<void>;
  conflictCreated(path: string, conflictPath: string): void;
  changed(): void;
  log(message: string): void;
  /** the clock failures wait by (tests hold it still); default Date.now */
  now?: () => number;
}

export interface NeedItem {
  path: string;
  global: FileRecord;
  local: FileRecord | undefined;
  decision: Exclude<Decision, { kind: 'none' }>;
}

export interface SyncSummary {
  globalFiles: number | null;
  globalBytes: number | null;
  needFiles: number;
  needBytes: number;
  pulling: PullProgress[];
  errors: { path: string; error: string }[];
}

interface Active {
  size: number;
  done: number;
  started: number;
  abort: AbortController;
}

const FILES_IN_PARALLEL = 16;
/**
 * A need pass reads every path of the share (~150 ms for 10,000 files), and while a peer pulls,
 * its index updates arrive every few tens of ms, each asking for a pass. Passes therefore start at
 * least this many times the last pass's duration apart, so they cannot take the whole main thread
 * (which also serves the chunks that peer is asking for).
 */
const NEED_PASS_SPACING = 3;

export class Puller {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly active = new Map<string, Active>();
  /** paths whose pull failed: why, and when to try again */
  readonly failures = new RetryBook();
  private retryTimer: NodeJS.Timeout | null = null;
  /** temp files this device may have left (found by scans, or written by this puller) */
  private readonly temps = new Set<string>();
  /** the temp files the last need pass still wants (an interrupted pull resumes from them) */
  private ownedTemps = new Set<string>();
  summary: SyncSummary = { globalFiles: null, globalBytes: null, needFiles: 0, needBytes: 0, pulling: [], errors: [] };
  private stopped = false;
  /** duration and end (performance.now()) of the last need pass */
  private lastNeedMs = 0;
  private lastNeedAt = 0;

  private readonly now: () => number;

  constructor(private readonly ctx: PullerContext) {
    this.now = ctx.now ?? Date.now;
  }

  /** Resolves once no pass is running or about to start (retries waiting for their time aside). */
  async settled(): Promise<void> {
    while (this.running || this.timer) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, 20));
    }
  }

  private spacingLeftMs(): number {
    return this.lastNeedAt + NEED_PASS_SPACING * this.lastNeedMs - performance.now();
  }

  /** Runs a pass soon; passes never overlap, and one requested during a pass runs after it. */
  schedule(delayMs = 50): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.loop()
        .catch((err) => this.ctx.log(`share ${this.ctx.shareId}: sync pass failed: ${(err as Error).message}`))
        .finally(() => {
          this.running = null;
        });
    }, Math.max(delayMs, this.spacingLeftMs()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const a of this.active.values()) a.abort.abort();
    await this.running?.catch(() => undefined);
  }

  /** Cancels transfers in progress (pause); state and temp files stay for the next pass. */
  abortTransfers(): void {
    for (const a of this.active.values()) a.abort.abort();
  }

  private async loop(): Promise<void> {
    let executed = false;
    do {
      this.again = false;
      const wait = this.spacingLeftMs();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.stopped) return;
      const needs = this.computeNeed();
      executed = this.ctx.active() && needs.length > 0;
      if (executed) await this.execute(needs);
      else this.ctx.changed();
    } while (this.again && !this.stopped);
    // the summary after what the last pass did (a pass that did nothing has just computed it)
    if (executed) this.computeNeed();
    await this.removeStaleTemps();
    this.scheduleRetry();
    this.ctx.changed();
  }

  /** Wakes up when the first waiting failure may be tried again. */
  private scheduleRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const at = this.failures.nextRetryAt();
    if (at === null || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.schedule();
    }, Math.max(0, at - this.now()) + 10);
    this.retryTimer.unref();
  }

  /** Temp files found by a scan: removed after the next pass unless a pull still wants them. */
  noteTemps(paths: Iterable<string>): void {
    for (const p of paths) this.temps.add(p);
  }

  /**
   * A rescan ran: failures whose cause may have gone (space freed, permissions changed) are
   * tried now instead of after their wait.
   */
  async rescanned(): Promise<void> {
    if (!this.failures.size) return;
    const free = await fsp.statfs(this.ctx.root()).then((s) => s.bavail * s.bsize, () => null);
    if (this.failures.wake(free) > 0) this.schedule();
  }

  private async removeStaleTemps(): Promise<void> {
    if (!this.temps.size) return;
    const owned = (rel: string) => this.ownedTemps.has(rel);
    const removed = await removeUnownedTemps(this.ctx.root(), [...this.temps], owned);
    for (const rel of [...this.temps]) if (!owned(rel)) this.temps.delete(rel);
    if (removed.length) this.ctx.log(`share ${this.ctx.shareId}: removed ${removed.length} temp file(s) of pulls no longer wanted`);
  }

  /** Every path where this device differs from the global state, plus the share's global totals. */
  computeNeed(): NeedItem[] {
    const started = performance.now();
    this.ctx.flush();
    const needs: NeedItem[] = [];
    const needed = new Set<string>();
    const owned = new Set<string>();
    const now = this.now();
    let needFiles = 0;
    let globalFiles = 0;
    let globalBytes = 0;
    let needBytes = 0;
    for (const { path, entries } of this.ctx.store.iterateByPath(this.ctx.shareId)) {
      const global = pickGlobal(entries);
      if (!global) continue;
      if (!global.deleted && global.type !== 'dir') {
        globalFiles++;
        globalBytes += global.size;
      }
      const local = entries.find((e) => e.deviceId === this.ctx.self);
      const decision = decide(local, global, this.ctx.self);
      if (decision.kind === 'none') continue;
      needed.add(path);
      // files and symlinks still to get or delete; folders and bookkeeping-only changes are not "files"
      if (decision.kind !== 'adopt' && global.type !== 'dir') needFiles++;
      if (decision.kind === 'fetch' && global.type === 'file') {
        needBytes += global.size;
        owned.add(tempRelPath(path, contentHashOf(global)));
      }
      const unsafe = unsafeRemotePath(path);
      if (unsafe) {
        this.failures.refused(path, `not synced: ${unsafe}`);
        continue;
      }
      if (this.failures.waiting(path, decisionKey(local, global), now)) continue;
      needs.push({ path, global, local, decision });
    }
    this.failures.keepOnly(needed);
    this.ownedTemps = owned;
    this.summary = {
      globalFiles,
      globalBytes,
      needFiles,
      needBytes,
      pulling: this.progress(),
      errors: this.failures.errors(),
    };
    this.lastNeedAt = performance.now();
    this.lastNeedMs = this.lastNeedAt - started;
    return needs;
  }

  progress(): PullProgress[] {
    const now = Date.now();
    return [...this.active].map(([path, a]) => {
      const secs = Math.max((now - a.started) / 1000, 0.001);
      const bytesPerSec = Math.round(a.done / secs);
      return { path, size: a.size, done: a.done, bytesPerSec, etaSec: bytesPerSec > 0 ? Math.ceil((a.size - a.done) / bytesPerSec) : null };
    });
  }

  private async execute(needs: NeedItem[]): Promise<void> {
    const adopts = needs.filter((n) => n.decision.kind === 'adopt');
    const dirs = needs.filter((n) => n.decision.kind === 'fetch' && n.global.type === 'dir').sort((a, b) => a.path.localeCompare(b.path));
    const files = needs.filter((n) => n.decision.kind === 'fetch' && n.global.type !== 'dir');
    const deletes = needs.filter((n) => n.decision.kind === 'delete').sort((a, b) => b.path.localeCompare(a.path));

    if (adopts.length) this.ctx.record(adopts.map((n) => this.adopted(n)));
    for (const n of dirs) await this.guard(n, () => this.pullDir(n));
    let next = 0;
    const worker = async () => {
      while (next < files.length && this.ctx.active() && !this.stopped) {
        const n = files[next++];
        await this.guard(n, () => (n.global.type === 'symlink' ? this.pullSymlink(n) : this.pullFile(n)));
      }
    };
    await Promise.all(Array.from({ length: FILES_IN_PARALLEL }, worker));
    for (const n of deletes) {
      if (!this.ctx.active() || this.stopped) break;
      await this.guard(n, () => this.pullDelete(n));
    }
  }

  /** Runs one item; failures are per path (retried next pass), never the whole pass. */
  private async guard(n: NeedItem, fn: () => Promise<void>): Promise<void> {
    if (!this.ctx.active() || this.stopped) return;
    // the index may have moved on since the need was computed
    const entries = this.ctx.store.entriesForPath(this.ctx.shareId, n.path);
    const global = pickGlobal(entries);
    const local = entries.find((e) => e.deviceId === this.ctx.self);
    if (!global || decide(local, global, this.ctx.self).kind === 'none') return;
    n.global = global;
    n.local = local;
    n.decision = decide(local, global, this.ctx.self) as NeedItem['decision'];
    const decision = decisionKey(local, global);
    try {
      await fn();
      this.failures.succeeded(n.path);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      // A local edit since the decision: the rescan records it, which changes the decision, and
      // the next pass tries the new one at once. When the rescan finds nothing, the same
      // decision waits like any other failure.
      if (err instanceof LocalChangeError) await this.ctx.rescan([n.path]);
      const failure = this.failures.failed(n.path, decision, err, this.now(), n.global.size);
      if (failure.kind === 'space') await removeInShare(this.ctx.root(), tempRelPath(n.path, contentHashOf(n.global)), 'entry').catch(() => undefined);
      if (failure.attempts === 1) this.ctx.log(`share ${this.ctx.shareId}: ${n.path}: ${failure.error}`);
      if (failure.kind === 'in-the-way') this.again = true;
    }
  }

  private adopted(n: NeedItem): Omit<FileRecord, 'sequence'> {
    const version = n.decision.kind === 'adopt' ? n.decision.version : n.global.version;
    const base = n.local && !n.local.deleted ? n.local : n.global;
    return { ...base, shareId: this.ctx.shareId, deviceId: this.ctx.self, version, modifiedBy: n.global.modifiedBy, deleted: n.global.deleted };
  }

  private async ensureUnchanged(n: NeedItem): Promise<void> {
    if (!(await unchangedOnDisk(this.ctx.root(), n.path, n.local))) throw new LocalChangeError(n.path);
  }

  private async keepOld(n: NeedItem): Promise<void> {
    if (n.decision.kind !== 'fetch' || !n.local || n.local.deleted) return;
    const root = this.ctx.root();
    if (n.local.type === 'dir') return; // replaced by a file: only possible once it is empty
    if (n.decision.keepOld === 'conflict-copy') {
      const target = conflictPath(n.path, { name: this.ctx.selfName(), id: this.ctx.self }, n.local.mtimeMs, (p) => this.ctx.store.getFile(this.ctx.shareId, this.ctx.self, p) !== null || existsOnDisk(root, p));
      await renameInShare(root, n.path, target);
      const st = await fsp.lstat(join(root, target));
      // the copy is a new file written by this device: it carries the losing content to everyone
      const before = this.ctx.store.getFile(this.ctx.shareId, this.ctx.self, target);
      this.ctx.record([{ ...n.local, path: target, version: bumpVector(before?.version ?? {}, this.ctx.self, this.ctx.counterFloor()), mtimeMs: st.mtimeMs, inode: st.ino, modifiedBy: this.ctx.self, deleted: false }]);
      this.ctx.conflictCreated(n.path, target);
    } else if (n.local.type === 'file') {
      await archiveReplaced(root, n.path, versionTag(n.local));
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
    this.ctx.record([{ ...n.global, shareId: this.ctx.shareId, deviceId: this.ctx.self, mtimeMs: st.mtimeMs, inode: st.ino, mode: st.mode & 0o7777 }]);
  }

  private async pullDelete(n: NeedItem): Promise<void> {
    await this.ensureUnchanged(n);
    const result = await removeForTombstone(this.ctx.root(), n.path, n.local ? versionTag(n.local) : 'gone');
    if (result === 'kept-nonempty-dir') throw new Error('folder not removed: it still holds files that are not deleted everywhere');
    this.ctx.record([{ ...n.global, shareId: this.ctx.shareId, deviceId: this.ctx.self, inode: 0 }]);
  }

  private async pullFile(n: NeedItem): Promise<void> {
    const root = this.ctx.root();
    await this.ensureUnchanged(n);
    const g = n.global;
    const abort = new AbortController();
    const entry: Active = { size: g.size, done: 0, started: Date.now(), abort };
    this.active.set(n.path, entry);
    this.ctx.changed();
    try {
      this.temps.add(tempRelPath(n.path, contentHashOf(g)));
      const { tempPath } = await buildTempFile({
        root,
        path: n.path,
        size: g.size,
        contentHash: contentHashOf(g),
        chunks: g.chunks,
        signal: abort.signal,
        provider: {
          local: (spec) => this.localChunk(spec),
          remote: (spec, signal) => {
            const swarm = this.ctx.swarm();
            if (!swarm) throw new Error('no peer is connected that has this file');
            return swarm.fetch(this.ctx.shareId, n.path, g.version, spec, signal);
          },
        },
        onProgress: (p) => {
          entry.done = p.done;
          this.ctx.changed();
        },
      });
      // the last moment before replacing: a local edit since the decision wins over us
      if (!(await unchangedOnDisk(root, n.path, n.local))) {
        throw new LocalChangeError(n.path);
      }
      await this.keepOld(n);
      if (n.local && !n.local.deleted && n.local.type === 'symlink') await removeInShare(root, n.path, 'entry').catch(() => undefined);
      if (n.local && !n.local.deleted && n.local.type === 'dir') await removeInShare(root, n.path, 'dir');
      const st = await installTemp(root, n.path, tempPath, g.mode & 0o7777 || 0o644, g.mtimeMs);
      this.ctx.record([{ ...g, shareId: this.ctx.shareId, deviceId: this.ctx.self, mtimeMs: st.mtimeMs, inode: st.ino, mode: st.mode & 0o7777 }]);
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

/** A short tag for archive names: who made the version and their counter. */
export function versionTag(r: Pick<FileRecord, 'version' | 'modifiedBy'>): string {
  const who = r.modifiedBy.replace(/[^A-Za-z0-9]/g, '').slice(0, 7) || 'local';
  return `${who}-${r.version[r.modifiedBy] ?? 0}`;
}


/** The content hash a file's temp name carries (an empty file has the hash of no bytes). */
function contentHashOf(r: Pick<FileRecord, 'hash'>): string {
  return r.hash || 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
}

/** What a pull of a path was decided from: when either side changes, it is a new decision. */
function decisionKey(local: FileRecord | undefined, global: FileRecord): string {
  return `${JSON.stringify(global.version)}|${global.deleted}|${local ? `${local.sequence}:${JSON.stringify(local.version)}` : '-'}`;
}
