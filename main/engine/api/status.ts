import type { FileEntry, ShareSummary } from '../../../shared/api.ts';
import type { FileRecord } from '../index/rows.ts';
import type { Engine } from '../engine.ts';
import type { Folder } from '../model/folder.ts';
import type { PendingJoinRecord } from '../config/pending-joins-file.ts';
import { parseInvite } from '../keys/invite-code.ts';
import { emptyShareSummary } from '../../../shared/share-summary.ts';

export function shareSummary(engine: Engine, f: Folder): ShareSummary {
  const local = f.localCounts();
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
    invite: null,
  };
}

/** A join by invite the issuer has not granted: nothing of the share is here yet. */
export function pendingJoinSummary(j: PendingJoinRecord): ShareSummary {
  // a record holds a code that parses (config/pending-joins-file.ts checks it)
  const parsed = parseInvite(j.code);
  const terms = parsed.ok ? parsed.invite : null;
  return {
    ...emptyShareSummary({ id: j.id, name: j.name, path: j.path, access: terms?.level ?? 'encrypted' }),
    state: j.error ? 'error' : 'waiting-for-issuer',
    error: j.error,
    invite: { issuer: terms?.issuer ?? '', expiresAt: terms?.expiresAt ?? 0 },
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
