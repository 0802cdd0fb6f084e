import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { tempNameFor } from '../scan/ignore.ts';
import { openNoFollow, setModeAndTime } from './apply.ts';
import { safeParent } from './path-safety.ts';
import { EARLY_FETCH_MAX_BYTES, MIN_CHUNK_DEMAND, mayAskChunk } from './file-flight.ts';

export interface ChunkSpec {
  hash: Uint8Array;
  size: number;
  /** where the chunk goes in the file being built */
  offset: number;
}

/** Where chunk bytes come from. Both return verified bytes or null / throw. */
export interface ChunkProvider {
  /** a chunk from this device's own files (a rename or copy costs no transfer) */
  local(spec: ChunkSpec): Promise<Uint8Array | null>;
  /** a chunk from peers; the provider verifies it and drops peers that send bad data */
  remote(spec: ChunkSpec, signal: AbortSignal): Promise<Uint8Array>;
  /** a chunk `remote` gave is written and nothing here touches it again: its memory may be used again */
  written?(data: Uint8Array): void;
}

export interface BuildProgress {
  /** bytes in place so far */
  done: number;
  /** of which fetched over the network */
  fetched: number;
  /** of which found already in an interrupted earlier attempt's temp file */
  resumed: number;
}

export interface BuildOptions {
  root: string;
  path: string;
  size: number;
  contentHash: string;
  chunks: readonly { hash: Uint8Array; size: number }[];
  provider: ChunkProvider;
  /**
   * Bytes of chunks to keep asked for at once (read before each request: it follows the links'
   * windows as they grow); the provider's links hold back what does not fit their windows.
   * Default: MIN_CHUNK_DEMAND.
   */
  demandBytes?: () => number;
  signal: AbortSignal;
  onProgress?: (p: BuildProgress) => void;
  /** the mode and time the finished file gets (set through the handle that wrote it) */
  final?: { mode: number; mtimeMs: number };
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function tempPathFor(root: string, path: string, contentHash: string): string {
  return join(root, tempRelPath(path, contentHash));
}

/** Share-relative path of the temp file a pull of `path` to content `contentHash` writes. */
export function tempRelPath(path: string, contentHash: string): string {
  const i = path.lastIndexOf('/');
  return path.slice(0, i + 1) + tempNameFor(path.slice(i + 1), contentHash);
}

/**
 * Builds the file's content in a temp file beside the target: chunks an earlier interrupted
 * attempt already wrote are kept, chunks found locally are copied, the rest are fetched. Every
 * chunk is verified against its hash before it counts. Returns the temp file's path, fsynced.
 */
export async function buildTempFile(opts: BuildOptions): Promise<{ tempPath: string; progress: BuildProgress }> {
  const specs: ChunkSpec[] = [];
  let offset = 0;
  for (const c of opts.chunks) {
    specs.push({ hash: c.hash, size: c.size, offset });
    offset += c.size;
  }
  if (offset !== opts.size) throw new Error(`chunk sizes add up to ${offset}, not the file size ${opts.size}`);
  // a small file asks for its chunks first and does its local work while the answer travels
  const early = opts.size <= EARLY_FETCH_MAX_BYTES ? await fetchEarly(specs, opts) : null;
  try {
    return await buildInTemp(specs, opts, early);
  } finally {
    early?.abort.abort();
  }
}

/**
 * A small file's chunks: those this device holds are read, the rest asked for at once, before
 * its folders are checked and its temp file opened. Across a long link a small file's round trip
 * then overlaps that local work instead of following it (it was ~200 ms a file under load,
 * bench/README, "Small files across a long link, fourth round"). The answers are verified
 * bytes held in memory until the temp file is open: at most EARLY_FETCH_MAX_BYTES a file. (An
 * interrupted pull's temp file still counts first: a chunk found there is kept, its fetch dropped.)
 */
async function fetchEarly(specs: ChunkSpec[], opts: BuildOptions): Promise<EarlyChunks> {
  const abort = new AbortController();
  const signal = AbortSignal.any([opts.signal, abort.signal]);
  const got = new Map<ChunkSpec, Promise<{ data: Uint8Array; remote: boolean }>>();
  try {
    for (const spec of specs) {
      opts.signal.throwIfAborted();
      const local = await opts.provider.local(spec);
      const p = local
        ? Promise.resolve({ data: local, remote: false })
        : opts.provider.remote(spec, signal).then((data) => ({ data, remote: true }));
      // a failure is seen when the chunk is awaited (or never, when the build failed first)
      p.catch(() => undefined);
      got.set(spec, p);
    }
  } catch (err) {
    // a remote that cannot ask at all (no peer): what was asked already is called off
    abort.abort();
    throw err;
  }
  return { abort, got };
}

interface EarlyChunks {
  /** aborts the fetches still in flight once the build ends */
  abort: AbortController;
  got: Map<ChunkSpec, Promise<{ data: Uint8Array; remote: boolean }>>;
}

async function buildInTemp(
  specs: ChunkSpec[],
  opts: BuildOptions,
  early: EarlyChunks | null,
): Promise<{ tempPath: string; progress: BuildProgress }> {
  // the folders on the way are checked (and made) one by one: none may be a link out of the share
  await safeParent(opts.root, opts.path, true);
  const tempPath = tempPathFor(opts.root, opts.path, opts.contentHash);
  const { handle, existing } = await openTemp(tempPath, opts.final?.mode);
  const progress: BuildProgress = { done: 0, fetched: 0, resumed: 0 };
  try {
    const missing: ChunkSpec[] = [];
    for (const spec of specs) {
      opts.signal.throwIfAborted();
      if (spec.offset + spec.size <= existing && (await regionMatches(handle, spec))) {
        progress.done += spec.size;
        progress.resumed += spec.size;
        continue;
      }
      const asked = early?.got.get(spec);
      if (asked) {
        const { data, remote } = await asked;
        await handle.write(data, 0, data.length, spec.offset);
        progress.done += spec.size;
        if (remote) progress.fetched += spec.size;
        opts.onProgress?.({ ...progress });
        continue;
      }
      const local = await opts.provider.local(spec);
      if (local) {
        await handle.write(local, 0, local.length, spec.offset);
        progress.done += spec.size;
        opts.onProgress?.({ ...progress });
        continue;
      }
      missing.push(spec);
    }
    opts.onProgress?.({ ...progress });

    await fetchMissing(missing, opts.demandBytes ?? (() => MIN_CHUNK_DEMAND), opts.signal, async (spec) => {
      const data = await opts.provider.remote(spec, opts.signal);
      await handle.write(data, 0, data.length, spec.offset);
      opts.provider.written?.(data);
      progress.done += spec.size;
      progress.fetched += spec.size;
      opts.onProgress?.({ ...progress });
    });
    // the chunks cover [0, size) exactly: only an earlier, longer temp file leaves more
    if (existing > opts.size) await handle.truncate(opts.size);
    if (opts.final)
      await setModeAndTime(handle, opts.final.mtimeMs, existing > 0 || !createdWith(opts.final.mode) ? opts.final.mode : null);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { tempPath, progress };
}

/**
 * Whether a file created with `mode` gets exactly it: the umask clears none of its bits, and it has
 * none beyond the permission bits (set-id and sticky bits are given by chmod).
 */
function createdWith(mode: number): boolean {
  // read once: process.umask() with no argument sets it and back again, which is not free
  umask ??= process.umask();
  return (mode & ~0o777) === 0 && (mode & umask) === 0;
}
let umask: number | undefined;

/**
 * Opens the temp file: a new one (most pulls: no stat needed), made with the file's final mode
 * where the umask leaves it whole (then no chmod is needed), or one an interrupted attempt left,
 * with its size (its chunks are checked and kept). Never through a link in its place.
 */
async function openTemp(tempPath: string, mode = 0o600): Promise<{ handle: fsp.FileHandle; existing: number }> {
  try {
    const createMode = createdWith(mode) ? mode : 0o600;
    return { handle: await openNoFollow(tempPath, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, createMode), existing: 0 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const handle = await openNoFollow(tempPath, constants.O_RDWR, 0o600);
  try {
    return { handle, existing: (await handle.stat()).size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Runs `fetchOne` for every spec, keeping as many outstanding as `demandBytes()` allows
 * (file-flight.ts). Rejects with the first failure; fetches already started finish on their own.
 */
function fetchMissing(
  missing: ChunkSpec[],
  demandBytes: () => number,
  signal: AbortSignal,
  fetchOne: (spec: ChunkSpec) => Promise<void>,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let bytes = 0;
    let count = 0;
    let failed = false;
    const pump = () => {
      if (failed) return;
      if (signal.aborted) {
        failed = true;
        return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      }
      if (next >= missing.length && count === 0) return resolve();
      const demand = demandBytes();
      while (next < missing.length && mayAskChunk(bytes, count, missing[next]!.size, demand)) {
        const spec = missing[next++]!;
        bytes += spec.size;
        count++;
        fetchOne(spec).then(
          () => {
            bytes -= spec.size;
            count--;
            pump();
          },
          (err: unknown) => {
            failed = true;
            reject(err);
          },
        );
      }
    };
    pump();
  });
}

async function regionMatches(handle: fsp.FileHandle, spec: ChunkSpec): Promise<boolean> {
  const buf = Buffer.allocUnsafe(spec.size);
  const { bytesRead } = await handle.read(buf, 0, spec.size, spec.offset);
  return bytesRead === spec.size && sha256(buf).equals(spec.hash);
}

/** Reads a region of a local file and returns it only when it still hashes to `hash`. */
export async function readVerified(file: string, offset: number, size: number, hash: Uint8Array): Promise<Uint8Array | null> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(file, 'r');
    const buf = Buffer.allocUnsafe(size);
    const { bytesRead } = await handle.read(buf, 0, size, offset);
    if (bytesRead !== size || !sha256(buf).equals(hash)) return null;
    return buf;
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}
