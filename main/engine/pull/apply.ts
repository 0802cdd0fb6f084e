import { randomBytes } from 'node:crypto';
import { constants, lstatSync, promises as fsp, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FileType } from '../../../shared/api.ts';
import { tempNameFor } from '../scan/ignore.ts';
import { archivePath } from '../sync/names.ts';
import { DirSyncs } from './dir-syncs.ts';
import { UnsafePathError, lstatOrNull, safeParent } from './path-safety.ts';

// Every operation here on a share path goes through safeParent first: no folder of the path may be
// a symbolic link, checked against the disk just before the operation (see path-safety.ts).

/** The local index entry a decision was based on; disk must still match it before we touch it. */
export interface Expected {
  type: FileType;
  size: number;
  mtimeMs: number;
  inode: number;
  deleted: boolean;
}

export class LocalChangeError extends Error {
  constructor(readonly path: string) {
    super(`${path} changed on this device while it was being replaced; it will be rescanned and kept`);
    this.name = 'LocalChangeError';
  }
}

/**
 * True when the path on disk is what the index says: a file changed after the device decided to
 * replace it is never overwritten (it becomes a conflict instead).
 */
export async function unchangedOnDisk(root: string, path: string, expected: Expected | undefined): Promise<boolean> {
  return matches(await lstatOrNull(await safeParent(root, path)), expected);
}

/** What lstat found at a path (null: nothing) is what the index entry says. */
function matches(st: Stats | null, expected: Expected | undefined): boolean {
  if (!expected || expected.deleted) return st === null;
  if (!st) return false;
  if (expected.type === 'dir') return st.isDirectory();
  if (expected.type === 'symlink') return st.isSymbolicLink();
  return st.isFile() && st.size === expected.size && st.mtimeMs === expected.mtimeMs && st.ino === expected.inode;
}

/** Whether anything is at a share-relative path (for picking free names: a race only adds a suffix). */
export function existsOnDisk(root: string, rel: string): boolean {
  try {
    lstatSync(join(root, rel));
    return true;
  } catch {
    return false;
  }
}

/** A fresh temp name beside `full`, in the temp-file pattern (never scanned, cleaned up as ours). */
export function scratchPathBeside(full: string): string {
  return join(dirname(full), tempNameFor(basename(full), randomBytes(8).toString('hex')));
}

/**
 * Keeps the current content of `path` in the share's archive. A hard link keeps it without
 * copying (the following rename replaces the name, not the data); where links are refused, a copy.
 */
export async function archiveCurrent(root: string, path: string, versionTag: string, move: boolean): Promise<string> {
  const src = await safeParent(root, path);
  if (!(await fsp.lstat(src)).isFile()) throw new UnsafePathError(path, `${path} is not a regular file any more; it will be rescanned`);
  const rel = archivePath(path, Date.now(), versionTag, (rel) => existsOnDisk(root, rel));
  const dest = await safeParent(root, rel, true);
  if (move) {
    await fsp.rename(src, dest);
  } else {
    try {
      await fsp.link(src, dest);
    } catch {
      await fsp.copyFile(src, dest, constants.COPYFILE_EXCL);
    }
  }
  return rel;
}

export async function fsyncDir(dir: string): Promise<void> {
  try {
    const h = await fsp.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // not supported on every platform; the rename itself is still atomic
  }
}

/** Folders that files were just renamed into or out of: files moved together share one fsync. */
const folderSyncs = new DirSyncs(fsyncDir);

/** Opens an existing file without following a link in its place (0 where the OS has no O_NOFOLLOW). */
export function openNoFollow(full: string, flags: number, mode?: number): Promise<fsp.FileHandle> {
  return fsp.open(full, flags | (constants.O_NOFOLLOW ?? 0), mode);
}

/**
 * The time to give utimes() so the file reads back in the same whole millisecond. A Date (or
 * ms / 1000) lands a hair below an exact millisecond about half the time (binary seconds), and
 * floor(mtimeMs) is what every device compares to break ties between concurrent versions.
 */
