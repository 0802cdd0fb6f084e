import { createHash } from 'node:crypto';
import type { FileType, VersionVector } from '../../../shared/api.ts';
import type { FileRecord } from '../index/rows.ts';
import type { ScannedEntry } from '../scan/scanner.ts';
import { bumpVector } from './vv.ts';

/** What the scanner saw on disk for one path. */
export type DiskEntry = Omit<ScannedEntry, 'racy'>;

/** The local index's current entry for that path (only the fields this decision reads). */
export type IndexedEntry = Pick<
  FileRecord,
  'type' | 'size' | 'mode' | 'mtimeMs' | 'inode' | 'symlinkTarget' | 'hash' | 'version' | 'deleted' | 'modifiedBy'
>;

export type LocalChange =
  /** a new version: announce it with a bumped vector and the next sequence */
  | { kind: 'version'; version: VersionVector; entry: DiskEntry; deleted: boolean }
  /** same content and mode, only stat details moved (touch, our own atomic rename): refresh quietly */
  | { kind: 'refresh'; entry: DiskEntry }
  | { kind: 'none' };

/** Content hash of a symlink: the target is its content. */
export function symlinkHash(target: string): string {
  return createHash('sha256').update(`symlink\0${target}`).digest('hex');
}

/** Permission bits that travel between devices: only the executable bits carry meaning across OSes. */
export function portableMode(mode: number, type: FileType): number {
  if (type === 'dir') return 0o755;
  if (type === 'symlink') return 0o777;
  return mode & 0o111 ? 0o755 : 0o644;
}

/**
 * Decides whether what the scanner saw is a new local version of the path. `floor` is this
 * device's counter floor in the share (vv.ts, counterFloorForNewIndex).
 */
export function localChange(prev: IndexedEntry | undefined, seen: DiskEntry, self: string, floor = 0): LocalChange {
  if (!prev || prev.deleted) return { kind: 'version', version: bumpVector(prev?.version ?? {}, self, floor), entry: seen, deleted: false };
  const sameKind = prev.type === seen.type;
  const sameContent = sameKind && (seen.type === 'dir' || prev.hash === seen.hash);
  const sameMode = portableMode(prev.mode, prev.type) === portableMode(seen.mode, seen.type);
  if (sameContent && sameMode) {
    const moved = prev.mtimeMs !== seen.mtimeMs || prev.inode !== seen.inode || prev.size !== seen.size;
    return moved && seen.type !== 'dir' ? { kind: 'refresh', entry: seen } : { kind: 'none' };
  }
  return { kind: 'version', version: bumpVector(prev.version, self, floor), entry: seen, deleted: false };
}

/** A path that vanished from disk becomes a tombstone whose vector dominates what was deleted. */
export function localDeletion(prev: IndexedEntry, self: string, floor = 0): LocalChange {
  if (prev.deleted) return { kind: 'none' };
  return {
    kind: 'version',
    version: bumpVector(prev.version, self, floor),
    deleted: true,
    entry: {
      path: '',
      type: prev.type,
      size: 0,
      mode: prev.mode,
      mtimeMs: Date.now(),
      inode: 0,
      symlinkTarget: null,
      chunks: [],
      hash: '',
    },
  };
}
