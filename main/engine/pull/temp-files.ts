// The puller's temp files (`.pftmp-…` beside their target) hold a file being built. One whose
// pull is still wanted is kept (an interrupted pull resumes from it); any other is removed, so a
// pull given up, a file changed meanwhile or a crash leaves nothing behind for long.
import { isTempName } from '../scan/ignore.ts';
import { removeInShare } from './apply.ts';
import { lstatOrNull, safeParent } from './path-safety.ts';

/** Whether a share-relative path names one of the puller's temp files. */
export function isTempPath(rel: string): boolean {
  return isTempName(rel.slice(rel.lastIndexOf('/') + 1));
}

/**
 * Removes the temp files among `candidates` that `owned` does not claim. Returns the paths
 * removed. Only regular files with the temp name pattern are touched.
 */
export async function removeUnownedTemps(root: string, candidates: Iterable<string>, owned: (rel: string) => boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const rel of candidates) {
    if (!isTempPath(rel) || owned(rel)) continue;
    try {
      const st = await lstatOrNull(await safeParent(root, rel));
      if (!st?.isFile()) continue;
      await removeInShare(root, rel, 'entry');
      removed.push(rel);
    } catch {
      // gone already, behind a link, or not ours to remove: the next sweep looks again
    }
  }
  return removed;
}
