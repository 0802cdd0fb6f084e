// IndexStore: the typed repository the engine uses for everything it persists about shares, files
// (its own index and every peer's), chunks, peers, addresses and conflicts.
// Every method is synchronous; group several into one atomic, durable step with transaction().
import { randomInt } from 'node:crypto';
import type { SqlValue } from 'sql.js';
import { DurableDb, type DurableDbOptions } from './durable-db.ts';
import {
  CHUNK_ENTRY_BYTES,
  CorruptRowError,
  chunkSpan,
  decodeChunks,
  decodeVersion,
  encodeChunks,
  encodeVersion,
  joinSignature,
  readHash,
  splitSignature,
  storedHash,
} from './blobs.ts';
import { FILE_CONTENT, INDEX_MIGRATIONS, REFERENCE_EQUAL } from './schema.ts';
import type {
  ChunkLocation,
  ConflictInfo,
  FileCounts,
  FileRecord,
  FileStat,
  FileType,
  PathEntries,
  PeerPatch,
  PeerRow,
  PeerVia,
  ShareRow,
  SharePatch,
  VersionVector,
} from './rows.ts';

/** path ids per query of entriesForPathIds (SQLite's default limit is 999 parameters) */
const PATH_ID_BATCH = 500;

const TYPE_CODE: Record<FileType, number> = { file: 0, dir: 1, symlink: 2 };
const TYPE_NAME: readonly FileType[] = ['file', 'dir', 'symlink'];

/**
 * An entry's content column as the entry says it: a reference row's (schema.ts, version 5: content
 * NULL, same_as set) is its referent's. Every query that reads content goes through this, with
 * FILES_EXPANDED (or REFERENT) in its FROM clause; a full row never joins a referent (same_as NULL
 * matches nothing), so coalesce keeps its own NULLs too.
 */
export const content = (col: (typeof FILE_CONTENT)[number]) => `coalesce(f.${col}, r.${col})`;
/** Joins `files f` to the row a reference row refers to (`r`). */
export const REFERENT = 'LEFT JOIN files r ON r.path_id = f.path_id AND r.device_no = f.same_as';
/** `files f` with its content expanded (see content()). */
export const FILES_EXPANDED = `files f ${REFERENT}`;

// Columns of a file record, in the order decodeFile() reads them.
const FILE_COLS = `p.path, f.device_no, ${content('type')}, ${content('size')}, ${content('mode')}, ${content('mtime_ms')}, f.inode,
  ${content('symlink_target')}, ${content('version')}, f.sequence, ${content('deleted')}, ${content('chunks')}, ${content('hash')},
  ${content('modified_by')}, ${content('signature')}, ${content('signer')}`;

const STAT_COLS = `p.path, ${content('type')}, ${content('size')}, ${content('mode')}, ${content('mtime_ms')}, f.inode, ${content('deleted')}`;

/** The content columns, for writing a full row or comparing one with the local row. */
const CONTENT_LIST = FILE_CONTENT.join(', ');

/** A row that starts with STAT_COLS. */
function decodeStat(r: SqlValue[]): FileStat {
  return {
    path: r[0] as string,
    type: TYPE_NAME[r[1] as number]!,
    size: r[2] as number,
    mode: r[3] as number,
    mtimeMs: r[4] as number,
    inode: r[5] as number,
    deleted: r[6] === 1,
  };
}

const PEER_COLS = 's.id, d.id, pr.name, pr.address, pr.via, pr.last_seen, pr.remote_seq_seen, pr.local_seq_acked';

const SQL = {
  shareNo: 'SELECT no FROM shares WHERE id = ?',
  deviceNo: 'SELECT no FROM devices WHERE id = ?',
  deviceId: 'SELECT id FROM devices WHERE no = ?',
  insertDevice: 'INSERT INTO devices (id) VALUES (?)',
  lastRowid: 'SELECT last_insert_rowid()',
  pathId: 'SELECT id FROM paths WHERE share_no = ? AND path = ?',
  insertPath: 'INSERT INTO paths (share_no, path) VALUES (?, ?)',
  upsertFile: `INSERT INTO files (path_id, device_no, share_no, type, size, mode, mtime_ms, inode, symlink_target,
      version, sequence, deleted, chunks, hash, modified_by, signature, signer, same_as)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, NULL)
    ON CONFLICT (path_id, device_no) DO UPDATE SET type = ?4, size = ?5, mode = ?6, mtime_ms = ?7, inode = ?8,
      symlink_target = ?9, version = ?10, sequence = ?11, deleted = ?12, chunks = ?13, hash = ?14, modified_by = ?15,
      signature = ?16, signer = ?17, same_as = NULL`,
  oldLocal: 'SELECT chunks, deleted, type, size FROM files WHERE path_id = ? AND device_no = ?',
  /** every row of a path, for a local write: [device_no, same_as, ...FILE_CONTENT] */
  pathRows: `SELECT device_no, same_as, ${CONTENT_LIST} FROM files WHERE path_id = ?`,
  /** the local row's content, for a peer's write: [...FILE_CONTENT] */
  localContent: `SELECT ${CONTENT_LIST} FROM files WHERE path_id = ? AND device_no = ?`,
  /** rows referring to the local row (?2) of a path (?1) get its content before it changes */
  materialize: `UPDATE files SET (${CONTENT_LIST}, same_as) =
      (SELECT ${FILE_CONTENT.map((c) => `coalesce(files.${c}, l.${c})`).join(', ')}, NULL FROM files l WHERE l.path_id = ?1 AND l.device_no = ?2)
    WHERE path_id = ?1 AND same_as = ?2`,

  chunkHits: 'SELECT path_id, idx FROM chunk_index WHERE h = ?',
  liveChunks: 'SELECT chunks FROM files WHERE path_id = ? AND device_no = ? AND deleted = 0',
  pathById: 'SELECT path, share_no FROM paths WHERE id = ?',
  shareId: 'SELECT id FROM shares WHERE no = ?',
  deleteChunk: 'DELETE FROM chunk_index WHERE h = ? AND path_id = ? AND idx = ?',
  localChunkLists: 'SELECT path_id, chunks FROM files WHERE device_no = ? AND deleted = 0 AND type = 0',
  writerKeyNo: 'SELECT no FROM writer_keys WHERE key = ?',
  writerKey: 'SELECT key FROM writer_keys WHERE no = ?',
  insertWriterKey: 'INSERT INTO writer_keys (key) VALUES (?)',
} as const;

const INSERT_BATCHES = [32, 16, 8, 4, 2, 1] as const;
const insertSqlCache = new Map<number, string>();
function insertChunksSql(rows: number): string {
  let sql = insertSqlCache.get(rows);
  if (!sql) {
    sql = 'INSERT OR IGNORE INTO chunk_index (h, path_id, idx) VALUES ' + new Array(rows).fill('(?, ?, ?)').join(', ');
    insertSqlCache.set(rows, sql);
  }
  return sql;
}

/** The chunk_index key: the first 6 bytes of a sha256 as an exact (48-bit) number. */
function hashPrefix(bytes: Uint8Array, at: number): number {
  return (
    bytes[at]! * 2 ** 40 +
    bytes[at + 1]! * 2 ** 32 +
    ((bytes[at + 2]! << 24) >>> 0) +
    (bytes[at + 3]! << 16) +
    (bytes[at + 4]! << 8) +
    bytes[at + 5]!
  );
}

