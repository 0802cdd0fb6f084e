// The files a DurableDb keeps in its folder, and the small I/O helpers that keep them crash-safe.
//
//   index.snapshot          header (32 bytes) + a SQLite database image (sql.js export())
//   index.snapshot.tmp      a snapshot being written; never read, removed on open
//   index.journal.<gen>     append-only redo log of the transactions committed after snapshot <gen>
//
// Snapshot header: "PFIDXSNP" | u32 format (1) | u32 CRC-32 of the image | u64 generation | u64 image length.
// The generation says which journal continues the snapshot: the snapshot holds every transaction of
// every journal numbered below it. See durable-db.ts for why that makes each crash point recoverable.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, existsSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export const SNAPSHOT_FILE = 'index.snapshot';
export const SNAPSHOT_TMP_FILE = 'index.snapshot.tmp';
const JOURNAL_RE = /^index\.journal\.(\d+)$/;
export const journalFile = (gen: number): string => `index.journal.${gen}`;

const MAGIC = Buffer.from('PFIDXSNP', 'latin1');
const FORMAT = 1;
export const SNAPSHOT_HEADER_BYTES = 32;
/** Files hold share secrets: owner-only. */
export const FILE_MODE = 0o600;

export class CorruptDatabaseError extends Error {
  constructor(readonly reason: string) {
    super(`index database is corrupt: ${reason}`);
    this.name = 'CorruptDatabaseError';
  }
}

export function encodeSnapshotHeader(generation: number, image: Uint8Array): Buffer {
  const h = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32LE(FORMAT, 8);
  h.writeUInt32LE(crc32(image) >>> 0, 12);
  h.writeBigUInt64LE(BigInt(generation), 16);
  h.writeBigUInt64LE(BigInt(image.byteLength), 24);
  return h;
}

/** Validates a snapshot file's bytes; throws CorruptDatabaseError with the reason. */
export function decodeSnapshot(file: Buffer): { generation: number; image: Uint8Array } {
  if (file.length < SNAPSHOT_HEADER_BYTES || !file.subarray(0, 8).equals(MAGIC)) {
    throw new CorruptDatabaseError('the snapshot file does not start with a Peerfold snapshot header');
  }
  const format = file.readUInt32LE(8);
  if (format !== FORMAT) throw new CorruptDatabaseError(`unknown snapshot format ${format}`);
  const crc = file.readUInt32LE(12);
  const generation = Number(file.readBigUInt64LE(16));
  const length = Number(file.readBigUInt64LE(24));
  if (generation < 1 || !Number.isSafeInteger(generation)) throw new CorruptDatabaseError(`bad snapshot generation ${generation}`);
  if (file.length !== SNAPSHOT_HEADER_BYTES + length) {
    throw new CorruptDatabaseError(`the snapshot is ${file.length - SNAPSHOT_HEADER_BYTES} bytes long, its header says ${length}`);
  }
  const image = file.subarray(SNAPSHOT_HEADER_BYTES);
  if (crc32(image) >>> 0 !== crc) throw new CorruptDatabaseError('snapshot checksum mismatch');
  return { generation, image };
}

/** Makes renames and file creations in `dir` durable. A no-op where directories cannot be opened (Windows). */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    if (process.platform === 'win32') return;
    throw err;
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    if (process.platform !== 'win32') throw err;
  } finally {
    closeSync(fd);
  }
}

/** Writes a snapshot atomically: temp file, fsync, rename over the old one, fsync the folder. */
export async function writeSnapshotFile(
  dir: string,
  generation: number,
  image: Uint8Array,
  step: (name: 'snapshot-written' | 'snapshot-renamed') => void,
): Promise<number> {
  const header = encodeSnapshotHeader(generation, image);
  const tmp = join(dir, SNAPSHOT_TMP_FILE);
  const fh = await open(tmp, 'w', FILE_MODE);
  try {
    await writeAll(fh, header);
    await writeAll(fh, image);
    await fh.sync();
  } finally {
    await fh.close();
  }
  step('snapshot-written');
  await rename(tmp, join(dir, SNAPSHOT_FILE));
  step('snapshot-renamed');
  fsyncDir(dir);
  return header.length + image.byteLength;
}

async function writeAll(fh: import('node:fs/promises').FileHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.byteLength) {
    const { bytesWritten } = await fh.write(data, off, data.byteLength - off);
    off += bytesWritten;
  }
}

/** Journal generations present in `dir`, ascending. */
export function listJournalGenerations(dir: string): number[] {
  const gens: number[] = [];
  for (const name of readdirSync(dir)) {
    const m = JOURNAL_RE.exec(name);
    if (m) gens.push(Number(m[1]));
  }
  return gens.sort((a, b) => a - b);
}

function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/**
 * Renames every database file in `dir` to `<name>.corrupt-<YYYYMMDD-HHMMSS>` and returns the new paths,
 * the snapshot first. Nothing else in the folder is touched.
 */
export function moveDatabaseAside(dir: string, now = new Date()): string[] {
  const suffix = `.corrupt-${stamp(now)}`;
  const names = readdirSync(dir)
    .filter((n) => n === SNAPSHOT_FILE || n === SNAPSHOT_TMP_FILE || JOURNAL_RE.test(n))
    .sort((a, b) => (a === SNAPSHOT_FILE ? -1 : b === SNAPSHOT_FILE ? 1 : a.localeCompare(b)));
  const moved: string[] = [];
  for (const name of names) {
    let target = join(dir, name + suffix);
    for (let i = 2; existsSync(target); i++) target = join(dir, `${name}${suffix}-${i}`);
    renameSync(join(dir, name), target);
    moved.push(target);
  }
  if (moved.length) fsyncDir(dir);
  return moved;
}
