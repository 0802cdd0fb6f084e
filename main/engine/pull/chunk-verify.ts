// Checks that a chunk received from a peer hashes to what the index says, off the main thread when
// the chunk is big and lies in the frame arena (net/frame-pool.ts: a bulk stream's answers).
//
// On a big file's pull SHA-256 of every chunk received was a fifth of the receiver's main thread
// (bench/README.md, "The big file's rate: verification off the main thread"), and that thread is
// the one that bounds the rate. One worker thread hashes batches of chunks where they lie: it is
// given the frame arena (one SharedArrayBuffer) once when it starts, and each batch is only offsets
// and lengths into it; the main thread posts and compares 32 bytes. What the worker cannot take (a
// small chunk, memory outside the arena, a worker that failed) is hashed here as before. Either
// way a chunk counts only once its hash matched: the caller writes nothing before the promise
// says so. PEERFOLD_VERIFY_THREAD=0 keeps all hashing on the main thread.

import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { arenaOffset, frameArena } from '../net/frame-pool.ts';

/** Chunks below this are hashed on the main thread: posting one costs about what hashing it does. */
export const OFF_THREAD_MIN_BYTES = 16 * 1024;
/** The worker exits after this long without work, so an idle daemon holds no extra thread. */
const IDLE_MS = 5_000;
/** Batches posted and not answered yet: two, so the worker has the next one while its answer travels. */
const MAX_BATCHES_IN_FLIGHT = 2;
const DIGEST_BYTES = 32;

/** The bytes hash (SHA-256) to `hash`, on this thread. */
export function chunkMatches(data: Uint8Array, hash: Uint8Array): boolean {
  return createHash('sha256').update(data).digest().equals(hash);
}

// The worker is a few lines of plain JavaScript run from a string: no file of its own to find
// beside a bundle or to load through tsx (scan/hasher.ts does that for its bigger workers).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const arena = new Uint8Array(workerData);
parentPort.on('message', (batch) => {
  const n = batch.length / 2;
  const out = new Uint8Array(n * ${DIGEST_BYTES});
  for (let i = 0; i < n; i++) {
    const at = batch[2 * i];
    out.set(createHash('sha256').update(arena.subarray(at, at + batch[2 * i + 1])).digest(), i * ${DIGEST_BYTES});
  }
  parentPort.postMessage(out, [out.buffer]);
});`;

interface Job {
  data: Uint8Array;
  /** where data lies in the frame arena */
  at: number;
  hash: Uint8Array;
  resolve: (ok: boolean) => void;
}

/**
 * One lazily started worker and the batches it is hashing. Jobs that arrive while two batches are
 * out wait and go as the next batch together: the busier the pull, the fewer messages per chunk.
 */
export class ChunkVerifier {
  private worker: Worker | null = null;
  private readonly queued: Job[] = [];
  /** batches posted, answered in order */
  private readonly posted: Job[][] = [];
  private idleTimer: NodeJS.Timeout | null = null;

  /**
   * On unless PEERFOLD_VERIFY_THREAD=0. With frames of their own the worker cost 270-540 MB of
   * peak RSS in a 1 GiB pull; with the arena it costs ~25-35 MB (the thread), and takes ~1 CPU-s
   * per GiB off the receiver's main thread, the thread that bounds the rate (bench/README.md, "The
   * big file, fourth round").
   */
  constructor(private readonly offThread = process.env.PEERFOLD_VERIFY_THREAD !== '0') {}

  /** Whether `data` hashes to `hash`: true only once it was hashed and matched. */
  verify(data: Uint8Array, hash: Uint8Array): boolean | Promise<boolean> {
    const at = this.offThread && data.byteLength >= OFF_THREAD_MIN_BYTES ? arenaOffset(data) : -1;
    if (at < 0) return chunkMatches(data, hash);
    return new Promise<boolean>((resolve) => {
      this.queued.push({ data, at, hash, resolve });
      this.flush();
    });
  }

  private flush(): void {
    while (this.queued.length && this.posted.length < MAX_BATCHES_IN_FLIGHT) {
      const worker = this.worker ?? this.start();
      const batch = this.queued.splice(0);
      if (!worker) {
        for (const j of batch) j.resolve(chunkMatches(j.data, j.hash));
        return;
      }
      if (this.idleTimer) {
        this.stopIdleTimer();
        worker.ref();
      }
      this.posted.push(batch);
      const where = new Float64Array(batch.length * 2);
      batch.forEach((j, i) => {
        where[2 * i] = j.at;
        where[2 * i + 1] = j.data.byteLength;
      });
      worker.postMessage(where, [where.buffer]);
    }
  }

  private start(): Worker | null {
    let worker: Worker;
    try {
      // a young generation of 1 MiB semi-spaces: what the worker allocates is 32 bytes a chunk
      // the arena exists: the chunk that starts the worker lies in it
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        execArgv: [],
        workerData: frameArena(),
        resourceLimits: { maxYoungGenerationSizeMb: 3 },
      });
    } catch {
      // out of threads or memory: the main thread hashes, as it always could
      return null;
    }
    worker.on('message', (digests: Uint8Array) => this.answered(digests));
    const fail = () => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.stopIdleTimer();
      // what the worker had is hashed here: a chunk is never taken as verified without a hash
      for (const batch of this.posted.splice(0)) for (const j of batch) j.resolve(chunkMatches(j.data, j.hash));
      this.flush();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.worker = worker;
    return worker;
  }

  private answered(digests: Uint8Array): void {
    const batch = this.posted.shift();
    if (!batch) return;
    for (let i = 0; i < batch.length; i++) {
      const j = batch[i]!;
      const got = digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
      j.resolve(got.length === DIGEST_BYTES && Buffer.from(got.buffer, got.byteOffset, DIGEST_BYTES).equals(j.hash));
    }
    this.flush();
    if (!this.posted.length) this.idle();
  }

  private idle(): void {
    const worker = this.worker;
    if (!worker || this.idleTimer) return;
    // an idle worker keeps no process alive, and goes after a while
    worker.unref();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.worker !== worker || this.posted.length) return;
      this.worker = null;
      void worker.terminate().catch(() => undefined);
    }, IDLE_MS);
    this.idleTimer.unref();
  }

  private stopIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Stops the worker (tests; a daemon's worker goes by itself once idle). */
  async close(): Promise<void> {
    this.stopIdleTimer();
    const w = this.worker;
    this.worker = null;
    for (const batch of this.posted.splice(0)) for (const j of batch) j.resolve(chunkMatches(j.data, j.hash));
    await w?.terminate();
  }
}
