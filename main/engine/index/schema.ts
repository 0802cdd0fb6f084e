// The index's schema, as migrations: migration i takes PRAGMA user_version from i to i+1.
// Append new migrations; never edit one that has shipped (databases out there already ran it).
//
// Layout notes (size matters: the index holds every device's entry for every path):
// - device ids and share ids are long strings, so rows refer to them by small numbers
//   (devices.no, shares.no); version vectors are BLOBs of (device no, counter) pairs (blobs.ts).
// - a path is stored once per share (paths) however many devices have an entry for it; files
//   holds one row per (path, device).
// - chunk_index maps a chunk hash to (path, position) for the LOCAL device's live files only. It is
//   keyed by a 48-bit prefix of the hash (an exact JS number: small rows, cheap journal entries);
//   findChunk() checks the full hash against files.chunks.
// - files is a WITHOUT ROWID table keyed by (path_id, device_no) (from version 3): the key is the
//   table, with no second copy of it in a unique index.
// - files.hash is NULL when it is the SHA-256 of the chunk hashes (blobs.ts storedHash), and a
//   signature's 32-byte writer key (the same for every entry of a share) is kept once, in writer_keys.
// - from version 5: version vectors are varints (blobs.ts), and a peer's entry with the local
//   device's version and chunk list for the same path (what a sync leaves behind) is stored as a
//   reference to it: files.same_as holds the local device's number and the content columns
//   (FILE_CONTENT) are NULL but for those it has of its own (REFERENCE_OWN); the row keeps its own
//   sequence and inode. Readers expand it with a self-join (store.ts content(), REFERENT); a write
//   to the local row first copies its content into the rows that refer to it, so what a peer's
//   entry says never changes behind its back.
import { CHUNK_ENTRY_BYTES, CorruptRowError, blobToHash, decodeVersionV4, encodeVersionOfNumbers, storedHash } from './blobs.ts';
import type { SqlValue } from 'sql.js';
import type { DurableDb, Migration } from './durable-db.ts';

// version 3: files without rowid, derived hashes left out, writer keys kept once
const FILES_V3 = `
  CREATE TABLE writer_keys (no INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE);
  CREATE TABLE files_v3 (
    path_id INTEGER NOT NULL,
    device_no INTEGER NOT NULL,
    share_no INTEGER NOT NULL,
    type INTEGER NOT NULL,            -- 0 file, 1 dir, 2 symlink
    size INTEGER NOT NULL,
    mode INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,        -- may hold a fractional value (stored as REAL then)
    inode INTEGER NOT NULL,
    symlink_target TEXT,
    version BLOB NOT NULL,
    sequence INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    chunks BLOB NOT NULL,             -- 36 bytes per chunk: sha256 | u32 LE size
    hash BLOB,                        -- NULL: sha256 of the chunk hashes; else 32 bytes, or empty for non-files
    modified_by INTEGER NOT NULL,     -- devices.no
    signer INTEGER,                   -- writer_keys.no: the signature's first 32 bytes; NULL: signature is whole
    signature BLOB,                   -- the writer's signature (after its key when signer is set); NULL: unsigned
    PRIMARY KEY (path_id, device_no)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO writer_keys (key)
    SELECT substr(signature, 1, 32) FROM files WHERE length(signature) = 96 ORDER BY rowid;
  INSERT INTO files_v3
    SELECT path_id, device_no, share_no, type, size, mode, mtime_ms, inode, symlink_target, version, sequence, deleted, chunks,
      hash, modified_by,
      CASE WHEN length(signature) = 96 THEN (SELECT no FROM writer_keys WHERE key = substr(signature, 1, 32)) END,
      CASE WHEN length(signature) = 96 THEN substr(signature, 33) ELSE signature END
    FROM files;
  DROP TABLE files;
  ALTER TABLE files_v3 RENAME TO files;
  CREATE INDEX files_by_sequence ON files (share_no, device_no, sequence);
`;

/**
 * Calls `fn` with every files row's key and the columns `cols`, in key order, a page of rows at a
 * time (memory stays flat; `fn` may update the row it is given).
 */
function forEachFileRow(db: DurableDb, cols: string, fn: (pathId: number, devNo: number, values: SqlValue[]) => void): void {
  let after: [number, number] = [-1, -1];
  for (;;) {
    const rows = db.rows(
      `SELECT path_id, device_no, ${cols} FROM files WHERE (path_id, device_no) > (?, ?) ORDER BY path_id, device_no LIMIT 2000`,
      after,
    );
    if (!rows.length) return;
    for (const [pathId, devNo, ...values] of rows) fn(pathId as number, devNo as number, values);
    const last = rows[rows.length - 1]!;
    after = [last[0] as number, last[1] as number];
  }
}

