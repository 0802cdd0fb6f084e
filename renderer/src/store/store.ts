// The one zustand store: fed by the bridge's events and by the results of calls the UI makes.
// State flows one way (engine -> events -> store -> components); commands go out through `actions`.
// No DOM or React here, so it runs (and is tested) under node with a fake bridge.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type {
  AccessLevel,
  CodeCheck,
  DirListing,
  FilePreview,
  InviteInfo,
  Method,
  Params,
  PeerfoldBridge,
  ResolveKeep,
  Result,
  Settings,
  ShareCodes,
  ShareId,
  ShareSummary,
} from '../../../shared/api.ts';
import { isConnectionAware } from '../bridge/ws-bridge.ts';
import * as r from './reducers.ts';
import { initialState, type AppState, type ResourceKey, type Route } from './state.ts';

export type AppStore = StoreApi<AppState>;

export interface StoreOptions {
  route?: Route;
  now?: () => number;
  /** how often to re-request status while the bridge has pushed no status event (0 disables) */
  fallbackPollMs?: number;
}

export interface Actions {
  /** subscribe to the bridge and load the first snapshot; returns the unsubscribe */
  start(): () => void;
  refreshAll(): Promise<void>;
  refreshStatus(): Promise<void>;
  refreshPeers(): Promise<void>;
  refreshConflicts(): Promise<void>;
  loadSettings(): Promise<void>;
  navigate(route: Route): void;
  dismissNotice(id: number): void;
  /** turns a failed user action into an error notice: "Could not <action>: <why>" */
  notifyError(action: string, err: unknown, shareId?: ShareId | null): void;

  /** share a folder; throws so the dialog can show why (see notifyError for other callers) */
  shareFolder(path: string, name?: string): Promise<{ share: ShareSummary; codes: ShareCodes }>;
  /** join with a code; throws so the form can show the reason next to the fields */
  join(code: string, path: string, name?: string): Promise<ShareSummary>;
  unshare(shareId: ShareId): Promise<boolean>;
  pause(shareId?: ShareId): Promise<void>;
  resume(shareId?: ShareId): Promise<void>;
  rescan(shareId?: ShareId): Promise<void>;
  /** the share's held mass deletion: send it to the other devices ('confirm') or pull the files back ('restore') */
  settleHeldDeletes(shareId: ShareId, how: 'confirm' | 'restore'): Promise<void>;
  /** throws so the field can show why */
  addPeer(shareId: ShareId, address: string): Promise<void>;
  resolve(shareId: ShareId, path: string, keep: ResolveKeep): Promise<boolean>;
  restore(shareId: ShareId, archivedPath: string): Promise<boolean>;
  /** a read-only share: back to the shared version of one local change, or of all (what is replaced goes to the archive) */
  revert(shareId: ShareId, path?: string): Promise<boolean>;
  /** throws so the editor can show why */
  saveIgnore(shareId: ShareId, text: string): Promise<void>;
  /** throws so the form can show why */
  saveSettings(patch: Partial<Settings>): Promise<Settings>;

  load(shareId: ShareId, key: ResourceKey): Promise<void>;

  // Calls whose results belong to one component, not to the shared state.
  checkCode(code: string): Promise<CodeCheck>;
  /** one-time invites of a share (the codes tab's invite panel owns the list) */
  createInvite(shareId: ShareId, opts: { access: AccessLevel; expiresInMs: number; uses: number }): Promise<InviteInfo>;
  listInvites(shareId: ShareId): Promise<InviteInfo[]>;
  revokeInvite(shareId: ShareId, id: string): Promise<void>;
  listDir(path?: string): Promise<DirListing>;
  preview(shareId: ShareId, path: string, maxBytes?: number): Promise<FilePreview>;
}

export interface PeerfoldApp {
  store: AppStore;
  actions: Actions;
  bridge: PeerfoldBridge;
}

const loaders: { [K in ResourceKey]: (bridge: PeerfoldBridge, share: ShareId) => Promise<unknown> } = {
  codes: (b, share) => b.call('codes', { share }),
  archive: (b, share) => b.call('archive', { share }),
  recent: (b, share) => b.call('recent', { share, limit: 200 }),
  ignore: (b, share) => b.call('getIgnore', { share }),
  files: (b, share) => b.call('files', { share }),
  changes: (b, share) => b.call('changes', { share }),
};

