// Pure state transitions: (state, input) -> new state. The zustand store only applies these, so
// every decision about how events and call results change the UI's state is tested under node.
import type { ApiEvents, ConflictInfo, PeerInfo, Settings, ShareCodes, ShareId, ShareSummary, StatusResult } from '../../../shared/api.ts';
import type { AppState, Connection, Notice, ResourceKey, Route, ShareResources } from './state.ts';

/** At most this many notices are kept; the oldest go first. */
export const MAX_NOTICES = 5;

const conflictKey = (c: Pick<ConflictInfo, 'shareId' | 'conflictPath'>) => `${c.shareId}\u0000${c.conflictPath}`;

/**
 * A route that points at a share that no longer exists falls back to the shares list, except
 * when another share took its folder: a join by invite takes its real id once granted
 * (ShareSummary.invite), and the view follows it.
 */
function fixRoute(route: Route, shares: ShareSummary[], before: ShareSummary[] = []): Route {
  if (route.view !== 'share' || shares.some((s) => s.id === route.shareId)) return route;
  const was = before.find((s) => s.id === route.shareId);
  const next = was?.invite ? shares.find((s) => s.path === was.path) : undefined;
  return next ? { ...route, shareId: next.id } : { view: 'shares' };
}

function pruneDetails(details: AppState['details'], shares: ShareSummary[]): AppState['details'] {
  const ids = new Set(shares.map((s) => s.id));
  const keys = Object.keys(details);
  if (keys.every((k) => ids.has(k))) return details;
  const out: AppState['details'] = {};
  for (const k of keys) if (ids.has(k)) out[k] = details[k];
  return out;
}

/** A full status snapshot (the `status` event or call) replaces device, pause state and shares. */
export function applyStatus(state: AppState, status: StatusResult, opts: { pushed?: boolean; now?: number } = {}): AppState {
  // a device-level problem is told once, when it appears, not on every status
  const told =
    status.error && status.error !== state.deviceError
      ? addNotice(state, {
          kind: 'error',
          title: 'Peerfold reported a problem',
          message: status.error,
          at: opts.now ?? Date.now(),
          shareId: null,
        })
      : state;
  return {
    ...told,
    device: status.device,
    deviceError: status.error,
    allPaused: status.paused,
    shares: status.shares,
    trackers: status.trackers,
    details: pruneDetails(state.details, status.shares),
    route: fixRoute(state.route, status.shares, state.shares),
    lastStatusEventAt: opts.pushed ? (opts.now ?? Date.now()) : state.lastStatusEventAt,
  };
}

/** One share's summary from a call result (share, join): insert it or replace it in place. */
export function upsertShare(state: AppState, share: ShareSummary): AppState {
  const i = state.shares.findIndex((s) => s.id === share.id);
  const shares = i < 0 ? [...state.shares, share] : state.shares.map((s, j) => (j === i ? share : s));
  return { ...state, shares };
}

export function removeShare(state: AppState, shareId: ShareId): AppState {
  const shares = state.shares.filter((s) => s.id !== shareId);
  return {
    ...state,
    shares,
    conflicts: state.conflicts.filter((c) => c.shareId !== shareId),
    peers: state.peers,
    details: pruneDetails(state.details, shares),
    route: fixRoute(state.route, shares),
  };
}

/** Marks a share (or every share) paused or running at once, before the engine's status confirms it. */
export function setPaused(state: AppState, shareId: ShareId | null, paused: boolean): AppState {
  const apply = (s: ShareSummary): ShareSummary =>
    s.paused === paused && (paused ? s.state === 'paused' : s.state !== 'paused')
      ? s
      : { ...s, paused, state: paused ? 'paused' : s.state === 'paused' ? 'idle' : s.state };
  if (shareId === null) return { ...state, allPaused: paused, shares: state.shares.map(apply) };
  return { ...state, shares: state.shares.map((s) => (s.id === shareId ? apply(s) : s)) };
}

/** The `peers` event and call carry the whole list. */
export function applyPeers(state: AppState, peers: PeerInfo[]): AppState {
  return { ...state, peers };
}

/** The `conflict` event: one new (or updated) conflict. */
export function applyConflict(state: AppState, conflict: ConflictInfo): AppState {
  const key = conflictKey(conflict);
  const i = state.conflicts.findIndex((c) => conflictKey(c) === key);
  const conflicts = i < 0 ? [...state.conflicts, conflict] : state.conflicts.map((c, j) => (j === i ? conflict : c));
  return { ...state, conflicts };
}