/** A list of chunk_index rows (parallel arrays) that can be walked in key order cheaply. */
class ChunkOps {
  readonly h: number[] = [];
  readonly pathId: number[] = [];
  readonly idx: number[] = [];

  addAll(pathId: number, chunks: Uint8Array): void {
    const n = chunks.length / CHUNK_ENTRY_BYTES;
    for (let i = 0; i < n; i++) {
      this.h.push(hashPrefix(chunks, i * CHUNK_ENTRY_BYTES));
      this.pathId.push(pathId);
      this.idx.push(i);
    }
  }

  /** Positions ordered by the top 32 bits of h (locality is all that matters), via a native numeric sort. */
  sorted(): number[] {
    const n = this.h.length;
    if (n > 2 ** 21) return [...this.h.keys()].sort((a, b) => this.h[a]! - this.h[b]!);
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = Math.floor(this.h[i]! / 2 ** 16) * 2 ** 21 + i; // < 2^53: exact
    keys.sort();
    const out: number[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = keys[i]! % 2 ** 21;
    return out;
  }
}

export interface OpenIndexResult {
  store: IndexStore;
  /** the raw database, for this folder's own tests and benches only: everything else goes through the store */
  db: DurableDb;
  /** non-null when a corrupt database was replaced by an empty one: show it, then rescan every share */
  recovered: string | null;
}

export class IndexStore {
  private readonly devNoById = new Map<string, number>();
  private readonly devIdByNo = new Map<number, string>();
  private readonly shareNoById = new Map<string, number>();
  /** writer_keys, both ways (a handful: one per share's read-write secret) */
  private readonly writerKeyNoByHex = new Map<string, number>();
  private readonly writerKeyByNo = new Map<number, Uint8Array>();
  private lastWriterKey: { key: Uint8Array; no: number } | null = null;
  /**
   * The local device's counts per share number, kept up to date by every write once a first
   * counts() has read them: status asks for them every second or so, and the full query reads every
   * row of the share (at 100,000 files a scan spent more time counting than scanning).
   */
  private readonly localCounts = new Map<number, FileCounts>();
  /**
   * Per share number, the paths whose rows were written since the last takeChangedPaths() (the
   * puller's need pass reads only those), or 'all' when that cannot be said. A share that was never
   * asked is not tracked: its first take is 'all'. Every write to `files` must note its path
   * (putFile, removeLocalFiles) or drop the share to 'all' (forgetDevice, removeShare): a missed
   * note is a need pass that misses a change (pull/need-book.test.ts).
   */
  private readonly changedPaths = new Map<number, Set<number> | 'all'>();
  /** counts writes of records (any share, any device): see writeStamp() */
  private writes = 0;

  /** Opens the index database in `dir` (the home folder's index directory) with this module's schema. */
  static async open(dir: string, localDeviceId: string, options: Omit<DurableDbOptions, 'migrations'> = {}): Promise<OpenIndexResult> {
    const { db, recovered } = await DurableDb.open(dir, { ...options, migrations: INDEX_MIGRATIONS });
    return { store: new IndexStore(db, localDeviceId), db, recovered };
  }

  constructor(
    private readonly db: DurableDb,
    readonly localDeviceId: string,
  ) {
    // ids learned inside a transaction that was rolled back may not exist: forget them all
    db.onRollback(() => {
      this.devNoById.clear();
      this.devIdByNo.clear();
      this.shareNoById.clear();
      this.writerKeyNoByHex.clear();
      this.writerKeyByNo.clear();
      this.lastWriterKey = null;
      this.localCounts.clear();
      for (const no of this.changedPaths.keys()) this.changedPaths.set(no, 'all');
      this.writes++;
    });
    const stored = db.get<{ value: SqlValue }>("SELECT value FROM meta WHERE key = 'local_device'");
    if (stored?.value !== localDeviceId) {
      // first run, or this home got a new identity: the chunk index must describe the new local device
      db.transaction(() => {
        db.run("INSERT INTO meta (key, value) VALUES ('local_device', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [
          localDeviceId,
        ]);
        db.run('DELETE FROM chunk_index');
        // references point at the old identity's rows, which are a peer's from now on: resolve them
        db.run(`UPDATE files SET (${CONTENT_LIST}, same_as) = (SELECT ${FILE_CONTENT.map((c) => `coalesce(files.${c}, l.${c})`).join(', ')}, NULL
          FROM files l WHERE l.path_id = files.path_id AND l.device_no = files.same_as) WHERE same_as IS NOT NULL`);
        const no = this.lookupDeviceNo(localDeviceId);
        if (no !== undefined) {
          for (const [pathId, chunks] of db.rows(SQL.localChunkLists, [no])) {
            this.touchedPaths.set(pathId as number, { before: null, after: chunks as Uint8Array });
          }
          this.flushChunkIndex();
        }
      });
    }
  }

  /** Runs fn as one atomic, durable transaction (nested calls join it). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn);
  }

  /** Writes the last snapshot and closes the database; the store is unusable afterwards. */
  close(): Promise<void> {
    return this.db.close();
  }

  // ---- index ids ----------------------------------------------------------------------------------

  // This device's index ID per share: random, and new whenever the database is new, so that peers
  // notice a rebuilt index (its sequences restart) and send everything again.
  localIndexId(shareId: string): number {
    const key = `index-id:${shareId}`;
    const existing = this.getMeta(key);
    if (existing) return Number(existing);
    const id = randomInt(1, 2 ** 47);
    this.setMeta(key, String(id));
    return id;
  }

  /** The index ID a peer last announced for a share (0: none yet). */
  peerIndexId(shareId: string, deviceId: string): number {
    return Number(this.getMeta(`peer-index:${shareId}:${deviceId}`) ?? 0);
  }

  setPeerIndexId(shareId: string, deviceId: string, indexId: number): void {
    this.setMeta(`peer-index:${shareId}:${deviceId}`, String(indexId));
  }

  /** This device's counter floor in a share (sync/vv.ts counterFloorForNewIndex); 0 when none was set. */
  counterFloor(shareId: string): number {
    return Number(this.getMeta(`counter-floor:${shareId}`) ?? 0);
  }

  setCounterFloor(shareId: string, floor: number): void {
    if (!Number.isSafeInteger(floor) || floor < 0) throw new TypeError(`counter floor must be a non-negative integer, got ${floor}`);
    this.setMeta(`counter-floor:${shareId}`, String(floor));
  }

  private getMeta(key: string): string | null {
    const row = this.db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
    return row ? String(row.value) : null;
  }

  private setMeta(key: string, value: string): void {
    this.db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  // ---- shares -------------------------------------------------------------------------------------

  addShare(share: ShareRow): void {
    if (this.lookupShareNo(share.id) !== undefined) throw new Error(`a share with id ${share.id} already exists`);
    this.db.run('INSERT INTO shares (id, name, path, access, secret, paused, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      share.id,
      share.name,
      share.path,
      share.access,
      share.secret,
      share.paused ? 1 : 0,
      share.createdAt,
    ]);
  }

