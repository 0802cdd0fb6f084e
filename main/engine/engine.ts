// The facade: one object that owns the index, the shares, the network and the settings, and
// implements the API contract. Every shell (Electron IPC, the daemon's WebSocket, the CLI)
// calls `call()` and listens with `on()`; nothing else of the engine is visible to them.
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiEvents, EventName, Method, Params, Result, Settings, StatusResult } from '../../shared/api.ts';
import { calmJitTiering } from './config/jit-tiering.ts';
import { ApiError } from '../../shared/errors.ts';
import { SettingsFile } from './config/settings.ts';
import { SharesFile } from './config/shares-file.ts';
import { InvitesFile } from './config/invites-file.ts';
import { PendingJoinsFile } from './config/pending-joins-file.ts';
import type { ShareRow } from './index/rows.ts';
import { IndexStore } from './index/store.ts';
import { loadOrCreateIdentity, type DeviceIdentity } from './keys/identity.ts';
import { HashPool } from './scan/hasher.ts';
import { counterFloorForNewIndex } from './sync/vv.ts';
import { createHandlers, type Handlers } from './api/handlers.ts';
import { pendingJoinSummary, shareSummary } from './api/status.ts';
import { Folder } from './model/folder.ts';
import { storedShareSecret } from './keys/codes.ts';
import { deriveShareKeys } from './keys/secrets.ts';
import { Invites } from './model/invites.ts';
import { Network } from './model/network.ts';
import { PendingJoins } from './model/pending-joins.ts';
import { inviteIdIn, noShareMessage, pendingJoinMessage } from './model/share-ref.ts';
import { guard } from './net/log.ts';
import { IdleGc } from './idle-gc.ts';

export const ENGINE_VERSION = '0.1.0';

export interface EngineOptions {
  home: string;
  /** overrides the stored setting for this run (0 = any free port) */
  listenPort?: number;
  deviceName?: string;
  /** full rescan period; default 5 minutes (watchers miss events, rescans are the safety net) */
  rescanIntervalMs?: number;
  log?: (message: string) => void;
}

export class Engine {
  private readonly events = new EventEmitter();
  private readonly folders = new Map<string, Folder>();
  private statusTimer: NodeJS.Timeout | null = null;
  /** the recovery message when the index database was rebuilt at this start (shown in status) */
  private indexRecovered: string | null = null;
  private closed = false;
  private stopListeners: (() => void)[] = [];
  /** one full collection when the process goes quiet after a sync (idle-gc.ts) */
  private readonly idleGc = new IdleGc();
  private handlers!: Handlers;
  network!: Network;
  invites!: Invites;
  pendingJoins!: PendingJoins;

  private constructor(
    readonly home: string,
    readonly identity: DeviceIdentity,
    readonly settings: SettingsFile,
    readonly store: IndexStore,
    readonly sharesFile: SharesFile,
    readonly pool: HashPool,
    readonly options: EngineOptions,
  ) {
    this.events.setMaxListeners(100);
  }

