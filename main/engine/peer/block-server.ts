// Serves one peer's block requests (PROTOCOL.md, "Block transfer", responder side): at most
// MAX_SERVING at once (beyond it: `overloaded`). Bytes are sent only when they are the requested
// chunk's: read from a file whose stat still matches the index entry that named that chunk (the
// same proof a scan accepts, never for a file the scan read moments after it was written), or
// read and checked against the chunk's hash. Files stay open between requests (open-files.ts).
// Closed with its link: requests still being read are dropped.

import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexStore } from '../index/store.ts';
import type { FileRecord } from '../index/rows.ts';
import { SendQueueFullError } from '../net/channel-sender.ts';
import { frameBuffer } from '../net/frame-pool.ts';
import {
  MAX_BATCH_BYTES,
  MAX_BLOCK_DATA,
  MAX_RUN_BYTES,
  batchRequests,
  responseBuffer,
  runRequests,
  type BlockRequest,
  type BlockResponse,
  type RequestBatch,
  type RequestRun,
  type ResponseBatch,
  type ResponseStatus,
} from '../protocol/messages.ts';
import { BatchAnswers } from './batch-answers.ts';
import { OpenFiles, type OpenFile } from './open-files.ts';

/** Requests this device serves to one peer at once; beyond it the peer is told to retry. */
export const MAX_SERVING = 256;

export type ServerState = 'open' | 'closed';

export type BlockStore = Pick<IndexStore, 'fileStat' | 'getFile' | 'findChunk'>;

export interface BlockServerDeps {
  /** this device */
  self: string;
  store: BlockStore;
  /** the share a request names, when this peer may read it here now (proved, not paused) */
  servedShare(discoveryId: string): { shareId: string; root: string } | null;
  /**
   * Whether a file whose size, mtime and inode match its index entry may be taken to hold what
   * the entry says without hashing it again: false for a file the scan read so soon after it was
   * written that a same-size rewrite could have kept its mtime (scan/file-hash.ts, RACY_MS).
   * Without it every chunk is checked against its hash.
   */
  trustsStat?(shareId: string, path: string): boolean;
  /** waits until n more bytes may be sent under the upload limit */
  throttleSend(n: number): Promise<void>;
  send(msg: BlockResponse): Promise<void>;
  log(message: string): void;
}

/** The chunk list of the index entry an open file was matched with, decoded once per entry. */
interface ChunkMap {
  sequence: number;
  size: number;
  mtimeMs: number;
  inode: number;
  /** start offset of each chunk, ascending */
  starts: Float64Array;
  sizes: Uint32Array;
  /** 32 bytes per chunk */
  hashes: Uint8Array;
}

/** Where the answer's bytes are: a chunk of a file, and the file offset the request counts from. */
interface Location {
  path: string;
  offset: number;
  size: number;
  requestBase: number;
}

export class BlockServer {
  private state: ServerState = 'open';
  private serving = 0;
  private runsRead = 0;
  private batches = 0;
  private readonly files = new OpenFiles<ChunkMap>();

  constructor(private readonly deps: BlockServerDeps) {}

  get busy(): number {
    return this.serving;
  }

  /** Runs served with one read (the rest of a run goes one request at a time). */
  get runsReadAtOnce(): number {
    return this.runsRead;
  }

  /** requestBatches served. */
  get batchesServed(): number {
    return this.batches;
  }

  /** Files held open for requests right now. */
  get openFiles(): number {
    return this.files.size;
  }

  close(): void {
    this.state = 'closed';
    this.files.close();
  }

  /** The share is no longer served on this link (paused, removed): close its files now. */
  forgetShare(shareId: string): void {
    this.files.closeGroup(shareId);
  }

  /** Serves `req`; the response goes to `send` (default: the deps' send). */
  handle(req: BlockRequest, send: (msg: BlockResponse) => Promise<void> = this.deps.send): void {
    if (this.state === 'closed') return;
    if (this.serving >= MAX_SERVING) {
      void this.reply(send, req, 'overloaded');
      return;
    }
    this.serving++;
    this.serve(req, send)
      .catch((err) => this.deps.log(`serving ${req.path} failed: ${(err as Error).message}`))
      .finally(() => this.serving--);
  }

