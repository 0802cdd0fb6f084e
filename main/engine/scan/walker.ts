// Walks a share (or some subtrees of it) and says what is there: files, directories and
// symlinks with their lstat, never following a symlink. Sockets, FIFOs and devices are skipped;
// names are reported NFC with '/' separators, relative to the share root. Problems with one
// path (unreadable directory, undecodable name) are items, never a failed walk.

import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { platform } from 'node:os';
import { basename, join } from 'node:path';
import type { FileType } from '../../../shared/api.ts';
import { INTERNAL_ONLY, PEERFOLD_DIR, isInternalPath, isTempName, type Matcher } from './ignore.ts';

export interface FoundEntry {
  kind: 'entry';
  /** share-relative, NFC, '/' separators */
  path: string;
  /** absolute path on disk (the name as the file system spells it) */
  diskPath: string;
  type: FileType;
  stats: Stats;
  symlinkTarget: string | null;
}

export type WalkItem =
  | FoundEntry
  /** matched .peerfold/ignore: not synced, and a directory's contents were not walked */
  | { kind: 'ignored'; path: string; isDir: boolean }
  /** a socket, FIFO or device: never synced */
  | { kind: 'skipped'; path: string; reason: string }
  | { kind: 'error'; path: string; error: string };

export interface WalkSummary {
  /**
   * The subtrees walked ('' = the whole share). Under each, whatever the walk did not report
   * no longer exists, except below `incomplete` and below error / ignored paths.
   */
  roots: string[];
  /** directories whose contents could not be listed (or changed type mid-scan) */
  incomplete: string[];
}

export interface WalkOptions {
  root: string;
  /** share-relative subtrees to walk; default [''] (everything) */
  paths?: readonly string[];
  ignore?: Matcher;
  signal?: AbortSignal;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');

function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/**
 * Normalizes a requested sub-path: '/' separators, no empty / '.' segments, NFC. Rejects '..'.
 * Only on Windows is '\\' a separator (its file system reads it so and no name holds one); on
 * POSIX it is an ordinary character, and `a\\..\\b` is one plain name.
 */
export function normalizeRelPath(p: string, os: NodeJS.Platform = platform()): string {
  const parts = (os === 'win32' ? p.replace(/\\/g, '/') : p).split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..')) throw new Error(`path must stay inside the share: ${JSON.stringify(p)}`);
  return parts.join('/').normalize('NFC');
}

/**
 * Normalizes requested sub-paths one by one: a request that cannot be walked is a problem with
 * that path alone, reported beside the others, never a failure of the whole batch.
 */
export function normalizeRequests(
  paths: readonly string[],
  os: NodeJS.Platform = platform(),
): { paths: string[]; bad: { path: string; error: string }[] } {
  const out: string[] = [];
  const bad: { path: string; error: string }[] = [];
  for (const p of paths) {
    try {
      out.push(normalizeRelPath(p, os));
    } catch (err) {
      bad.push({ path: p, error: (err as Error).message });
    }
  }
  return { paths: out, bad };
}

/** Drops duplicates and paths inside another requested path; '' swallows everything. */
export function minimalRoots(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths.map((p) => normalizeRelPath(p)))].sort();
  if (sorted[0] === '') return [''];
  // a folder sorts before everything inside it, so a path's covering root, if any, is already
  // kept: look its ancestors up (the watcher hands over thousands of new files at once, and a
  // comparison with every root kept so far was quadratic)
  const kept = new Set<string>();
  const out: string[] = [];
  for (const p of sorted) {
    let covered = false;
    for (let i = p.indexOf('/'); i >= 0 && !covered; i = p.indexOf('/', i + 1)) covered = kept.has(p.slice(0, i));
    if (covered) continue;
    kept.add(p);
    out.push(p);
  }
  return out;
}

function errnoMessage(err: unknown, what: string): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'EACCES':
    case 'EPERM':
      return `cannot ${what}: permission denied (fix its permissions or add it to .peerfold/ignore)`;
    case 'ELOOP':
    case 'ENAMETOOLONG':
      return `cannot ${what}: the path is too long or too deep`;
    case 'EIO':
      return `cannot ${what}: I/O error (the disk or file system may be failing)`;
    default:
      return `cannot ${what}: ${e?.message ?? String(err)}`;
  }
}

