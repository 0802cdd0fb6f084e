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

/** The vector after a change made on `device`: its own counter goes up by one. */
export function bumpVector(v: VersionVector, device: string): VersionVector {
  return normalizeVector({ ...v, [device]: (v[device] ?? 0) + 1 });
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