  getShare(id: string): ShareRow | null {
    const r = this.db.rows('SELECT id, name, path, access, secret, paused, created_at FROM shares WHERE id = ?', [id])[0];
    return r ? decodeShare(r) : null;
  }

  listShares(): ShareRow[] {
    return this.db.rows('SELECT id, name, path, access, secret, paused, created_at FROM shares ORDER BY no').map(decodeShare);
  }

  updateShare(id: string, patch: SharePatch): ShareRow {
    const cur = this.getShare(id);
    if (!cur) throw new Error(`no share with id ${id}`);
    const next: ShareRow = { ...cur, ...stripUndefined(patch), id: cur.id, createdAt: cur.createdAt };
    this.db.run('UPDATE shares SET name = ?, path = ?, access = ?, secret = ?, paused = ? WHERE id = ?', [
      next.name,
      next.path,
      next.access,
      next.secret,
      next.paused ? 1 : 0,
      id,
    ]);
    return next;
  }

  /** Removes the share and everything recorded for it (files of all devices, peers, addresses, conflicts). */
  removeShare(id: string): boolean {
    const no = this.lookupShareNo(id);
    if (no === undefined) return false;
    this.db.transaction(() => {
      this.db.run('DELETE FROM chunk_index WHERE path_id IN (SELECT id FROM paths WHERE share_no = ?)', [no]);
      this.db.run('DELETE FROM files WHERE share_no = ?', [no]);
      this.db.run('DELETE FROM paths WHERE share_no = ?', [no]);
      this.db.run('DELETE FROM peers WHERE share_no = ?', [no]);
      this.db.run('DELETE FROM addresses WHERE share_no = ?', [no]);
      this.db.run('DELETE FROM conflicts WHERE share_no = ?', [no]);
      this.db.run('DELETE FROM shares WHERE no = ?', [no]);
      // a share joined again is a new index: a new index ID, so peers send everything again
      // (its sequences restart), and no stale peer index IDs
      this.db.run('DELETE FROM meta WHERE key = ? OR key = ? OR substr(key, 1, ?) = ?', [
        `index-id:${id}`,
        `counter-floor:${id}`,
        `peer-index:${id}:`.length,
        `peer-index:${id}:`,
      ]);
    });
    this.shareNoById.delete(id);
    this.localCounts.delete(no);
    this.changedPaths.delete(no);
    this.writes++;
    return true;
  }

  // ---- files --------------------------------------------------------------------------------------

  /** Inserts or replaces a batch of records, atomically (one transaction, one fsync). */
  putFiles(records: readonly FileRecord[]): void {
    if (!records.length) return;
    this.db.transaction(() => {
      try {
        for (const r of records) this.putFile(r);
        this.flushChunkIndex();
      } finally {
        this.touchedPaths.clear();
      }
    });
  }

  private putFile(r: FileRecord): void {
    checkPath(r.path);
    const typeCode = TYPE_CODE[r.type];
    if (typeCode === undefined) throw new TypeError(`${r.path}: unknown file type ${String(r.type)}`);
    if (!Number.isSafeInteger(r.sequence) || r.sequence < 0) throw new TypeError(`${r.path}: bad sequence ${r.sequence}`);
    const shareNo = this.shareNo(r.shareId);
    const devNo = this.deviceNo(r.deviceId);
    const pathId = this.pathId(shareNo, r.path);
    this.noteChanged(shareNo, pathId);
    const local = r.deviceId === this.localDeviceId;
    const chunks = encodeChunks(r.chunks);
    const version = encodeVersion(r.version, (id) => this.deviceNo(id));
    const signature = splitSignature(r.signature);
    // in FILE_CONTENT's order
    const entry: SqlValue[] = [
      typeCode,
      r.size,
      r.mode,
      r.mtimeMs,
      r.symlinkTarget,
      version,
      r.deleted ? 1 : 0,
      chunks,
      storedHash(r.hash, chunks),
      this.deviceNo(r.modifiedBy),
      signature.rest,
      signature.key ? this.writerKeyNo(signature.key) : null,
    ];
    if (local) this.putLocalFile(shareNo, devNo, pathId, r, entry);
    else {
      const localNo = this.deviceNo(this.localDeviceId);
      const mine = this.db.rows(SQL.localContent, [pathId, localNo])[0];
      const own = mine ? referenceOwn(mine, 0, entry) : null;
      if (own === null) this.upsertFull(pathId, devNo, shareNo, r, entry);
      else {
        const params: SqlValue[] = [pathId, devNo, shareNo, r.inode, r.sequence, localNo];
        for (let i = 0; i < entry.length; i++) if (own & (1 << i)) params.push(entry[i]!);
        this.db.run(upsertReferenceSql(own), params);
      }
    }
  }

  /**
   * The local entry of a path: rows referring to it get its old content first unless it stays the
   * same, and peers' full rows equal to the new content become references to it.
   */
  private putLocalFile(shareNo: number, devNo: number, pathId: number, r: FileRecord, entry: SqlValue[]): void {
    const rows = this.db.rows(SQL.pathRows, [pathId]);
    const C = 2; // where FILE_CONTENT starts in a pathRows row
    const mine = rows.find((row) => row[0] === devNo);
    const old = mine && [mine[C + 7]!, mine[C + 6]!, mine[C]!, mine[C + 1]!]; // as SQL.oldLocal: chunks, deleted, type, size
    this.noteLocalChunks(pathId, old, !r.deleted && r.type === 'file' ? (entry[7] as Uint8Array) : null);
    this.countLocal(shareNo, old, -1);
    this.countLocal(shareNo, [null, entry[6]!, entry[0]!, r.size], 1);
    const unchanged = mine !== undefined && sameContent(mine, C, entry);
    if (!unchanged && rows.some((row) => row[1] === devNo)) this.db.run(SQL.materialize, [pathId, devNo]);
    this.upsertFull(pathId, devNo, shareNo, r, entry);
    for (const row of rows) {
      if (row[0] === devNo || row[1] !== null) continue;
      const own = referenceOwn(row, C, entry);
      if (own !== null) this.db.run(toReferenceSql(own), [pathId, row[0]!, devNo]);
    }
  }

  private upsertFull(pathId: number, devNo: number, shareNo: number, r: FileRecord, e: SqlValue[]): void {
    this.db.run(SQL.upsertFile, [
      pathId,
      devNo,
      shareNo,
      e[0]!,
      e[1]!,
      e[2]!,
      e[3]!,
      r.inode,
      e[4]!,
      e[5]!,
      r.sequence,
      e[6]!,
      e[7]!,
      e[8]!,
      e[9]!,
      e[10]!,
      e[11]!,
    ]);
  }

  /**
   * chunk_index changes are collected per batch: for each local path touched, its indexed chunk list
   * before the batch and after it. At the end the difference is applied sorted by key, which keeps
   * SQLite's B-tree work local instead of jumping to a random page for every chunk.
   */
  private readonly touchedPaths = new Map<number, { before: Uint8Array | null; after: Uint8Array | null }>();

