// Test support: one share on this device (a real Folder, IndexStore and HashPool over a temp
// folder) and a pretend peer whose index entries are written as a session would write them and
// whose chunks come from memory. No network: the share loop and the puller run for real.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShareState, VersionVector } from '../../../shared/api.ts';
import type { FileRecord, ShareRow } from '../index/rows.ts';
import { IndexStore } from '../index/store.ts';
import type { ChunkSpec } from '../pull/file-puller.ts';
import { chunkSizes } from '../scan/cdc.ts';
import { HashPool } from '../scan/hasher.ts';
import { Folder, writeMarker, type FolderContext } from './folder.ts';
import type { ChunkSwarm } from '../pull/chunk-source.ts';
import type { PeerIndexWrite } from '../peer/index-exchange.ts';

export const PEER = 'PEERDEVICEPEERDEVICEPEERDEVICEPEERDEVICEPEERDEVICEPEE';
export const OTHER = 'OTHERDEVICEOTHERDEVICEOTHERDEVICEOTHERDEVICEOTHERDEVI';
export const SELF = 'SELFDEVICESELFDEVICESELFDEVICESELFDEVICESELFDEVICESEL';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** Serves chunks of contents it was given; counts what it served. */
export class FakeChunkSource implements ChunkSwarm {
  private readonly chunks = new Map<string, Uint8Array>();
  fetched = 0;
  /** when set, every fetch fails with this */
  failWith: Error | null = null;
  /** each fetch takes this long (a slow peer) */
  delayMs = 0;
  /** what windowBytes() reports: the links' windows the puller sizes its demand by */
  window = 2 * 1024 * 1024;
  /** fetches under way now, and the most there were at once */
  inFlight = 0;
  peakInFlight = 0;

  add(content: Uint8Array): { hash: Uint8Array; size: number }[] {
    const out: { hash: Uint8Array; size: number }[] = [];
    let at = 0;
    for (const size of content.length ? chunkSizes(content) : []) {
      const piece = content.subarray(at, at + size);
      const hash = sha(piece);
      this.chunks.set(Buffer.from(hash).toString('hex'), piece);
      out.push({ hash, size });
      at += size;
    }
    return out;
  }

  async fetch(_share: string, _path: string, _v: VersionVector, spec: ChunkSpec, signal: AbortSignal): Promise<Uint8Array> {
    signal.throwIfAborted();
    this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    } finally {
      this.inFlight--;
    }
    if (this.failWith) throw this.failWith;
    const data = this.chunks.get(Buffer.from(spec.hash).toString('hex'));
    if (!data) throw new Error('waiting for a peer that has this file');
    this.fetched += data.length;
    return data;
  }

  holders(): number {
    return 1;
  }

  windowBytes(): number {
    return this.window;
  }
}