/** Leaves out (NULL) every stored hash that the chunk list gives again. */
function dropDerivedHashes(db: DurableDb): void {
  forEachFileRow(db, 'chunks, hash', (pathId, devNo, [chunks, hash]) => {
    const c = chunks as Uint8Array;
    const h = hash as Uint8Array | null;
    // a damaged chunk list keeps its hash: this step only compacts, it never judges
    if (h?.length !== 32 || c.length % CHUNK_ENTRY_BYTES !== 0) return;
    if (storedHash(blobToHash(h), c) === null) db.run('UPDATE files SET hash = NULL WHERE path_id = ? AND device_no = ?', [pathId, devNo]);
  });
}

/**
 * The columns of an entry's content: what a reference row (same_as) takes from the row it refers to
 * when its own is NULL. The ones that may be NULL in a full row (REFERENCE_EQUAL) must be equal for a
 * reference; of the others a reference keeps its own value where it differs (REFERENCE_OWN): a
 * peer's mtime is whole milliseconds on the wire (protocol/messages.ts) where the local one has the
 * file system's fraction.
 */
export const FILE_CONTENT = [
  'type',
  'size',
  'mode',
  'mtime_ms',
  'symlink_target',
  'version',
  'deleted',
  'chunks',
  'hash',
  'modified_by',
  'signature',
  'signer',
] as const;

export type FileContentColumn = (typeof FILE_CONTENT)[number];
export const REFERENCE_EQUAL: readonly FileContentColumn[] = ['symlink_target', 'version', 'chunks', 'hash', 'signature', 'signer'];
export const REFERENCE_OWN: readonly FileContentColumn[] = FILE_CONTENT.filter((c) => !REFERENCE_EQUAL.includes(c));

// version 5: content columns may be NULL (a reference row), same_as added
const FILES_V5 = `
  CREATE TABLE files_v5 (
    path_id INTEGER NOT NULL,
    device_no INTEGER NOT NULL,
    share_no INTEGER NOT NULL,
    type INTEGER,                     -- 0 file, 1 dir, 2 symlink (content columns: NULL in a reference row)
    size INTEGER,
    mode INTEGER,
    mtime_ms INTEGER,                 -- may hold a fractional value (stored as REAL then)
    inode INTEGER NOT NULL,
    symlink_target TEXT,
    version BLOB,                     -- varints (blobs.ts encodeVersion)
    sequence INTEGER NOT NULL,
    deleted INTEGER,
    chunks BLOB,                      -- 36 bytes per chunk: sha256 | u32 LE size
    hash BLOB,                        -- NULL: sha256 of the chunk hashes; else 32 bytes, or empty for non-files
    modified_by INTEGER,              -- devices.no
    signer INTEGER,                   -- writer_keys.no: the signature's first 32 bytes; NULL: signature is whole
    signature BLOB,                   -- the writer's signature (after its key when signer is set); NULL: unsigned
    same_as INTEGER,                  -- NULL, or the local device's number: the content is that device's row's
    PRIMARY KEY (path_id, device_no)
  ) WITHOUT ROWID;
  INSERT INTO files_v5
    SELECT path_id, device_no, share_no, type, size, mode, mtime_ms, inode, symlink_target, version, sequence, deleted, chunks,
      hash, modified_by, signer, signature, NULL
    FROM files;
  DROP TABLE files;
  ALTER TABLE files_v5 RENAME TO files;
  CREATE INDEX files_by_sequence ON files (share_no, device_no, sequence);
`;

/** Rewrites every version vector from schema 4's 12 bytes per entry to varints. */
function versionsToVarints(db: DurableDb): void {
  forEachFileRow(db, 'version', (pathId, devNo, [version]) => {
    let v: Uint8Array;
    try {
      v = encodeVersionOfNumbers(decodeVersionV4(version as Uint8Array));
    } catch (err) {
      throw new CorruptRowError(`entry ${pathId}/${devNo}: ${(err as Error).message}`);
    }
    db.run('UPDATE files SET version = ? WHERE path_id = ? AND device_no = ?', [v, pathId, devNo]);
  });
}

/**
 * The SQL that turns every peer entry with the local device's (number ?1) version and chunk list
 * (REFERENCE_EQUAL) into a reference to it, keeping its own value of any other column that differs.
 */
