// Worker thread entry for HashPool (hasher.ts): hashes the files it is sent, one at a time.
// Bundled builds ship this as a separate file next to the bundle that contains hasher.ts.

import { parentPort, workerData } from 'node:worker_threads';
import { hashFile, HashError } from './file-hash.ts';
import type { HashRequest, HashResponse, HashWorkerData } from './hash-protocol.ts';

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

// The pool queues a few files here (hasher.ts): they are hashed one after the other, so a worker
// holds one file's buffers at a time.
const queue: HashRequest[] = [];
let running = false;
port.on('message', (req: HashRequest) => {
  queue.push(req);
  if (running) return;
  running = true;
  void (async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await handle(next);
    running = false;
  })();
});
