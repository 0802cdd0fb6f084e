// Change detection: chokidar behind a small interface. Reports share-relative paths that changed,
// debounced, so the engine can scan just those subtrees. When the OS runs out of watches
// (inotify ENOSPC) or file descriptors (EMFILE) it stops and says 'rescan-only': the engine then
// shows that in status and relies on its periodic full rescans.

import { relative, sep } from 'node:path';
import { FSWatcher } from 'chokidar';
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

/**
 * Watches `root` (absolute). `onPaths` gets share-relative paths ('/' separated) whose subtrees
 * should be rescanned; '' means the whole share (after the ignore file changed).
 */
export function watch(root: string, onPaths: (relPaths: string[]) => void, opts: WatchOptions = {}): Watcher {
  const debounceMs = opts.debounceMs ?? 200;
  const maxDelayMs = Math.max(debounceMs, opts.maxDelayMs ?? 1000);
  let state: WatcherState = 'watching';
  let closed = false;
  let fsw: FSWatcher | null = null;

  const pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let firstAt = 0;

  const flush = () => {
    timer = null;
    if (closed || pending.size === 0) return;
    const requested = normalizeRequests([...pending]);
    pending.clear();
    for (const b of requested.bad) opts.onError?.(`ignored a change report: ${b.error}`);
    try {
      onPaths(minimalRoots(requested.paths));
    } catch (err) {
      opts.onError?.(`change handler failed: ${(err as Error)?.message ?? err}`);
    }
  };

  const note = (rel: string) => {
    if (closed) return;
    const now = Date.now();
    if (pending.size === 0) firstAt = now;
    pending.add(rel);
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, Math.max(0, Math.min(debounceMs, firstAt + maxDelayMs - now)));
  };

  const toRel = (p: string): string => {
    const r = relative(root, p);
    return sep === '/' ? r : r.split(sep).join('/');
  };

  const isIgnored = (p: string, stats?: { isDirectory(): boolean }): boolean => {
    const rel = toRel(p);
    if (rel === '' || rel.startsWith('..')) return false;
    // Watch .peerfold itself only to see the ignore file change.
    if (rel === PEERFOLD_DIR || rel === IGNORE_FILE) return false;
    if (isInternalPath(rel)) return true;
    if (!stats || !opts.ignore) return false;
    return opts.ignore.ignores(rel.normalize('NFC'), stats.isDirectory());
  };

  const goRescanOnly = (err: unknown) => {
    if (state === 'rescan-only' || closed) return;
    state = 'rescan-only';
    const old = fsw;
    fsw = null;
    void old?.close().catch(() => {});
    resolveReady();
    try {
      opts.onState?.('rescan-only', watchLimitReason(err));
    } catch {
      // the state is what matters; a failing listener must not break the watcher
    }
  };

  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));

  const start = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const w = new FSWatcher({ ignoreInitial: true, followSymlinks: false, atomic: false, ignored: isIgnored, persistent: true });
      fsw = w;
      w.on('all', (_event, path) => {
        if (w !== fsw) return;
        const rel = toRel(path);
        if (rel === PEERFOLD_DIR) return;
        if (rel === IGNORE_FILE) {
          void ignoreChanged();
          return;
        }
        note(rel);
      });
      w.on('error', (err) => {
        if (w !== fsw) return;
        if (isWatchLimitError(err)) {
          goRescanOnly(err);
          resolve();
        } else opts.onError?.(`file watcher: ${(err as Error)?.message ?? err}`);
      });
      w.on('ready', () => resolve());
      w.add(root);
    });

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
    const old = fsw;
    fsw = null;
    restarting = (async () => {
      await old?.close().catch(() => {});
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

  void start().then(resolveReady, resolveReady);

  return {
    ready,
    state: () => state,
    async close() {
      if (closed) return;
      closed = true;
      resolveReady();
      if (timer) clearTimeout(timer);
      timer = null;
      pending.clear();
      const w = fsw;
      fsw = null;
      await w?.close().catch(() => {});
    },
  };
}
