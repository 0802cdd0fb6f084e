// The mass-delete guard's decision: when most of a share vanishes from disk at once, the likely
// cause is a mistake (a folder emptied by hand, a sync of the wrong folder, a half-mounted drive)
// rather than a wish to delete everything on every device. Such deletions are held until the user
// confirms them or asks for the files back.

/** Fewer deletions than this (in one go) are never held, however small the share. */
export const MASS_DELETE_MIN = 10;
/** Deleting more than this fraction of the share's files at once is held. */
export const MASS_DELETE_FRACTION = 0.5;
/** Deletions recorded this recently count with a new batch: the watcher may split one `rm -rf`. */
export const MASS_DELETE_WINDOW_MS = 30_000;

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
