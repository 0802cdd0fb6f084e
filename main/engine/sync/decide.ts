import type { VersionVector } from '../../../shared/api.ts';
import { type Versioned, sameContent } from './global.ts';
import { compareVectors, mergeVectors } from './vv.ts';

/**
 * What this device does for one path, given its own entry and the global one. Pure: the puller
 * carries it out. `keepOld` says what happens to the local content that is replaced: a conflict
 * copy when this device wrote the losing version (so exactly one device makes the copy: its
 * author), the archive otherwise.
 */
export type Decision =
  | { kind: 'none' }
  /** content already matches: only record this version (and apply mode/mtime) */
  | { kind: 'adopt'; version: VersionVector }
  | { kind: 'delete'; keepOld: 'archive' }
  | { kind: 'fetch'; keepOld: 'archive' | 'conflict-copy' | 'nothing' };

export function decide(local: Versioned | undefined, global: Versioned | undefined, self: string): Decision {
  if (!global) return { kind: 'none' };
  if (!local) return global.deleted ? { kind: 'adopt', version: global.version } : { kind: 'fetch', keepOld: 'nothing' };
  const order = compareVectors(local.version, global.version);
  if (order === 'equal' || order === 'greater') return { kind: 'none' };
  if (sameContent(local, global)) {
    // Concurrent edits that ended in the same content merge silently into a version that
    // dominates both; an older local entry simply takes the newer version.
    return { kind: 'adopt', version: order === 'concurrent' ? mergeVectors(local.version, global.version) : global.version };
  }
  if (global.deleted) return local.deleted ? { kind: 'adopt', version: global.version } : { kind: 'delete', keepOld: 'archive' };
  if (local.deleted || local.type === 'dir') return { kind: 'fetch', keepOld: 'nothing' };
  if (order === 'concurrent' && local.modifiedBy === self) return { kind: 'fetch', keepOld: 'conflict-copy' };
  return { kind: 'fetch', keepOld: 'archive' };
}
