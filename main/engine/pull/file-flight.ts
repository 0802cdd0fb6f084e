// How much of a plan is in flight at once (issue 13: fill the pipe by bytes, not by a fixed count).
// Pure: the puller asks these with what the links' windows hold (ChunkSwarm.windowBytes).
//
// Small files are limited by files, not bytes: each costs a round trip for its chunk and some disk
// work (temp file, fsync, rename), so many must be in flight for a long link to carry more than a
// few per round trip. Big files are limited by bytes: one file asks for chunks ahead by what the
// windows hold, so a single file fills the pipe on its own.

/**
 * Files pulled at once at most: each holds an open temp file and its decision. Across a long link
 * a small file spends a round trip on the wire and as long again in local work (temp file, fsync,
 * rename) on a busy machine: 512 keep the link's 256 requests (flight-window.ts) busy while the
 * others write (128 left it idle between batches: bench/README.md, "Long links").
 */
export const MAX_FILES_IN_FLIGHT = 512;
/**
 * A file this small asks for all its chunks before its local work (folders, temp file), which then
 * overlaps the round trip (file-puller.ts); a larger one opens its temp file first, so an
 * interrupted pull resumes from what it holds instead of fetching it again.
 */
export const EARLY_FETCH_MAX_BYTES = 256 * 1024;
/** Chunk bytes of one file asked for at once at least (a link's first window is 2 MiB). */
export const MIN_CHUNK_DEMAND = 4 * 1024 * 1024;
/** Chunk requests of one file outstanding at most, whatever their bytes. */
export const MAX_CHUNKS_AHEAD = 1024;

/**
 * May the next file (`size` bytes) start, with `running` files of `runningBytes` in flight? Files
 * start while their bytes fit what the links should be asked for (`demandBytes`): many small ones,
 * one or two big ones (more would only queue at the links and time out there on a slow path).
 */
export function mayStartFile(running: number, runningBytes: number, size: number, demandBytes: number): boolean {
  if (running === 0) return true;
  return running < MAX_FILES_IN_FLIGHT && runningBytes + size <= demandBytes;
}

/**
 * Bytes of one file's chunks to keep asked for: twice the windows of its links, so the requests
 * waiting at the links never run dry while answers are written (the links hold the rest back).
 */
export function chunkDemandBytes(windowBytes: number): number {
  return Math.max(MIN_CHUNK_DEMAND, 2 * windowBytes);
}

/** May another chunk of `size` be asked for, with `bytes` in `count` requests of this file outstanding? */
export function mayAskChunk(bytes: number, count: number, size: number, demandBytes: number): boolean {
  if (count === 0) return true;
  return count < MAX_CHUNKS_AHEAD && bytes + size <= demandBytes;
}