/** A `conflicts` call result: the full list, or the list of one share when `shareId` is given. */
export function setConflicts(state: AppState, conflicts: ConflictInfo[], shareId?: ShareId): AppState {
  if (shareId === undefined) return { ...state, conflicts };
  return {
    ...state,
    conflicts: [...state.conflicts.filter((c) => c.shareId !== shareId), ...conflicts.filter((c) => c.shareId === shareId)],
  };
}

/** After a resolve: the conflict at `path` (the winner's path or the conflict copy's) is gone. */
export function removeConflict(state: AppState, shareId: ShareId, path: string): AppState {
  const conflicts = state.conflicts.filter((c) => !(c.shareId === shareId && (c.path === path || c.conflictPath === path)));
  return conflicts.length === state.conflicts.length ? state : { ...state, conflicts };
}

export function setSettings(state: AppState, settings: Settings): AppState {
  const device = state.device && state.device.name !== settings.deviceName ? { ...state.device, name: settings.deviceName } : state.device;
  return { ...state, settings, device };
}

export function setConnection(state: AppState, connection: Connection, retryAt: number | null = null): AppState {
  return {
    ...state,
    connection,
    retryAt: connection === 'disconnected' ? retryAt : null,
    everConnected: state.everConnected || connection === 'connected',
  };
}

export function navigate(state: AppState, route: Route): AppState {
  return { ...state, route: fixRoute(route, state.shares) };
}

// ---- notices ----

export function addNotice(state: AppState, notice: Omit<Notice, 'id'>): AppState {
  const n: Notice = { ...notice, id: state.nextNoticeId };
  // The same message again replaces the older one instead of stacking copies.
  const rest = state.notices.filter((x) => !(x.kind === n.kind && x.title === n.title && x.message === n.message));
  const notices = [...rest, n].slice(-MAX_NOTICES);
  return { ...state, notices, nextNoticeId: state.nextNoticeId + 1 };
}

export function dismissNotice(state: AppState, id: number): AppState {
  const notices = state.notices.filter((n) => n.id !== id);
  return notices.length === state.notices.length ? state : { ...state, notices };
}

/** The `shareSynced` event: a share finished its first sync. */
export function applyShareSynced(state: AppState, ev: ApiEvents['shareSynced'], now: number): AppState {
  return addNotice(state, {
    kind: 'success',
    title: 'Sync complete',
    message: `“${ev.name}” is up to date.`,
    at: now,
    shareId: ev.shareId,
  });
}

/** The `error` event: the engine reports a problem, for a share or for the whole app. */
export function applyEngineError(state: AppState, ev: ApiEvents['error'], now: number): AppState {
  const share = ev.shareId ? state.shares.find((s) => s.id === ev.shareId) : undefined;
  const title = share ? `Problem with “${share.name}”` : 'Peerfold reported a problem';
  return addNotice(state, { kind: 'error', title, message: ev.message, at: now, shareId: ev.shareId });
}

/** A call the user made failed: say which action and why. */
export function applyCallError(state: AppState, action: string, err: unknown, now: number, shareId: ShareId | null = null): AppState {
  return addNotice(state, { kind: 'error', title: `Could not ${action}`, message: errorMessage(err), at: now, shareId });
}

export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err && typeof (err as { message: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}

// ---- per-share resources ----

export function resourceLoading(state: AppState, shareId: ShareId, key: ResourceKey): AppState {
  const detail = state.details[shareId] ?? {};
  const prev = detail[key];
  // Keep showing the old data while it is re-requested.
  const next = { status: 'loading' as const, data: prev?.data ?? null, error: null };
  return { ...state, details: { ...state.details, [shareId]: { ...detail, [key]: next } } };
}

export function resourceLoaded<K extends ResourceKey>(state: AppState, shareId: ShareId, key: K, data: ShareResources[K]): AppState {
  if (!state.shares.some((s) => s.id === shareId)) return state;
  const detail = state.details[shareId] ?? {};
  return { ...state, details: { ...state.details, [shareId]: { ...detail, [key]: { status: 'ready', data, error: null } } } };
}

export function resourceFailed(state: AppState, shareId: ShareId, key: ResourceKey, err: unknown): AppState {
  if (!state.shares.some((s) => s.id === shareId)) return state;
  const detail = state.details[shareId] ?? {};
  const prev = detail[key];
  return {
    ...state,
    details: { ...state.details, [shareId]: { ...detail, [key]: { status: 'error', data: prev?.data ?? null, error: errorMessage(err) } } },
  };
}

/** Codes arrive with the `share` call's result: keep them so the detail view shows them at once. */
export function setCodes(state: AppState, shareId: ShareId, codes: ShareCodes): AppState {
  return resourceLoaded(state, shareId, 'codes', codes);
}