  /**
   * Serves a run of consecutive chunks of one file (a requestRun): with one read and one stat when
   * the file is open here with an entry whose chunks the run names exactly, else as the single
   * requests it stands for. A run over MAX_RUN_BYTES, or with a chunk larger than one response
   * holds, is refused (`invalid-request` for each of its ids) before anything is read.
   */
  handleRun(run: RequestRun, send: (msg: BlockResponse) => Promise<void> = this.deps.send): void {
    if (this.state === 'closed') return;
    const reqs = runRequests(run);
    const bytes = reqs.reduce((n, r) => n + r.size, 0);
    if (bytes > MAX_RUN_BYTES || reqs.some((r) => r.size > MAX_BLOCK_DATA) || !Number.isSafeInteger(run.offset + bytes)) {
      for (const r of reqs) this.reply(send, r, 'invalid-request').catch(() => undefined);
      return;
    }
    if (this.serving + reqs.length > MAX_SERVING) {
      // as many as fit are served, the rest told to retry: as if they had come one by one
      for (const r of reqs) this.handle(r, send);
      return;
    }
    this.serving += reqs.length;
    this.serveRun(run, reqs, send)
      .catch((err) => this.deps.log(`serving ${run.path} failed: ${(err as Error).message}`))
      .finally(() => (this.serving -= reqs.length));
  }

  /**
   * Serves a requestBatch (several requests of one share, small files each its own path): every
   * request as if it had come alone, with its own status, all answered in one responseBatch once
   * the last is settled. A batch asking for more than MAX_BATCH_BYTES in all is refused
   * (`invalid-request` for each request) before anything is read; requests beyond MAX_SERVING are
   * `overloaded`, as single ones would be.
   */
  handleBatch(batch: RequestBatch, send: (msg: ResponseBatch) => Promise<void>): void {
    if (this.state === 'closed') return;
    const reqs = batchRequests(batch);
    // said once per link: the peer asks for small files in batches (what a user or a test can check)
    if (this.batches++ === 0) this.deps.log(`answering requests for several files in one message (first batch: ${reqs.length})`);
    const answers = new BatchAnswers(batch.id, reqs.length, send, this.deps.log);
    const bytes = reqs.reduce((n, r) => n + r.size, 0);
    if (bytes > MAX_BATCH_BYTES) {
      reqs.forEach((_, i) => answers.settle(i, 'invalid-request'));
      return;
    }
    reqs.forEach((r, i) => {
      if (this.serving >= MAX_SERVING) return answers.settle(i, 'overloaded');
      this.serving++;
      this.serve(r, answers.sendFor(i))
        .catch((err) => {
          this.deps.log(`serving ${r.path} failed: ${(err as Error).message}`);
          answers.settle(i, 'io-error');
        })
        .finally(() => this.serving--);
    });
  }

  private async serveRun(run: RequestRun, reqs: BlockRequest[], send: (msg: BlockResponse) => Promise<void>): Promise<void> {
    let parts: Buffer[] | null;
    try {
      parts = await this.readRun(run, reqs);
    } catch {
      parts = null;
    }
    if (!parts) {
      await Promise.all(
        reqs.map((r) => this.serve(r, send).catch((err) => this.deps.log(`serving ${r.path} failed: ${(err as Error).message}`))),
      );
      return;
    }
    for (let i = 0; i < reqs.length; i++) await this.answer(send, reqs[i]!, parts[i]!);
  }

