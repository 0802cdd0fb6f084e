// The share's archive (.peerfold/archive/): replaced and deleted versions, kept for a while and
// restorable.
import { constants, promises as fsp } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
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

/**
 * A file that changes again and again (being written, a log, a document saved every few seconds)
 * would put every intermediate version in the archive for 30 days. A version replaced within this
 * long after another version of the same file was archived is not archived: the archive keeps the
 * oldest version of each window, the one the file had before the burst of changes began.
 */
export const ARCHIVE_COALESCE_MS = 5 * 60_000;

/** The window in use: PEERFOLD_ARCHIVE_COALESCE_MS overrides it (0 archives every version). */
function coalesceWindowMs(): number {
  const env = Number(process.env.PEERFOLD_ARCHIVE_COALESCE_MS);
  return process.env.PEERFOLD_ARCHIVE_COALESCE_MS && Number.isFinite(env) ? env : ARCHIVE_COALESCE_MS;
}

/** Whether a version replaced at `now` is archived, given when versions of that path were archived. */
export function archiveReplacedVersion(archivedAt: readonly number[], now: number, windowMs = ARCHIVE_COALESCE_MS): boolean {
  if (windowMs <= 0) return true;
  // a stamp in the future (the clock was set back) says nothing about the window
  return !archivedAt.some((t) => t > now - windowMs && t <= now);
}

/** When versions of `path` were archived (from the archive's file names). */
async function archivedTimes(root: string, path: string): Promise<number[]> {
  const dir = posix.dirname(path);
  const archiveDir = dir === '.' ? ARCHIVE_DIR : `${ARCHIVE_DIR}/${dir}`;
  let names: string[];
  try {
    names = await fsp.readdir(join(root, archiveDir));
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    const parsed = parseArchivePath(`${archiveDir}/${name}`);
    if (parsed?.original === path) out.push(parseStamp(parsed.stamp));
  }
  return out;
}

/**
 * Archives the current file before a newer version replaces it, unless a version of it was
 * archived within ARCHIVE_COALESCE_MS. Returns the archive path, or null when coalesced.
 */
export async function archiveReplaced(root: string, path: string, versionTag: string, now = Date.now()): Promise<string | null> {
  const windowMs = coalesceWindowMs();
  if (windowMs > 0 && !archiveReplacedVersion(await archivedTimes(root, path), now, windowMs)) return null;
  return archiveCurrent(root, path, versionTag, false);
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
