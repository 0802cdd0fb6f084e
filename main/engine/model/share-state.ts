// A share's state, from the facts that decide it. Pure: Folder.updateState is its only caller.
import type { ShareState } from '../../../shared/api.ts';
import type { ShareJob } from './share-loop.ts';

export interface ShareFacts {
  /** the folder or its marker is missing: nothing may be synced */
  problem: boolean;
  paused: boolean;
  /** the job the share's loop runs now */
  job: ShareJob | null;
  /** the scan that runs covers the whole share (a scan of a few changed paths is not "scanning") */
  fullScan: boolean;
  /** a full scan has completed since start */
  scannedOnce: boolean;
  /** joined, and no peer's index has arrived yet */
  awaitingPeerIndex: boolean;
  needFiles: number;
  /** transfers in progress */
  pulling: number;
}

export function shareState(f: ShareFacts): ShareState {
  if (f.problem) return 'error';
  if (f.paused) return 'paused';
  if ((f.job === 'scan' && f.fullScan) || !f.scannedOnce) return 'scanning';
  // before a peer's index, "nothing to do" only means "nothing known yet"
  if (f.awaitingPeerIndex) return 'waiting';
  if (f.needFiles > 0 || f.pulling > 0) return 'syncing';
  return 'idle';
}