  /** `old`: the local row as it is before this write (SQL.oldLocal), if any. */
  private noteLocalChunks(pathId: number, old: SqlValue[] | undefined, after: Uint8Array | null): void {
    let t = this.touchedPaths.get(pathId);
    if (!t) {
      const before = old && old[1] === 0 && old[2] === TYPE_CODE.file && (old[0] as Uint8Array).length ? (old[0] as Uint8Array) : null;
      t = { before, after: null };
      this.touchedPaths.set(pathId, t);
    }
    t.after = after && after.length ? after : null;
  }

  /** Applies the collected chunk_index changes; call inside the transaction that collected them. */
  private flushChunkIndex(): void {
    const del = new ChunkOps();
    const add = new ChunkOps();
    for (const [pathId, { before, after }] of this.touchedPaths) {
      if (before && after && Buffer.compare(before, after) === 0) continue;
      if (before) del.addAll(pathId, before);
      if (after) add.addAll(pathId, after);
    }
    this.touchedPaths.clear();
    // deletes first: a row both deleted (old list) and added (new list) must end up present
    for (const i of del.sorted()) this.db.run(SQL.deleteChunk, [del.h[i]!, del.pathId[i]!, del.idx[i]!]);
    const order = add.sorted();
    let at = 0;
    for (const batch of INSERT_BATCHES) {
      for (; order.length - at >= batch; at += batch) {
        const params: number[] = new Array(batch * 3);
        for (let k = 0; k < batch; k++) {
          const i = order[at + k]!;
          params[k * 3] = add.h[i]!;
          params[k * 3 + 1] = add.pathId[i]!;
          params[k * 3 + 2] = add.idx[i]!;
        }
        this.db.run(insertChunksSql(batch), params);
      }
    }
  }

  /**
   * Forgets this device's own entries for some paths (no tombstone: as if it had never seen them),
   * so the versions its peers hold are what it syncs to. One transaction.
   */
  removeLocalFiles(shareId: string, paths: readonly string[]): void {
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(this.localDeviceId);
    if (shareNo === undefined || devNo === undefined || !paths.length) return;
    this.db.transaction(() => {
      try {
        for (const path of paths) {
          const pathId = this.db.rows('SELECT id FROM paths WHERE share_no = ? AND path = ?', [shareNo, path])[0]?.[0] as
            number | undefined;
          if (pathId === undefined) continue;
          this.noteChanged(shareNo, pathId);
          const old = this.db.rows(SQL.oldLocal, [pathId, devNo])[0];
          this.noteLocalChunks(pathId, old, null);
          this.countLocal(shareNo, old, -1);
          this.db.run(SQL.materialize, [pathId, devNo]); // peers' entries that were this one keep what they say
          this.db.run('DELETE FROM files WHERE path_id = ? AND device_no = ?', [pathId, devNo]);
        }
        this.flushChunkIndex();
      } finally {
        this.touchedPaths.clear();
      }
    });
  }

  getFile(shareId: string, deviceId: string, path: string): FileRecord | null {
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(deviceId);
    if (shareNo === undefined || devNo === undefined) return null;
    const r = this.db.rows(
      `SELECT ${FILE_COLS} FROM paths p JOIN files f ON f.path_id = p.id ${REFERENT}
       WHERE p.share_no = ? AND p.path = ? AND f.device_no = ?`,
      [shareNo, path, devNo],
    )[0];
    return r ? this.decodeFile(shareId, r) : null;
  }

  /**
   * One device's records in a share, ordered by path (byte order of UTF-8). `prefix` limits them to
   * that path and everything below it; `pathContains` to paths holding that text.
   */
  listFiles(
    shareId: string,
    deviceId: string,
    opts: { prefix?: string; includeDeleted?: boolean; pathContains?: string } = {},
  ): FileRecord[] {
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(deviceId);
    if (shareNo === undefined || devNo === undefined) return [];
    const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    const params: (string | number)[] = [devNo, shareNo];
    let where = '';
    if (prefix) {
      // '0' is the character right after '/', so [prefix/, prefix0) is exactly "below prefix".
      // The outer range [prefix, prefix0) is what lets SQLite search the (share_no, path) index
      // instead of walking the whole share (an OR alone defeats it).
      where += ' AND p.path >= ? AND p.path < ? AND (p.path = ? OR p.path >= ?)';
      params.push(prefix, prefix + '0', prefix, prefix + '/');
    }
    if (!opts.includeDeleted) where += ` AND ${content('deleted')} = 0`;
    if (opts.pathContains) {
      // filtered before a row is decoded: a few rows out of a big share cost no more than a scan of its paths
      where += ' AND instr(p.path, ?) > 0';
      params.push(opts.pathContains);
    }
    return this.db
      .rows(
        `SELECT ${FILE_COLS} FROM paths p JOIN files f ON f.path_id = p.id AND f.device_no = ? ${REFERENT}
         WHERE p.share_no = ?${where} ORDER BY p.path`,
        params,
      )
      .map((r) => this.decodeFile(shareId, r));
  }

  /**
   * Just the version and deleted flag of one record: for per-chunk questions ("does this peer hold
   * this version?") that must not decode a big file's whole chunk list each time.
   */
  fileVersion(shareId: string, deviceId: string, path: string): { version: VersionVector; deleted: boolean } | null {
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(deviceId);
    if (shareNo === undefined || devNo === undefined) return null;
    const r = this.db.rows(
      `SELECT ${content('version')}, ${content('deleted')} FROM paths p JOIN files f ON f.path_id = p.id ${REFERENT}
       WHERE p.share_no = ? AND p.path = ? AND f.device_no = ?`,
      [shareNo, path, devNo],
    )[0];
    return r ? { version: decodeVersion(r[0] as Uint8Array, (no) => this.deviceIdOf(no)), deleted: r[1] === 1 } : null;
  }

  /** One record's stat fields and sequence (no chunk list or version to decode): cheap per request. */
  fileStat(shareId: string, deviceId: string, path: string): (FileStat & { sequence: number }) | null {
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(deviceId);
    if (shareNo === undefined || devNo === undefined) return null;
    const r = this.db.rows(
      `SELECT ${STAT_COLS}, f.sequence FROM paths p JOIN files f ON f.path_id = p.id ${REFERENT}
       WHERE p.share_no = ? AND p.path = ? AND f.device_no = ?`,
      [shareNo, path, devNo],
    )[0];
    return r ? { ...decodeStat(r), sequence: r[7] as number } : null;
  }

  /**
   * A device's records directly inside folder `dir` ('' = the share root), tombstones included,
   * with their stat fields only (no chunk list or version to decode): what a scan compares a
   * folder's listing with, one query per folder instead of one per file.
   */
  childStats(shareId: string, deviceId: string, dir: string): FileStat[] {
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(deviceId);
    if (shareNo === undefined || devNo === undefined) return [];
    const params: (string | number)[] = [devNo, shareNo];
    let where: string;
    if (dir) {
      // '0' is the character right after '/': [dir/, dir0) is the subtree, searched by the index;
      // length() counts characters as substr() does (a JS length counts UTF-16 units)
      where = "p.path >= ? AND p.path < ? AND instr(substr(p.path, length(?) + 2), '/') = 0";
      params.push(dir + '/', dir + '0', dir);
    } else where = "instr(p.path, '/') = 0";
    return this.db
      .rows(
        `SELECT ${STAT_COLS} FROM paths p JOIN files f ON f.path_id = p.id AND f.device_no = ? ${REFERENT}
         WHERE p.share_no = ? AND ${where}`,
        params,
      )
      .map(decodeStat);
  }

