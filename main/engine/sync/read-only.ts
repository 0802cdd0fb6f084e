// What a read-only device does differently (issue 9): its own changes are never accepted by any
// other device (it cannot sign them), so the version it syncs to is the one its peers hold, and
// whatever differs from that here is a local change the user may revert.
import type { ReadOnlyChange } from '../../../shared/api.ts';
import { pickGlobal, sameContent, type Versioned } from './global.ts';
import { compareVectors } from './vv.ts';

/**
 * The shared version of a path: the global version among the peers' entries only. A writer also
 * counts its own entry (its changes are everyone's); a read-only device must not, or its own
 * unsigned edit could win and the writers' newer versions would never arrive.
 */
export function sharedGlobal<T extends Versioned>(entries: readonly T[], self: string, readOnly: boolean): T | undefined {
  return pickGlobal(readOnly ? entries.filter((e) => e.deviceId !== self) : entries);
}

/** How this device's entry departs from the shared version, or null when it does not. */
export function readOnlyChange(local: Versioned | undefined, shared: Versioned | undefined): ReadOnlyChange['change'] | null {
  if (!local) return null;
  if (!shared || shared.deleted) return local.deleted ? null : 'added';
  const order = compareVectors(local.version, shared.version);
  // older or equal: nothing was changed here (an older entry is a pull still to come)
  if (order !== 'greater' && order !== 'concurrent') return null;
  if (sameContent(local, shared)) return null;
  return local.deleted ? 'deleted' : 'modified';
}
