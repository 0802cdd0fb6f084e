// A ShareSummary of a share that holds nothing yet: no files, no peers, no traffic, no problems.
// The engine builds a join that waits for its invite's issuer on it, and the renderer's fake
// bridge and the tests build their samples on it, so a field added to ShareSummary gets its
// empty value in one place.
import type { ShareSummary } from './api.ts';

export function emptyShareSummary(share: Pick<ShareSummary, 'id' | 'name' | 'path' | 'access'>): ShareSummary {
  return {
    ...share,
    state: 'idle',
    paused: false,
    error: null,
    localFiles: 0,
    localBytes: 0,
    globalFiles: 0,
    globalBytes: 0,
    needFiles: 0,
    needBytes: 0,
    peersConnected: 0,
    inBytesPerSec: 0,
    outBytesPerSec: 0,
    pulling: [],
    conflicts: 0,
    errors: [],
    watcher: 'off',
    lastScanAt: null,
    heldDeletes: 0,
    rejectedEntries: 0,
    localChanges: 0,
    invite: null,
  };
}
