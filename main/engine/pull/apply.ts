import { lstatSync, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FileType } from '../../../shared/api.ts';
import { archivePath } from '../sync/names.ts';

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

async function lstatOrNull(full: string) {
  try {
    return await fsp.lstat(full);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * True when the path on disk is what the index says: a file changed after the device decided to
 * replace it is never overwritten (it becomes a conflict instead).
 */
export async function unchangedOnDisk(root: string, path: string, expected: Expected | undefined): Promise<boolean> {
  const st = await lstatOrNull(join(root, path));
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


/**
 * Keeps the current content of `path` in the share's archive. A hard link keeps it without
 * copying (the following rename replaces the name, not the data); where links are refused, a copy.
 */
export async function archiveCurrent(root: string, path: string, versionTag: string, move: boolean): Promise<string> {
  const rel = archivePath(path, Date.now(), versionTag, (rel) => existsOnDisk(root, rel));
  const dest = join(root, rel);
  await fsp.mkdir(dirname(dest), { recursive: true });
  const src = join(root, path);
  if (move) {
    await fsp.rename(src, dest);
  } else {
    try {
      await fsp.link(src, dest);
    } catch {
      await fsp.copyFile(src, dest);
    }
  }
  return rel;
}

export async function fsyncDir(dir: string): Promise<void> {
  try {
    const h = await fsp.open(dir, 'r');
    try { await h.sync(); } finally { await h.close(); }
  } catch {
    // not supported on every platform; the rename itself is still atomic
  }
}

/** Gives the temp file its mode and time and renames it over the target in one step. */
export async function installTemp(root: string, path: string, tempPath: string, mode: number, mtimeMs: number) {
  await fsp.chmod(tempPath, mode);
  const t = new Date(mtimeMs);
  await fsp.utimes(tempPath, t, t);
  const full = join(root, path);
  // a directory (or a symlink) in the way of a file is moved aside by the caller's decision first
  await fsp.rename(tempPath, full);
  await fsyncDir(dirname(full));
  return fsp.lstat(full);
}

export async function makeDir(root: string, path: string, mode: number) {
  const full = join(root, path);
  await fsp.mkdir(full, { recursive: true, mode });
  await fsp.chmod(full, mode).catch(() => undefined);
  return fsp.lstat(full);
}

export async function makeSymlink(root: string, path: string, target: string, mtimeMs: number) {
  const full = join(root, path);
  await fsp.mkdir(dirname(full), { recursive: true });
  const tmp = join(dirname(full), `.pftmp-link-${process.pid}-${Date.now()}`);
  await fsp.symlink(target, tmp);
  const t = new Date(mtimeMs);
  await fsp.lutimes(tmp, t, t).catch(() => undefined);
  await fsp.rename(tmp, full);
  return fsp.lstat(full);
}

/** Removes a path for a tombstone: files go to the archive, directories only when empty. */
export async function removeForTombstone(root: string, path: string, versionTag: string): Promise<'removed' | 'kept-nonempty-dir' | 'absent'> {
  const full = join(root, path);
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
  await fsyncDir(dirname(full));
  return 'removed';
}