export function createPeerfoldApp(bridge: PeerfoldBridge, options: StoreOptions = {}): PeerfoldApp {
  const now = options.now ?? Date.now;
  const fallbackPollMs = options.fallbackPollMs ?? 5000;
  const store = createStore<AppState>()(() => initialState(options.route));
  const set = (f: (s: AppState) => AppState) => store.setState(f(store.getState()), true);
  const call = <M extends Method>(method: M, params: Params<M>): Promise<Result<M>> => bridge.call(method, params);
  const fail =
    (action: string, shareId: ShareId | null = null) =>
    (err: unknown) =>
      set((s) => r.applyCallError(s, action, err, now(), shareId));

  // Lists with their own events (conflicts, peers) are re-requested when a status event says they
  // changed but no event brought the change: once per change of the status's counters.
  const seen = { conflicts: '', peers: '' };
  const inFlight = { conflicts: false, peers: false };
  function followStatus() {
    const s = store.getState();
    const conflictSig = s.shares.map((x) => `${x.id}:${x.conflicts}`).join(',');
    const wanted = s.shares.reduce((n, x) => n + x.conflicts, 0);
    if (conflictSig !== seen.conflicts && wanted !== s.conflicts.length && !inFlight.conflicts) {
      seen.conflicts = conflictSig;
      inFlight.conflicts = true;
      void actions.refreshConflicts().finally(() => (inFlight.conflicts = false));
    }
    const peerSig = s.shares.map((x) => `${x.id}:${x.peersConnected}`).join(',');
    if (peerSig !== seen.peers && !inFlight.peers) {
      const first = seen.peers === '';
      seen.peers = peerSig;
      if (!first) {
        inFlight.peers = true;
        void actions.refreshPeers().finally(() => (inFlight.peers = false));
      }
    }
  }

  const actions: Actions = {
    start() {
      const offs: (() => void)[] = [
        bridge.on('status', (st) => {
          set((s) => r.applyStatus(s, st, { pushed: true, now: now() }));
          followStatus();
        }),
        bridge.on('peers', (p) => set((s) => r.applyPeers(s, p))),
        bridge.on('conflict', (c) => set((s) => r.applyConflict(s, c))),
        bridge.on('shareSynced', (e) => set((s) => r.applyShareSynced(s, e, now()))),
        bridge.on('error', (e) => set((s) => r.applyEngineError(s, e, now()))),
      ];
      if (isConnectionAware(bridge)) {
        const follow = (phase: 'connecting' | 'open' | 'closed', retryAt: number | null) => {
          const was = store.getState().connection;
          const next =
            phase === 'open' ? 'connected' : phase === 'closed' ? 'disconnected' : store.getState().everConnected ? was : 'connecting';
          set((s) => r.setConnection(s, next, retryAt));
          // Events may have been missed while away: take a fresh snapshot.
          if (next === 'connected' && was !== 'connected') void actions.refreshAll();
        };
        offs.push(bridge.onConnection((c) => follow(c.phase, c.retryAt)));
        follow(bridge.connection.phase, bridge.connection.retryAt);
      } else {
        set((s) => r.setConnection(s, 'connected'));
        void actions.refreshAll();
      }
      // Fallback only: a bridge that never pushes status gets asked now and then.
      let timer: ReturnType<typeof setInterval> | null = null;
      if (fallbackPollMs > 0) {
        timer = setInterval(() => {
          const s = store.getState();
          if (s.lastStatusEventAt === null && s.connection === 'connected') void actions.refreshStatus();
        }, fallbackPollMs);
      }
      return () => {
        for (const off of offs) off();
        if (timer) clearInterval(timer);
      };
    },

    async refreshAll() {
      await Promise.all([actions.refreshStatus(), actions.refreshPeers(), actions.refreshConflicts(), actions.loadSettings()]);
    },
    async refreshStatus() {
      try {
        const st = await call('status', {});
        set((s) => r.applyStatus(s, st));
      } catch (err) {
        if (store.getState().connection === 'connected') fail('load the status')(err);
      }
    },
    async refreshPeers() {
      try {
        const peers = await call('peers', {});
        set((s) => r.applyPeers(s, peers));
      } catch (err) {
        if (store.getState().connection === 'connected') fail('load the peers')(err);
      }
    },
    async refreshConflicts() {
      try {
        const list = await call('conflicts', {});
        set((s) => r.setConflicts(s, list));
      } catch (err) {
        if (store.getState().connection === 'connected') fail('load the conflicts')(err);
      }
    },
    async loadSettings() {
      try {
        const settings = await call('getSettings', {});
        set((s) => r.setSettings(s, settings));
      } catch (err) {
        if (store.getState().connection === 'connected') fail('load the settings')(err);
      }
    },
    navigate(route) {
      set((s) => r.navigate(s, route));
    },
    dismissNotice(id) {
      set((s) => r.dismissNotice(s, id));
    },
    notifyError(action, err, shareId = null) {
      fail(action, shareId)(err);
    },

    async shareFolder(path, name) {
      const res = await call('share', name ? { path, name } : { path });
      set((s) => r.setCodes(r.upsertShare(s, res.share), res.share.id, res.codes));
      return res;
    },
    async join(code, path, name) {
      const res = await call('join', name ? { code, path, name } : { code, path });
      set((s) => r.upsertShare(s, res.share));
      return res.share;
    },
    async unshare(shareId) {
      try {
        await call('unshare', { share: shareId });
        set((s) => r.removeShare(s, shareId));
        return true;
      } catch (err) {
        fail('remove the share', shareId)(err);
        return false;
      }
    },
    async pause(shareId) {
      const before = store.getState();
      set((s) => r.setPaused(s, shareId ?? null, true));
      try {
        await call('pause', shareId ? { share: shareId } : {});
      } catch (err) {
        set((s) => ({ ...s, shares: before.shares, allPaused: before.allPaused }));
        fail('pause', shareId ?? null)(err);
      }
      await actions.refreshStatus();
    },
    async resume(shareId) {
      const before = store.getState();
      set((s) => r.setPaused(s, shareId ?? null, false));
      try {
        await call('resume', shareId ? { share: shareId } : {});
      } catch (err) {
        set((s) => ({ ...s, shares: before.shares, allPaused: before.allPaused }));
        fail('resume', shareId ?? null)(err);
      }
      await actions.refreshStatus();
    },
    async rescan(shareId) {
      try {
        await call('rescan', shareId ? { share: shareId } : {});
      } catch (err) {
        fail('rescan', shareId ?? null)(err);
      }
    },
    async settleHeldDeletes(shareId, how) {
      try {
        await call(how === 'confirm' ? 'confirmDeletes' : 'restoreDeletes', { share: shareId });
      } catch (err) {
        fail(how === 'confirm' ? 'confirm the deletions' : 'restore the deleted files', shareId)(err);
      }
      await actions.refreshStatus();
    },
    async addPeer(shareId, address) {
      await call('addPeer', { share: shareId, address });
      await actions.refreshPeers();
    },
    async resolve(shareId, path, keep) {
      try {
        await call('resolve', { share: shareId, path, keep });
        set((s) => r.removeConflict(s, shareId, path));
      } catch (err) {
        fail('resolve the conflict', shareId)(err);
        return false;
      } finally {
        await actions.refreshConflicts();
      }
      return true;
    },
    async restore(shareId, archivedPath) {
      try {
        await call('restore', { share: shareId, archivedPath });
        set((s) =>
          r.addNotice(s, {
            kind: 'success',
            title: 'Restored',
            message: `${archivedPath.split('/').pop()} is back in place.`,
            at: now(),
            shareId,
          }),
        );
        await Promise.all([actions.load(shareId, 'archive'), actions.load(shareId, 'recent')]);
        return true;
      } catch (err) {
        fail('restore the file', shareId)(err);
        return false;
      }
    },
    async revert(shareId, path) {
      try {
        const { reverted } = await call('revert', path === undefined ? { share: shareId } : { share: shareId, path });
        set((s) =>
          r.addNotice(s, {
            kind: 'success',
            title: 'Reverted',
            message:
              path === undefined
                ? `${reverted === 1 ? '1 local change reverted; what it replaced is' : `${reverted} local changes reverted; what they replaced is`} in the archive.`
                : `${path.split('/').pop()} is back to the shared version; what was there is in the archive.`,
            at: now(),
            shareId,
          }),
        );
        return true;
      } catch (err) {
        fail(path === undefined ? 'revert the local changes' : `revert ${path}`, shareId)(err);
        return false;
      } finally {
        await Promise.all([actions.load(shareId, 'changes'), actions.refreshStatus()]);
      }
    },
    async saveIgnore(shareId, text) {
      await call('setIgnore', { share: shareId, text });
      set((s) => r.resourceLoaded(s, shareId, 'ignore', { text }));
    },
    async saveSettings(patch) {
      const settings = await call('setSettings', patch);
      set((s) => r.setSettings(s, settings));
      return settings;
    },

    async load(shareId, key) {
      set((s) => r.resourceLoading(s, shareId, key));
      try {
        const data = await loaders[key](bridge, shareId);
        set((s) => r.resourceLoaded(s, shareId, key, data as never));
      } catch (err) {
        set((s) => r.resourceFailed(s, shareId, key, err));
      }
    },

    checkCode: (code) => call('checkCode', { code }),
    createInvite: (shareId, opts) => call('invite', { share: shareId, ...opts }),
    listInvites: (shareId) => call('invites', { share: shareId }),
    async revokeInvite(shareId, id) {
      await call('revokeInvite', { share: shareId, id });
    },
    listDir: (path) => call('listDir', path ? { path } : {}),
    preview: (shareId, path, maxBytes) => call('preview', maxBytes ? { share: shareId, path, maxBytes } : { share: shareId, path }),
  };

  return { store, actions, bridge };
}
