// Paths whose pull failed wait before the next try, longer after each failure, so a failure that
// nothing fixes (a folder that is a symlink on this device, a full disk) costs one try every few
// minutes instead of a busy loop. Each failure is shown per path until it is gone.
import type { PathError } from '../../../shared/api.ts';
import { LocalChangeError } from './apply.ts';
import { UnsafePathError } from './path-safety.ts';

export const RETRY_FIRST_MS = 5_000;
export const RETRY_MAX_MS = 300_000;

/** What kind of cause a failure has: it says when trying again may help. */
/** 'transfer': no peer could supply the file (none connected, or all failed): peers may change. */
export type FailureKind = 'space' | 'permission' | 'in-the-way' | 'transfer' | 'other';

export interface Failure {
  error: string;
  kind: FailureKind;
  /** failures in a row for the same decision */
  attempts: number;
  /** ms since epoch; no try before */
  retryAt: number;
  /** the decision that failed: once the index says something else about the path, it is tried at once */
  decision: string;
  /** bytes the pull needs on disk (for 'space': tried again once that much is free) */
  bytes: number;
}

/** The wait after `attempts` failures in a row: 5 s, 10 s, 20 s, ... at most 5 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.max(0, attempts - 1));
}

export function failureKind(err: unknown): FailureKind {
  if (err instanceof LocalChangeError || err instanceof UnsafePathError) return 'in-the-way';
  const code = (err as NodeJS.ErrnoException).code;
  // the file system's errors carry a code; the network's do not
  if (code === undefined) return 'transfer';
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'space';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'permission';
    default:
      return 'other';
  }
}

/** A person's words for why a pull failed, and what happens next. */
export function describeFailure(err: unknown): string {
  if (err instanceof LocalChangeError) {
    return 'something on this device is in the way that a rescan does not explain (a folder on the way that is a symlink?); it is left alone and tried again later';
  }
  if (err instanceof UnsafePathError) return `${err.message} (tried again later)`;
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENAMETOOLONG':
      return 'the name is too long for this file system';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the disk is full; free some space and it will be retried';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied; check the folder permissions (it is retried after they change)';
    case 'EROFS':
      return 'the file system is read-only; it is retried once it can be written';
    case 'EINVAL':
    case 'EILSEQ':
      return 'this file system cannot hold that name';
    default:
      return e.message ?? String(err);
  }
}

/** Per path: the last failure of its pull and when to try again. Pure bookkeeping, no I/O. */
export class RetryBook {
  private readonly failures = new Map<string, Failure>();

  /** Records a failure; returns it (with the wait it set). */
  failed(path: string, decision: string, err: unknown, now: number, bytes = 0): Failure {
    const prev = this.failures.get(path);
    const attempts = prev && prev.decision === decision ? prev.attempts + 1 : 1;
    const f: Failure = {
      error: describeFailure(err),
      kind: failureKind(err),
      attempts,
      retryAt: now + retryDelayMs(attempts),
      decision,
      bytes,
    };
    this.failures.set(path, f);
    return f;
  }

  succeeded(path: string): void {
    this.failures.delete(path);
  }

  /** Records a problem that no try can fix (a name this file system cannot hold): shown, never retried. */
  refused(path: string, error: string): void {
    this.failures.set(path, { error, kind: 'other', attempts: 1, retryAt: Number.POSITIVE_INFINITY, decision: '', bytes: 0 });
  }

  /**
   * Whether a pull of `path` for `decision` must wait. A different decision (the index changed:
   * a rescan found a local edit, a peer sent a newer version) is tried at once.
   */
  waiting(path: string, decision: string, now: number): boolean {
    const f = this.failures.get(path);
    if (!f) return false;
    if (f.decision !== decision && f.retryAt !== Number.POSITIVE_INFINITY) {
      this.failures.delete(path);
      return false;
    }
    return f.retryAt > now;
  }

  /** Forgets paths that no longer need anything. */
  keepOnly(needed: { has(path: string): boolean }): void {
    for (const p of this.failures.keys()) if (!needed.has(p)) this.failures.delete(p);
  }

  /** The earliest time a waiting path may be tried again, or null. */
  nextRetryAt(): number | null {
    let next: number | null = null;
    for (const f of this.failures.values()) if (Number.isFinite(f.retryAt) && (next === null || f.retryAt < next)) next = f.retryAt;
    return next;
  }

  /**
   * The cause may have gone (found by a rescan): failures for lack of space that now fit in
   * `freeBytes`, and permission failures, are tried at once.
   */
  wake(freeBytes: number | null): number {
    let woken = 0;
    for (const f of this.failures.values()) {
      if (!Number.isFinite(f.retryAt) || f.retryAt === 0) continue;
      const fits = f.kind === 'space' && freeBytes !== null && freeBytes > f.bytes;
      if (fits || f.kind === 'permission') {
        f.retryAt = 0;
        woken++;
      }
    }
    return woken;
  }

  /** Peers changed (one connected, a peer's index moved on): failed transfers are tried at once. */
  wakeTransfers(): number {
    let woken = 0;
    for (const f of this.failures.values()) {
      if (f.kind === 'transfer' && f.retryAt !== 0) {
        f.retryAt = 0;
        woken++;
      }
    }
    return woken;
  }

  get size(): number {
    return this.failures.size;
  }

  has(path: string): boolean {
    return this.failures.has(path);
  }

  /** The paths with a failure (a copy: callers may change the book while they go through it). */
  paths(): string[] {
    return [...this.failures.keys()];
  }

  errors(): PathError[] {
    return [...this.failures].map(([path, f]) => ({ path, error: f.error }));
  }
}
