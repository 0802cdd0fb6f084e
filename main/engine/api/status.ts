import type { FileEntry, ShareSummary } from '../../../shared/api.ts';
import type { FileRecord } from '../index/rows.ts';
import type { Engine } from '../engine.ts';
import type { Folder } from '../model/folder.ts';

export function shareSummary(engine: Engine, f: Folder): ShareSummary {
  const local = engine.store.counts(f.id, engine.deviceId);
  const sync = f.syncSummary();
  const net = engine.network.shareTraffic(f.id);
  return {
    id: f.id,
    name: f.row.name,
    path: f.root,
    access: f.row.access,
    state: f.state,
    paused: f.row.paused,
    error: f.problem,
    localFiles: local.files + local.symlinks,
    localBytes: local.bytes,
    globalFiles: sync.globalFiles ?? local.files + local.symlinks,
    globalBytes: sync.globalBytes ?? local.bytes,
    needFiles: sync.needFiles,
    needBytes: sync.needBytes,
    peersConnected: net.peersConnected,
    inBytesPerSec: net.inBytesPerSec,
    outBytesPerSec: net.outBytesPerSec,
    pulling: sync.pulling,
    conflicts: sync.conflicts,
    errors: [...f.pathErrors(), ...sync.errors],
    watcher: f.watcherState,
    lastScanAt: f.lastScanAt,
    heldDeletes: f.heldDeletes,
    rejectedEntries: engine.network.rejectedEntries(f.id),
    localChanges: sync.localChanges,
  };
}

export function fileEntry(r: FileRecord): FileEntry {
  return {
    path: r.path,
    type: r.type,
    size: r.size,
    mode: r.mode,
    mtimeMs: r.mtimeMs,
    version: r.version,
    sequence: r.sequence,
    deleted: r.deleted,
    chunks: r.chunks.length,
    hash: r.hash,
    symlinkTarget: r.symlinkTarget,
    modifiedBy: r.modifiedBy,
  };
}
