// Builders for engine state in the app's unit tests.
import type { ShareSummary, StatusResult } from '../../shared/api.ts';

export function share(over: Partial<ShareSummary> = {}): ShareSummary {
  return {
    id: 'share-1',
    name: 'Photos',
    path: '/home/ann/Photos',
    access: 'read-write',
    state: 'idle',
    paused: false,
    error: null,
    localFiles: 10,
    localBytes: 1000,
    globalFiles: 10,
    globalBytes: 1000,
    needFiles: 0,
    needBytes: 0,
    peersConnected: 1,
    inBytesPerSec: 0,
    outBytesPerSec: 0,
    pulling: [],
    conflicts: 0,
    errors: [],
    watcher: 'watching',
    lastScanAt: 1,
    ...over,
  };
}

export function status(shares: ShareSummary[], over: Partial<StatusResult> = {}): StatusResult {
  return {
    device: { id: 'DEV-A', name: 'laptop', listenPort: 21120, version: '0.1.0' },
    paused: false,
    shares,
    ...over,
  };
}
