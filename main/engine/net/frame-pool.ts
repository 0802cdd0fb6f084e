// Memory for the big frames a bulk stream receives (answers carrying chunks), used again once the
// chunk they carried is written.
//
// A receiver of a big file takes in a GiB of answers per GiB, each in a buffer of its own
// (bulk-tls.ts FrameReader), and V8 starts a major collection for every few dozen MiB of
// ArrayBuffer memory allocated: most of what was left of the receiver's GC (bench/README.md, "The
// receiver's CPU per byte, second round"). A frame's memory comes from here, and the puller hands
// it back once its chunk is on disk (recycleFrame); memory never handed back (a chunk that failed
// its hash, an answer nobody waited for, a sealed share's blob) is collected as before.
//
// The memory is a SharedArrayBuffer: the thread that checks a received chunk's hash
// (pull/chunk-verify.ts) reads it where it lies, with no copy on the way there.

/** Sizes are rounded up to a multiple of this: chunks vary in size (content-defined), classes do not. */
const CLASS_BYTES = 32 * 1024;
/** Free memory kept per size class at most (a burst of answers beyond it is collected as before). */
const MAX_FREE_BYTES_PER_CLASS = 4 * 1024 * 1024;

const free = new Map<number, SharedArrayBuffer[]>();
/** memory handed out by frameBuffer and not handed back yet */
const lent = new WeakSet<ArrayBufferLike>();

function classOf(len: number): number {
  return Math.ceil(len / CLASS_BYTES) * CLASS_BYTES;
}

/** A buffer of `len` bytes (contents undefined) at offset 0 of memory that recycleFrame may take back. */
export function frameBuffer(len: number): Buffer {
  const size = classOf(len);
  // never from Node's shared pool: the memory must be this frame's alone
  const memory = free.get(size)?.pop() ?? new SharedArrayBuffer(size);
  lent.add(memory);
  return Buffer.from(memory, 0, len);
}

/** Whether `view` lies in memory from frameBuffer that is not back yet (kept as it is: it is recycled, not held). */
export function isPooledFrame(view: Uint8Array): boolean {
  return lent.has(view.buffer);
}

/**
 * Hands the memory under `view` back: the caller and everyone it got `view` from are done with it
 * (a chunk written to disk). Anything else (not from frameBuffer, or already back) is ignored.
 */
export function recycleFrame(view: Uint8Array): void {
  const memory = view.buffer;
  if (!lent.has(memory)) return;
  lent.delete(memory);
  const size = memory.byteLength;
  let list = free.get(size);
  if (!list) free.set(size, (list = []));
  if ((list.length + 1) * size <= MAX_FREE_BYTES_PER_CLASS) list.push(memory as SharedArrayBuffer);
}

/** Free memory held now, in bytes (tests). */
export function freeFrameBytes(): number {
  let n = 0;
  for (const [size, list] of free) n += size * list.length;
  return n;
}
