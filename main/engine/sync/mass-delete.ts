// The mass-delete guard's decision: when most of a share vanishes from disk at once, the likely
// cause is a mistake (a folder emptied by hand, a sync of the wrong folder, a half-mounted drive)
// rather than a wish to delete everything on every device. Such deletions are held until the user
// confirms them or asks for the files back.
//
// The watcher may report one `rm -rf` over several scans. Deletions a scan finds are therefore not
// recorded at once: they wait until no new one has joined for DELETE_SETTLE_MS, and the guard then
// decides on the whole burst. Deciding on the first slice would send it to every peer before the
// rest were seen.

/** Fewer deletions than this (in one go) are never held, however small the share. */
export const MASS_DELETE_MIN = 10;
/** Deleting more than this fraction of the share's files at once is held. */
export const MASS_DELETE_FRACTION = 0.5;
/** Deletions recorded this recently count with a new batch: the watcher may split one `rm -rf`. */
export const MASS_DELETE_WINDOW_MS = 30_000;
/** Found deletions wait this long without a new one joining before the guard decides on them. */
export const DELETE_SETTLE_MS = 2_000;
/** ...but no longer than this after the first, so a steady trickle of deletions still goes out. */
export const DELETE_SETTLE_MAX_MS = 20_000;

/** The settle time in effect: PEERFOLD_DELETE_SETTLE_MS (tests) or DELETE_SETTLE_MS. */
export function deleteSettleMs(): number {
  const env = Number(process.env.PEERFOLD_DELETE_SETTLE_MS);
  return process.env.PEERFOLD_DELETE_SETTLE_MS && Number.isFinite(env) && env >= 0 ? env : DELETE_SETTLE_MS;
}

export interface DeleteBatch {
  /** files and symlinks the local index holds as present, the batch's paths included */
  live: number;
  /** files and symlinks of this scan found gone from disk */
  deleting: number;
  /** files and symlinks whose deletion was recorded within the window (no longer in `live`) */
  recentlyDeleted: number;
  /** deletions are already held: new ones join them until the user decides */
  holding: boolean;
}

/** True when this batch of local deletions must be held and the user asked. */
export function holdDeletions(b: DeleteBatch): boolean {
  if (b.deleting === 0) return false;
  if (b.holding) return true;
  const gone = b.deleting + b.recentlyDeleted;
  const before = b.live + b.recentlyDeleted;
  return gone > MASS_DELETE_MIN && gone > before * MASS_DELETE_FRACTION;
}

export interface PendingDeletes extends DeleteBatch {
  /** when the first of the waiting deletions was found */
  firstAt: number;
  /** when the last new one joined */
  lastAt: number;
}

export type DeleteDecision = { kind: 'record' } | { kind: 'hold' } | { kind: 'wait'; ms: number };

/**
 * What to do with the deletions waiting to settle at `now`: wait (for more to join), record them
 * (send them to peers), or hold them for the user. Deletions join a hold at once: nothing to wait for.
 */
export function decideDeletions(p: PendingDeletes, now: number, settleMs = DELETE_SETTLE_MS): DeleteDecision {
  if (p.deleting === 0) return { kind: 'record' };
  if (p.holding) return { kind: 'hold' };
  const due = Math.min(p.lastAt + settleMs, p.firstAt + Math.max(settleMs, DELETE_SETTLE_MAX_MS));
  if (now < due) return { kind: 'wait', ms: due - now };
  return holdDeletions(p) ? { kind: 'hold' } : { kind: 'record' };
}
