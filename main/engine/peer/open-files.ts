// The files a block server reads, kept open between requests. A pull asks for one file's chunks
// one after another, and an open and a close per ~74 KiB chunk were a good part of the sender's
// CPU per byte. At most `max` files stay open; one unused for `idleMs` is closed, and all of a
// share's are closed when it stops being served here (paused, removed, the link gone), so nothing
// keeps a file open for long after its last request.

import { open, type FileHandle } from 'node:fs/promises';

export interface OpenFilesOptions {
  /** files kept open when unused; default 16 (more are open while more are being read) */
  max?: number;
  /** an unused file is closed after this long; default 2 s */
  idleMs?: number;
}

/** One open file, lent to a reader between acquire() and release(). */
export interface OpenFile<M> {
  readonly path: string;
  readonly group: string;
  readonly handle: FileHandle;
  /** what the reader learned about this open file (the block server keeps its chunk list here) */
  memo: M | null;
}

interface Entry<M> extends OpenFile<M> {
  users: number;
  /** taken out of the cache: closed when the last user releases it */
  dropped: boolean;
  handleClosed: boolean;
  timer: NodeJS.Timeout | null;
}

export class OpenFiles<M> {
  private readonly max: number;
  private readonly idleMs: number;
  /** by path, least recently used first */
  private readonly entries = new Map<string, Entry<M>>();
  /** opens in progress, so that two requests for one file open it once */
  private readonly opening = new Map<string, Promise<Entry<M>>>();
  private closed = false;

  constructor(opts: OpenFilesOptions = {}) {
    this.max = opts.max ?? 16;
    this.idleMs = opts.idleMs ?? 2_000;
  }

  /** Files open right now (lent or waiting to be used again). */
  get size(): number {
    return this.entries.size;
  }

  /** Opens `path` for reading, or lends it again if it is open; release() it when done. Throws what open() throws. */
  async acquire(group: string, path: string): Promise<OpenFile<M>> {
    if (this.closed) throw new Error('the open-file cache is closed');
    const found = this.entries.get(path);
    if (found) {
      this.entries.delete(path); // most recently used last
      this.entries.set(path, found);
      return this.lend(found);
    }
    const pending = this.opening.get(path);
    if (pending) {
      const e = await pending;
      // the opener may have read and released it meanwhile, and a trim closed it: open again
      return e.handleClosed ? this.acquire(group, path) : this.lend(e);
    }
    const opened = open(path, 'r').then(
      (handle) => {
        this.opening.delete(path);
        // lent to the opener from the start: a trim (here, or by a release before the opener
        // resumes) closes only files nobody reads, and this one is about to be read
        const e: Entry<M> = { path, group, handle, memo: null, users: 1, dropped: false, handleClosed: false, timer: null };
        if (this.closed) e.dropped = true;
        else {
          this.entries.set(path, e);
          this.trim();
        }
        return e;
      },
      (err: unknown) => {
        this.opening.delete(path);
        throw err;
      },
    );
    this.opening.set(path, opened);
    return opened;
  }

  /** Whether `path` is open here (or being opened) now. */
  isOpen(path: string): boolean {
    return this.entries.has(path) || this.opening.has(path);
  }

  /** Lends `path` when it is open already; null when it is not (nothing is opened). */
  lendIfOpen(path: string): OpenFile<M> | null {
    const found = this.entries.get(path);
    return found ? this.lend(found) : null;
  }

  release(file: OpenFile<M>): void {
    const e = file as Entry<M>;
    if (--e.users > 0) return;
    if (e.dropped) return void this.closeEntry(e);
    e.timer = setTimeout(() => this.drop(e), this.idleMs);
    e.timer.unref();
    this.trim();
  }

  /** This open file no longer is what its path names (replaced, changed): the next acquire opens the path again. */
  drop(file: OpenFile<M>): void {
    const e = file as Entry<M>;
    if (this.entries.get(e.path) === e) this.entries.delete(e.path);
    e.dropped = true;
    if (e.users === 0) this.closeEntry(e);
  }

  /** Closes every file of a group (a share no longer served here); those being read close after the read. */
  closeGroup(group: string): void {
    for (const e of [...this.entries.values()]) if (e.group === group) this.drop(e);
  }

  /** Closes everything; later acquires fail. */
  close(): void {
    this.closed = true;
    for (const e of [...this.entries.values()]) this.drop(e);
  }

  private lend(e: Entry<M>): OpenFile<M> {
    e.users++;
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    return e;
  }

  /** Closes the least recently used unlent files beyond `max`. */
  private trim(): void {
    if (this.entries.size <= this.max) return;
    for (const e of [...this.entries.values()]) {
      if (this.entries.size <= this.max) return;
      if (e.users === 0) this.drop(e);
    }
  }

  private closeEntry(e: Entry<M>): void {
    if (e.handleClosed) return;
    e.handleClosed = true;
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    e.memo = null;
    // FileHandle.close waits for reads still running on it; an error here has no one to tell
    void e.handle.close().catch(() => {});
  }
}
