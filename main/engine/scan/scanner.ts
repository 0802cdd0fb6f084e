// Scans a share: walks it, compares each entry with what the caller last recorded, and hashes
// (in the worker pool, several files in flight) only files whose size, mtime, inode or mode
// changed. It never touches the index: the engine turns these events into index changes and
// derives deletions from what a fully walked subtree did not report.

import { lstat } from 'node:fs/promises';
import type { FileType } from '../../../shared/api.ts';
import type { ChunkRef, FileHash, HashPool } from './hasher.ts';
import { MAX_CHUNKS_PER_FILE } from '../protocol/messages.ts';
import { HashError } from './file-hash.ts';
import { IgnoreRules, INTERNAL_ONLY, type Matcher } from './ignore.ts';
import { classify, walk, type FoundEntry, type WalkItem, type WalkSummary } from './walker.ts';

/** What the index last recorded for a path (the caller's view). */
export interface PreviousState {
  type: FileType;
  size: number;
  mtimeMs: number;
  inode: number;
  /** permission bits; when given, a mode change counts as a change */
  mode?: number;
  /** the entry was recorded from a racy read (ScannedEntry.racy): hash it again */
  racy?: boolean;
}

export interface ScannedEntry {
  /** share-relative, NFC, '/' separators */
  path: string;
  type: FileType;
  /** bytes for files, link target length for symlinks, 0 for directories */
  size: number;
  /** permission bits (mode & 0o7777) */
  mode: number;
  mtimeMs: number;
  inode: number;
  symlinkTarget: string | null;
  /** files only; [] for directories, symlinks and empty files */
  chunks: ChunkRef[];
  /** files: hex SHA-256 over the chunk hashes (an empty file has the hash of nothing); '' otherwise */
  hash: string;
  /**
   * Files only: modified within RACY_MS (2 s) of being read, so a same-size rewrite right after
   * could leave size, mtime and inode as recorded. Pass `racy: true` back in PreviousState for
   * this path (an in-memory set is enough) so the next scan hashes it instead of skipping it.
   */
  racy: boolean;
}

export interface ScanSummary extends WalkSummary {
  /** entries seen (files, directories, symlinks) */
  entries: number;
  filesHashed: number;
  bytesHashed: number;
  errors: number;
  durationMs: number;
}

export type ScanEvent =
  | { kind: 'unchanged'; path: string }
  | { kind: 'changed'; entry: ScannedEntry }
  /** the path could not be read; keep what the index has for it */
  | { kind: 'error'; path: string; error: string }
  /** matched the ignore rules (a directory's contents were not walked) */
  | { kind: 'ignored'; path: string; isDir: boolean }
  /** a socket, FIFO or device */
  | { kind: 'skipped'; path: string; reason: string }
  /** always the last event */
  | { kind: 'done'; summary: ScanSummary };

export interface ScanProgress {
  entries: number;
  filesHashed: number;
  bytesHashed: number;
  /** files being hashed right now */
  hashing: number;
}

export interface ScanOptions {
  /** absolute path of the share root */
  root: string;
  /** share-relative subtrees to scan (from the watcher); default [''] = the whole share */
  paths?: readonly string[];
  /** the index's view of a path, to skip hashing unchanged files */
  previous: (relPath: string) => PreviousState | undefined;
  pool: HashPool;
  /** default: only the always-ignored paths. IgnoreRules are reloaded first. */
  ignore?: Matcher;
  /** called at most every `progressMs` (default 100) and once at the end */
  onProgress?: (p: ScanProgress) => void;
  progressMs?: number;
  signal?: AbortSignal;
  /**
   * Files handed to the pool at once; default 16 x pool size, at least 32 (small files go by in a
   * blink, and the walk goes on while the one worker reads a big file)
   */
  maxInFlight?: number;
  /** a file cut into more chunks than this cannot be sent in an index: it is an error, not an entry (default MAX_CHUNKS_PER_FILE) */
  maxChunksPerFile?: number;
}

/** Why a file of `chunks` chunks is not synced, or null when it can be. */
export function tooManyChunks(path: string, chunks: number, size: number, max: number): string | null {
  if (chunks <= max) return null;
  const gib = (size / 2 ** 30).toFixed(1);
  return `${path} is not synced: at ${gib} GiB it has ${chunks} chunks, more than the ${max} one file may have; move it out of the share or add it to the ignore rules`;
}

/** Whether `cur` (from lstat) can be taken as what `prev` describes without hashing. */
export function isUnchanged(
  prev: PreviousState | undefined,
  type: FileType,
  cur: { size: number; mtimeMs: number; inode: number; mode: number },
): boolean {
  if (!prev || prev.type !== type || prev.racy) return false;
  if (prev.mode !== undefined && prev.mode !== cur.mode) return false;
  // A directory has no content of its own; its mtime moves whenever a child does.
  if (type === 'dir') return true;
  return prev.size === cur.size && prev.mtimeMs === cur.mtimeMs && prev.inode === cur.inode;
}

function metaEntry(e: FoundEntry): ScannedEntry {
  const s = e.stats;
  return {
    path: e.path,
    type: e.type,
    size: e.type === 'dir' ? 0 : s.size,
    mode: s.mode & 0o7777,
    mtimeMs: s.mtimeMs,
    inode: s.ino,
    symlinkTarget: e.symlinkTarget,
    chunks: [],
    hash: '',
    racy: false,
  };
}