export const SHARE_CONTENT_WITH_LOCAL = `
  UPDATE files SET same_as = ?1, ${REFERENCE_EQUAL.map((c) => `${c} = NULL`).join(', ')},
    ${REFERENCE_OWN.map((c) => `${c} = CASE WHEN files.${c} IS l.${c} THEN NULL ELSE files.${c} END`).join(', ')}
  FROM files l
  WHERE l.path_id = files.path_id AND l.device_no = ?1 AND l.same_as IS NULL
    AND files.device_no <> ?1 AND files.same_as IS NULL AND ${REFERENCE_EQUAL.map((c) => `l.${c} IS files.${c}`).join(' AND ')}`;

/** A peer's entry equal to this device's own becomes a reference to it (schema 5). */
function shareContentWithLocal(db: DurableDb): void {
  const local = db.rows("SELECT d.no FROM meta m JOIN devices d ON d.id = m.value WHERE m.key = 'local_device'")[0]?.[0];
  if (typeof local === 'number') db.run(SHARE_CONTENT_WITH_LOCAL, [local]);
}

export const INDEX_MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;
  CREATE TABLE devices (no INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
  CREATE TABLE shares (
    no INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    access TEXT NOT NULL,
    secret TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE paths (
    id INTEGER PRIMARY KEY,
    share_no INTEGER NOT NULL,
    path TEXT NOT NULL,
    UNIQUE (share_no, path)
  );
  CREATE TABLE files (
    path_id INTEGER NOT NULL,
    device_no INTEGER NOT NULL,
    share_no INTEGER NOT NULL,
    type INTEGER NOT NULL,            -- 0 file, 1 dir, 2 symlink
    size INTEGER NOT NULL,
    mode INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,        -- may hold a fractional value (stored as REAL then)
    inode INTEGER NOT NULL,
    symlink_target TEXT,
    version BLOB NOT NULL,
    sequence INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    chunks BLOB NOT NULL,             -- 36 bytes per chunk: sha256 | u32 LE size
    hash BLOB NOT NULL,               -- 32 bytes, or empty for non-files
    modified_by INTEGER NOT NULL,     -- devices.no
    UNIQUE (path_id, device_no)
  );
  CREATE INDEX files_by_sequence ON files (share_no, device_no, sequence);
  CREATE TABLE chunk_index (
    h INTEGER NOT NULL,               -- first 6 bytes of the chunk's sha256, big-endian (lookups verify the rest)
    path_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,             -- position in that file's chunk list
    PRIMARY KEY (h, path_id, idx)
  ) WITHOUT ROWID;
  CREATE TABLE peers (
    share_no INTEGER NOT NULL,
    device_no INTEGER NOT NULL,
    name TEXT NOT NULL,
    address TEXT,
    via TEXT,
    last_seen INTEGER NOT NULL,
    remote_seq_seen INTEGER NOT NULL,
    local_seq_acked INTEGER NOT NULL,
    PRIMARY KEY (share_no, device_no)
  ) WITHOUT ROWID;
  CREATE TABLE addresses (
    share_no INTEGER NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (share_no, address)
  ) WITHOUT ROWID;
  CREATE TABLE conflicts (
    share_no INTEGER NOT NULL,
    conflict_path TEXT NOT NULL,
    path TEXT NOT NULL,
    winner TEXT NOT NULL,             -- JSON ConflictSide
    loser TEXT NOT NULL,              -- JSON ConflictSide
    created_at INTEGER NOT NULL,
    PRIMARY KEY (share_no, conflict_path)
  ) WITHOUT ROWID;
  `,
  // issue 9: the writer's signature of each entry (96 bytes; NULL: not signed yet)
  `ALTER TABLE files ADD COLUMN signature BLOB;`,
  // issue 11: ~25% smaller per entry (bench/README.md)
  (db) => {
    db.exec(FILES_V3);
    dropDerivedHashes(db);
  },
  // issue 11: a writer signs every entry it sends itself, so it keeps no signature it received
  // (keys/entry-signing.ts EntrySigner.kept): 65 bytes less per entry it got from a peer
  `UPDATE files SET signature = NULL, signer = NULL
     WHERE signature IS NOT NULL AND share_no IN (SELECT no FROM shares WHERE access = 'read-write');`,
  // issue 11: varint version vectors, a peer's entry equal to the local one kept as a reference to it
  (db) => {
    db.exec(FILES_V5);
    versionsToVarints(db);
    shareContentWithLocal(db);
  },
];