  /**
   * The stat fields of one device's live records (no tombstones) at `prefix` and below, in path
   * order, read a page at a time: what a full scan compares with what it saw, to find the
   * deletions. Listing whole records there held every chunk list of the share at once, the
   * largest part of a scan's peak (bench/README.md, "Memory, fourth round"). Each page is a fresh
   * query that resumes after the last path, so writes between pages are fine.
   */
  *liveStatsUnder(shareId: string, deviceId: string, prefix: string, pageSize = 1000): Generator<FileStat> {
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(deviceId);
    if (shareNo === undefined || devNo === undefined) return;
    const root = prefix.replace(/^\/+|\/+$/g, '');
    // as in listFiles: [root, root0) lets SQLite search the (share_no, path) index
    const range = root ? ' AND p.path < ? AND (p.path = ? OR p.path >= ?)' : '';
    const rangeParams = root ? [root + '0', root, root + '/'] : [];
    let after: string | null = null;
    for (;;) {
      const rows: SqlValue[][] = this.db.rows(
        `SELECT ${STAT_COLS} FROM paths p JOIN files f ON f.path_id = p.id AND f.device_no = ? ${REFERENT}
         WHERE p.share_no = ? AND ${content('deleted')} = 0 AND p.path ${after === null ? '>=' : '>'} ?${range} ORDER BY p.path LIMIT ?`,
        [devNo, shareNo, after ?? root, ...rangeParams, pageSize],
      );
      for (const r of rows) yield decodeStat(r);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]![0] as string;
    }
  }

  /** A device's records with sequence > afterSeq, in sequence order, at most `limit` of them. */
  filesSince(shareId: string, deviceId: string, afterSeq: number, limit: number): FileRecord[] {
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(deviceId);
    if (shareNo === undefined || devNo === undefined) return [];
    return this.db
      .rows(
        `SELECT ${FILE_COLS} FROM ${FILES_EXPANDED} JOIN paths p ON p.id = f.path_id
         WHERE f.share_no = ? AND f.device_no = ? AND f.sequence > ? ORDER BY f.sequence, f.path_id LIMIT ?`,
        [shareNo, devNo, afterSeq, limit],
      )
      .map((r) => this.decodeFile(shareId, r));
  }

  /** Highest sequence among a device's records in a share; 0 when it has none. */
  maxSequence(shareId: string, deviceId: string): number {
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(deviceId);
    if (shareNo === undefined || devNo === undefined) return 0;
    const v = this.db.rows('SELECT max(sequence) FROM files WHERE share_no = ? AND device_no = ?', [shareNo, devNo])[0]?.[0];
    return typeof v === 'number' ? v : 0;
  }

  /** Every device's record for one path. */
  entriesForPath(shareId: string, path: string): FileRecord[] {
    const shareNo = this.lookupShareNo(shareId);
    if (shareNo === undefined) return [];
    return this.db
      .rows(
        `SELECT ${FILE_COLS} FROM paths p JOIN files f ON f.path_id = p.id ${REFERENT} WHERE p.share_no = ? AND p.path = ? ORDER BY f.device_no`,
        [shareNo, path],
      )
      .map((r) => this.decodeFile(shareId, r));
  }

  /**
   * Every device's records for each of some paths (entriesForPath for many), one query per
   * PATH_ID_BATCH paths: by path, paths with no records left out.
   */
  entriesForPaths(shareId: string, paths: readonly string[]): Map<string, FileRecord[]> {
    const out = new Map<string, FileRecord[]>();
    const shareNo = this.lookupShareNo(shareId);
    if (shareNo === undefined) return out;
    for (let at = 0; at < paths.length; at += PATH_ID_BATCH) {
      const batch = paths.slice(at, at + PATH_ID_BATCH);
      const rows = this.db.rows(
        `SELECT ${FILE_COLS} FROM paths p JOIN files f ON f.path_id = p.id ${REFERENT}
         WHERE p.share_no = ? AND p.path IN (${batch.map(() => '?').join(',')}) ORDER BY p.path, f.device_no`,
        [shareNo, ...batch],
      );
      for (const r of rows) {
        const path = r[0] as string;
        let group = out.get(path);
        if (!group) out.set(path, (group = []));
        group.push(this.decodeFile(shareId, r));
      }
    }
    return out;
  }

  /**
   * Every path of a share with all devices' records for it, in path order, read a page at a time
   * (so memory stays flat and writes or snapshots between pages are fine: each page is a fresh query
   * that resumes after the last path seen).
   */
  *iterateByPath(shareId: string, pageSize = 1000): Generator<PathEntries> {
    const shareNo = this.lookupShareNo(shareId);
    if (shareNo === undefined) return;
    let after = '';
    for (;;) {
      const rows = this.db.rows(
        `SELECT ${FILE_COLS} FROM (SELECT id, path FROM paths WHERE share_no = ? AND path > ? ORDER BY path LIMIT ?) p
         LEFT JOIN files f ON f.path_id = p.id ${REFERENT} ORDER BY p.path, f.device_no`,
        [shareNo, after, pageSize],
      );
      if (!rows.length) return;
      let group: PathEntries | null = null;
      for (const r of rows) {
        const path = r[0] as string;
        if (!group || group.path !== path) {
          if (group?.entries.length) yield group;
          group = { path, entries: [] };
        }
        if (r[1] !== null) group.entries.push(this.decodeFile(shareId, r));
      }
      if (group?.entries.length) yield group;
      after = rows[rows.length - 1]![0] as string;
    }
  }

  // ---- what changed since the last need pass ----------------------------------------------------

  /**
   * A number that changes whenever any record is written or removed (the places that tell the need
   * pass which paths changed): records read while it stays the same are still as read.
   */
  writeStamp(): number {
    return this.writes;
  }

  /**
   * A written path, for the share's next takeChangedPaths() (when someone is asking). No cap: the
   * set holds at most one id per path of the share, and a need pass reads each changed path once
   * (a cap that turned many changes into a pass over every path made a new device's passes cost
   * the share whenever an index arrived faster than the passes ran: pull/need.ts).
   */
  private noteChanged(shareNo: number, pathId: number): void {
    this.writes++;
    if (this.unnoted) return;
    const c = this.changedPaths.get(shareNo);
    if (c === undefined || c === 'all') return;
    c.add(pathId);
  }

  /** set while writes run that the caller proved change no path's need (withoutChangeNotes) */
  private unnoted = false;

  /**
   * Runs `write` without noting the paths it writes for the next need pass. Only for writes that
   * leave every path's need as it was: a peer's entries that echo what this device holds
   * (sync/peer-echo.ts); on the device a new one pulls from, those are every file of the share,
   * which each later pass would read again for nothing. A forgotten device still turns the share to 'all'.
   */
  withoutChangeNotes<T>(write: () => T): T {
    const was = this.unnoted;
    this.unnoted = true;
    try {
      return write();
    } finally {
      this.unnoted = was;
    }
  }

  /**
   * The ids of the share's paths whose entries (any device's) were written or removed since the
   * last call, or 'all' when every path must be read again (the first call, a forgotten device, a
   * rolled-back transaction). A written path may not have changed (a rolled-back
   * batch, an entry written again as it was): reading it again costs a little, missing one would
   * cost a wrong need.
   */
  takeChangedPaths(shareId: string): number[] | 'all' {
    const no = this.lookupShareNo(shareId);
    if (no === undefined) return 'all';
    const c = this.changedPaths.get(no);
    this.changedPaths.set(no, new Set());
    return c === undefined || c === 'all' ? 'all' : [...c];
  }

  /**
   * Every device's records for some paths of a share, by path id (takeChangedPaths), grouped as
   * iterateByPath groups them; a path with no entries left comes with none. Ids of paths no longer
   * in the index are left out.
   */
  entriesForPathIds(shareId: string, ids: readonly number[]): PathEntries[] {
    const shareNo = this.lookupShareNo(shareId);
    if (shareNo === undefined) return [];
    const out: PathEntries[] = [];
    // in id order: a new device's changed paths are mostly runs of consecutive ids (paths are made
    // as a peer's index arrives), read as a range of the primary key; ids scattered over a wide
    // range are looked up one by one (IN), which costs ~2.5x as much per path
    const sorted = Int32Array.from(ids).sort();
    for (let at = 0; at < sorted.length;) {
      const end = Math.min(at + PATH_ID_BATCH, sorted.length);
      const lo = sorted[at]!;
      const hi = sorted[end - 1]!;
      const batch = sorted.subarray(at, end);
      at = end;
      const dense = hi - lo + 1 <= 2 * batch.length;
      const wanted = dense && hi - lo + 1 > batch.length ? new Set(batch) : null;
      const rows = this.db.rows(
        `SELECT ${FILE_COLS}, p.id FROM paths p LEFT JOIN files f ON f.path_id = p.id ${REFERENT}
         WHERE +p.share_no = ? AND ${dense ? 'p.id BETWEEN ? AND ?' : `p.id IN (${Array.from(batch, () => '?').join(',')})`}
         ORDER BY p.id, f.device_no`,
        dense ? [shareNo, lo, hi] : [shareNo, ...batch],
      );
      let group: PathEntries | null = null;
      let groupId = -1;
      for (const r of rows) {
        const id = r[r.length - 1] as number;
        if (wanted && !wanted.has(id)) continue;
        if (!group || groupId !== id) {
          group = { path: r[0] as string, entries: [] };
          groupId = id;
          out.push(group);
        }
        if (r[1] !== null) group.entries.push(this.decodeFile(shareId, r));
      }
    }
    return out;
  }

  /** Counts of one device's non-deleted entries in a share. */
  counts(shareId: string, deviceId: string): FileCounts {
    const out: FileCounts = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
    const shareNo = this.lookupShareNo(shareId);
    if (shareNo === undefined) return out;
    const local = deviceId === this.localDeviceId;
    const kept = local ? this.localCounts.get(shareNo) : undefined;
    if (kept) return { ...kept };
    const devNo = this.lookupDeviceNo(deviceId);
    if (devNo === undefined) return out;
    const rows = this.db.rows(
      `SELECT ${content('type')} AS t, count(*), total(${content('size')}) FROM ${FILES_EXPANDED}
       WHERE f.share_no = ? AND f.device_no = ? AND ${content('deleted')} = 0 GROUP BY t`,
      [shareNo, devNo],
    );
    for (const [type, n, bytes] of rows) {
      if (type === 0) {
        out.files = n as number;
        out.bytes = bytes as number;
      } else if (type === 1) out.dirs = n as number;
      else if (type === 2) out.symlinks = n as number;
    }
    // outside a transaction only: one that is rolled back later must not leave its counts behind
    if (local && !this.db.inTransaction) this.localCounts.set(shareNo, { ...out });
    return out;
  }

  /** Adds (`sign` 1) or takes away (-1) a local row ([chunks, deleted, type, size]) from the kept counts. */
  private countLocal(shareNo: number, row: SqlValue[] | undefined, sign: 1 | -1): void {
    const c = this.localCounts.get(shareNo);
    if (!c || !row || row[1] === 1) return;
    if (row[2] === TYPE_CODE.file) {
      c.files += sign;
      c.bytes += sign * (row[3] as number);
    } else if (row[2] === TYPE_CODE.dir) c.dirs += sign;
    else if (row[2] === TYPE_CODE.symlink) c.symlinks += sign;
  }

  /** Where this device already has a chunk on disk (live local files only, all shares). */
  findChunk(hash: Uint8Array): ChunkLocation[] {
    const devNo = this.lookupDeviceNo(this.localDeviceId);
    if (devNo === undefined || hash.length !== 32) return [];
    // point lookups one after the other: cheaper in sql.js than the equivalent join
    const hits = this.db.rows(SQL.chunkHits, [hashPrefix(hash, 0)]);
    const out: (ChunkLocation & { shareNo: number })[] = [];
    for (const [pathId, idx] of hits) {
      const file = this.db.rows(SQL.liveChunks, [pathId, devNo])[0];
      if (!file) continue;
      const blob = file[0] as Uint8Array;
      const at = (idx as number) * CHUNK_ENTRY_BYTES;
      if (Buffer.compare(blob.subarray(at, at + 32), hash) !== 0) continue; // a 48-bit prefix collision
      const [path, shareNo] = this.db.rows(SQL.pathById, [pathId])[0] as [string, number];
      out.push({ shareId: this.shareIdOf(shareNo), path, ...chunkSpan(blob, idx as number), shareNo });
    }
    out.sort((a, b) => a.shareNo - b.shareNo || cmp(a.path, b.path) || a.offset - b.offset);
    return out.map(({ shareNo: _, ...loc }) => loc);
  }

  // ---- peers --------------------------------------------------------------------------------------

  getPeer(shareId: string, deviceId: string): PeerRow | null {
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(deviceId);
    if (shareNo === undefined || devNo === undefined) return null;
    const r = this.db.rows(
      `SELECT ${PEER_COLS} FROM peers pr JOIN shares s ON s.no = pr.share_no JOIN devices d ON d.no = pr.device_no
       WHERE pr.share_no = ? AND pr.device_no = ?`,
      [shareNo, devNo],
    )[0];
    return r ? decodePeer(r) : null;
  }

  /** Peers of one share, or of every share. */
  listPeers(shareId?: string): PeerRow[] {
    let where = '';
    const params: number[] = [];
    if (shareId !== undefined) {
      const shareNo = this.lookupShareNo(shareId);
      if (shareNo === undefined) return [];
      where = 'WHERE pr.share_no = ?';
      params.push(shareNo);
    }
    return this.db
      .rows(
        `SELECT ${PEER_COLS} FROM peers pr JOIN shares s ON s.no = pr.share_no JOIN devices d ON d.no = pr.device_no
         ${where} ORDER BY s.no, d.id`,
        params,
      )
      .map(decodePeer);
  }

  /** Creates the peer's row if needed (defaults: empty name, no address, never seen, sequences 0) and applies the patch. */
  updatePeer(shareId: string, deviceId: string, patch: PeerPatch): PeerRow {
    const cur: PeerRow = this.getPeer(shareId, deviceId) ?? {
      shareId,
      deviceId,
      name: '',
      address: null,
      via: null,
      lastSeen: 0,
      remoteSeqSeen: 0,
      localSeqAcked: 0,
    };
    const next: PeerRow = { ...cur, ...stripUndefined(patch), shareId, deviceId };
    this.db.transaction(() => {
      this.db.run(
        `INSERT INTO peers (share_no, device_no, name, address, via, last_seen, remote_seq_seen, local_seq_acked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (share_no, device_no) DO UPDATE SET name = ?3, address = ?4, via = ?5, last_seen = ?6,
           remote_seq_seen = ?7, local_seq_acked = ?8`,
        [
          this.shareNo(shareId),
          this.deviceNo(deviceId),
          next.name,
          next.address,
          next.via,
          next.lastSeen,
          next.remoteSeqSeen,
          next.localSeqAcked,
        ],
      );
    });
    return next;
  }

  /** Drops everything known about a peer device in a share: its index entries and its bookkeeping. */
  forgetDevice(shareId: string, deviceId: string): void {
    if (deviceId === this.localDeviceId) throw new Error('refusing to forget the local device: remove the share instead');
    const shareNo = this.lookupShareNo(shareId);
    const devNo = this.lookupDeviceNo(deviceId);
    if (shareNo === undefined || devNo === undefined) return;
    // every path it had an entry for changes, and some paths go: the next need pass reads them all
    if (this.changedPaths.has(shareNo)) this.changedPaths.set(shareNo, 'all');
    this.writes++;
    this.db.transaction(() => {
      this.db.run('DELETE FROM files WHERE share_no = ? AND device_no = ?', [shareNo, devNo]);
      this.db.run('DELETE FROM peers WHERE share_no = ? AND device_no = ?', [shareNo, devNo]);
      this.db.run('DELETE FROM paths WHERE share_no = ? AND NOT EXISTS (SELECT 1 FROM files f WHERE f.path_id = paths.id)', [shareNo]);
    });
  }

  // ---- a joined share's first peer index ----------------------------------------------------------

  /** Whether a joined share still waits for its first index from a peer (until then it is not up to date). */
  awaitingPeerIndex(shareId: string): boolean {
    return String(this.db.get<{ value: SqlValue }>('SELECT value FROM meta WHERE key = ?', [`awaiting-index:${shareId}`])?.value) === '1';
  }

  setAwaitingPeerIndex(shareId: string, awaiting: boolean): void {
    if (awaiting)
      this.db.run("INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value", [
        `awaiting-index:${shareId}`,
      ]);
    else this.db.run('DELETE FROM meta WHERE key = ?', [`awaiting-index:${shareId}`]);
  }

  // ---- manual addresses ---------------------------------------------------------------------------

  addAddress(shareId: string, address: string): void {
    this.db.run('INSERT OR IGNORE INTO addresses (share_no, address) VALUES (?, ?)', [this.shareNo(shareId), address]);
  }

  removeAddress(shareId: string, address: string): boolean {
    const shareNo = this.lookupShareNo(shareId);
    if (shareNo === undefined) return false;
    return this.db.run('DELETE FROM addresses WHERE share_no = ? AND address = ?', [shareNo, address]) > 0;
  }

  listAddresses(shareId: string): string[] {
    const shareNo = this.lookupShareNo(shareId);
    if (shareNo === undefined) return [];
    return this.db.rows('SELECT address FROM addresses WHERE share_no = ? ORDER BY address', [shareNo]).map((r) => r[0] as string);
  }

  // ---- conflicts ----------------------------------------------------------------------------------

  /** Records a conflict copy (replacing an earlier record for the same conflict path). */
  addConflict(c: ConflictInfo): void {
    this.db.run(
      `INSERT INTO conflicts (share_no, conflict_path, path, winner, loser, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (share_no, conflict_path) DO UPDATE SET path = ?3, winner = ?4, loser = ?5, created_at = ?6`,
      [this.shareNo(c.shareId), c.conflictPath, c.path, JSON.stringify(c.winner), JSON.stringify(c.loser), c.createdAt],
    );
  }

  /** Conflicts of one share, or of every share, oldest first. */
  listConflicts(shareId?: string): ConflictInfo[] {
    let where = '';
    const params: number[] = [];
    if (shareId !== undefined) {
      const shareNo = this.lookupShareNo(shareId);
      if (shareNo === undefined) return [];
      where = 'WHERE c.share_no = ?';
      params.push(shareNo);
    }
    return this.db
      .rows(
        `SELECT s.id, c.path, c.conflict_path, c.winner, c.loser, c.created_at FROM conflicts c
         JOIN shares s ON s.no = c.share_no ${where} ORDER BY c.created_at, s.no, c.conflict_path`,
        params,
      )
      .map(([sid, path, conflictPath, winner, loser, createdAt]) => ({
        shareId: sid as string,
        path: path as string,
        conflictPath: conflictPath as string,
        winner: JSON.parse(winner as string),
        loser: JSON.parse(loser as string),
        createdAt: createdAt as number,
      }));
  }

  removeConflict(shareId: string, conflictPath: string): boolean {
    const shareNo = this.lookupShareNo(shareId);
    if (shareNo === undefined) return false;
    return this.db.run('DELETE FROM conflicts WHERE share_no = ? AND conflict_path = ?', [shareNo, conflictPath]) > 0;
  }

  // ---- ids ----------------------------------------------------------------------------------------

  private lookupShareNo(id: string): number | undefined {
    let no = this.shareNoById.get(id);
    if (no === undefined) {
      no = this.db.rows(SQL.shareNo, [id])[0]?.[0] as number | undefined;
      if (no !== undefined) this.shareNoById.set(id, no);
    }
    return no;
  }

  private shareIdOf(no: number): string {
    for (const [id, n] of this.shareNoById) if (n === no) return id;
    const id = this.db.rows(SQL.shareId, [no])[0]?.[0] as string | undefined;
    if (id === undefined) throw new Error(`index database refers to unknown share number ${no}`);
    this.shareNoById.set(id, no);
    return id;
  }

  private shareNo(id: string): number {
    const no = this.lookupShareNo(id);
    if (no === undefined) throw new Error(`no share with id ${id}`);
    return no;
  }

  private lookupDeviceNo(id: string): number | undefined {
    let no = this.devNoById.get(id);
    if (no === undefined) {
      no = this.db.rows(SQL.deviceNo, [id])[0]?.[0] as number | undefined;
      if (no !== undefined) {
        this.devNoById.set(id, no);
        this.devIdByNo.set(no, id);
      }
    }
    return no;
  }

  /** The device's number, registering the device if it is new (a write: call inside a transaction). */
  private deviceNo(id: string): number {
    if (typeof id !== 'string' || !id) throw new TypeError(`bad device id ${JSON.stringify(id)}`);
    let no = this.lookupDeviceNo(id);
    if (no === undefined) {
      no = this.insertReturningRowid(SQL.insertDevice, [id]);
      this.devNoById.set(id, no);
      this.devIdByNo.set(no, id);
    }
    return no;
  }

  private deviceIdOf(no: number): string {
    let id = this.devIdByNo.get(no);
    if (id === undefined) {
      id = this.db.rows(SQL.deviceId, [no])[0]?.[0] as string | undefined;
      if (id === undefined) throw new Error(`index database refers to unknown device number ${no}`);
      this.devIdByNo.set(no, id);
      this.devNoById.set(id, no);
    }
    return id;
  }

  /** The writer key's number, registering the key if it is new (a write: call inside a transaction). */
  private writerKeyNo(key: Uint8Array): number {
    const last = this.lastWriterKey;
    if (last && Buffer.compare(last.key, key) === 0) return last.no; // nearly always: one key per share
    const hex = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
    let no = this.writerKeyNoByHex.get(hex);
    if (no === undefined) {
      no = this.db.rows(SQL.writerKeyNo, [key])[0]?.[0] as number | undefined;
      no ??= this.insertReturningRowid(SQL.insertWriterKey, [key]);
      this.writerKeyNoByHex.set(hex, no);
    }
    this.lastWriterKey = { key: Buffer.from(key), no };
    return no;
  }

  private writerKeyOf(no: number): Uint8Array {
    let key = this.writerKeyByNo.get(no);
    if (key === undefined) {
      key = this.db.rows(SQL.writerKey, [no])[0]?.[0] as Uint8Array | undefined;
      if (key === undefined) throw new CorruptRowError(`an entry refers to unknown writer key number ${no}`);
      this.writerKeyByNo.set(no, key);
    }
    return key;
  }

  private pathId(shareNo: number, path: string): number {
    const found = this.db.rows(SQL.pathId, [shareNo, path])[0]?.[0];
    if (typeof found === 'number') return found;
    return this.insertReturningRowid(SQL.insertPath, [shareNo, path]);
  }

  /** (cheaper in SQLite than INSERT ... RETURNING, and replays identically: rowids are deterministic) */
  private insertReturningRowid(sql: string, params: (string | number | Uint8Array)[]): number {
    this.db.run(sql, params);
    return this.db.rows(SQL.lastRowid)[0]![0] as number;
  }

  private decodeFile(shareId: string, r: SqlValue[]): FileRecord {
    const chunks = r[11] as Uint8Array;
    const signer = r[15] as number | null;
    const signature = joinSignature(signer === null ? null : this.writerKeyOf(signer), r[14] as Uint8Array | null);
    return {
      shareId,
      deviceId: this.deviceIdOf(r[1] as number),
      path: r[0] as string,
      type: TYPE_NAME[r[2] as number]!,
      size: r[3] as number,
      mode: r[4] as number,
      mtimeMs: r[5] as number,
      inode: r[6] as number,
      symlinkTarget: r[7] as string | null,
      version: decodeVersion(r[8] as Uint8Array, (no) => this.deviceIdOf(no)),
      sequence: r[9] as number,
      deleted: r[10] === 1,
      chunks: decodeChunks(chunks),
      hash: readHash(r[12] as Uint8Array | null, chunks),
      modifiedBy: this.deviceIdOf(r[13] as number),
      ...(signature ? { signature } : {}),
    };
  }
}

