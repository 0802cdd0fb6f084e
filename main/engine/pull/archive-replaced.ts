// Archiving the version a pull replaces (.peerfold/archive/), with a burst of changes to one file
// coalesced into one archived version. It sits in pull/ because the puller calls it and pull/ sits
// below model/ (model/archive.ts lists, restores and prunes the archive).
import { promises as fsp } from 'node:fs';
import { join, posix } from 'node:path';
import { ARCHIVE_DIR, parseArchivePath, parseStamp } from '../sync/names.ts';
import { archiveCurrent } from './apply.ts';

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
