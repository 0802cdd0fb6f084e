// Conflicts are conflict copies in the index: every device derives the same list from the files
// themselves, and resolving one is an ordinary change (a delete, a new version) that syncs.
import type { ConflictInfo, ConflictSide, ResolveKeep } from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';
import type { FileRecord } from '../index/rows.ts';
import { archiveCurrent, existsOnDisk, renameInShare } from '../pull/apply.ts';
import { parseConflictPath, parseStamp, splitName } from '../sync/names.ts';

export function listConflicts(shareId: string, local: readonly FileRecord[], nameOf: (deviceId: string) => string): ConflictInfo[] {
  const byPath = new Map(local.filter((r) => !r.deleted).map((r) => [r.path, r]));
  const out: ConflictInfo[] = [];
  for (const loser of byPath.values()) {
    if (loser.type !== 'file') continue;
    const parsed = parseConflictPath(loser.path);
    if (!parsed) continue;
    const winner = byPath.get(parsed.original);
    const side = (r: FileRecord, name?: string): ConflictSide => ({ deviceId: r.modifiedBy, deviceName: name ?? nameOf(r.modifiedBy), mtimeMs: r.mtimeMs, size: r.size, hash: r.hash });
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