  static async open(opts: EngineOptions): Promise<Engine> {
    calmJitTiering();
    const home = opts.home;
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const overrides: Partial<Settings> = {};
    if (opts.deviceName !== undefined) overrides.deviceName = opts.deviceName;
    const settings = new SettingsFile(home, overrides);
    const identity = loadOrCreateIdentity(home);
    const { store, recovered } = await IndexStore.open(join(home, 'index'), identity.deviceId);
    const engine = new Engine(home, identity, settings, store, new SharesFile(home), new HashPool(), opts);
    if (recovered) engine.log(recovered);
    engine.indexRecovered = recovered;
    engine.reconcileShares();
    engine.handlers = createHandlers(engine);
    engine.invites = new Invites({
      file: new InvitesFile(home),
      deviceId: identity.deviceId,
      share: (id) => store.getShare(id),
      log: (m) => engine.log(m),
      changed: () => engine.statusChanged(),
    });
    engine.network = new Network(
      {
        identity: identity,
        deviceName: () => engine.deviceName,
        settings: () => settings.get(),
        store,
        syncSoon: (shareId) => engine.folders.get(shareId)?.syncSoon(),
        // the share's loop takes these in turn with its scans and pulls (model/share-loop.ts)
        applyRemoteIndex: async (shareId, write) => {
          const folder = engine.folders.get(shareId);
          if (folder) return folder.enqueueRemoteIndex(write);
          write.apply();
          return true;
        },
        abortTransfers: (shareId) => engine.folders.get(shareId)?.puller.abortTransfers(),
        trustsStat: (shareId, path) => engine.folders.get(shareId)?.trustsStat(path) ?? false,
        peersChanged: (peers) => engine.emit('peers', peers),
        answerInvite: (peer, claim, address) => engine.invites.answer(peer, claim, address),
        statusChanged: () => engine.statusChanged(),
        log: (m) => engine.log(m),
      },
      opts.listenPort ?? settings.get().listenPort,
    );
    engine.pendingJoins = new PendingJoins({
      file: new PendingJoinsFile(home),
      redeem: (terms, peer, timeoutMs, signal) => engine.network.redeemInvite(terms, peer, timeoutMs, signal),
      complete: async (j, code) => void (await engine.call('join', { code, path: j.path, name: j.name, peer: j.peer ?? undefined })),
      changed: () => engine.statusChanged(),
      log: (m) => engine.log(m),
    });
    await engine.network.start();
    for (const row of store.listShares()) await engine.startFolder(row);
    engine.pendingJoins.start();
    if (recovered) engine.emit('error', { shareId: null, message: recovered });
    return engine;
  }

  get deviceId(): string {
    return this.identity.deviceId;
  }

  get deviceName(): string {
    return this.settings.get().deviceName;
  }

  log(message: string): void {
    (this.options.log ?? ((m: string) => console.error(`[peerfold] ${m}`)))(message);
  }

  /** The share list lives in shares.json too, so a rebuilt database gets its shares back. */
  private reconcileShares(): void {
    const inDb = new Map(this.store.listShares().map((r) => [r.id, r]));
    const inFile = this.sharesFile.read();
    for (const row of inFile) {
      if (inDb.has(row.id)) continue;
      // the database was rebuilt (or lost): peers may hold newer versions of ours than the
      // counters a fresh index would start from
      this.store.transaction(() => {
        this.store.addShare(row);
        this.store.setCounterFloor(row.id, counterFloorForNewIndex(Date.now()));
      });
    }
    if (inFile.length !== inDb.size || inDb.size > 0) this.saveShares();
  }

  saveShares(): void {
    this.sharesFile.write(this.store.listShares());
  }

