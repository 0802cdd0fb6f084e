// Checks that a chunk received from a peer hashes to what the index says, off the main thread when
// the chunk is big and in memory a thread may share (net/frame-pool.ts: a bulk stream's answers).
//
// On a big file's pull SHA-256 of every chunk received was a fifth of the receiver's main thread
// (bench/README.md, "The big file's rate: verification off the main thread"), and that thread is
// the one that bounds the rate. One worker thread hashes batches of chunks where they lie (a
// SharedArrayBuffer is not copied on its way there); the main thread only posts and compares 32
// bytes. What the worker cannot take (a small chunk, memory of the main thread's own, a worker that
// failed) is hashed here as before. Either way a chunk counts only once its hash matched: the
// caller writes nothing before the promise says so. The worker is off by default (see the
// constructor): its memory cost is not solved yet.

import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

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
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', (batch) => {
  const out = new Uint8Array(batch.length * ${DIGEST_BYTES});
  for (let i = 0; i < batch.length; i++) {
    const [memory, offset, length] = batch[i];
    out.set(createHash('sha256').update(new Uint8Array(memory, offset, length)).digest(), i * ${DIGEST_BYTES});
  }
  parentPort.postMessage(out, [out.buffer]);
});`;

interface Job {
  data: Uint8Array;
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
   * Off unless PEERFOLD_VERIFY_THREAD=1: with the worker the receiver's peak RSS in a 1 GiB pull
   * rose from ~160 to 270-540 MB (frames the main thread let go stay alive while the worker's
   * objects for them do), and at the load it was measured under no gain in CPU or rate showed
   * (bench/README.md, "The big file's rate: verification off the main thread").
   */
  constructor(private readonly offThread = process.env.PEERFOLD_VERIFY_THREAD === '1') {}

  /** Whether `data` hashes to `hash`: true only once it was hashed and matched. */
  verify(data: Uint8Array, hash: Uint8Array): boolean | Promise<boolean> {
    if (!this.offThread || data.byteLength < OFF_THREAD_MIN_BYTES || !(data.buffer instanceof SharedArrayBuffer))
      return chunkMatches(data, hash);
    return new Promise<boolean>((resolve) => {
      this.queued.push({ data, hash, resolve });
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
      worker.postMessage(batch.map((j) => [j.data.buffer, j.data.byteOffset, j.data.byteLength]));
    }
  }

  private start(): Worker | null {
    let worker: Worker;
    try {
      // a young generation of 1 MiB semi-spaces: what the worker allocates is 32 bytes a chunk
      worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 3 } });
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
