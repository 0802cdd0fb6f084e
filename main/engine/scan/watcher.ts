// Change detection: one fs.watch per directory, behind a small interface. Reports share-relative
// paths that changed, debounced, so the engine can scan just those subtrees. When the OS runs out
// of watches (inotify ENOSPC) or file descriptors (EMFILE) it stops and says 'rescan-only': the
// engine then shows that in status and relies on its periodic full rescans.
//
// Why not chokidar (used before): it keeps an fs.watch handle, a Stats object (four Dates), and
// closures for every file, about 2.5 KB of JS heap per file plus a native handle each (a 10,000-file
// share: +34 MB of heap; bench/README.md). A directory's watch already reports its children on
// every OS, so watching directories alone is enough: memory grows with folders, not files.

import { lstatSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { IGNORE_FILE, IgnoreRules, isInternalPath, PEERFOLD_DIR, type Matcher } from './ignore.ts';
import { minimalRoots, normalizeRequests } from './walker.ts';

export type WatcherState = 'watching' | 'rescan-only';

export interface WatchOptions {
  /** quiet time before reporting; default 200 ms */
  debounceMs?: number;
  /** longest a change waits while changes keep coming; default 1000 ms */
  maxDelayMs?: number;
  /** the share's ignore rules: ignored folders are not watched (saves OS watches) */
  ignore?: Matcher;
  onState?: (state: WatcherState, reason: string | null) => void;
  /** other watcher trouble (an unreadable folder, ...); the watcher keeps going */
  onError?: (message: string) => void;
  /**
   * Keeps the reported paths that need a scan, before they are merged into subtrees (the share
   * drops its own writes: model/own-writes.ts). Without it every reported path is scanned.
   */
  needsScan?: (relPaths: string[]) => Promise<string[]>;
}

export interface Watcher {
  /** resolves once the initial directory walk is done and changes are being seen */
  readonly ready: Promise<void>;
  state(): WatcherState;
  close(): Promise<void>;
}

export function isWatchLimitError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | null;
  if (!e) return false;
  if (e.code === 'ENOSPC' || e.code === 'EMFILE' || e.code === 'ENFILE') return true;
  return /ENOSPC|EMFILE|ENFILE|file watchers reached|too many open files/i.test(String(e.message ?? ''));
}

function watchLimitReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EMFILE' || code === 'ENFILE') {
    return 'too many open files for the file watcher (raise the limit with `ulimit -n`); changes are picked up by periodic rescans';
  }
  return 'the system limit on file watches was reached (raise fs.inotify.max_user_watches); changes are picked up by periodic rescans';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Watched directories: share-relative path (as the disk spells it) -> its watch. */
type Dirs = Map<string, { w: FSWatcher }>;

function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/**
 * Watches `root` (absolute). `onPaths` gets share-relative paths ('/' separated) whose subtrees
 * should be rescanned; '' means the whole share (after the ignore file changed).
 */