const EQUAL_MASK = FILE_CONTENT.reduce((m, c, i) => (REFERENCE_EQUAL.includes(c) ? m | (1 << i) : m), 0);

/**
 * Whether a row (FILE_CONTENT's columns from `at`) can be stored as a reference to the local entry
 * `entry`, or the other way round: null if not (a REFERENCE_EQUAL column differs), else the bit mask
 * (by FILE_CONTENT position) of the columns the reference keeps its own value of.
 */
function referenceOwn(row: SqlValue[], at: number, entry: SqlValue[]): number | null {
  let own = 0;
  for (let i = 0; i < entry.length; i++) {
    if (sameValue(row[at + i]!, entry[i]!)) continue;
    if (EQUAL_MASK & (1 << i)) return null;
    own |= 1 << i;
  }
  return own;
}

const referenceSqlCache = new Map<string, string>();

/** A peer's entry as a reference to the local one (?6), with its own values of the `own` columns (?7...). */
function upsertReferenceSql(own: number): string {
  const key = `u${own}`;
  let sql = referenceSqlCache.get(key);
  if (!sql) {
    const cols = FILE_CONTENT.filter((_, i) => own & (1 << i));
    const set = FILE_CONTENT.map((c) => (cols.includes(c) ? `${c} = ?${7 + cols.indexOf(c)}` : `${c} = NULL`));
    sql = `INSERT INTO files (path_id, device_no, share_no, inode, sequence, same_as${cols.map((c) => `, ${c}`).join('')})
      VALUES (?1, ?2, ?3, ?4, ?5, ?6${cols.map((_, i) => `, ?${7 + i}`).join('')})
      ON CONFLICT (path_id, device_no) DO UPDATE SET ${set.join(', ')}, inode = ?4, sequence = ?5, same_as = ?6`;
    referenceSqlCache.set(key, sql);
  }
  return sql;
}

