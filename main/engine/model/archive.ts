// The share's archive (.peerfold/archive/): replaced and deleted versions, kept for a while and
// restorable.
import { constants, promises as fsp } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { ArchiveEntry } from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';
import { ARCHIVE_DIR, parseArchivePath, parseStamp } from '../sync/names.ts';
import { archiveCurrent, fsyncDir, scratchPathBeside } from '../pull/apply.ts';
import { lstatOrNull, safeParent } from '../pull/path-safety.ts';

async function* walkFiles(dir: string): AsyncGenerator<string> {
  let names: import('node:fs').Dirent[];
  try {
    names = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const d of names) {
    const p = join(dir, d.name);
    if (d.isDirectory()) yield* walkFiles(p);
    else if (d.isFile()) yield p;
  }
}

/** Everything in the archive, newest first. `exists(path)` tells whether the original is still there. */
export async function listArchive(root: string, exists: (path: string) => boolean): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  for await (const file of walkFiles(join(root, ARCHIVE_DIR))) {
    const rel = relative(root, file).split(sep).join('/');
    const parsed = parseArchivePath(rel);
    if (!parsed) continue;
    const st = await fsp.stat(file).catch(() => null);
    if (!st) continue;
    out.push({
      path: parsed.original,
      archivedPath: rel,
      archivedAt: parseStamp(parsed.stamp),
      size: st.size,
      reason: exists(parsed.original) ? 'replaced' : 'deleted',
    });
  }
  return out.sort((a, b) => b.archivedAt - a.archivedAt);
}

/**
 * Puts an archived version back at its original path (the archived copy stays). Whatever is at
 * that path now goes to the archive first, so restoring never loses anything either.
 */
export async function restoreFromArchive(root: string, archivedPath: string, tag: string): Promise<string> {
  const parsed = parseArchivePath(archivedPath);
  if (!parsed || archivedPath.split('/').includes('..'))
    throw new ApiError('bad-request', `${archivedPath} is not an archived version of this share`);
  const src = await safeParent(root, archivedPath);
  if (!(await lstatOrNull(src))?.isFile()) throw new ApiError('not-found', `${archivedPath} is no longer in the archive`);
  const current = await lstatOrNull(await safeParent(root, parsed.original));
  if (current?.isFile()) await archiveCurrent(root, parsed.original, tag, false);
  const dest = await safeParent(root, parsed.original, true);
  const tmp = scratchPathBeside(dest);
  await fsp.copyFile(src, tmp, constants.COPYFILE_EXCL);
  try {
    await safeParent(root, parsed.original);
    await fsp.rename(tmp, dest);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(dest));
  return parsed.original;
}

/** Removes archived versions older than `days` (0 keeps everything). Returns how many went. */
export async function pruneArchive(root: string, days: number, now = Date.now()): Promise<number> {
  if (days <= 0) return 0;
  const cutoff = now - days * 86_400_000;
  let removed = 0;
  for await (const file of walkFiles(join(root, ARCHIVE_DIR))) {
    const parsed = parseArchivePath(relative(root, file).split(sep).join('/'));
    if (parsed && parseStamp(parsed.stamp) < cutoff) {
      await fsp.unlink(file).catch(() => undefined);
      removed++;
    }
  }
  return removed;
}