/** Polls `fn` until it returns something truthy (generous ceiling; never a timing assertion). */
export async function until<T>(what: string, fn: () => T | false | null | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A clock that moves only when told. */
export class TestClock {
  constructor(public t = 1_700_000_000_000) {}
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface ShareFixture {
  root: string;
  store: IndexStore;
  folder: Folder;
  source: FakeChunkSource;
  clock: TestClock;
  logs: string[];
  /** every state the share went through, in order */
  states: ShareState[];
  /** the paths of every scan job that ran, in order (null: the whole share) */
  scans: (readonly string[] | null)[];
  /** the peer's entry for a path: a new version of `content` (a string or bytes), or a deletion; sent at once unless held */
  peerWrites(
    path: string,
    content: string | Uint8Array | null,
    opts?: { version?: VersionVector; type?: 'file' | 'dir'; device?: string; held?: boolean },
  ): FileRecord;
  /** index entries of the local device */
  local(path: string): FileRecord | null;
  /** the peer's index arrives with these entries (none: the peer's index is empty) */
  peerIndex(records: FileRecord[]): Promise<void>;
  /** resolves when scans and pulls have nothing left to do now */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** put the share here (e.g. a small tmpfs) instead of a fresh temp folder */
  root?: string;
  before?: (root: string) => void;
  /** the share was joined: it waits for a peer's index */
  joined?: boolean;
  maxChunksPerFile?: number;
}

export async function openShareFixture(opts: FixtureOptions = {}): Promise<ShareFixture> {
  const base = mkdtempSync(join(tmpdir(), 'peerfold-share-'));
  const root = opts.root ?? join(base, 'share');
  mkdirSync(root, { recursive: true });
  const row: ShareRow = { id: 'share-1', name: 'test', path: root, access: 'read-write', secret: 'unused', paused: false, createdAt: 0 };
  writeMarker(root, row.id);
  opts.before?.(root);
  const { store } = await IndexStore.open(join(base, 'index'), SELF);
  store.addShare(row);
  if (opts.joined) store.setAwaitingPeerIndex(row.id, true);
  const pool = new HashPool({ size: 2 });
  const source = new FakeChunkSource();
  const clock = new TestClock();
  const logs: string[] = [];
  const states: ShareState[] = [];
  const scans: (readonly string[] | null)[] = [];
  const peerSeq = { n: 0 };
  const peerVersions = new Map<string, VersionVector>();
  const ctx: FolderContext = {
    store,
    self: { id: SELF, name: () => 'self' },
    pool,
    rescanIntervalMs: 3_600_000,
    changed: () => undefined,
    localIndexChanged: () => undefined,
    log: (m) => logs.push(m),
    swarm: () => source,
    networkActive: () => true,
    deviceName: (id) => id.slice(0, 4),
    archiveDays: () => 30,
    conflictCreated: () => undefined,
    firstSyncDone: () => undefined,
    connectedPeers: () => 1,
    stateChanged: (state) => states.push(state),
    now: clock.now,
    scanRan: (paths) => scans.push(paths),
    maxChunksPerFile: opts.maxChunksPerFile,
  };
  const folder = new Folder(row, ctx);
  await folder.start();
  const peerWrite = (device: string, records: FileRecord[]): PeerIndexWrite => ({
    device,
    records,
    apply: () => {
      store.putFiles(records);
      return false;
    },
  });

  const fixture: ShareFixture = {
    root,
    store,
    folder,
    source,
    clock,
    logs,
    peerWrites(path, content, o = {}) {
      const device = o.device ?? PEER;
      const prev = peerVersions.get(path);
      const version = o.version ?? { ...(prev ?? {}), [device]: (prev?.[device] ?? 0) + 1 };
      peerVersions.set(path, version);
      const bytes = typeof content === 'string' ? Buffer.from(content) : content;
      const chunks = bytes && o.type !== 'dir' ? source.add(bytes) : [];
      const rec: FileRecord = {
        shareId: row.id,
        deviceId: device,
        path,
        type: o.type ?? 'file',
        size: bytes && o.type !== 'dir' ? bytes.length : 0,
        mode: o.type === 'dir' ? 0o755 : 0o644,
        mtimeMs: 1_600_000_000_000 + peerSeq.n * 1000,
        inode: 0,
        symlinkTarget: null,
        version,
        sequence: ++peerSeq.n,
        deleted: content === null,
        chunks,
        hash: bytes && o.type !== 'dir' ? sha(Buffer.concat(chunks.map((c) => c.hash))).toString('hex') : '',
        modifiedBy: device,
      };
      // held: the caller sends it later, in a page of the peer's index (peerIndex)
      if (!o.held) void folder.enqueueRemoteIndex(peerWrite(device, [rec]));
      return rec;
    },
    local: (path) => store.getFile(row.id, SELF, path),
    peerIndex: async (records) => {
      // one write per device, as each link writes its own peer's entries
      const devices = [...new Set(records.map((r) => r.deviceId))];
      if (!devices.length) devices.push(PEER);
      await Promise.all(
        devices.map((d) =>
          folder.enqueueRemoteIndex(
            peerWrite(
              d,
              records.filter((r) => r.deviceId === d),
            ),
          ),
        ),
      );
    },
    states,
    scans,
    async settled() {
      // a pull turn may ask for a need pass a moment later
      for (let i = 0; i < 3; i++) {
        await folder.idle();
        await new Promise((r) => setTimeout(r, 100));
      }
      await folder.idle();
    },
    async close() {
      await folder.stop();
      await pool.close();
      await store.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
  return fixture;
}
