// The share's own writes, told apart from the user's. Every file a pull installs, folder it makes
// and deletion it carries out is seen by the watcher like any change. Scanning such a path finds
// nothing new (the pull recorded what it wrote), yet the scan is a job of the share's loop: the
// pull turn under way gives way to it and first lets every file in flight finish, so with
// thousands of small files arriving the pull ran in half-second bursts with an empty pipeline
// between them. A path the share wrote itself is therefore scanned only when what is on disk is
// not what the index records for it, as after a user's edit right behind the pull.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isUnchanged, type PreviousState } from '../scan/scanner.ts';

/**
 * How long a path stays "written by the share". The watcher reports within about a second (its
 * debounce), later on a loaded machine; past this the path is simply scanned as before.
 */
export const OWN_WRITE_MS = 60_000;

/**
 * How long a report waits for the pull that writes its path (installing fsyncs, then records).
 * Bounded, because the other paths of the same report wait with it; past it the path is scanned.
 */
export const OWN_WRITE_WAIT_MS = 2_000;

export interface OwnWritesOptions {
  root: () => string;
  /**
   * What the index records for a path now (pulled entries not yet written included): undefined
   * when it records nothing there or a deletion; `racy` when a same-size rewrite could hide.
   */
  recorded: (path: string) => PreviousState | undefined;
  now?: () => number;
}

type DiskState = { type: PreviousState['type']; size: number; mtimeMs: number; inode: number; mode: number } | null | 'unknown';

/** Whether what is at a path (lstat; null when nothing is) is exactly what the index records. */
export function diskMatchesRecord(disk: DiskState, recorded: PreviousState | undefined): boolean {
  if (disk === 'unknown') return false;
  if (disk === null) return recorded === undefined;
  if (!recorded) return false;
  // a folder's mtime moves with its children (reported on their own); a folder put in its place is another inode
  if (disk.type === 'dir' && recorded.inode !== disk.inode) return false;
  return isUnchanged(recorded, disk.type, disk);
}

export class OwnWrites {
  /** path -> when the share wrote it (oldest first) */
  private readonly written = new Map<string, number>();
  /** paths a pull is writing now: their reports wait until it is done (installing fsyncs first) */
  private readonly writing = new Map<string, Promise<unknown>>();
  private readonly now: () => number;

  constructor(private readonly opts: OwnWritesOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Paths the share has just written (installed, made, moved or deleted) and recorded. */
  note(paths: Iterable<string>): void {
    const now = this.now();
    for (const p of paths) {
      this.written.delete(p); // re-inserted at the end: the map stays in time order
      this.written.set(p, now);
    }
    this.prune(now);
  }

  /** A pull writes `path` until `work` settles (then it records what it wrote, or failed). */
  during(path: string, work: Promise<unknown>): void {
    const done = work.then(
      () => undefined,
      () => undefined,
    );
    this.writing.set(path, done);
    void done.then(() => {
      if (this.writing.get(path) === done) this.writing.delete(path);
    });
  }

  get size(): number {
    return this.written.size + this.writing.size;
  }

  /** The reported paths that need a scan: all but the share's own writes that disk and index agree on. */
  async needsScan(paths: string[]): Promise<string[]> {
    this.prune(this.now());
    const keep = await Promise.all(
      paths.map(async (p) => {
        const writing = this.writing.get(p);
        if (writing) await Promise.race([writing, new Promise((r) => setTimeout(r, OWN_WRITE_WAIT_MS).unref())]);
        if (!this.written.has(p)) return true;
        const disk = await lstatState(join(this.opts.root(), p));
        // the index is read after the disk: a pull that installs and records meanwhile is seen
        return !diskMatchesRecord(disk, this.opts.recorded(p));
      }),
    );
    return paths.filter((_, i) => keep[i]);
  }

  private prune(now: number): void {
    for (const [p, at] of this.written) {
      if (now - at < OWN_WRITE_MS) break;
      this.written.delete(p);
    }
  }
}

async function lstatState(full: string): Promise<DiskState> {
  try {
    const s = await fsp.lstat(full);
    const type = s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : null;
    if (!type) return 'unknown';
    return { type, size: s.size, mtimeMs: s.mtimeMs, inode: s.ino, mode: s.mode & 0o7777 };
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : 'unknown';
  }
}
