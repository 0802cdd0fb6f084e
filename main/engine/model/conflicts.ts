// Conflicts are conflict copies in the index: every device derives the same list from the files
// themselves, and resolving one is an ordinary change (a delete, a new version) that syncs.
// One more kind is local: a losing concurrent version another device wrote, replaced here and kept
// in the archive ("kept" conflicts, stored in the index's conflicts table). Its author makes the
// conflict copy when it returns, and then the kept one is dropped; if the author never returns,
// the devices that kept the version still show the conflict.
import type { ConflictInfo, ConflictSide, ResolveKeep } from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';
import type { FileRecord } from '../index/rows.ts';
import { archiveCurrent, existsOnDisk, renameInShare } from '../pull/apply.ts';
import { ARCHIVE_DIR, parseConflictPath, parseStamp, splitName, timeStamp } from '../sync/names.ts';
import { restoreFromArchive } from './archive.ts';
import { promises as fsp, constants } from 'node:fs';
import { safeParent } from '../pull/path-safety.ts';

/** Whether a conflict's losing version is one kept in the archive (not a conflict copy). */
export function isKeptConflict(c: Pick<ConflictInfo, 'conflictPath'>): boolean {
  return c.conflictPath.startsWith(`${ARCHIVE_DIR}/`);
}

/** The conflict a kept losing version stands for. */
export function keptConflict(
  shareId: string,
  kept: { path: string; archivedPath: string; loser: FileRecord; winner: FileRecord },
  nameOf: (deviceId: string) => string,
  now: number,
): ConflictInfo {
  const side = (r: FileRecord): ConflictSide => ({
    deviceId: r.modifiedBy,
    deviceName: nameOf(r.modifiedBy),
    mtimeMs: r.mtimeMs,
    size: r.size,
    hash: r.hash,
  });
  return { shareId, path: kept.path, conflictPath: kept.archivedPath, winner: side(kept.winner), loser: side(kept.loser), createdAt: now };
}

/**
 * The conflicts of a share: its conflict copies, plus kept losing versions whose author's copy has
 * not arrived. `stale` lists kept ones to forget: the author's copy is here, or the archived file
 * is gone (pruned, restored by hand).
 */
export function allConflicts(
  shareId: string,
  local: readonly FileRecord[],
  kept: readonly ConflictInfo[],
  nameOf: (deviceId: string) => string,
  archived: (path: string) => boolean,
): { conflicts: ConflictInfo[]; stale: ConflictInfo[] } {
  const copies = listConflicts(shareId, local, nameOf);
  const stale: ConflictInfo[] = [];
  const shown = [...copies];
  for (const k of kept) {
    const authorsCopy = copies.some((c) => c.path === k.path && c.loser.hash === k.loser.hash);
    if (authorsCopy || !archived(k.conflictPath)) stale.push(k);
    else shown.push(k);
  }
  return { conflicts: shown.sort((a, b) => b.createdAt - a.createdAt), stale };
}

export function listConflicts(shareId: string, local: readonly FileRecord[], nameOf: (deviceId: string) => string): ConflictInfo[] {
  const byPath = new Map(local.filter((r) => !r.deleted).map((r) => [r.path, r]));
  const out: ConflictInfo[] = [];
  for (const loser of byPath.values()) {
    if (loser.type !== 'file') continue;
    const parsed = parseConflictPath(loser.path);
    if (!parsed) continue;
    const winner = byPath.get(parsed.original);
    const side = (r: FileRecord, name?: string): ConflictSide => ({
      deviceId: r.modifiedBy,
      deviceName: name ?? nameOf(r.modifiedBy),
      mtimeMs: r.mtimeMs,
      size: r.size,
      hash: r.hash,
    });
    out.push({
      shareId,
      path: parsed.original,
      conflictPath: loser.path,
      winner: winner ? side(winner) : { deviceId: '', deviceName: '(deleted)', mtimeMs: 0, size: 0, hash: '' },
      loser: side(loser, parsed.deviceName),
      createdAt: parseStamp(parsed.stamp),
    });
  }
  return out.sort((a, b) => b.createdAt - a.createdAt);
}

