// A small pool of worker threads that chunk and hash files, so every core hashes while the main
// thread keeps walking and serving. Workers start on demand and stop after a while idle, so an
// idle daemon holds no hashing threads.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULT_CDC_PARAMS, validateParams, type CdcParams } from './cdc.ts';
import { HashError, HASH_BYTES } from './file-hash.ts';
import { WORKER_CONCURRENCY, type HashRequest, type HashResponse, type HashWorkerData } from './hash-protocol.ts';

export { HashError } from './file-hash.ts';

export interface ChunkRef {
  /** SHA-256 of the chunk's bytes */
  hash: Uint8Array;
  size: number;
}

export interface FileHash {
  size: number;
  /** stat of the file as it was read (these, not an earlier lstat, belong with the chunks) */
  mtimeMs: number;
  inode: number;
  /** permission bits (mode & 0o7777) */
  mode: number;
  chunks: ChunkRef[];
  /** hex SHA-256 over the concatenated chunk hashes */
  hash: string;
  /** modified moments before it was read: do not trust its stat next time (file-hash.ts RACY_MS) */
  racy: boolean;
}

export interface HashPoolOptions {
  /**
   * Worker threads; default 1. Each is a V8 isolate of its own (~10 MB resident at a scan's peak),
   * and one keeps up with the main thread's indexing: it reads two files at once (hash-worker.ts),
   * and the chunker does 4 bytes a round (cdc.ts). bench/README.md, "The scan on one hash worker".
   */
  size?: number;
  params?: CdcParams;
  /** reads of a file that keeps changing before reporting it; default 3 */
  maxAttempts?: number;
  /** read size per worker; default 1 MiB (two buffers of it per busy worker) */
  readSize?: number;
  /** a worker idle this long exits; default 30 s */
  idleMs?: number;
  /**
   * Each worker's young generation (V8 maxYoungGenerationSizeMb); default 3 (semi-spaces of
   * 1 MiB). What a worker allocates is garbage by the next file, so the 2 x 16 MiB V8 would grow
   * it to is resident for nothing: ~6 MB per worker at a scan's peak (bench/README.md, "Memory,
   * fourth round"). Unlike the main thread's, a worker's limit is set when it starts.
   */
  youngGenerationMb?: number;
  /** override the worker script (default: hash-worker next to this module, same extension) */
  workerUrl?: URL;
}

/**
 * Where the worker script is: a sibling of this module with this module's extension, so it is
 * hash-worker.ts under tsx and hash-worker.js / .mjs / .cjs next to a bundle. A CommonJS bundle
 * has no import.meta.url; there __filename is the bundle.
 */
export function defaultWorkerUrl(): URL {
  const metaUrl = (import.meta as { url?: string }).url;
  const self = metaUrl ? new URL(metaUrl) : pathToFileURL(__filename);
  const ext = extname(fileURLToPath(self)) || '.js';
  return new URL('./hash-worker' + ext, self);
}

/**
 * Running from TypeScript source (tsx): the worker needs tsx's loader too. On Node 20,
 * `execArgv: ['--import', 'tsx']` does not reach the worker's own entry module ("Unknown file
 * extension .ts"), so register tsx's ESM hooks inside the worker first, then import the entry.
 */
function tsxBootstrap(entry: URL): string {
  // Found through tsx's package.json rather than import.meta.resolve, which esbuild's CJS output
  // (the Electron bundle) cannot carry; require.resolve would pick tsx's CJS build, which fails here.
  const pkgJson = createRequire(entry).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const api = pathToFileURL(join(dirname(pkgJson), pkg.exports['./esm/api'].import.default)).href;
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
}

interface Task {
  id: number;
  path: string;
  /** bytes the caller expects (its lstat size): what a worker's queue is measured in */
  sizeHint: number;
  resolve: (h: FileHash) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** sent to this worker, not answered yet (the first is being hashed, the rest wait there) */
  tasks: Map<number, Task>;
  idleTimer: NodeJS.Timeout | null;
}

