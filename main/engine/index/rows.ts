// The records the index stores, as the engine sees them.
import type { AccessLevel, ConflictInfo, DeviceId, FileType, PeerVia, ShareId, VersionVector } from '../../../shared/api.ts';

export type { AccessLevel, ConflictInfo, DeviceId, FileType, PeerVia, ShareId, VersionVector };

export interface ShareRow {
  id: ShareId;
  name: string;
  /** absolute path of the shared folder on this device */
  path: string;
  access: AccessLevel;
  /** the share's code secret, opaque text */
  secret: string;
  paused: boolean;
  /** ms since epoch */
  createdAt: number;
}

export type SharePatch = Partial<Omit<ShareRow, 'id' | 'createdAt'>>;

export interface ChunkRef {
  /** SHA-256 of the chunk, 32 bytes */
  hash: Uint8Array;
  size: number;
}

export interface FileRecord {
  shareId: ShareId;
  /** whose index this entry belongs to: the local device or a peer */
  deviceId: DeviceId;
  /** '/'-separated, NFC, relative to the share root, no leading or trailing '/' */
  path: string;
  type: FileType;
  size: number;
  mode: number;
  mtimeMs: number;
  inode: number;
  symlinkTarget: string | null;
  version: VersionVector;
  /** that device's own sequence number for this change */
  sequence: number;
  deleted: boolean;
  /** the file's content in order; offsets are cumulative sizes. Empty for dirs, symlinks, tombstones */
  chunks: ChunkRef[];
  /** hex SHA-256 over the concatenated chunk hashes; '' for non-files */
  hash: string;
  modifiedBy: DeviceId;
  /**
   * The writer's signature of this version as it arrived (keys/entry-signing.ts: writer key ||
   * Ed25519 signature, 96 bytes), kept so that a member that cannot sign can pass it on. Absent on
   * a version nobody signed yet (this device's own change; a writer signs it when sending).
   */
  signature?: Uint8Array | null;
}

/** A record's stat fields alone (IndexStore.childStats): enough to tell whether a file changed on disk. */
export type FileStat = Pick<FileRecord, 'path' | 'type' | 'size' | 'mode' | 'mtimeMs' | 'inode' | 'deleted'>;

/** Where a chunk's bytes can be read locally. */
export interface ChunkLocation {
  shareId: ShareId;
  path: string;
  offset: number;
  size: number;
}

/** Every device's record for one path. */
export interface PathEntries {
  path: string;
  entries: FileRecord[];
}

/** Non-deleted entries of one device in one share. */
export interface FileCounts {
  files: number;
  dirs: number;
  symlinks: number;
  /** sum of the sizes of the files */
  bytes: number;
}

export interface PeerRow {
  shareId: ShareId;
  deviceId: DeviceId;
  name: string;
  /** last known address (host:port or a signaling address), null if none */
  address: string | null;
  via: PeerVia | null;
  /** ms since epoch, 0 = never */
  lastSeen: number;
  /** highest sequence of that peer's index we have stored */
  remoteSeqSeen: number;
  /** highest of our sequence numbers the peer confirmed */
  localSeqAcked: number;
}

export type PeerPatch = Partial<Omit<PeerRow, 'shareId' | 'deviceId'>>;
