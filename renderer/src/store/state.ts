// The renderer's state: what the engine last told us (through events and call results) plus the
// little the UI itself owns (where the user is, notices). Plain data only.
import type {
  ArchiveEntry,
  ConflictInfo,
  DeviceInfo,
  FileEntry,
  PeerInfo,
  ReadOnlyChange,
  RecentChange,
  Settings,
  ShareCodes,
  ShareId,
  ShareSummary,
  TrackerInfo,
} from '../../../shared/api.ts';

export type DetailTab = 'codes' | 'peers' | 'transfers' | 'files' | 'changes' | 'recent' | 'archive' | 'ignore';
export const detailTabs: readonly DetailTab[] = ['codes', 'peers', 'transfers', 'files', 'changes', 'recent', 'archive', 'ignore'];

export type Route =
  | { view: 'shares'; dialog?: 'share' }
  | { view: 'share'; shareId: ShareId; tab: DetailTab }
  | { view: 'join'; code?: string }
  | { view: 'conflicts' }
  | { view: 'settings' };

/** Where the engine is, from the UI's side of the carrier. */
export type Connection = 'connecting' | 'connected' | 'disconnected';

export interface Notice {
  id: number;
  kind: 'error' | 'success' | 'info';
  title: string;
  message: string;
  at: number;
  shareId: ShareId | null;
}

export interface Loadable<T> {
  status: 'loading' | 'ready' | 'error';
  data: T | null;
  error: string | null;
}

/** Per-share data fetched on demand when its detail view is open. */
export interface ShareResources {
  codes: ShareCodes;
  archive: ArchiveEntry[];
  recent: RecentChange[];
  ignore: { text: string };
  files: FileEntry[];
  /** a read-only share's local changes */
  changes: ReadOnlyChange[];
}
export type ResourceKey = keyof ShareResources;
export type ShareDetail = { [K in ResourceKey]?: Loadable<ShareResources[K]> };

export interface AppState {
  connection: Connection;
  /** true once the daemon was reachable at least once: a later loss is a "disconnect" */
  everConnected: boolean;
  /** ms since epoch of the next reconnect attempt while disconnected */
  retryAt: number | null;
  /** null until the first status arrives */
  device: DeviceInfo | null;
  /** the engine's device-level problem (StatusResult.error), null when fine */
  deviceError: string | null;
  allPaused: boolean;
  shares: ShareSummary[];
  peers: PeerInfo[];
  conflicts: ConflictInfo[];
  settings: Settings | null;
  /** the internet trackers and how each is doing (StatusResult.trackers) */
  trackers: TrackerInfo[];
  details: Record<ShareId, ShareDetail>;
  notices: Notice[];
  nextNoticeId: number;
  route: Route;
  /** ms since epoch of the last pushed status event; null while the bridge has sent none */
  lastStatusEventAt: number | null;
}

export function initialState(route: Route = { view: 'shares' }): AppState {
  return {
    connection: 'connecting',
    everConnected: false,
    retryAt: null,
    device: null,
    deviceError: null,
    allPaused: false,
    shares: [],
    peers: [],
    conflicts: [],
    settings: null,
    trackers: [],
    details: {},
    notices: [],
    nextNoticeId: 1,
    route,
    lastStatusEventAt: null,
  };
}