/**
 * How many tasks one worker holds at once. A worker that has only the file it is hashing waits a
 * round trip through the main thread for the next one, and during a scan that thread is busy
 * indexing: with a few queued the worker goes straight on (bench/README.md, "Scan").
 */
const QUEUE_PER_WORKER = 8;
/** Tasks queue behind a worker's current file only while the bytes it holds stay under this. */
const QUEUE_BYTES_PER_WORKER = 4 * 1024 * 1024;

/**
 * Which worker the next task goes to (an index into `workers`), 'spawn' for a new one, or null to
 * keep it in the pool's queue. A worker reads WORKER_CONCURRENCY files at once, so one with a free
 * reading slot starts the task at once (the least busy first); then a new worker; then the least
 * loaded worker with room, where room means fewer than QUEUE_PER_WORKER tasks and no more than
 * QUEUE_BYTES_PER_WORKER waiting behind the files it reads (a big file never waits behind small
 * ones there, nor small ones behind it). `waiting` is the bytes of a worker's tasks that wait.
 */
export function placeTask(
  workers: readonly { tasks: number; waiting: number }[],
  canSpawn: boolean,
  sizeHint: number,
): number | 'spawn' | null {
  let free = -1;
  let best = -1;
  for (let k = 0; k < workers.length; k++) {
    const w = workers[k]!;
    if (w.tasks < WORKER_CONCURRENCY) {
      if (free < 0 || w.tasks < workers[free]!.tasks) free = k;
      continue;
    }
    if (w.tasks >= QUEUE_PER_WORKER || w.waiting + sizeHint > QUEUE_BYTES_PER_WORKER) continue;
    if (best < 0 || w.tasks < workers[best]!.tasks) best = k;
  }
  if (free >= 0) return free;
  if (canSpawn) return 'spawn';
  return best < 0 ? null : best;
}

/** Bytes of a worker's tasks that wait behind the ones it reads (the oldest: it starts them in order). */
function waitingBytes(tasks: Map<number, Task>): number {
  let k = 0;
  let bytes = 0;
  for (const t of tasks.values()) if (k++ >= WORKER_CONCURRENCY) bytes += t.sizeHint;
  return bytes;
}

function toFileHash(raw: Extract<HashResponse, { ok: true }>['result']): FileHash {
  const chunks: ChunkRef[] = new Array(raw.chunkSizes.length);
  for (let k = 0; k < chunks.length; k++) {
    chunks[k] = { hash: raw.chunkHashes.subarray(k * HASH_BYTES, (k + 1) * HASH_BYTES), size: raw.chunkSizes[k] };
  }
  return { size: raw.size, mtimeMs: raw.mtimeMs, inode: raw.inode, mode: raw.mode, chunks, hash: raw.hash, racy: raw.racy };
}