function typeOf(s: Stats): FileType | null {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'dir';
  if (s.isSymbolicLink()) return 'symlink';
  return null;
}

function specialKind(s: Stats): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  return 'not a regular file, directory or symlink';
}

/**
 * Classifies one path from its lstat: an entry, skipped, ignored or an error. Exported for the
 * scanner, which re-checks a path whose type changed while it was being hashed.
 */
export async function classify(path: string, diskPath: string, stats: Stats, matcher: Matcher): Promise<WalkItem | null> {
  const type = typeOf(stats);
  if (type === null) {
    return matcher.ignores(path, false) ? null : { kind: 'skipped', path, reason: `${specialKind(stats)} is not synced` };
  }
  // the puller's temp files are reported (as ignored) so that leftovers can be cleaned up
  if (isInternalPath(path))
    return type === 'file' && isTempName(basename(path)) && !path.startsWith(`${PEERFOLD_DIR}/`)
      ? { kind: 'ignored', path, isDir: false }
      : null;
  if (matcher.ignores(path, type === 'dir')) return { kind: 'ignored', path, isDir: type === 'dir' };
  let symlinkTarget: string | null = null;
  if (type === 'symlink') {
    try {
      const raw = await readlink(diskPath, { encoding: 'buffer' });
      try {
        symlinkTarget = utf8.decode(raw);
      } catch {
        return { kind: 'error', path, error: `symlink ${path} points to a name that is not valid UTF-8; it cannot be synced` };
      }
    } catch (err) {
      return { kind: 'error', path, error: errnoMessage(err, `read symlink ${path}`) };
    }
  }
  return { kind: 'entry', path, diskPath, type, stats, symlinkTarget };
}

/**
 * Finds the on-disk spelling of an NFC relative path and checks that every ancestor is a real
 * directory (a symlinked ancestor must not be walked through). Returns the path to walk: the
 * requested one, or the first ancestor that is missing or not a directory (everything below it
 * is gone as far as the share is concerned), or null when the request lies in ignored ground.
 */
async function resolveRequest(root: string, rel: string, matcher: Matcher): Promise<{ path: string; diskPath: string } | null> {
  if (rel === '') return { path: '', diskPath: root };
  const parts = rel.split('/');
  let path = '';
  let diskPath = root;
  for (let k = 0; k < parts.length; k++) {
    const name = parts[k];
    const childPath = joinRel(path, name);
    let diskName = name;
    let st: Stats | null = null;
    try {
      st = await lstat(join(diskPath, name));
    } catch {
      // Maybe the disk spells the name in another Unicode normalization.
      try {
        const names = await readdir(diskPath);
        const found = names.find((n) => n.normalize('NFC') === name);
        if (found !== undefined) {
          diskName = found;
          st = await lstat(join(diskPath, found));
        }
      } catch {
        st = null;
      }
    }
    const isLast = k === parts.length - 1;
    if (!isLast && st?.isDirectory() && matcher.ignores(childPath, true)) return null;
    if (isInternalPath(childPath)) return null;
    path = childPath;
    diskPath = join(diskPath, diskName);
    if (!st || !st.isDirectory()) return { path, diskPath };
  }
  return { path, diskPath };
}

interface Listed {
  name: string;
  diskName: string;
}

async function listDir(diskPath: string): Promise<{ names: Listed[]; bad: { name: string; error: string }[] }> {
  const dirents = (await readdir(diskPath, { withFileTypes: true, encoding: 'buffer' })) as unknown as Dirent<Buffer>[];
  const names: Listed[] = [];
  const bad: { name: string; error: string }[] = [];
  for (const d of dirents) {
    let diskName: string;
    try {
      diskName = utf8.decode(d.name);
    } catch {
      bad.push({ name: lossy.decode(d.name), error: 'the name is not valid UTF-8; rename it to sync it' });
      continue;
    }
    names.push({ name: diskName.normalize('NFC'), diskName });
  }
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Two names that differ only in normalization would be one path on every other device.
  const unique: Listed[] = [];
  for (const n of names) {
    const prev = unique[unique.length - 1];
    if (prev && prev.name === n.name) {
      bad.push({ name: n.name, error: `"${n.diskName}" and "${prev.diskName}" differ only in Unicode normalization; rename one of them` });
      continue;
    }
    unique.push(n);
  }
  return { names: unique, bad };
}

