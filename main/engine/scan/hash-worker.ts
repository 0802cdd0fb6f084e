// Worker thread entry for HashPool (hasher.ts): hashes the files it is sent, a few at a time.
// Bundled builds ship this as a separate file next to the bundle that contains hasher.ts.

import { parentPort, workerData } from 'node:worker_threads';
import { hashFile, HashError } from './file-hash.ts';
import { WORKER_CONCURRENCY, type HashRequest, type HashResponse, type HashWorkerData } from './hash-protocol.ts';

const port = parentPort;
if (!port) throw new Error('hash-worker.ts must run as a worker thread (see hasher.ts)');
const data = workerData as HashWorkerData;

async function handle(req: HashRequest): Promise<void> {
  try {
    const result = await hashFile(req.path, {
      params: data.params,
      maxAttempts: data.maxAttempts,
      readSize: data.readSize,
      blockingSmallFiles: true,
    });
    const msg: HashResponse = { id: req.id, ok: true, result };
    port!.postMessage(msg, [result.chunkHashes.buffer as ArrayBuffer, result.chunkSizes.buffer as ArrayBuffer]);
  } catch (err) {
    const e = err instanceof HashError ? err : new HashError(`cannot hash ${req.path}: ${String((err as Error)?.message ?? err)}`, 'EHASH');
    const msg: HashResponse = { id: req.id, ok: false, error: { message: e.message, code: e.code } };
    port!.postMessage(msg);
  }
}

// The pool queues a few files here (hasher.ts). Up to WORKER_CONCURRENCY are read at once: while
// a big file waits for its next read on the thread pool, this thread hashes small ones, so a small
// file does not wait behind a big one and this thread's core stays busy.
const queue: HashRequest[] = [];
let running = 0;
const next = (): void => {
  while (running < WORKER_CONCURRENCY && queue.length) {
    running++;
    void handle(queue.shift()!).finally(() => {
      running--;
      next();
    });
  }
};
port.on('message', (req: HashRequest) => {
  queue.push(req);
  next();
});
