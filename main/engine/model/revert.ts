// Reverting a read-only device's local changes (issue 9): what is on disk at a changed path goes
// to the share's archive, never deleted outright; the device then forgets its own entry, so the
// shared version is pulled again as for any path it lacks.
import { lstat, rename, rmdir } from 'node:fs/promises';
import { archiveCurrent, existsOnDisk } from '../pull/apply.ts';
import { safeParent } from '../pull/path-safety.ts';
import { archivePath } from '../sync/names.ts';

export const REVERT_TAG = 'reverted';

/** Moves whatever is at `path` out of the way, into the archive (an empty folder is removed). */
export async function setAside(root: string, path: string): Promise<void> {
  const abs = await safeParent(root, path);
  const st = await lstat(abs).catch(() => null);
  if (!st) return;
  if (st.isFile()) {
    await archiveCurrent(root, path, REVERT_TAG, true);
  } else if (st.isDirectory()) {
    // a folder made here holds nothing itself; its files are changes of their own, set aside first
    await rmdir(abs).catch(() => undefined);
  } else {
    // a symbolic link: kept in the archive as it is
    const rel = archivePath(path, Date.now(), REVERT_TAG, (p) => existsOnDisk(root, p));
    await rename(abs, await safeParent(root, rel, true));
  }
}
