// A file renamed into place is durable under its new name once its folder has been fsynced after
// the rename. Files that arrive together in one folder share that fsync: a caller joins the next
// sync of the folder (one already running may have begun before the caller's rename, so it does
// not count), and all who joined it are done when it is. With 16 small files in flight, mostly in
// one folder, that is one or two folder fsyncs where there were 16, and the files' index entries
// are still written only after their folder sync.

interface FolderSyncs {
  running: Promise<void> | null;
  /** the sync that starts when the running one ends, shared by everyone who asked meanwhile */
  next: Promise<void> | null;
}

export class DirSyncs {
  private readonly folders = new Map<string, FolderSyncs>();

  constructor(private readonly syncDir: (dir: string) => Promise<void>) {}

  /** Resolves once `dir` has been fsynced by a sync that began after this call. */
  after(dir: string): Promise<void> {
    let f = this.folders.get(dir);
    if (!f) {
      f = { running: null, next: null };
      this.folders.set(dir, f);
    }
    const { running } = f;
    if (!running) return this.start(dir, f);
    const state = f;
    state.next ??= running.then(
      () => this.start(dir, state, true),
      () => this.start(dir, state, true),
    );
    return state.next;
  }

  /** Folders with a sync running or waiting (for tests). */
  get busy(): number {
    return this.folders.size;
  }

  private start(dir: string, f: FolderSyncs, wasNext = false): Promise<void> {
    if (wasNext) f.next = null;
    const run = this.syncDir(dir).finally(() => {
      if (f.running !== run) return;
      f.running = null;
      if (!f.next) this.folders.delete(dir);
    });
    f.running = run;
    return run;
  }
}
