// One daemon per home: a lock file holding the owner's pid, created exclusively. A lock whose
// process is gone (a crash, kill -9) is stale and is taken over.
import { openSync, writeSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE } from './home-files.ts';

export class DaemonRunningError extends Error {
  constructor(
    readonly home: string,
    readonly pid: number,
  ) {
    super(`a daemon is already running for home ${home} (pid ${pid}); stop it with \`peerfold --home ${home} stop\``);
    this.name = 'DaemonRunningError';
  }
}

/**
 * True when a process with this pid runs (EPERM: it exists but belongs to someone else). A zombie
 * (exited, not yet reaped by its parent) does not run, though kill(pid, 0) still succeeds for it.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** Linux only (elsewhere: false): the process has exited and waits to be reaped. */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S ...": the name may hold spaces and parentheses, the state follows the last ')'
  const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
  return state === 'Z' || state === 'X';
}

/** The pid that holds the home's daemon lock, or null when nobody does. */
export function lockHolder(home: string): number | null {
  return readLockPid(join(home, LOCK_FILE));
}

/** Lock files this process holds: our own pid in a lock is stale unless it is one of these. */
const heldHere = new Set<string>();

export interface DaemonLock {
  readonly file: string;
  release(): void;
}

function readLockPid(file: string): number | null {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/**
 * Takes the home's daemon lock or throws DaemonRunningError. `alive` is injectable for tests.
 * Two daemons racing over a stale lock: both remove it, only one wins the exclusive create.
 */
export function acquireLock(home: string, alive: (pid: number) => boolean = isProcessAlive): DaemonLock {
  const file = join(home, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      let released = false;
      heldHere.add(file);
      return {
        file,
        release() {
          if (released) return;
          released = true;
          heldHere.delete(file);
          if (readLockPid(file) === process.pid) rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = readLockPid(file);
      // Our own pid in a lock we do not hold is stale: a container restarted with the same home
      // gets the same small pid. An empty lock may be one being written this instant: it counts as
      // held on the second look.
      if (pid === process.pid && heldHere.has(file)) throw new DaemonRunningError(home, pid);
      if (pid !== null && pid !== process.pid && alive(pid)) throw new DaemonRunningError(home, pid);
      if (attempt === 1) throw new DaemonRunningError(home, pid ?? 0);
      rmSync(file, { force: true });
    }
  }
  throw new Error('unreachable');
}