  /** The run's chunks, read at once from the open file (see fromOpenFile); null when that proof is not at hand. */
  private async readRun(run: RequestRun, reqs: BlockRequest[]): Promise<Buffer[] | null> {
    const share = this.deps.servedShare(run.share);
    if (!share || !reqs.length) return null;
    const trusted = this.deps.trustsStat?.(share.shareId, run.path) ?? false;
    const file = this.files.lendIfOpen(join(share.root, run.path));
    if (!file) return null;
    try {
      const map = file.memo;
      const k = map && chunkCovering(map, run.offset, reqs[0]!.size);
      if (!map || k === null) return null;
      for (let i = 0; i < reqs.length; i++) {
        const r = reqs[i]!;
        const j = k + i;
        if (j >= map.starts.length || map.starts[j] !== r.offset || map.sizes[j] !== r.size || !equalHash(map.hashes, j, r.hash))
          return null;
      }
      const bufs = reqs.map((r) => responseBuffer(r.size, takeReadBuffer));
      const want = bufs.reduce((n, b) => n + b.length, 0);
      const { bytesRead } = await file.handle.readv(bufs, run.offset);
      // a short read (the file shrank, or a partial read): one request at a time sorts it out
      if (bytesRead !== want) return null;
      if (trusted) {
        if (!statMatches(await statAfterReads(file.handle), map)) return null;
      } else if (!reqs.every((r, i) => sha256(bufs[i]!).equals(r.hash))) {
        // a file the scan read moments after it was written (racy): each chunk is checked against
        // its hash instead of the stat, as a single request's would be
        return null;
      }
      this.runsRead++;
      return bufs;
    } finally {
      this.files.release(file);
    }
  }

