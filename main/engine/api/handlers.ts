// The API contract's methods, each a thin step from validated params to the engine's parts.
import { mkdirSync, promises as fsp, readdirSync, statSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { ApiMethods, CodeCheck, DirListing, InviteInfo, Method, RecentChange, ShareCodes } from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';
import type { Engine } from '../engine.ts';
import type { ShareRow } from '../index/rows.ts';
import { parseCode, shareCodes, shareSecretFromCode, storedShareSecret } from '../keys/codes.ts';
import { looksLikeInvite, parseInvite } from '../keys/invite-code.ts';
import { createShareSecret, deriveShareKeys } from '../keys/secrets.ts';
import { REFUSAL_TEXT } from '../protocol/invite-proof.ts';
import { IGNORE_FILE, PEERFOLD_DIR } from '../scan/ignore.ts';
import { counterFloorForNewIndex, isFirstVersion } from '../sync/vv.ts';
import { MARKER_FILE, writeMarker } from '../model/folder.ts';
import { canonicalFolder, checkShareableFolder, isInsideOrSame } from '../model/share-paths.ts';
import { fileEntry, pendingJoinSummary, shareSummary } from './status.ts';
import type { PendingJoinRecord } from '../config/pending-joins-file.ts';
import { pendingJoinId } from '../model/pending-joins.ts';

export type Handlers = {
  [M in Method]: (params: ApiMethods[M]['params']) => Promise<ApiMethods[M]['result']> | ApiMethods[M]['result'];
};

function codeCheck(code: string, now = Date.now()): CodeCheck {
  if (looksLikeInvite(code)) {
    const inv = parseInvite(code);
    if (!inv.ok) return { ok: false, level: null, error: inv.error, invite: null };
    const { expiresAt, issuer, level } = inv.invite;
    if (now >= expiresAt) return { ok: false, level, error: REFUSAL_TEXT.expired, invite: { expiresAt, issuer } };
    return { ok: true, level, error: null, invite: { expiresAt, issuer } };
  }
  const parsed = parseCode(code);
  if (!parsed.ok) return { ok: false, level: null, error: parsed.error };
  return { ok: true, level: parsed.level, error: null };
}

export function createHandlers(engine: Engine): Handlers {
  const targets = (share?: string) => (share ? [engine.folder(share)] : engine.allFolders());

  /**
   * `counterFloor`: for a share this device may have held before (sync/vv.ts counterFloorForNewIndex).
   * `joined`: not up to date until a peer has told it what there is (it waits for a peer's index).
   */
  async function addShare(row: ShareRow, opts: { counterFloor?: number; joined?: boolean } = {}) {
    writeMarker(row.path, row.id);
    engine.store.transaction(() => {
      engine.store.addShare(row);
      if (opts.counterFloor) engine.store.setCounterFloor(row.id, opts.counterFloor);
      if (opts.joined) engine.store.setAwaitingPeerIndex(row.id, true);
    });
    engine.saveShares();
    const folder = await engine.startFolder(row);
    return shareSummary(engine, folder);
  }

  /**
   * The counter floor of a share joined into `folder`. Files already there may be versions this
   * device made as a member before (peers still hold them): its counters must start above those.
   * An empty folder has nothing to lose, and its device keeps small counters.
   */
  function joinCounterFloor(folder: string): number {
    return readdirSync(folder).some((n) => n !== PEERFOLD_DIR) ? counterFloorForNewIndex(Date.now()) : 0;
  }

  /** The folder to join into: checked, created when missing; its absolute path. */
  function prepareJoinFolder(path: string): string {
    const target = resolve(path);
    checkShareableFolder(target, occupied(), engine.home, false);
    try {
      mkdirSync(target, { recursive: true });
    } catch (err) {
      throw new ApiError('refused', `cannot create the folder ${target}: ${(err as Error).message}`);
    }
    return checkShareableFolder(target, occupied(), engine.home, true);
  }

  /** Shares and joins waiting for an invite's issuer: a new share's folder may overlap none of them. */
  const occupied = () => [...engine.store.listShares(), ...engine.pendingJoins.list()];

  /**
   * Joins with a one-time invite (PROTOCOL.md, "Invites"): refused at once when the code says it
   * has expired (or cannot work here); otherwise the join is listed at once, waiting for the
   * issuing device, and model/pending-joins.ts reaches it, proves the invite and, once it grants
   * the share code of that level, joins with it like any code.
   */
  function joinByInvite(code: string, path: string, name: string | undefined, peer: string | undefined) {
    const parsed = parseInvite(code);
    if (!parsed.ok) throw new ApiError('bad-request', `that invite does not work: ${parsed.error}`);
    const terms = parsed.invite;
    if (Date.now() >= terms.expiresAt)
      throw new ApiError('refused', `${REFUSAL_TEXT.expired} (it expired ${new Date(terms.expiresAt).toISOString()})`);
    if (terms.issuer === engine.deviceId)
      throw new ApiError('refused', 'this invite was made by this device: send it to the device that should join');
    if (peer !== undefined) checkAddress(peer);
    for (const row of engine.store.listShares()) {
      if (deriveShareKeys(storedShareSecret(row)).discoveryIdHex === terms.discoveryId) {
        throw new ApiError('refused', `this device already has that share, as "${row.name}" in ${row.path}`);
      }
    }
    const id = pendingJoinId(terms.id);
    const same = engine.pendingJoins.list().find((j) => j.id === id);
    if (same) throw new ApiError('refused', `this invite is already being used here, for "${same.name}" in ${same.path}`);
    const abs = checkShareableFolder(resolve(path), occupied(), engine.home, false);
    const record: PendingJoinRecord = {
      id,
      code: parsed.code,
      path: abs,
      name: name?.trim() || basename(abs) || abs,
      peer: peer ?? null,
      createdAt: Date.now(),
      error: null,
    };
    engine.pendingJoins.add(record);
    return { share: pendingJoinSummary(record) };
  }

  return {
    status: ({ share }) => engine.status(share),

    async share({ path, name }) {
      const abs = checkShareableFolder(path, occupied(), engine.home, true);
      const secret = createShareSecret();
      const codes = shareCodes(secret);
      const row: ShareRow = {
        id: deriveShareKeys(secret).shareId,
        name: name?.trim() || basename(abs) || abs,
        path: abs,
        access: 'read-write',
        secret: codes.readWrite!,
        paused: false,
        createdAt: Date.now(),
      };
      return { share: await addShare(row), codes };
    },

    async join({ code, path, name, peer }) {
      if (looksLikeInvite(code)) return joinByInvite(code, path, name, peer);
      const parsed = parseCode(code);
      if (!parsed.ok) throw new ApiError('bad-request', `that code does not work: ${parsed.error}`);
      const secret = shareSecretFromCode(parsed);
      const id = deriveShareKeys(secret).shareId;
      const existing = engine.store.getShare(id);
      if (existing) throw new ApiError('refused', `this device already has that share, as "${existing.name}" in ${existing.path}`);
      if (peer !== undefined) checkAddress(peer);
      const abs = prepareJoinFolder(path);
      const row: ShareRow = {
        id,
        name: name?.trim() || basename(abs) || abs,
        path: abs,
        access: parsed.level,
        secret: parsed.code,
        paused: false,
        createdAt: Date.now(),
      };
      if (peer) engine.store.addAddress(id, peer);
      return { share: await addShare(row, { counterFloor: joinCounterFloor(abs), joined: true }) };
    },

    invite: ({ share, access, expiresInMs, uses }): InviteInfo =>
      engine.invites.create(engine.folder(share).row, { access, expiresInMs, uses }),
    invites: ({ share }) => engine.invites.open(engine.folder(share).id),
    revokeInvite({ share, id }) {
      engine.invites.revoke(engine.folder(share).id, id);
      return { ok: true };
    },

    async unshare({ share }) {
      const pending = engine.pendingJoins.find(share);
      if (pending) {
        engine.pendingJoins.remove(pending.id);
        return { ok: true, removed: 'join' };
      }
      const f = engine.folder(share);
      await engine.stopFolder(f.id);
      engine.store.removeShare(f.id);
      engine.invites.shareRemoved(f.id);
      engine.saveShares();
      try {
        unlinkSync(join(f.root, MARKER_FILE));
      } catch {
        // already gone; the files themselves are never touched by unsharing
      }
      return { ok: true, removed: 'share' };
    },

    codes: ({ share }): ShareCodes => shareCodes(storedShareSecret(engine.folder(share).row)),
    checkCode: ({ code }) => codeCheck(code),

    files: ({ share, path }) => {
      const f = engine.folder(share);
      return engine.store.listFiles(f.id, engine.deviceId, { prefix: path, includeDeleted: true }).map(fileEntry);
    },

    async rescan({ share }) {
      await Promise.all(targets(share).map((f) => f.requestScan()));
      return { ok: true };
    },

    pause: ({ share }) => setPaused(engine, targets(share), true),
    resume: ({ share }) => setPaused(engine, targets(share), false),

    peers: ({ share }) => engine.network.peers(share ? engine.folder(share).id : undefined),
    addPeer({ share, address }) {
      const f = engine.folder(share);
      checkAddress(address);
      engine.store.addAddress(f.id, address);
      engine.network.dialAddress(address, 'manual');
      return { ok: true };
    },

    conflicts: ({ share }) => targets(share).flatMap((f) => f.conflicts()),
    async resolve({ share, path, keep }) {
      await engine.folder(share).resolveConflict(path, keep);
      return { ok: true };
    },
    preview: ({ share, path, maxBytes }) => engine.folder(share).preview(path, maxBytes ?? 256 * 1024),
    archive: ({ share }) => engine.folder(share).archiveEntries(),
    async restore({ share, archivedPath }) {
      await engine.folder(share).restoreArchived(archivedPath);
      return { ok: true };
    },

    confirmDeletes: ({ share }) => ({ deleted: engine.folder(share).confirmHeldDeletes() }),
    restoreDeletes: ({ share }) => ({ restoring: engine.folder(share).restoreHeldDeletes() }),
    changes: ({ share }) => engine.folder(share).localChanges(),
    revert: async ({ share, path }) => ({ reverted: await engine.folder(share).revert(path) }),

    recent: ({ share, limit }) => {
      const n = Math.min(limit ?? 50, 500);
      const out: RecentChange[] = [];
      for (const f of targets(share)) {
        const max = engine.store.maxSequence(f.id, engine.deviceId);
        // a peer's counter floor is not known here: its first versions after a rebuild or a
        // re-join show as modified
        const floor = engine.store.counterFloor(f.id);
        for (const r of engine.store.filesSince(f.id, engine.deviceId, Math.max(0, max - n * 2), n * 2)) {
          const first = isFirstVersion(r.version, r.modifiedBy, r.modifiedBy === engine.deviceId ? floor : 0);
          out.push({
            shareId: f.id,
            path: r.path,
            action: r.deleted ? 'deleted' : first ? 'added' : 'modified',
            deviceId: r.modifiedBy,
            deviceName: engine.network.deviceName(r.modifiedBy),
            at: r.mtimeMs,
          });
        }
      }
      return out.sort((a, b) => b.at - a.at).slice(0, n);
    },

    async getIgnore({ share }) {
      const f = engine.folder(share);
      try {
        return { text: await fsp.readFile(join(f.root, IGNORE_FILE), 'utf8') };
      } catch {
        return { text: '' };
      }
    },
    async setIgnore({ share, text }) {
      const f = engine.folder(share);
      await fsp.mkdir(dirname(join(f.root, IGNORE_FILE)), { recursive: true });
      await fsp.writeFile(join(f.root, IGNORE_FILE), text.endsWith('\n') || text === '' ? text : `${text}\n`);
      void f.requestScan();
      return { ok: true };
    },

    getSettings: () => engine.settings.get(),
    async setSettings(patch) {
      const before = engine.settings.get();
      const after = engine.settings.update(patch);
      await engine.network.settingsChanged(before, after);
      engine.statusChanged();
      return after;
    },

    listDir: ({ path }) => listDir(path, engine.home),

    stop() {
      setImmediate(() => engine.requestStop());
      return { ok: true };
    },
  };
}

function setPaused(engine: Engine, folders: ReturnType<Engine['allFolders']>, paused: boolean) {
  for (const f of folders) {
    f.row = engine.store.updateShare(f.id, { paused });
    engine.network.pauseChanged(f.id);
    f.pauseChanged();
  }
  engine.saveShares();
  engine.statusChanged();
  return { ok: true as const };
}

function checkAddress(address: string): void {
  if (!/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(address) || Number(address.split(':').pop()) > 65535) {
    throw new ApiError('bad-request', `"${address}" is not an address; give HOST:PORT, e.g. 192.168.1.20:21120`);
  }
}

/**
 * Lists a server folder for the web UI's folder picker: directories first, hidden ones left out.
 * Anything the daemon's user can read may be listed (the access token grants that), except
 * Peerfold's own home: it holds the token, the keys and the share secrets.
 */
export function listDir(path: string | undefined, home: string): DirListing {
  const abs = resolve(path || homedir());
  if (isInsideOrSame(canonicalFolder(abs), canonicalFolder(home))) {
    throw new ApiError('refused', `${abs} is inside Peerfold's own folder (keys, secrets, the access token); it cannot be browsed`);
  }
  let names: string[];
  try {
    if (!statSync(abs).isDirectory()) throw new ApiError('bad-request', `${abs} is not a folder`);
    names = readdirSync(abs);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError('not-found', `cannot open ${abs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const entries = names
    .filter((n) => !n.startsWith('.'))
    .map((name) => {
      const p = join(abs, name);
      let isDir = false;
      try {
        isDir = statSync(p).isDirectory();
      } catch {
        // unreadable entries show as files: they cannot be opened as folders anyway
      }
      return { name, path: p, isDir };
    })
    .sort((a, b) => (a.isDir === b.isDir ? a.name.localeCompare(b.name) : a.isDir ? -1 : 1));
  const parent = dirname(abs) === abs ? null : dirname(abs);
  return { path: abs, parent, entries };
}
