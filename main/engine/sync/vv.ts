import type { VersionVector } from '../../../shared/api.ts';

/** How vector a relates to vector b. */
export type Ordering = 'equal' | 'greater' | 'lesser' | 'concurrent';

export function compareVectors(a: VersionVector, b: VersionVector): Ordering {
  let aAhead = false;
  let bAhead = false;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key] ?? 0;
    const y = b[key] ?? 0;
    if (x > y) aAhead = true;
    else if (y > x) bAhead = true;
    if (aAhead && bAhead) return 'concurrent';
  }
  if (aAhead) return 'greater';
  if (bAhead) return 'lesser';
  return 'equal';
}

/** a dominates b or equals it. */
export function dominatesOrEquals(a: VersionVector, b: VersionVector): boolean {
  const o = compareVectors(a, b);
  return o === 'greater' || o === 'equal';
}

/** Element-wise maximum: the smallest vector that dominates both. */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  const out: VersionVector = { ...a };
  for (const [key, n] of Object.entries(b)) if (n > (out[key] ?? 0)) out[key] = n;
  return normalizeVector(out);
}

/**
 * The vector after a change made on `device`: its own counter goes up by one, and to at least
 * `floor`, the device's counter floor in this share (see counterFloorForNewIndex).
 */
export function bumpVector(v: VersionVector, device: string, floor = 0): VersionVector {
  return normalizeVector({ ...v, [device]: Math.max((v[device] ?? 0) + 1, floor) });
}

/**
 * Whether a version is the first one of its path: made by `author` from nothing, so its only
 * counter is the author's first (1, or the author's counter floor when that is known).
 */
export function isFirstVersion(v: VersionVector, author: string, authorFloor = 0): boolean {
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === author && v[author] === Math.max(1, authorFloor);
}

/**
 * The counter floor of an index that starts over while peers may hold versions this device made
 * before (a database rebuilt from disk, a share joined again): the time in ms. A device's counter
 * in one path's vector grows by one per local change of that path, and changes are at least a
 * scan apart, so no counter made in an earlier index reaches the time at which a later one
 * started. Its new versions are then never older than anything peers hold from it: they win, or
 * are concurrent with, what they replace, instead of being silently replaced by it.
 * This relies on the clock: one set back by more than the time since the earlier index started
 * could give a floor below that index's counters.
 */
export function counterFloorForNewIndex(nowMs: number): number {
  return Math.max(1, Math.floor(nowMs));
}

/** Drops zero counters and sorts keys, so equal vectors serialise identically. */
export function normalizeVector(v: VersionVector): VersionVector {
  const out: VersionVector = {};
  for (const key of Object.keys(v).sort()) if (v[key] > 0) out[key] = v[key];
  return out;
}

export function vectorsEqual(a: VersionVector, b: VersionVector): boolean {
  return compareVectors(a, b) === 'equal';
}
