// Hashes one file: streams it (fixed-size reads, never the whole file in memory), cuts it into
// content-defined chunks and SHA-256s each chunk. The file is stat'ed before and after reading;
// if it changed meanwhile the hash is thrown away and the file read again, a few times at most.
// Runs inside the hash workers (hash-worker.ts) and directly in tests.

import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { Chunker, DEFAULT_CDC_PARAMS, type CdcParams } from './cdc.ts';

export const HASH_BYTES = 32;

/** What the hash of a file is computed over, in the form workers hand back (transferable). */
export interface RawFileHash {
  size: number;
  mtimeMs: number;
  inode: number;
  mode: number;
  /** chunk hashes, 32 bytes each, concatenated */
  chunkHashes: Uint8Array;
  chunkSizes: Uint32Array;
  /** hex SHA-256 over the concatenated chunk hashes */
  hash: string;
  /** modified so recently that a same-size rewrite could keep this mtime (see RACY_MS) */
  racy: boolean;
}

/**
 * File systems stamp mtimes from a coarse clock (a few ms on ext4, up to 2 s on FAT), so a
 * same-size rewrite soon after we read a file can leave size, mtime and inode all unchanged.
 * A file whose mtime was this close to the moment we finished reading it is "racy": the scanner
 * must hash it again next time instead of trusting its stat (git's "racily clean" entries).
 */
export const RACY_MS = 2000;

export interface HashFileOptions {
  params?: CdcParams;
  /** read size; default 1 MiB */
  readSize?: number;
  /** how many times to read a file that keeps changing before giving up; default 3 */
  maxAttempts?: number;
  /** test hook: called after each read of `attempt` (1-based) */
  onRead?: (attempt: number, bytesSoFar: number) => void | Promise<void>;
  /**
   * Read files that fit in one read with blocking calls on this thread (open, fstat, read, fstat,
   * stat, close) instead of the thread pool. For the hash workers, whose thread does nothing else:
   * ~6x less CPU per small file (bench/README.md). Never on a thread that serves anything.
   */
  blockingSmallFiles?: boolean;
}

/** A per-path failure with a code the scanner acts on. */
export class HashError extends Error {
  constructor(
    message: string,
    /** ENOENT: gone (not an error for a scan); ENOTREG: no longer a regular file; UNSTABLE: kept changing; or an fs code */
    readonly code: string,
  ) {
    super(message);
    this.name = 'HashError';
  }
}