export function watch(root: string, onPaths: (relPaths: string[]) => void, opts: WatchOptions = {}): Watcher {
  const debounceMs = opts.debounceMs ?? 200;
  const maxDelayMs = Math.max(debounceMs, opts.maxDelayMs ?? 1000);
  let state: WatcherState = 'watching';
  let closed = false;
  /** one watch per directory, keyed by its share-relative path as the disk spells it */
  let dirs: Dirs = new Map();

  const pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let firstAt = 0;

  const flush = () => {
    timer = null;
    if (closed || pending.size === 0) return;
    const requested = normalizeRequests([...pending]);
    pending.clear();
    for (const b of requested.bad) opts.onError?.(`ignored a change report: ${b.error}`);
    const report = (paths: string[]) => {
      if (closed || !paths.length) return;
      try {
        onPaths(minimalRoots(paths));
      } catch (err) {
        opts.onError?.(`change handler failed: ${(err as Error)?.message ?? err}`);
      }
    };
    if (!opts.needsScan) return report(requested.paths);
    opts.needsScan(requested.paths).then(report, (err) => {
      // when in doubt, scan
      opts.onError?.(`could not sort out the share's own writes: ${(err as Error)?.message ?? err}`);
      report(requested.paths);
    });
  };

  const note = (rel: string) => {
    if (closed) return;
    const now = Date.now();
    if (pending.size === 0) firstAt = now;
    pending.add(rel);
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, Math.max(0, Math.min(debounceMs, firstAt + maxDelayMs - now)));
  };

  /** Paths not to report or watch: ours (but .peerfold itself, for the ignore file) and ignored ones. */
  const isIgnored = (rel: string, isDir: boolean): boolean => {
    if (rel === PEERFOLD_DIR || rel === IGNORE_FILE) return false;
    if (isInternalPath(rel)) return true;
    return opts.ignore ? opts.ignore.ignores(rel.normalize('NFC'), isDir) : false;
  };

  const closeAll = (which: Dirs) => {
    for (const { w } of which.values()) w.close();
    which.clear();
  };

  const goRescanOnly = (err: unknown) => {
    if (state === 'rescan-only' || closed) return;
    state = 'rescan-only';
    closeAll(dirs);
    try {
      opts.onState?.('rescan-only', watchLimitReason(err));
    } catch {
      // the state is what matters; a failing listener must not break the watcher
    }
  };

  /** Stops watching a directory and everything below it (it was removed or replaced). */
  const unwatchTree = (rel: string) => {
    for (const [d, { w }] of dirs) {
      if (d === rel || rel === '' || d.startsWith(rel + '/')) {
        w.close();
        dirs.delete(d);
      }
    }
  };

  const onEvent = (set: Dirs, dirRel: string, event: string, name: Buffer | null) => {
    if (closed || set !== dirs) return;
    let child: string | null = null;
    if (name !== null) {
      try {
        child = joinRel(dirRel, utf8.decode(name));
      } catch {
        child = null; // not valid UTF-8: the scan of its folder reports it
      }
    }
    // An event on the watched folder itself (its mode or times set, as a pull does after making
    // it) comes with the folder's own name, read here as a child of that name: 'many/many'. When
    // no such child exists, it was the folder.
    if (
      child !== null &&
      dirRel !== '' &&
      child.slice(dirRel.length + 1) === dirRel.slice(dirRel.lastIndexOf('/') + 1) &&
      !exists(join(root, child))
    )
      child = null;
    if (child === null) {
      if (dirRel !== PEERFOLD_DIR) note(dirRel);
      return;
    }
    if (child === IGNORE_FILE) {
      void ignoreChanged();
      return;
    }
    if (dirRel === PEERFOLD_DIR || child === PEERFOLD_DIR) {
      // .peerfold appeared (or went): watch it for the ignore file, report nothing
      if (child === PEERFOLD_DIR) void watchNew(set, child, event === 'rename');
      return;
    }
    if (isIgnored(child, set.has(child))) return;
    note(child);
    // A new entry may be a directory (made, or moved in) to watch; a removed one may have been one.
    // A 'change' is a file's content or any entry's metadata: only a watched folder needs a look.
    if (event === 'rename' || set.has(child)) void watchNew(set, child, event === 'rename');
  };

  /**
   * Watches `rel` and its subdirectories if it is a directory now. A 'rename' in its parent means
   * the entry was made, removed or moved: any watch on the old one is dead (even when a new folder
   * got the same name, and the file system the same inode number), so it is watched afresh.
   */
  const watchNew = async (set: Dirs, rel: string, renamed: boolean) => {
    let isDir = false;
    try {
      isDir = (await lstat(join(root, rel))).isDirectory();
    } catch {
      isDir = false;
    }
    if (set !== dirs || closed) return;
    if ((renamed || !isDir) && set.has(rel)) unwatchTree(rel);
    if (!isDir) return;
    if (set.has(rel) || (rel !== PEERFOLD_DIR && isIgnored(rel, true))) return;
    await watchTree(set, rel);
    // files made in it before its watch began were seen by nobody: scan it once more
    if (rel !== PEERFOLD_DIR) note(rel);
  };

  /** Adds a watch on one directory; false when watching stopped (limit reached, closed). */
  const watchDir = (set: Dirs, rel: string): boolean => {
    if (closed || set !== dirs || state !== 'watching') return false;
    if (set.has(rel)) return true;
    let w: FSWatcher;
    try {
      w = fsWatch(join(root, rel), { persistent: true, encoding: 'buffer' }, (event, name) =>
        onEvent(set, rel, event, (name as Buffer | null) ?? null),
      );
    } catch (err) {
      if (isWatchLimitError(err)) {
        goRescanOnly(err);
        return false;
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') opts.onError?.(`cannot watch ${rel || '(share root)'}: ${(err as Error).message}`);
      return true;
    }
    w.on('error', (err) => {
      if (set !== dirs || closed) return;
      if (isWatchLimitError(err)) return goRescanOnly(err);
      // the folder went away or cannot be read: stop watching it and let a scan look
      w.close();
      if (set.get(rel)?.w === w) set.delete(rel);
      note(rel);
    });
    set.set(rel, { w });
    return true;
  };

  /** Watches `rel` and every directory below it that is not ignored. */
  const watchTree = async (set: Dirs, rel: string) => {
    const stack = [rel];
    while (stack.length) {
      const dir = stack.pop()!;
      if (!watchDir(set, dir)) return;
      if (dir === PEERFOLD_DIR) continue; // only the ignore file matters in there
      let entries: { name: Buffer; isDirectory(): boolean }[];
      try {
        entries = (await readdir(join(root, dir), { withFileTypes: true, encoding: 'buffer' })) as unknown as typeof entries;
      } catch {
        continue; // gone or unreadable: the scan reports it
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        let name: string;
        try {
          name = utf8.decode(e.name);
        } catch {
          continue; // the scan reports names that are not valid UTF-8; nothing below them syncs
        }
        const child = joinRel(dir, name);
        if (child === PEERFOLD_DIR || !isIgnored(child, true)) stack.push(child);
      }
    }
  };

  const start = async () => {
    const set: Dirs = new Map();
    dirs = set;
    await watchTree(set, '');
  };

  // New rules decide which folders to watch, and what every path means: restart and rescan all.
  let restarting: Promise<void> | null = null;
  const ignoreChanged = async () => {
    if (opts.ignore instanceof IgnoreRules) {
      try {
        await opts.ignore.reload();
      } catch {
        // reload reports its own problems through IgnoreRules.error
      }
    }
    if (closed || state !== 'watching' || restarting) {
      note('');
      return;
    }
    const old = dirs;
    restarting = (async () => {
      closeAll(old);
      if (!closed && state === 'watching') await start();
    })().finally(() => (restarting = null));
    try {
      await restarting;
    } catch (err) {
      // runs from a watcher event: a failed restart is reported, the full rescan still happens
      opts.onError?.(`could not restart watching after the ignore file changed: ${(err as Error)?.message ?? err}`);
    }
    note('');
  };

  const ready = start().catch((err) => opts.onError?.(`file watcher: ${(err as Error)?.message ?? err}`));

  return {
    ready,
    state: () => state,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      pending.clear();
      closeAll(dirs);
    },
  };
}

function exists(full: string): boolean {
  try {
    lstatSync(full);
    return true;
  } catch {
    return false;
  }
}