/** A peer's full row (?1, ?2) becomes a reference to the local row (?3): the columns it shares with it are dropped. */
function toReferenceSql(own: number): string {
  const key = `t${own}`;
  let sql = referenceSqlCache.get(key);
  if (!sql) {
    const shared = FILE_CONTENT.filter((_, i) => !(own & (1 << i)));
    sql = `UPDATE files SET ${shared.map((c) => `${c} = NULL`).join(', ')}, same_as = ?3 WHERE path_id = ?1 AND device_no = ?2`;
    referenceSqlCache.set(key, sql);
  }
  return sql;
}

function sameValue(a: SqlValue, b: SqlValue): boolean {
  if (a === b) return true;
  return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Whether a stored row's content (FILE_CONTENT's columns from `at`) is `entry`'s. */
function sameContent(row: SqlValue[], at: number, entry: SqlValue[]): boolean {
  for (let i = 0; i < entry.length; i++) if (!sameValue(row[at + i]!, entry[i]!)) return false;
  return true;
}

function decodeShare(r: SqlValue[]): ShareRow {
  return {
    id: r[0] as string,
    name: r[1] as string,
    path: r[2] as string,
    access: r[3] as ShareRow['access'],
    secret: r[4] as string,
    paused: r[5] === 1,
    createdAt: r[6] as number,
  };
}

function decodePeer(r: SqlValue[]): PeerRow {
  return {
    shareId: r[0] as string,
    deviceId: r[1] as string,
    name: r[2] as string,
    address: r[3] as string | null,
    via: r[4] as PeerVia | null,
    lastSeen: r[5] as number,
    remoteSeqSeen: r[6] as number,
    localSeqAcked: r[7] as number,
  };
}

function checkPath(path: string): void {
  if (typeof path !== 'string' || !path || path.startsWith('/') || path.endsWith('/') || path.includes('//')) {
    throw new TypeError(`bad index path ${JSON.stringify(path)}: must be relative, '/'-separated, without empty segments`);
  }
  if (path.normalize('NFC') !== path) throw new TypeError(`index path ${JSON.stringify(path)} is not in NFC form`);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function stripUndefined<T extends object>(patch: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
