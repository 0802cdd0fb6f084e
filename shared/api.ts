// The API contract: the single seam between the engine and every shell (Electron IPC, the
// daemon's WebSocket, the CLI). Plain types only: no runtime imports, so main, preload and the
// renderer can all include it.

export type ShareId = string;
export type DeviceId = string;

/**
 * 'waiting': joined, and no peer's index has arrived yet (nothing can be called up to date).
 * 'waiting-for-issuer': joined with a one-time invite that the device which made it has not
 * answered yet (`ShareSummary.invite`); nothing syncs until it grants the invite.
 */
export type ShareState = 'scanning' | 'waiting' | 'waiting-for-issuer' | 'syncing' | 'idle' | 'paused' | 'error';
export type AccessLevel = 'read-write' | 'read-only' | 'encrypted';
export type FileType = 'file' | 'dir' | 'symlink';
/** How a peer was found / what path its connection takes. */
export type PeerVia = 'lan' | 'manual' | 'internet' | 'relay';
/** What carries chunk data to and from a peer: the WebRTC data channel, or a udx stream when a direct UDP path exists. */
export type PeerTransport = 'datachannel' | 'udx' | 'tcp';

/** device id -> counter. A local change increments this device's counter. */
export type VersionVector = Record<DeviceId, number>;

export interface PathError {
  path: string;
  error: string;
}

export interface PullProgress {
  path: string;
  size: number;
  /** bytes already in place (copied locally or fetched) */
  done: number;
  bytesPerSec: number;
  /** seconds left at the current rate; null when unknown */
  etaSec: number | null;
}

export interface ShareSummary {
  id: ShareId;
  name: string;
  path: string;
  access: AccessLevel;
  state: ShareState;
  paused: boolean;
  /** share-level error (folder or marker missing, database trouble); null when fine */
  error: string | null;
  /** files and symlinks (folders are not counted) */
  localFiles: number;
  localBytes: number;
  globalFiles: number;
  globalBytes: number;
  needFiles: number;
  needBytes: number;
  peersConnected: number;
  inBytesPerSec: number;
  outBytesPerSec: number;
  pulling: PullProgress[];
  conflicts: number;
  /** per-path problems: unreadable files, names this file system cannot hold, ... */
  errors: PathError[];
  /** 'watching' normally; 'rescan-only' when the OS watch limit was hit */
  watcher: 'watching' | 'rescan-only' | 'off';
  /** ms since epoch of the last completed full scan, null before the first */
  lastScanAt: number | null;
  /**
   * local deletions held by the mass-delete guard (most of the share vanished at once): not sent to
   * other devices, and nothing pulled, until `confirmDeletes` or `restoreDeletes`. 0 normally
   */
  heldDeletes: number;
  /**
   * entries peers sent that no writer of the share signed (forged, altered, or a read-only
   * device's own change), refused since the engine started. 0 normally
   */
  rejectedEntries: number;
  /**
   * on a read-only share: paths changed on this device (edited, created, deleted) that no other
   * device accepts; `changes` lists them, `revert` restores the shared version. 0 elsewhere
   */
  localChanges: number;
  /**
   * a join by one-time invite that the issuing device has not granted yet; null for every other
   * share. State 'waiting-for-issuer' while that device cannot be reached; 'error' once it
   * refused (`error` says why: used, revoked, expired). Until granted the `id` is provisional
   * ("invite-" and the invite's ID) and the folder is untouched; once granted the share takes its
   * real id, at the same `path`. `unshare` gives up the join.
   */
  invite: { issuer: DeviceId; expiresAt: number } | null;
}

export interface DeviceInfo {
  id: DeviceId;
  name: string;
  /** signaling port in use (0 until listening) */
  listenPort: number;
  version: string;
}

export interface StatusResult {
  device: DeviceInfo;
  /** true when everything is paused */
  paused: boolean;
  shares: ShareSummary[];
  /**
   * a device-level problem the user should know of, null when fine: the index database was found
   * damaged at start, moved aside and rebuilt from disk (says where the old copy is)
   */
  error: string | null;
  /** the internet trackers in use (empty when there are none, or LAN only is on) */
  trackers: TrackerInfo[];
}

export interface FileEntry {
  path: string;
  type: FileType;
  size: number;
  mode: number;
  mtimeMs: number;
  version: VersionVector;
  sequence: number;
  deleted: boolean;
  chunks: number;
  /** hex SHA-256 over the file's ordered chunk hashes; for a symlink, over its target; '' for dirs and tombstones */
  hash: string;
  symlinkTarget: string | null;
  modifiedBy: DeviceId;
}

export interface PeerInfo {
  deviceId: DeviceId;
  name: string;
  shareIds: ShareId[];
  connected: boolean;
  /** when the current link to this device came up (ms since epoch); null when not connected */
  connectedSince: number | null;
  address: string | null;
  via: PeerVia;
  /** what carries chunk data on the current link ('datachannel' when not connected) */
  transport: PeerTransport;
  /** how many streams of that transport carry it (several TCP streams on a long path); absent when not connected */
  streams?: number;
  inBytes: number;
  outBytes: number;
  inBytesPerSec: number;
  outBytesPerSec: number;
}

