// Memory for the big frames a bulk stream receives (answers carrying chunks) and for the chunks a
// block server reads to answer with, used again once the chunk is written (to disk or to the
// socket).
//
// A receiver of a big file takes in a GiB of answers per GiB, and V8 starts a major collection for
// every few dozen MiB of ArrayBuffer memory allocated: most of what was left of the receiver's GC
// (bench/README.md, "The receiver's CPU per byte, second round"). A frame's memory comes from here,
// and whoever is done with it hands it back (recycleFrame: the puller once its chunk is on disk, a
// bulk stream once its socket wrote it). Memory never handed back (a chunk that failed its hash, an
// answer nobody waited for) stays taken; the arena does not depend on it.
//
// All of it is one long-lived SharedArrayBuffer, the arena, cut into blocks: the thread that checks
// a received chunk's hash (pull/chunk-verify.ts) is given the arena once and is then told only
// offsets. (Frames that were each a SharedArrayBuffer of their own had to be posted one by one, and
// the worker's handles kept every frame the pool had let go resident until the worker happened to
// collect: 270-545 MB of peak RSS against ~160 MB; bench/README.md, "The big file, fourth round".)
// Blocks are taken first-fit from the start, so the memory touched (resident) stays close to what
// is in flight at most. When the arena has no room, a frame gets a plain buffer of its own, left to
// the collector.

/** The arena's unit: a frame takes whole blocks. */
const BLOCK_BYTES = 32 * 1024;
/** The arena's size: pages are made resident as frames first touch them (first-fit keeps that low). */
const ARENA_BYTES = Math.max(1, Number(process.env.PEERFOLD_FRAME_ARENA_MB ?? 32)) * 1024 * 1024;
const BLOCKS = Math.floor(ARENA_BYTES / BLOCK_BYTES);

let arena: SharedArrayBuffer | null = null;
/** per block: 0 when free, else 1 + the first block of the frame that holds it */
let owner = new Int32Array(0);
/** per first block of a frame handed out: how many blocks it holds */
let blocksOf = new Int32Array(0);
/** frames handed out from the arena and not back yet, and those that found no room there (tests, logs) */
let out = 0;
let missed = 0;

function ensureArena(): SharedArrayBuffer {
  if (!arena) {
    arena = new SharedArrayBuffer(BLOCKS * BLOCK_BYTES);
    owner = new Int32Array(BLOCKS);
    blocksOf = new Int32Array(BLOCKS);
  }
  return arena;
}

/** The first block of `n` free ones in a row, lowest first; -1 when there are none. */
function findFree(n: number): number {
  let i = 0;
  while (i + n <= BLOCKS) {
    let j = i;
    while (j < i + n && owner[j] === 0) j++;
    if (j === i + n) return i;
    // j is taken: skip past the frame that holds it
    const first = owner[j]! - 1;
    i = first + blocksOf[first]!;
  }
  return -1;
}

/** A buffer of `len` bytes (contents undefined) that recycleFrame may take back. */
export function frameBuffer(len: number): Buffer {
  const memory = ensureArena();
  const n = Math.max(1, Math.ceil(len / BLOCK_BYTES));
  const first = findFree(n);
  if (first < 0) {
    missed++;
    // never from Node's shared pool: what keeps this frame's data keeps nothing else alive
    return Buffer.allocUnsafeSlow(len);
  }
  for (let b = first; b < first + n; b++) owner[b] = first + 1;
  blocksOf[first] = n;
  out++;
  return Buffer.from(memory, first * BLOCK_BYTES, len);
}

/** The first block of the arena frame `view` lies in, or -1 (not arena memory, or handed back). */
function frameOf(view: Uint8Array): number {
  if (view.buffer !== arena) return -1;
  const b = Math.floor(view.byteOffset / BLOCK_BYTES);
  return b < BLOCKS ? owner[b]! - 1 : -1;
}

/** Whether `view` lies in a frame from frameBuffer that is not back yet (kept as it is: it is recycled, not held). */
export function isPooledFrame(view: Uint8Array): boolean {
  return frameOf(view) >= 0;
}

/**
 * Hands the frame `view` lies in back: the caller and everyone it got `view` from are done with it
 * (a chunk written to disk or to the socket). Anything else (not from frameBuffer, or already
 * back) is ignored.
 */
export function recycleFrame(view: Uint8Array): void {
  const first = frameOf(view);
  if (first < 0) return;
  const n = blocksOf[first]!;
  for (let b = first; b < first + n; b++) owner[b] = 0;
  blocksOf[first] = 0;
  out--;
}

/** The arena a thread that reads frames is given once (null until the first frame). */
export function frameArena(): SharedArrayBuffer | null {
  return arena;
}

/** Where `view` lies in the arena (byte offset), or -1 when it is not in a frame handed out. */
export function arenaOffset(view: Uint8Array): number {
  return frameOf(view) >= 0 ? view.byteOffset : -1;
}

/** Frames out of the arena now, and frames that found no room in it so far (tests, the bench's log). */
export function frameArenaStats(): { out: number; missed: number; bytes: number } {
  return { out, missed, bytes: BLOCKS * BLOCK_BYTES };
}
