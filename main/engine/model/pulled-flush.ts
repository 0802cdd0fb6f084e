// When the entries of pulled files are written. Each write of a batch is one durable commit: an
// fdatasync on the main thread, which waits for the disk. A file pulled on its own is recorded
// (and so announced to peers) almost at once; while files keep arriving, commits are spaced out:
// one every 30 ms was a tenth of a new device's main thread while it pulled 5,000 small files.

/** The most entries one batch holds: reached, it is written at once. */
export const PULLED_BATCH_MAX = 256;

/** The wait before writing when nothing was written for a while (a lone file). */
export const LONE_FLUSH_MS = 30;
/** The wait while files stream in (the last batch was written less than STREAM_GAP_MS ago). */
export const STREAM_FLUSH_MS = 250;
export const STREAM_GAP_MS = 1000;

/** How long recorded entries wait for others before they are written, `sinceLastMs` after the last write. */
export function pulledFlushDelayMs(sinceLastMs: number): number {
  return sinceLastMs < STREAM_GAP_MS ? STREAM_FLUSH_MS : LONE_FLUSH_MS;
}