export interface ConflictSide {
  deviceId: DeviceId;
  deviceName: string;
  mtimeMs: number;
  size: number;
  hash: string;
}

export interface ConflictInfo {
  shareId: ShareId;
  /** the path that holds the winner */
  path: string;
  /** the path that holds the loser: name.conflict-<device name>-<ID7>-<YYYYMMDD-HHMMSS>.ext */
  conflictPath: string;
  winner: ConflictSide;
  loser: ConflictSide;
  createdAt: number;
}

/** A change made on a read-only device, which no other device accepts (`changes`, `revert`). */
export interface ReadOnlyChange {
  path: string;
  /** added: the shared version has no such path (or deleted it); deleted: the shared one has it */
  change: 'added' | 'modified' | 'deleted';
}

export interface ShareCodes {
  readWrite: string | null;
  readOnly: string | null;
  encrypted: string | null;
}

export interface CodeCheck {
  ok: boolean;
  level: AccessLevel | null;
  /** what is wrong, for a person: "checksum mismatch: a character is mistyped", ... */
  error: string | null;
  /** set when the code is a one-time invite (`level` is what it grants) */
  invite?: { expiresAt: number; issuer: DeviceId } | null;
}

/** A one-time invite this device issued (`peerfold invite`, `peerfold invites`). */
export interface InviteInfo {
  /** 16 hex digits: what `peerfold revoke SHARE ID` takes */
  id: string;
  shareId: ShareId;
  /** the one-time code to send (pfi1...) */
  code: string;
  access: AccessLevel;
  /** ms since the epoch */
  expiresAt: number;
  usesLeft: number;
}

export interface ArchiveEntry {
  /** path of the file in the share when it was archived */
  path: string;
  /** path relative to the share root, inside .peerfold/archive/ */
  archivedPath: string;
  archivedAt: number;
  size: number;
  reason: 'replaced' | 'deleted' | 'conflict-resolved';
}

export interface RecentChange {
  shareId: ShareId;
  path: string;
  action: 'added' | 'modified' | 'deleted';
  deviceId: DeviceId;
  deviceName: string;
  at: number;
}

export interface Settings {
  deviceName: string;
  /** signaling listen port; 0 picks any free port */
  listenPort: number;
  lanDiscovery: boolean;
  /** 0 = unlimited */
  maxSendKBps: number;
  maxRecvKBps: number;
  archiveDays: number;
  /** Electron only; ignored by the daemon */
  startAtLogin: boolean;
  /** WebTorrent trackers (ws:// or wss://) through which devices find each other across the internet */
  trackers: string[];
  /** STUN servers (stun:HOST:PORT): how a device behind a NAT learns its public address */
  stunServers: string[];
  /** TURN relays (turn:USER:PASS@HOST:PORT?transport=udp|tcp) for when no direct path exists */
  turnServers: string[];
  /** LAN only: no trackers, no STUN or TURN; devices are found on the LAN or by address */
  lanOnly: boolean;
  /** the send and receive limits apply to LAN links too (false: the LAN is exempt) */
  limitLan: boolean;
}

/** One internet tracker as this device sees it (StatusResult.trackers). */
export interface TrackerInfo {
  url: string;
  /** connected: announcing; connecting: (re)connecting; waiting: down, retried later (see error); refused: not used (see error) */
  state: 'connecting' | 'connected' | 'waiting' | 'refused';
  /** why it is waiting or refused, or what it last complained of; null when fine */
  error: string | null;
  /** shares announced there now */
  announced: number;
}

export interface DirListing {
  path: string;
  parent: string | null;
  entries: { name: string; path: string; isDir: boolean }[];
}

export type ResolveKeep = 'local' | 'remote' | 'both';

/** Names a share by its id or its folder path. */
export interface ShareRef {
  share: string;
}

/**
 * Every call: method name -> params and result. The Electron IPC bridge, the WebSocket bridge and
 * the CLI carry exactly these.
 */
