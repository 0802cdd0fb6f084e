// One share's work, one job at a time: scanning the folder, pulling from peers and applying a
// peer's index entries are jobs on this queue. Because they take turns, a scan never sees a pull
// half-way (a file installed while its folder was walked), and a pull never decides from an index
// that a scan is changing. A long pull gives way between files when other work waits, so a scan
// is not starved.
//
// Order when several are waiting: a peer's index entries (cheap; the peer waits for our ack),
// then a scan, then pulling. A peer's entries do not wait for a pull turn to end: they are written
// at the turn's next file boundary (they change only the peer's rows, and every file's decision is
// read again from the index before it is carried out), so a big file in flight never holds up the
// index exchange. A scan does wait for the turn to give way.
//
// A big index arrives as many batches, which the link hands over one after another as fast as it
// checks them, without returning to the event loop. So after writing what waits, the loop yields
// to the event loop (timers, such as the pull asked for after the first batch, and I/O run), and
// a scan or a pull that waits then takes its turn before more batches: a new device starts pulling
// while the rest of a 100,000-file index still arrives (the pull turn writes it between files).

export type ShareJob = 'scan' | 'pull' | 'remote-index';

/** A scan request: every path, or some paths (merged while waiting). */
export type ScanRequest = { all: true } | { all: false; paths: Set<string> };

export interface ShareLoopJobs {
  scan(request: ScanRequest): Promise<void>;
  /**
   * One turn of pulling. `mustYield()` turns true when other work waits (after the turn had some
   * time): finish the files in flight, start no new one, and return 'more'.
   */
  pull(mustYield: () => boolean): Promise<'done' | 'more'>;
  /** the job that runs (or null): the share's state follows it */
  jobChanged(job: ShareJob | null): void;
  /** may jobs run now (not stopped); a paused share still scans */
  log(message: string): void;
}

/** A pull turn runs at least this long before it gives way (its files in flight finish first). */
export const PULL_TURN_MS = 500;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface RemoteBatch extends Waiter {
  apply: () => void;
}

export class ShareLoop {
  private scanWanted: ScanRequest | null = null;
  private scanWaiters: Waiter[] = [];
  private readonly remote: RemoteBatch[] = [];
  private pullWanted = false;
  private pullTimer: NodeJS.Timeout | null = null;
  private pullTimerAt = 0;
  private running: Promise<void> | null = null;
  private job: ShareJob | null = null;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly jobs: ShareLoopJobs) {}

  get current(): ShareJob | null {
    return this.job;
  }

  /** Scans some paths (or everything) soon; resolves when a scan covering them has run. */
  requestScan(paths?: readonly string[]): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!paths) this.scanWanted = { all: true };
    else if (!this.scanWanted) this.scanWanted = { all: false, paths: new Set(paths) };
    else if (!this.scanWanted.all) for (const p of paths) this.scanWanted.paths.add(p);
    const done = new Promise<void>((resolve, reject) => this.scanWaiters.push({ resolve, reject }));
    this.kick();
    return done;
  }

  /**
   * Applies a peer's index entries as a job of this share (`apply` writes them to the index);
   * resolves once they are written, so the peer is acknowledged only then.
   */
  enqueueRemoteIndex(apply: () => void): Promise<void> {
    if (this.stopped) {
      apply();
      return Promise.resolve();
    }
    const done = new Promise<void>((resolve, reject) => this.remote.push({ apply, resolve, reject }));
    this.kick();
    return done;
  }

  /** Asks for a pull turn, at the earliest after `delayMs`; requests coalesce. */
  requestPull(delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      if (this.pullTimer) clearTimeout(this.pullTimer);
      this.pullTimer = null;
      this.pullWanted = true;
      this.kick();
      return;
    }
    const at = Date.now() + delayMs;
    if (this.pullWanted || (this.pullTimer && this.pullTimerAt <= at)) return;
    if (this.pullTimer) clearTimeout(this.pullTimer);
    this.pullTimerAt = at;
    this.pullTimer = setTimeout(() => {
      this.pullTimer = null;
      this.requestPull(0);
    }, delayMs);
  }

  /** Resolves when nothing is running or waiting (a pull timer may still be set). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Whether a pull turn is asked for or waiting for its time. */
  get pullPending(): boolean {
    return this.pullWanted || this.pullTimer !== null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pullTimer) clearTimeout(this.pullTimer);
    this.pullTimer = null;
    this.pullWanted = false;
    await this.running;
    this.applyRemote();
    for (const w of this.scanWaiters.splice(0)) w.resolve();
  }

  /** Writes the peer's entries that wait, in order. */
  private applyRemote(): void {
    for (const batch of this.remote.splice(0)) {
      try {
        batch.apply();
        batch.resolve();
      } catch (err) {
        batch.reject(err);
      }
    }
  }

  private othersWaiting(): boolean {
    return this.remote.length > 0 || this.scanWanted !== null;
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain()
      .catch((err) => this.jobs.log(`share loop failed: ${(err as Error).message}`))
      .finally(() => {
        this.running = null;
        this.setJob(null);
        for (const r of this.idleWaiters.splice(0)) r();
        // work that arrived while the last job was finishing
        if (!this.stopped && (this.othersWaiting() || this.pullWanted)) this.kick();
      });
  }

  private setJob(job: ShareJob | null): void {
    if (this.job === job) return;
    this.job = job;
    this.jobs.jobChanged(job);
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      if (this.remote.length) {
        this.setJob('remote-index');
        this.applyRemote();
        await nextTurnOfEventLoop();
        if (this.stopped) return;
        if (!this.scanWanted && !this.pullWanted) continue;
      }
      if (this.scanWanted) {
        const request = this.scanWanted;
        const waiters = this.scanWaiters.splice(0);
        this.scanWanted = null;
        this.setJob('scan');
        try {
          await this.jobs.scan(request);
          for (const w of waiters) w.resolve();
        } catch (err) {
          for (const w of waiters) w.reject(err);
        }
        continue;
      }
      if (this.pullWanted) {
        this.pullWanted = false;
        this.setJob('pull');
        const started = Date.now();
        const mustYield = () => {
          this.applyRemote();
          return this.stopped || (this.scanWanted !== null && Date.now() - started >= PULL_TURN_MS);
        };
        if ((await this.jobs.pull(mustYield)) === 'more') this.pullWanted = true;
        continue;
      }
      return;
    }
  }
}

/** Resolves after the event loop has run its timers and I/O once (setImmediate: after the poll phase). */
function nextTurnOfEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
