// Logging and callback guarding shared by the net modules.
//
// node-datachannel aborts the whole process when a JavaScript exception escapes one of its
// callbacks, and the ws/dgram event handlers would crash it too (uncaught). So every callback
// we hand to them goes through `guard`, which logs instead of throwing.

export type NetLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type NetLog = (level: NetLogLevel, message: string) => void;

/** Default logger: warnings and errors to stderr, nothing else. */
export const defaultNetLog: NetLog = (level, message) => {
  if (level === 'warn' || level === 'error') console.error(`[peerfold:net] ${level}: ${message}`);
};

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Wraps a callback so that nothing it throws can escape (see the note at the top). */
export function guard<A extends unknown[]>(log: NetLog, where: string, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      try {
        log('error', `${where}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      } catch {
        // a throwing logger must not take the process down either
      }
    }
  };
}

/**
 * Logs at most `burst` lines per key (e.g. a remote address) per window, then one line saying how
 * many were left out: whoever can open connections cannot fill the log.
 */
export class LogThrottle {
  private readonly keys = new Map<string, { windowStart: number; logged: number; dropped: number }>();

  constructor(
    private readonly log: NetLog,
    private readonly burst = 20,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  note(level: NetLogLevel, key: string, message: string): void {
    const t = this.now();
    let k = this.keys.get(key);
    if (k && t - k.windowStart >= this.windowMs) {
      if (k.dropped)
        this.log(level, `${k.dropped} more like this from ${key} in the last ${Math.round(this.windowMs / 1000)} s were not logged`);
      k = undefined;
    }
    if (!k) {
      if (this.keys.size >= 1000) this.prune(t);
      k = { windowStart: t, logged: 0, dropped: 0 };
      this.keys.set(key, k);
    }
    if (k.logged < this.burst) {
      k.logged++;
      this.log(level, message);
    } else k.dropped++;
  }

  private prune(t: number): void {
    for (const [key, k] of this.keys) if (t - k.windowStart >= this.windowMs) this.keys.delete(key);
  }
}
