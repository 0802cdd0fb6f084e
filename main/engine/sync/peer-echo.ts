// Whether a peer's new index entries can change what this device needs. A device that pulled our
// files sends their entries back (its index now holds them too): such an echo changes neither the
// global version of any path nor what this device must do about it, so it must not cost a need
// pass over the whole share (on the device it pulls from, one per batch it sends back).
import { type Versioned, sameContent } from './global.ts';
import { compareVectors } from './vv.ts';

/**
 * True when writing `next` as a peer's entry for a path, in place of `before` (its entry there until
 * now, or undefined), cannot change the path's global version (global.ts pickGlobal) nor this
 * device's decision about it (decide.ts), given this device's own entry `local`. That holds when
 * `local` covers both the old and the new peer entry (see `covers`): an entry dominated by
 * `local` is never among the maximal versions, and an equal one with the same content and no later
 * time leaves the version's place among them as it was. Anything else (no local entry, a newer or
 * concurrent peer version) may change the need: false.
 *
 * Not for a device that syncs to its peers' versions only (read-only, encrypted): its global
 * leaves its own entry out (read-only.ts sharedGlobal), so its own entry proves nothing.
 */
export function echoLeavesNeed(local: Versioned | undefined, before: Versioned | undefined, next: Versioned): boolean {
  if (!local) return false;
  return covers(local, next) && (before === undefined || covers(local, before));
}

/**
 * `local` covers a peer entry `e`: e's version is older than local's, or the same version with the
 * same content and no later whole-millisecond time (pickGlobal keeps a version's latest time, which
 * can decide between concurrent versions: a later time on the peer's copy could change the winner).
 */
function covers(local: Versioned, e: Versioned): boolean {
  const order = compareVectors(e.version, local.version);
  if (order === 'lesser') return true;
  if (order !== 'equal') return false;
  return (
    sameContent(e, local) &&
    e.type === local.type &&
    e.modifiedBy === local.modifiedBy &&
    e.hash === local.hash &&
    Math.floor(e.mtimeMs) <= Math.floor(local.mtimeMs)
  );
}