export interface ApiMethods {
  status: { params: { share?: string }; result: StatusResult };
  share: { params: { path: string; name?: string }; result: { share: ShareSummary; codes: ShareCodes } };
  /**
   * `code` may be a share code or a one-time invite; `peer` (HOST:PORT) is where to reach an
   * invite's issuer (or, with a share code, a device that has the share) when LAN discovery cannot.
   * With an invite the share is returned at once, waiting for the issuer (ShareSummary.invite).
   */
  join: { params: { code: string; path: string; name?: string; peer?: string }; result: { share: ShareSummary } };
  /** `removed`: a share, or a join by invite that was still waiting (nothing of it was delivered) */
  unshare: { params: ShareRef; result: { ok: true; removed: 'share' | 'join' } };
  codes: { params: ShareRef; result: ShareCodes };
  checkCode: { params: { code: string }; result: CodeCheck };
  /** a one-time invite to a share: defaults one use, 24 hours, this device's own level */
  invite: { params: ShareRef & { access?: AccessLevel; expiresInMs?: number; uses?: number }; result: InviteInfo };
  /** the share's open invites (not expired, used up or revoked) */
  invites: { params: ShareRef; result: InviteInfo[] };
  revokeInvite: { params: ShareRef & { id: string }; result: { ok: true } };
  files: { params: ShareRef & { path?: string }; result: FileEntry[] };
  rescan: { params: { share?: string }; result: { ok: true } };
  pause: { params: { share?: string }; result: { ok: true } };
  resume: { params: { share?: string }; result: { ok: true } };
  peers: { params: { share?: string }; result: PeerInfo[] };
  addPeer: { params: ShareRef & { address: string }; result: { ok: true } };
  conflicts: { params: { share?: string }; result: ConflictInfo[] };
  resolve: { params: ShareRef & { path: string; keep: ResolveKeep }; result: { ok: true } };
  /** first bytes of a version for the conflict viewer: the current file or a conflict copy */
  preview: { params: ShareRef & { path: string; maxBytes?: number }; result: FilePreview };
  archive: { params: ShareRef; result: ArchiveEntry[] };
  restore: { params: ShareRef & { archivedPath: string }; result: { ok: true } };
  /** held deletions (ShareSummary.heldDeletes) are meant: record them and send them to peers */
  confirmDeletes: { params: ShareRef; result: { deleted: number } };
  /** held deletions were a mistake: pull the files back from peers */
  restoreDeletes: { params: ShareRef; result: { restoring: number } };
  /** a read-only share's local changes (ShareSummary.localChanges) */
  changes: { params: ShareRef; result: ReadOnlyChange[] };
  /** restores the shared version of one local change, or of all: what is replaced goes to the archive */
  revert: { params: ShareRef & { path?: string }; result: { reverted: number } };
  recent: { params: { share?: string; limit?: number }; result: RecentChange[] };
  getIgnore: { params: ShareRef; result: { text: string } };
  setIgnore: { params: ShareRef & { text: string }; result: { ok: true } };
  getSettings: { params: Record<string, never>; result: Settings };
  setSettings: { params: Partial<Settings>; result: Settings };
  listDir: { params: { path?: string }; result: DirListing };
  stop: { params: Record<string, never>; result: { ok: true } };
}

export interface FilePreview {
  path: string;
  size: number;
  /** 'text' carries utf8 text; 'image' carries base64 with its mime type; 'binary' carries nothing */
  kind: 'text' | 'image' | 'binary' | 'missing';
  text: string | null;
  base64: string | null;
  mime: string | null;
  truncated: boolean;
}

export type Method = keyof ApiMethods;
export type Params<M extends Method> = ApiMethods[M]['params'];
export type Result<M extends Method> = ApiMethods[M]['result'];

/** Pushed from the engine; state flows one way: engine -> events -> renderer store. */
export interface ApiEvents {
  status: StatusResult;
  conflict: ConflictInfo;
  shareSynced: { shareId: ShareId; name: string };
  /** a share's state changed (the same value status reports) */
  shareState: { shareId: ShareId; state: ShareState };
  error: { shareId: ShareId | null; message: string };
  peers: PeerInfo[];
}
export type EventName = keyof ApiEvents;

/** Error codes carried by failed calls. */
export type ApiErrorCode = 'bad-request' | 'not-found' | 'refused' | 'internal';

export interface ApiErrorShape {
  code: ApiErrorCode;
  message: string;
}

/** Shell-only capabilities; the renderer checks these instead of asking which shell it is in. */
export interface ShellCapabilities {
  /** a native folder picker (Electron) */
  pickFolder: boolean;
  /** dropped OS folders have a real path (Electron) */
  dropPaths: boolean;
  /** open a folder/file in the OS file manager (Electron) */
  openPath: boolean;
  startAtLogin: boolean;
}

/** What the preload exposes as window.peerfold and what the web bridge implements too. */
export interface PeerfoldBridge {
  call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>>;
  on<E extends EventName>(event: E, listener: (data: ApiEvents[E]) => void): () => void;
  capabilities: ShellCapabilities;
  /** Electron only: native folder picker; null when cancelled */
  pickFolder?: () => Promise<string | null>;
  /** Electron only: the OS path of a dropped File */
  pathForFile?: (file: unknown) => string | null;
  /** Electron only: open a path in the OS file manager */
  openPath?: (path: string) => Promise<void>;
}

// Wire frames for the WebSocket bridge (and any other byte-stream carrier of the contract).
export interface CallFrame<M extends Method = Method> {
  id: number;
  method: M;
  params: Params<M>;
}
export type ReplyFrame = { id: number; result: unknown } | { id: number; error: ApiErrorShape };
export interface EventFrame<E extends EventName = EventName> {
  event: E;
  data: ApiEvents[E];
}