function wholeMsTime(mtimeMs: number): number {
  return (Math.floor(mtimeMs) + 0.5) / 1000;
}

/**
 * Gives a file being written its final time, and mode unless it was made with it (null), through
 * the handle that wrote it (after its last write: a write moves the time again), so installing it
 * needs no open and close of its own.
 */
export async function setModeAndTime(handle: fsp.FileHandle, mtimeMs: number, mode: number | null): Promise<void> {
  const t = wholeMsTime(mtimeMs);
  if (mode !== null) await handle.chmod(mode);
  await handle.utimes(t, t);
}

/**
 * Renames a finished temp file (mode and time already given: setModeAndTime) over the target.
 * With `opts.expect`, what is at the target must still be what that index entry says (nothing, for
 * none or a deletion), or LocalChangeError: checked after the folders of the path, as the last
 * look at the disk before the rename, so a file that replaces nothing needs no separate check.
 */
export async function installTemp(root: string, path: string, tempPath: string, opts?: { expect: Expected | undefined }) {
  // the last check before the rename: a folder of the path replaced by a link since is not followed
  const full = await safeParent(root, path);
  if (opts && !matches(await lstatOrNull(full), opts.expect)) throw new LocalChangeError(path);
  // a directory (or a symlink) in the way of a file is moved aside by the caller's decision first
  await fsp.rename(tempPath, full);
  await folderSyncs.after(dirname(full));
  return fsp.lstat(full);
}

export async function makeDir(root: string, path: string, mode: number) {
  const full = await safeParent(root, path, true);
  await fsp.mkdir(full, { mode }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await fsp.lstat(full);
  if (st.isSymbolicLink())
    throw new UnsafePathError(path, `not synced: ${path} is a symbolic link on this device where a folder should be; it will be rescanned`);
  if (!st.isDirectory())
    throw new UnsafePathError(path, `not synced: ${path} is a file on this device where a folder should be; it will be rescanned`);
  // made with its mode (the umask left it whole) or already so: no chmod and no second lstat
  if ((st.mode & 0o7777) === mode) return st;
  await fsp.chmod(full, mode).catch(() => undefined);
  return fsp.lstat(full);
}

export async function makeSymlink(root: string, path: string, target: string, mtimeMs: number) {
  const full = await safeParent(root, path, true);
  const tmp = scratchPathBeside(full);
  await fsp.symlink(target, tmp);
  try {
    const t = wholeMsTime(mtimeMs);
    await fsp.lutimes(tmp, t, t).catch(() => undefined);
    await safeParent(root, path);
    await fsp.rename(tmp, full);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  return fsp.lstat(full);
}

/** Renames one share path to another (a conflict copy, a resolution), never through a link. */
export async function renameInShare(root: string, from: string, to: string): Promise<void> {
  const src = await safeParent(root, from);
  const dest = await safeParent(root, to, true);
  await fsp.rename(src, dest);
}

/** Removes what is at a share path (rmdir for a folder, unlink otherwise), never through a link. */
export async function removeInShare(root: string, path: string, kind: 'dir' | 'entry'): Promise<void> {
  const full = await safeParent(root, path);
  if (kind === 'dir') await fsp.rmdir(full);
  else await fsp.unlink(full);
}

/** Removes a path for a tombstone: files go to the archive, directories only when empty. */
export async function removeForTombstone(
  root: string,
  path: string,
  versionTag: string,
): Promise<'removed' | 'kept-nonempty-dir' | 'absent'> {
  const full = await safeParent(root, path);
  const st = await lstatOrNull(full);
  if (!st) return 'absent';
  if (st.isDirectory()) {
    try {
      await fsp.rmdir(full);
      return 'removed';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return 'kept-nonempty-dir';
      throw err;
    }
  }
  if (st.isSymbolicLink()) {
    await fsp.unlink(full);
    return 'removed';
  }
  await archiveCurrent(root, path, versionTag, true);
  await folderSyncs.after(dirname(full));
  return 'removed';
}
