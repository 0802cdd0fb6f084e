import type { FileType, VersionVector } from '../../../shared/api.ts';
import { compareVectors } from './vv.ts';

/** The part of an index entry that decides which version of a path is the global one. */
export interface Versioned {
  deviceId: string;
  version: VersionVector;
  deleted: boolean;
  type: FileType;
  mtimeMs: number;
  modifiedBy: string;
  hash: string;
}

/**
 * Deterministic order among concurrent versions, so that every device picks the same winner:
 * an existing file beats a deletion (nothing is lost by keeping it), then the later modification
 * time, then the larger modifying device ID, then content hash and vector so the order is total. Wall clocks only break ties here; they never decide
 * which of two ordered versions is newer.
 */
export function concurrentWinner<T extends Versioned>(a: T, b: T): T {
  if (a.deleted !== b.deleted) return a.deleted ? b : a;
  // whole milliseconds: that is what travels, so every device compares the same numbers
  const ta = Math.floor(a.mtimeMs);
  const tb = Math.floor(b.mtimeMs);
  if (ta !== tb) return ta > tb ? a : b;
  if (a.modifiedBy !== b.modifiedBy) return a.modifiedBy > b.modifiedBy ? a : b;
  if (a.hash !== b.hash) return a.hash > b.hash ? a : b;
  const va = canonicalVector(a.version);
  const vb = canonicalVector(b.version);
  return vb > va ? b : a;
}

function canonicalVector(v: VersionVector): string {
  return Object.keys(v)
    .filter((k) => v[k] > 0)
    .sort()
    .map((k) => `${k}:${v[k]}`)
    .join(',');
}

/**
 * The global version of one path among every device's entry for it: the entries no other entry
 * dominates, and among several such (concurrent changes) the deterministic winner.
 */
export function pickGlobal<T extends Versioned>(entries: readonly T[]): T | undefined {
  const maximal: T[] = [];
  for (const e of entries) {
    let dominated = false;
    for (const o of entries) {
      if (o !== e && compareVectors(o.version, e.version) === 'greater') {
        dominated = true;
        break;
      }
    }
    if (dominated) continue;
    // Holders of one version may have recorded different times for it (a copy pulled before its
    // time was kept to the whole ms reads 1 ms early): the version counts with its latest one,
    // so which holder's entry comes first cannot change the winner.
    const same = maximal.findIndex((m) => compareVectors(m.version, e.version) === 'equal');
    if (same < 0) maximal.push(e);
    else if (Math.floor(e.mtimeMs) > Math.floor(maximal[same]!.mtimeMs)) maximal[same] = e;
  }
  let winner: T | undefined;
  for (const m of maximal) winner = winner ? concurrentWinner(winner, m) : m;
  return winner;
}

/** Same content: both deleted, or same type with the same content hash (and symlinks compare by hash of target). */
export function sameContent(a: Versioned, b: Versioned): boolean {
  if (a.deleted || b.deleted) return a.deleted && b.deleted;
  return a.type === b.type && a.hash === b.hash;
}