/**
 * Whether entries written at `paths` may change `listed` (the share's conflicts as last derived):
 * a conflict copy written, or the file a listed conflict is about. Anything else leaves the list
 * as it is, so thousands of pulled files do not each make status list every local file again.
 */
export function touchesConflicts(paths: Iterable<string>, listed: readonly ConflictInfo[]): boolean {
  let originals: Set<string> | null = null;
  for (const p of paths) {
    if (parseConflictPath(p)) return true;
    originals ??= new Set(listed.map((c) => c.path));
    if (originals.has(p)) return true;
  }
  return false;
}

/** Which side "local" means: the version this device wrote; if neither, the one in place. */
export function keptSide(c: ConflictInfo, keep: Exclude<ResolveKeep, 'both'>, self: string): 'winner' | 'loser' {
  const mineIsLoser = c.loser.deviceId === self && c.winner.deviceId !== self;
  if (keep === 'local') return mineIsLoser ? 'loser' : 'winner';
  return mineIsLoser ? 'winner' : 'loser';
}

export function findConflict(conflicts: readonly ConflictInfo[], path: string): ConflictInfo {
  const c = conflicts.find((x) => x.conflictPath === path) ?? conflicts.find((x) => x.path === path);
  if (!c) throw new ApiError('not-found', `no conflict for ${path}; \`peerfold conflicts\` lists them`);
  return c;
}

/**
 * Carries out a resolution on disk; the caller rescans the returned paths so the result becomes
 * new versions that dominate both sides. Nothing is destroyed: a discarded side goes to the archive.
 */
export async function applyResolution(root: string, c: ConflictInfo, keep: ResolveKeep, self: string, tag: string): Promise<string[]> {
  if (isKeptConflict(c)) return resolveKept(root, c, keep, self, tag);
  if (keep === 'both') {
    const { dir, stem, ext } = splitName(c.path);
    const parsed = parseConflictPath(c.conflictPath)!;
    let target = '';
    for (let n = 1; ; n++) {
      const name = `${stem} (${parsed.deviceName} ${parsed.stamp}${n > 1 ? ` ${n}` : ''})${ext}`;
      target = dir ? `${dir}/${name}` : name;
      if (!existsOnDisk(root, target)) break;
    }
    await renameInShare(root, c.conflictPath, target);
    return [c.conflictPath, target];
  }
  if (keptSide(c, keep, self) === 'winner') {
    await archiveCurrent(root, c.conflictPath, tag, true);
    return [c.conflictPath];
  }
  if (existsOnDisk(root, c.path)) await archiveCurrent(root, c.path, tag, false);
  await renameInShare(root, c.conflictPath, c.path);
  return [c.conflictPath, c.path];
}

/**
 * A kept conflict: the losing version is in the archive. Keeping the winner changes nothing on
 * disk (the archived copy stays for its days); keeping the loser restores it over the winner (which
 * goes to the archive); keeping both copies it beside the winner under a name that says whose it is.
 */
async function resolveKept(root: string, c: ConflictInfo, keep: ResolveKeep, self: string, tag: string): Promise<string[]> {
  if (keep === 'both') {
    const { dir, stem, ext } = splitName(c.path);
    let target = '';
    for (let n = 1; ; n++) {
      const name = `${stem} (${c.loser.deviceName} ${timeStamp(c.loser.mtimeMs)}${n > 1 ? ` ${n}` : ''})${ext}`;
      target = dir ? `${dir}/${name}` : name;
      if (!existsOnDisk(root, target)) break;
    }
    const src = await safeParent(root, c.conflictPath);
    await fsp.copyFile(src, await safeParent(root, target, true), constants.COPYFILE_EXCL);
    return [target];
  }
  if (keptSide(c, keep, self) === 'winner') return [];
  return [await restoreFromArchive(root, c.conflictPath, tag)];
}
