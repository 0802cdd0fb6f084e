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
        log('error', `${where}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      } catch {
        // a throwing logger must not take the process down either
      }
    }
  };
}
