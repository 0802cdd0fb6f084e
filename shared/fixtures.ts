// Sample values of the contract's types, for the unit tests of every side (app, renderer).
import type { ConflictInfo, PeerInfo, ShareSummary, StatusResult } from './api.ts';
import { emptyShareSummary } from './share-summary.ts';

export function sampleShare(over: Partial<ShareSummary> = {}): ShareSummary {
  return {
    ...emptyShareSummary({ id: 's1', name: 'Photos', path: '/home/ana/Photos', access: 'read-write' }),
    localFiles: 10,
    localBytes: 1000,
    globalFiles: 10,
    globalBytes: 1000,
    peersConnected: 1,
    watcher: 'watching',
    lastScanAt: 1,
    ...over,
  };
}

export function sampleStatus(shares: ShareSummary[], over: Partial<StatusResult> = {}): StatusResult {
  return {
    device: { id: 'DEV-A', name: 'laptop', listenPort: 21120, version: '0.1.0' },
    paused: false,
    shares,
    error: null,
    trackers: [],
    ...over,
  };
}

export function samplePeer(over: Partial<PeerInfo> = {}): PeerInfo {
  return {
    deviceId: 'DEV-B',
    name: 'desktop',
    shareIds: ['s1'],
    connected: true,
    connectedSince: 1_700_000_000_000,
    address: '192.168.1.20:21120',
    via: 'lan',
    transport: 'datachannel',
    inBytes: 0,
    outBytes: 0,
    inBytesPerSec: 0,
    outBytesPerSec: 0,
    ...over,
  };
}

export function sampleConflict(over: Partial<ConflictInfo> = {}): ConflictInfo {
  return {
    shareId: 's1',
    path: 'notes/todo.txt',
    conflictPath: 'notes/todo.conflict-DEV-B-20250101-120000.txt',
    winner: { deviceId: 'DEV-A', deviceName: 'laptop', mtimeMs: 2000, size: 10, hash: 'aa' },
    loser: { deviceId: 'DEV-B', deviceName: 'desktop', mtimeMs: 1000, size: 12, hash: 'bb' },
    createdAt: 3000,
    ...over,
  };
}
