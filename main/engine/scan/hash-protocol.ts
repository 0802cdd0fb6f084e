// Messages between HashPool (hasher.ts) and its workers (hash-worker.ts).

import type { CdcParams } from './cdc.ts';
import type { RawFileHash } from './file-hash.ts';

export interface HashWorkerData {
  params: CdcParams;
  maxAttempts: number;
  readSize: number;
}

export interface HashRequest {
  id: number;
  path: string;
}

export type HashResponse =
  { id: number; ok: true; result: RawFileHash } | { id: number; ok: false; error: { message: string; code: string } };

/** Files one worker reads at once (hash-worker.ts); the pool queues the rest behind them (hasher.ts placeTask). */
export const WORKER_CONCURRENCY = 2;