function fileEntry(path: string, h: FileHash): ScannedEntry {
  return {
    path,
    type: 'file',
    size: h.size,
    mode: h.mode,
    mtimeMs: h.mtimeMs,
    inode: h.inode,
    symlinkTarget: null,
    chunks: h.chunks,
    hash: h.hash,
    racy: h.racy,
  };
}

export async function* scan(opts: ScanOptions): AsyncGenerator<ScanEvent> {
  const started = performance.now();
  const matcher = opts.ignore ?? INTERNAL_ONLY;
  let paths = opts.paths ?? [''];
  // New rules change what every path means: a partial scan becomes a full one.
  if (matcher instanceof IgnoreRules && (await matcher.reload())) paths = [''];

  const summary: ScanSummary = { roots: [], incomplete: [], entries: 0, filesHashed: 0, bytesHashed: 0, errors: 0, durationMs: 0 };
  const maxInFlight = Math.max(1, opts.maxInFlight ?? Math.max(2, opts.pool.size) * 16);
  // Files being hashed, and the events of those done, in the order they finished.
  let inFlight = 0;
  const settled: ScanEvent[][] = [];
  let wake: (() => void) | null = null;
  const nextSettled = async (): Promise<ScanEvent[]> => {
    while (!settled.length) await new Promise<void>((r) => (wake = r));
    return settled.shift()!;
  };
  let lastProgress = 0;
  const progressMs = opts.progressMs ?? 100;
  const progress = (force: boolean) => {
    if (!opts.onProgress) return;
    const now = performance.now();
    if (!force && now - lastProgress < progressMs) return;
    lastProgress = now;
    opts.onProgress({
      entries: summary.entries,
      filesHashed: summary.filesHashed,
      bytesHashed: summary.bytesHashed,
      hashing: inFlight,
    });
  };

  /** Hash one file; on a type change mid-read look again once. Never throws. */
  const hashEntry = async (e: FoundEntry, retried = false): Promise<ScanEvent[]> => {
    try {
      const h = await opts.pool.hash(e.diskPath, e.stats.size);
      summary.filesHashed++;
      summary.bytesHashed += h.size;
      const tooMany = tooManyChunks(e.path, h.chunks.length, h.size, opts.maxChunksPerFile ?? MAX_CHUNKS_PER_FILE);
      if (tooMany) return [{ kind: 'error', path: e.path, error: tooMany }];
      return [{ kind: 'changed', entry: fileEntry(e.path, h) }];
    } catch (err) {
      const raw = err instanceof HashError ? err : new HashError(String((err as Error)?.message ?? err), 'EHASH');
      // Messages name the share-relative path, as the rest of status does.
      const he = new HashError(raw.message.split(e.diskPath).join(e.path), raw.code);
      if (he.code === 'ENOENT') return []; // gone: the engine sees it as deleted
      if (he.code !== 'ENOTREG' || retried) return [{ kind: 'error', path: e.path, error: he.message }];
      // Replaced by something else since the walk saw it: report what is there now.
      let item: WalkItem | null;
      try {
        item = await classify(e.path, e.diskPath, await lstat(e.diskPath), matcher);
      } catch (statErr) {
        if ((statErr as NodeJS.ErrnoException).code === 'ENOENT') return [];
        return [{ kind: 'error', path: e.path, error: he.message }];
      }
      if (!item) return [];
      if (item.kind !== 'entry') return [item];
      if (item.type === 'file') return hashEntry(item, true);
      // A new directory's contents were not walked in this scan.
      if (item.type === 'dir') summary.incomplete.push(item.path);
      return [{ kind: 'changed', entry: metaEntry(item) }];
    }
  };

  const count = (ev: ScanEvent) => {
    if (ev.kind === 'error') summary.errors++;
  };

  for await (const item of walk({ root: opts.root, paths, ignore: matcher, signal: opts.signal }, summary)) {
    if (item.kind !== 'entry') {
      count(item);
      yield item;
      continue;
    }
    summary.entries++;
    const s = item.stats;
    const prev = opts.previous(item.path);
    if (isUnchanged(prev, item.type, { size: s.size, mtimeMs: s.mtimeMs, inode: s.ino, mode: s.mode & 0o7777 })) {
      yield { kind: 'unchanged', path: item.path };
    } else if (item.type !== 'file') {
      yield { kind: 'changed', entry: metaEntry(item) };
    } else {
      inFlight++;
      void hashEntry(item).then((events) => {
        settled.push(events);
        wake?.();
        wake = null;
      });
      // report what is done as it comes, and wait only when the pool holds enough
      while (settled.length || inFlight >= maxInFlight) {
        const events = await nextSettled();
        inFlight--;
        for (const ev of events) {
          count(ev);
          yield ev;
        }
      }
    }
    progress(false);
  }
  while (inFlight) {
    opts.signal?.throwIfAborted();
    const events = await nextSettled();
    inFlight--;
    for (const ev of events) {
      count(ev);
      yield ev;
    }
    progress(false);
  }
  progress(true);
  summary.durationMs = performance.now() - started;
  yield { kind: 'done', summary };
}