const LSTAT_BATCH = 64;

/**
 * Walks depth-first, a directory before its contents, names sorted within a directory.
 * Fills `summary` as it goes; it is final when the iteration ends.
 */
export async function* walk(opts: WalkOptions, summary: WalkSummary = { roots: [], incomplete: [] }): AsyncGenerator<WalkItem> {
  const matcher = opts.ignore ?? INTERNAL_ONLY;
  const requested = normalizeRequests(opts.paths ?? ['']);
  for (const b of requested.bad) yield { kind: 'error', path: b.path, error: b.error };
  const requests = minimalRoots(requested.paths);
  const resolved: { path: string; diskPath: string }[] = [];
  for (const rel of requests) {
    const r = await resolveRequest(opts.root, rel, matcher);
    if (r) resolved.push(r);
  }
  // Resolution may move a request up to an ancestor; keep the set minimal.
  const roots = minimalRoots(resolved.map((r) => r.path));
  summary.roots.push(...roots);
  const byPath = new Map(resolved.map((r) => [r.path, r.diskPath]));

  for (const rootRel of roots) {
    const rootDisk = byPath.get(rootRel)!;
    const stack: { path: string; diskPath: string }[] = [];
    if (rootRel === '') {
      stack.push({ path: '', diskPath: rootDisk });
    } else {
      let st: Stats;
      try {
        st = await lstat(rootDisk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
        yield { kind: 'error', path: rootRel, error: errnoMessage(err, `read ${rootRel}`) };
        continue;
      }
      const item = await classify(rootRel, rootDisk, st, matcher);
      if (item) yield item;
      if (item?.kind === 'entry' && item.type === 'dir') stack.push({ path: rootRel, diskPath: rootDisk });
    }

    while (stack.length) {
      opts.signal?.throwIfAborted();
      const dir = stack.pop()!;
      let listing: Awaited<ReturnType<typeof listDir>>;
      try {
        listing = await listDir(dir.diskPath);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Removed (or replaced by a file) since we saw it: its absence is the truth. Not so for
        // the share root: a missing root (unmounted disk) must never read as "everything deleted".
        if ((code === 'ENOENT' || code === 'ENOTDIR') && dir.path !== '') continue;
        summary.incomplete.push(dir.path);
        yield { kind: 'error', path: dir.path, error: errnoMessage(err, `list folder ${dir.path || '(share root)'}`) };
        continue;
      }
      for (const b of listing.bad) yield { kind: 'error', path: joinRel(dir.path, b.name), error: b.error };

      const subdirs: { path: string; diskPath: string }[] = [];
      for (let i = 0; i < listing.names.length; i += LSTAT_BATCH) {
        const batch = listing.names.slice(i, i + LSTAT_BATCH).map((n) => {
          const path = joinRel(dir.path, n.name);
          return { path, diskPath: join(dir.diskPath, n.diskName) };
        });
        const stats = await Promise.all(
          batch.map((b) =>
            lstat(b.diskPath).then(
              (s) => s,
              (e: unknown) => e as NodeJS.ErrnoException,
            ),
          ),
        );
        for (let k = 0; k < batch.length; k++) {
          const { path, diskPath } = batch[k];
          const st = stats[k];
          if (!(st && typeof (st as Stats).isFile === 'function')) {
            const err = st as NodeJS.ErrnoException;
            if (err.code === 'ENOENT') continue; // removed between readdir and lstat
            yield { kind: 'error', path, error: errnoMessage(err, `read ${path}`) };
            continue;
          }
          const item = await classify(path, diskPath, st as Stats, matcher);
          if (!item) continue;
          yield item;
          if (item.kind === 'entry' && item.type === 'dir') subdirs.push({ path, diskPath });
        }
      }
      // Reverse so that popping visits subdirectories in name order.
      for (let k = subdirs.length - 1; k >= 0; k--) stack.push(subdirs[k]);
    }
  }
}