export class HashPool {
  readonly size: number;
  private readonly data: HashWorkerData;
  private readonly idleMs: number;
  private readonly youngGenerationMb: number;
  private readonly workerUrl: URL;
  private readonly slots = new Set<Slot>();
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(opts: HashPoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? 1);
    const params = opts.params ?? DEFAULT_CDC_PARAMS;
    validateParams(params);
    this.data = { params: { ...params }, maxAttempts: opts.maxAttempts ?? 3, readSize: opts.readSize ?? 1024 * 1024 };
    this.idleMs = opts.idleMs ?? 30_000;
    this.youngGenerationMb = opts.youngGenerationMb ?? 3;
    this.workerUrl = opts.workerUrl ?? defaultWorkerUrl();
  }

  /** Worker threads running now (each holds its own V8 heap: an idle daemon should hold none). */
  get workers(): number {
    return this.slots.size;
  }

  /** Tasks waiting for a worker plus tasks sent to one (queued there or being hashed). */
  get pending(): number {
    let sent = 0;
    for (const s of this.slots) sent += s.tasks.size;
    return sent + this.queue.length;
  }

  /**
   * Chunk and hash one file. Rejects with a HashError (see file-hash.ts for its codes).
   * `sizeHint` (the size the caller last saw) keeps small files from queueing behind a big one.
   */
  hash(path: string, sizeHint = 0): Promise<FileHash> {
    if (this.closed) return Promise.reject(new HashError('the hash pool is closed', 'ECLOSED'));
    return new Promise<FileHash>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, path, sizeHint: Math.max(0, sizeHint), resolve, reject });
      this.dispatch();
    });
  }

  /** Stops all workers; tasks not finished are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new HashError('the hash pool was closed', 'ECLOSED');
    for (const t of this.queue.splice(0)) t.reject(err);
    const slots = [...this.slots];
    this.slots.clear();
    for (const s of slots) {
      if (s.idleTimer) clearTimeout(s.idleTimer);
      for (const t of s.tasks.values()) t.reject(err);
      s.tasks.clear();
    }
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => 0)));
  }

  private pickSlot(next: Task): Slot | undefined | 'spawn' {
    const slots = [...this.slots];
    const k = placeTask(
      slots.map((s) => ({ tasks: s.tasks.size, waiting: waitingBytes(s.tasks) })),
      this.slots.size < this.size,
      next.sizeHint,
    );
    return k === 'spawn' || k === null ? (k ?? undefined) : slots[k];
  }

  private dispatch(): void {
    while (this.queue.length) {
      let slot = this.pickSlot(this.queue[0]!);
      if (!slot) return;
      if (slot === 'spawn') {
        try {
          slot = this.spawn();
        } catch (err) {
          // Out of threads or memory. This runs inside worker events too, where a throw would
          // stop the process: the running workers take the queue, and with none it fails per file.
          if (this.slots.size === 0) {
            const e = new HashError(`cannot start a hash worker: ${(err as Error)?.message ?? String(err)}`, 'EWORKER');
            for (const t of this.queue.splice(0)) t.reject(e);
          }
          return;
        }
      }
      const task = this.queue.shift()!;
      slot.tasks.set(task.id, task);
      if (slot.idleTimer) {
        clearTimeout(slot.idleTimer);
        slot.idleTimer = null;
      }
      slot.worker.ref();
      const req: HashRequest = { id: task.id, path: task.path };
      slot.worker.postMessage(req);
    }
  }

  private spawn(): Slot {
    const resourceLimits = { maxYoungGenerationSizeMb: this.youngGenerationMb };
    const worker = this.workerUrl.pathname.endsWith('.ts')
      ? new Worker(tsxBootstrap(this.workerUrl), { eval: true, workerData: this.data, execArgv: [], resourceLimits })
      : new Worker(this.workerUrl, { workerData: this.data, execArgv: [], resourceLimits });
    const slot: Slot = { worker, tasks: new Map(), idleTimer: null };
    this.slots.add(slot);
    worker.on('message', (msg: HashResponse) => {
      const task = slot.tasks.get(msg.id);
      if (!task) return;
      slot.tasks.delete(msg.id);
      if (msg.ok) task.resolve(toFileHash(msg.result));
      else task.reject(new HashError(msg.error.message, msg.error.code));
      this.dispatch();
      this.idle(slot);
    });
    const fail = (why: string) => {
      if (!this.slots.delete(slot)) return;
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      for (const task of slot.tasks.values()) task.reject(new HashError(`hashing ${task.path} failed: ${why}`, 'EWORKER'));
      slot.tasks.clear();
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (err) => fail(err?.message ?? String(err)));
    worker.on('exit', (code) => fail(`hash worker exited (code ${code})`));
    return slot;
  }

  private idle(slot: Slot): void {
    if (slot.tasks.size || slot.idleTimer) return;
    slot.worker.unref();
    slot.idleTimer = setTimeout(() => {
      if (slot.tasks.size || !this.slots.delete(slot)) return;
      void slot.worker.terminate().catch(() => 0);
    }, this.idleMs);
    slot.idleTimer.unref();
  }
}