interface Identity {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

function identity(s: Stats): Identity {
  return { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino };
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

export function describeFsError(err: unknown, path: string): HashError {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? 'EUNKNOWN';
  switch (code) {
    case 'ENOENT':
      return new HashError(`${path} no longer exists`, code);
    case 'EACCES':
    case 'EPERM':
      return new HashError(`cannot read ${path}: permission denied (fix its permissions or add it to .peerfold/ignore)`, code);
    case 'EISDIR':
      return new HashError(`${path} is no longer a regular file`, 'ENOTREG');
    case 'EIO':
      return new HashError(`cannot read ${path}: I/O error (the disk or file system may be failing)`, code);
    default:
      return new HashError(`cannot read ${path}: ${e?.message ?? String(err)}`, code);
  }
}

// O_NONBLOCK: if the path was swapped for a FIFO after the walker saw a file, open() must not
// block waiting for a writer; we then see it is not a regular file and say so.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

async function hashOnce(
  path: string,
  opts: Required<Omit<HashFileOptions, 'onRead' | 'blockingSmallFiles'>> & HashFileOptions,
  attempt: number,
): Promise<{ result: RawFileHash; stable: boolean }> {
  let fh: FileHandle;
  let reading: Promise<{ bytesRead: number }> | undefined;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (err) {
    throw describeFsError(err, path);
  }
  try {
    const before = await fh.stat();
    if (!before.isFile()) throw new HashError(`${path} is no longer a regular file`, 'ENOTREG');

    const chunker = new Chunker(opts.params);
    const hashes: Uint8Array[] = [];
    const sizes: number[] = [];
    let h: Hash = createHash('sha256');
    const endChunk = (size: number) => {
      hashes.push(h.digest());
      sizes.push(size);
      h = createHash('sha256');
    };

    // Two buffers: the next read runs on the thread pool while this thread chunks and hashes
    // the previous one.
    const bufs = [Buffer.allocUnsafe(opts.readSize), Buffer.allocUnsafe(opts.readSize)];
    let which = 0;
    let total = 0;
    let chunkStartPending = 0; // bytes of the current chunk hashed in previous buffers
    reading = fh.read(bufs[which], 0, opts.readSize, null);
    for (;;) {
      let n: number;
      try {
        n = (await reading).bytesRead;
      } catch (err) {
        throw describeFsError(err, path);
      }
      if (n === 0) break;
      const buf = bufs[which];
      which ^= 1;
      reading = fh.read(bufs[which], 0, opts.readSize, null);
      const data = buf.subarray(0, n);
      let start = 0;
      for (const cut of chunker.push(data)) {
        h.update(data.subarray(start, cut));
        endChunk(chunkStartPending + cut - start);
        chunkStartPending = 0;
        start = cut;
      }
      h.update(data.subarray(start));
      chunkStartPending += n - start;
      total += n;
      if (opts.onRead) await opts.onRead(attempt, total);
    }
    const last = chunker.finish();
    if (last > 0) endChunk(last);

    const afterFd = await fh.stat();
    let afterPath: Stats;
    try {
      afterPath = await stat(path);
    } catch (err) {
      throw describeFsError(err, path);
    }
    const stable =
      total === before.size && sameIdentity(identity(before), identity(afterFd)) && sameIdentity(identity(before), identity(afterPath));

    const chunkHashes = new Uint8Array(hashes.length * 32);
    hashes.forEach((d, k) => chunkHashes.set(d, k * 32));
    const result: RawFileHash = {
      size: total,
      mtimeMs: before.mtimeMs,
      inode: before.ino,
      mode: before.mode & 0o7777,
      chunkHashes,
      chunkSizes: Uint32Array.from(sizes),
      hash: createHash('sha256').update(chunkHashes).digest('hex'),
      racy: Date.now() - before.mtimeMs < RACY_MS,
    };
    return { result, stable };
  } finally {
    // a read still in flight after an exception must not become an unhandled rejection
    await reading?.catch(() => {});
    await fh.close().catch(() => {});
  }
}

/** Chunks and hashes bytes in memory (a whole small file). */
function hashBytes(data: Uint8Array, params: CdcParams): { chunkHashes: Uint8Array; chunkSizes: Uint32Array; hash: string } {
  const cuts = new Chunker(params).push(data);
  if (cuts[cuts.length - 1] !== data.length && data.length > 0) cuts.push(data.length);
  const chunkHashes = new Uint8Array(cuts.length * HASH_BYTES);
  const chunkSizes = new Uint32Array(cuts.length);
  let start = 0;
  cuts.forEach((end, k) => {
    chunkHashes.set(createHash('sha256').update(data.subarray(start, end)).digest(), k * HASH_BYTES);
    chunkSizes[k] = end - start;
    start = end;
  });
  return { chunkHashes, chunkSizes, hash: createHash('sha256').update(chunkHashes).digest('hex') };
}

let smallBuf: Buffer | null = null;

/**
 * One blocking read of a file no bigger than `readSize`; null when it is bigger (the streaming
 * path reads it). Same checks as hashOnce: a regular file, and unchanged from before to after.
 */
function hashSmallOnce(path: string, params: CdcParams, readSize: number): { result: RawFileHash; stable: boolean } | null {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw describeFsError(err, path);
  }
  try {
    const before = fstatSync(fd);
    if (!before.isFile()) throw new HashError(`${path} is no longer a regular file`, 'ENOTREG');
    if (before.size > readSize) return null;
    // one byte more than the file should hold: a file that grew since fstat reads as changed
    if (!smallBuf || smallBuf.length < readSize + 1) smallBuf = Buffer.allocUnsafe(readSize + 1);
    let total = 0;
    try {
      for (let n = -1; n !== 0 && total <= before.size; total += n) n = readSync(fd, smallBuf, total, smallBuf.length - total, null);
    } catch (err) {
      throw describeFsError(err, path);
    }
    const afterFd = fstatSync(fd);
    let afterPath: Stats;
    try {
      afterPath = statSync(path);
    } catch (err) {
      throw describeFsError(err, path);
    }
    const stable =
      total === before.size && sameIdentity(identity(before), identity(afterFd)) && sameIdentity(identity(before), identity(afterPath));
    const h = hashBytes(smallBuf.subarray(0, Math.min(total, readSize)), params);
    const result: RawFileHash = {
      size: total,
      mtimeMs: before.mtimeMs,
      inode: before.ino,
      mode: before.mode & 0o7777,
      ...h,
      racy: Date.now() - before.mtimeMs < RACY_MS,
    };
    return { result, stable };
  } finally {
    closeSync(fd);
  }
}

/**
 * Hash `path`. Throws HashError (code ENOENT when the file is gone, ENOTREG when it is not a
 * regular file any more, UNSTABLE when it kept changing during `maxAttempts` reads).
 */
export async function hashFile(path: string, options: HashFileOptions = {}): Promise<RawFileHash> {
  const opts = {
    params: options.params ?? DEFAULT_CDC_PARAMS,
    readSize: options.readSize ?? 1024 * 1024,
    maxAttempts: Math.max(1, options.maxAttempts ?? 3),
    onRead: options.onRead,
  };
  const small = options.blockingSmallFiles && !options.onRead;
  for (let attempt = 1; attempt <= opts.maxAttempts; attempt++) {
    const { result, stable } = (small && hashSmallOnce(path, opts.params, opts.readSize)) || (await hashOnce(path, opts, attempt));
    if (stable) return result;
  }
  throw new HashError(
    `${path} kept changing while it was being read (${opts.maxAttempts} attempts); it will be hashed again on the next scan`,
    'UNSTABLE',
  );
}