  async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    if (this.closed) throw new ApiError('refused', 'Peerfold is shutting down');
    const handler = this.handlers[method] as unknown as ((p: Params<M>) => Promise<Result<M>> | Result<M>) | undefined;
    if (!handler) throw new ApiError('bad-request', `unknown method "${String(method)}"`);
    try {
      return await handler(params);
    } catch (err) {
      throw ApiError.from(err);
    }
  }

  // Event names are prefixed: a bare 'error' event would make EventEmitter throw when nobody listens.
  on<E extends EventName>(event: E, listener: (data: ApiEvents[E]) => void): () => void {
    this.events.on(`api:${event}`, listener);
    return () => this.events.off(`api:${event}`, listener);
  }

  emit<E extends EventName>(event: E, data: ApiEvents[E]): void {
    this.events.emit(`api:${event}`, data);
  }

  /** A shell that owns the process registers here; the `stop` call asks it to shut down. */
  onStopRequested(listener: () => void): void {
    this.stopListeners.push(listener);
  }

  requestStop(): void {
    if (!this.stopListeners.length) void this.close();
    for (const l of this.stopListeners) l();
  }

  // ---- shares ---------------------------------------------------------------------------------

  folder(ref: string): Folder {
    const direct = this.folders.get(ref);
    if (direct) return direct;
    for (const f of this.folders.values()) if (f.root === ref || f.root === ref.replace(/\/+$/, '')) return f;
    const pending = this.pendingJoins.find(ref);
    if (pending) throw new ApiError('refused', pendingJoinMessage(pending));
    const invite = this.invites.openById(inviteIdIn(ref));
    const named = invite && {
      id: invite.id,
      shareId: invite.shareId,
      shareName: this.folders.get(invite.shareId)?.row.name ?? invite.shareId,
    };
    throw new ApiError('not-found', noShareMessage(ref, named));
  }

  allFolders(): Folder[] {
    return [...this.folders.values()];
  }

  async startFolder(row: ShareRow): Promise<Folder> {
    const folder: Folder = new Folder(row, {
      store: this.store,
      self: { id: this.deviceId, name: () => this.deviceName },
      pool: this.pool,
      rescanIntervalMs: this.options.rescanIntervalMs ?? Number(process.env.PEERFOLD_RESCAN_MS ?? 5 * 60_000),
      changed: () => this.statusChanged(),
      localIndexChanged: () => this.network.localIndexChanged(row.id),
      log: (m) => this.log(m),
      swarm: () => this.network,
      networkActive: () => !this.closed,
      deviceName: (id) => this.network.deviceName(id),
      archiveDays: () => this.settings.get().archiveDays,
      conflictCreated: ({ path, conflictPath }) => {
        const c = folder.conflicts().find((x) => x.conflictPath === conflictPath);
        if (c) this.emit('conflict', c);
        else this.log(`conflict on ${path}: the other version is kept as ${conflictPath}`);
      },
      connectedPeers: () => this.network.peersFor(row.id),
      firstSyncDone: () => this.emit('shareSynced', { shareId: row.id, name: folder.row.name }),
      stateChanged: (state) => this.emit('shareState', { shareId: row.id, state }),
    });
    this.folders.set(row.id, folder);
    this.network.shareAdded(row.id, deriveShareKeys(storedShareSecret(row)));
    await folder.start();
    this.statusChanged();
    return folder;
  }

  async stopFolder(id: string): Promise<void> {
    const f = this.folders.get(id);
    if (!f) return;
    this.folders.delete(id);
    this.network.shareRemoved(id);
    await f.stop();
    this.statusChanged();
  }

  status(shareRef?: string): StatusResult {
    const pending = shareRef ? this.pendingJoins.find(shareRef) : null;
    const folders = pending ? [] : shareRef ? [this.folder(shareRef)] : this.allFolders();
    const shares = folders.map((f) => shareSummary(this, f));
    const paused = shares.length > 0 && shares.every((s) => s.paused);
    const joins = pending ? [pending] : shareRef ? [] : this.pendingJoins.list();
    shares.push(...joins.map(pendingJoinSummary));
    return {
      device: { id: this.deviceId, name: this.deviceName, listenPort: this.network.listenPort, version: ENGINE_VERSION },
      paused,
      shares,
      error: this.indexRecovered,
      trackers: this.network.trackerStatus(),
    };
  }

  /** Coalesces bursts of changes into at most a few status events a second. */
  statusChanged(): void {
    if (this.statusTimer || this.closed) return;
    this.statusTimer = setTimeout(
      guard(
        (_, m) => this.log(m),
        'status event',
        () => {
          this.statusTimer = null;
          if (!this.closed && this.events.listenerCount('api:status') > 0) this.emit('status', this.status());
        },
      ),
      200,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.idleGc.stop();
    this.pendingJoins.stop();
    await this.network.stop();
    for (const f of this.folders.values()) await f.stop();
    await this.pool.close();
    await this.store.close();
  }
}