  private reply(
    send: (msg: BlockResponse) => Promise<void>,
    req: BlockRequest,
    status: ResponseStatus,
    data: Uint8Array = new Uint8Array(0),
  ): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return send({ type: 'response', id: req.id, status, data });
  }

  private async serve(req: BlockRequest, send: (msg: BlockResponse) => Promise<void>): Promise<void> {
    const share = this.deps.servedShare(req.share);
    if (!share) return this.reply(send, req, 'not-shared');
    let part: Uint8Array | ResponseStatus;
    try {
      part = await this.find(share.shareId, share.root, req);
    } catch {
      return this.reply(send, req, 'io-error');
    }
    if (typeof part === 'string') return this.reply(send, req, part);
    return this.answer(send, req, part);
  }

  /** Sends the requested bytes, under the upload limit. */
  private async answer(send: (msg: BlockResponse) => Promise<void>, req: BlockRequest, part: Uint8Array): Promise<void> {
    await this.deps.throttleSend(part.length);
    if (process.env.PEERFOLD_FAULT_CORRUPT_SERVE === '1' && part.length > 0) {
      // fault injection for tests: this device serves corrupt data, as a broken or hostile peer would
      const bad = Buffer.from(part);
      bad[0] ^= 0xff;
      return this.reply(send, req, 'ok', bad);
    }
    // more answers than the link's send queue holds (many requests in flight after a bulk stream
    // fell back to the data channel): say so, and the requester asks again with a smaller window
    return this.reply(send, req, 'ok', part).catch((err: unknown) => {
      if (err instanceof SendQueueFullError) return this.reply(send, req, 'overloaded');
      throw err;
    });
  }

  /**
   * The requested bytes: from the named file when its index entry has the requested chunk there,
   * else (the file changed here, or the chunk sits in another file) from wherever the index has a
   * whole chunk with that hash. 'changed' when the bytes found no longer match the hash.
   */
  private async find(shareId: string, root: string, req: BlockRequest): Promise<Uint8Array | ResponseStatus> {
    const quick = await this.fromOpenFile(shareId, root, req);
    if (quick) return quick;
    let located = false;
    // a file not open here yet (a small file is asked for once) needs its chunk list either way:
    // one query for its entry, not one for its stat and then one for the entry (chunkMap)
    const rec = this.files.isOpen(join(root, req.path))
      ? this.deps.store.fileStat(shareId, this.deps.self, req.path)
      : this.deps.store.getFile(shareId, this.deps.self, req.path);
    if (rec && !rec.deleted && rec.type === 'file' && req.size > 0) {
      const got = await this.fromNamedFile(shareId, root, req, rec);
      if (got !== null) {
        if (got !== 'changed') return got;
        located = true;
      }
    }
    // a part of a larger chunk cannot be placed elsewhere: only whole chunks are looked up
    for (const loc of this.deps.store.findChunk(req.hash)) {
      if (loc.shareId !== shareId || loc.size !== req.size) continue;
      located = true;
      const got = await this.readVerified(
        shareId,
        root,
        { path: loc.path, offset: loc.offset, size: loc.size, requestBase: req.offset },
        req,
      );
      if (got) return got;
    }
    return located ? 'changed' : 'not-found';
  }

  /**
   * From the named file when it is open here with the chunk list of an entry whose stat it still
   * has: no index lookup at all. What the bytes must be follows from that entry alone (whether a
   * newer one exists does not change them), and a file that changed since fails the stat check.
   */
  private async fromOpenFile(shareId: string, root: string, req: BlockRequest): Promise<Uint8Array | null> {
    if (req.size === 0) return null;
    const file = this.files.lendIfOpen(join(root, req.path));
    if (!file) return null;
    try {
      const map = file.memo;
      const k = map && chunkCovering(map, req.offset, req.size);
      if (!map || k === null || !equalHash(map.hashes, k, req.hash)) return null;
      if (this.deps.trustsStat?.(shareId, req.path)) return await readTrusted(file.handle, map, req);
      // a file the scan read moments after it was written (racy): the stat proves nothing, the
      // chunk's hash does; still no index lookup (a query per request was most of what a racy
      // file's serving cost: bench/README.md, "The big file, fourth round")
      const chunk: Location = { path: req.path, offset: map.starts[k]!, size: map.sizes[k]!, requestBase: map.starts[k]! };
      return await readChunkVerified(file.handle, chunk, req);
    } finally {
      this.files.release(file);
    }
  }

  /** From the named file: null when its entry has no such chunk there, 'changed' when the bytes no longer match. */
  private async fromNamedFile(
    shareId: string,
    root: string,
    req: BlockRequest,
    rec: NonNullable<ReturnType<BlockStore['fileStat']>>,
  ): Promise<Uint8Array | 'changed' | null> {
    let file: OpenFile<ChunkMap>;
    try {
      file = await this.files.acquire(shareId, join(root, req.path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'changed';
      throw err;
    }
    try {
      const map = this.chunkMap(file, shareId, req.path, rec);
      const k = map && chunkCovering(map, req.offset, req.size);
      if (!map || k === null || !equalHash(map.hashes, k, req.hash)) return null;
      const chunk: Location = { path: req.path, offset: map.starts[k]!, size: map.sizes[k]!, requestBase: map.starts[k]! };
      if (this.deps.trustsStat?.(shareId, req.path)) {
        const data = await readTrusted(file.handle, map, req);
        if (data) return data;
      }
      const verified = await readChunkVerified(file.handle, chunk, req);
      if (verified) return verified;
      // the open file may be one the path no longer names: once more from the path itself
      this.files.drop(file);
    } finally {
      this.files.release(file);
    }
    return (await this.readVerified(shareId, root, { path: req.path, offset: 0, size: 0, requestBase: 0 }, req, true)) ?? 'changed';
  }

  /** The chunk at `at` read and checked against the request's hash (null when it does not match). */
  private async readVerified(shareId: string, root: string, at: Location, req: BlockRequest, named = false): Promise<Uint8Array | null> {
    let file: OpenFile<ChunkMap>;
    try {
      file = await this.files.acquire(shareId, join(root, at.path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      if (named) {
        // the named file, opened afresh: its chunk at the requested range per the current entry
        const rec = this.deps.store.fileStat(shareId, this.deps.self, at.path);
        const map = rec && !rec.deleted ? this.chunkMap(file, shareId, at.path, rec) : null;
        const k = map && chunkCovering(map, req.offset, req.size);
        if (!map || k === null || !equalHash(map.hashes, k, req.hash)) return null;
        at = { path: at.path, offset: map.starts[k]!, size: map.sizes[k]!, requestBase: map.starts[k]! };
      }
      const got = await readChunkVerified(file.handle, at, req);
      if (!got) this.files.drop(file);
      return got;
    } finally {
      this.files.release(file);
    }
  }

  /** The entry's chunk list for this open file, decoded when the entry changed since the last request. */
  private chunkMap(
    file: OpenFile<ChunkMap>,
    shareId: string,
    path: string,
    rec: NonNullable<ReturnType<BlockStore['fileStat']>>,
  ): ChunkMap | null {
    if (file.memo?.sequence === rec.sequence) return file.memo;
    const full = 'chunks' in rec ? (rec as FileRecord) : this.deps.store.getFile(shareId, this.deps.self, path);
    if (!full || full.deleted || full.type !== 'file') return null;
    const n = full.chunks.length;
    const map: ChunkMap = {
      sequence: full.sequence,
      size: full.size,
      mtimeMs: full.mtimeMs,
      inode: full.inode,
      starts: new Float64Array(n),
      sizes: new Uint32Array(n),
      hashes: new Uint8Array(n * 32),
    };
    let at = 0;
    full.chunks.forEach((c, k) => {
      map.starts[k] = at;
      map.sizes[k] = c.size;
      map.hashes.set(c.hash, k * 32);
      at += c.size;
    });
    file.memo = map;
    return map;
  }
}

/** The chunk whose range holds [offset, offset + size), by binary search; null when none does. */
function chunkCovering(map: ChunkMap, offset: number, size: number): number | null {
  let lo = 0;
  let hi = map.starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (map.starts[mid]! <= offset) lo = mid + 1;
    else hi = mid - 1;
  }
  const k = lo - 1;
  if (k < 0 || offset + size > map.starts[k]! + map.sizes[k]!) return null;
  return k;
}

function equalHash(hashes: Uint8Array, k: number, hash: Uint8Array): boolean {
  if (hash.length !== 32) return false;
  for (let i = 0; i < 32; i++) if (hashes[k * 32 + i] !== hash[i]) return false;
  return true;
}

/**
 * Chunks are read into pooled memory (net/frame-pool.ts, the memory received frames use too): a
 * bulk stream hands it back once its socket has written the answer, so a GiB served no longer
 * allocates a GiB of ArrayBuffers (V8 counts them towards its next major collection).
 */
const takeReadBuffer = (n: number): Buffer => frameBuffer(n);

/** `size` bytes at `offset`, or null when the file ends before them. */
async function readAt(handle: FileHandle, offset: number, size: number): Promise<Buffer | null> {
  // with room for the response's header: the answer is sent without copying the chunk again
  const buf = responseBuffer(size, takeReadBuffer);
  let got = 0;
  while (got < size) {
    const { bytesRead } = await handle.read(buf, got, size - got, offset + got);
    if (bytesRead === 0) return null;
    got += bytesRead;
  }
  return buf;
}

/**
 * Just the requested range, then an fstat: served as read when the file still has the stat of the
 * entry whose chunk list placed the range. A write during or since the read moves the mtime away
 * from the entry's, and then the caller checks the bytes against the hash instead.
 */
async function readTrusted(handle: FileHandle, map: ChunkMap, req: BlockRequest): Promise<Buffer | null> {
  const data = await readAt(handle, req.offset, req.size);
  return data && statMatches(await statAfterReads(handle), map) ? data : null;
}

/** The proof of a trusted read: the file still has the stat of the entry whose chunk list placed the range. */
function statMatches(st: Stats, map: ChunkMap): boolean {
  return st.size === map.size && st.mtimeMs === map.mtimeMs && st.ino === map.inode;
}

const statBatches = new WeakMap<FileHandle, Promise<Stats>>();

/**
 * An fstat of `handle` issued after the read of every caller had completed: the reads of one file
 * that finish in one turn of the event loop share one fstat, issued once the turn's completions
 * are through (setImmediate), instead of one each (a stat per chunk served was 5 % of a sender's
 * main thread).
 */
function statAfterReads(handle: FileHandle): Promise<Stats> {
  let batch = statBatches.get(handle);
  if (!batch) {
    batch = new Promise<Stats>((resolve, reject) =>
      setImmediate(() => {
        // readers that come after this are not covered by it: they start the next batch
        statBatches.delete(handle);
        handle.stat().then(resolve, reject);
      }),
    );
    statBatches.set(handle, batch);
  }
  return batch;
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/** The requested part of the chunk at `at` when the chunk's bytes still hash to the request's hash. */
async function readChunkVerified(handle: FileHandle, at: Location, req: BlockRequest): Promise<Uint8Array | null> {
  const chunk = await readAt(handle, at.offset, at.size);
  if (!chunk || !sha256(chunk).equals(req.hash)) return null;
  const from = req.offset - at.requestBase;
  // the whole chunk as read (no new view): its response is encoded in place (responseBuffer)
  return from === 0 && req.size === chunk.length ? chunk : chunk.subarray(from, from + req.size);
}
