import { promises as fsp, type Stats } from 'node:fs';
import { platform } from 'node:os';
import { join } from 'node:path';
import { PEERFOLD_DIR, isTempName } from '../scan/ignore.ts';

const windowsReserved = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
const windowsBadChars = /[<>:"\\|?*\x00-\x1f]/;

/**
 * Why a path received from a peer is malformed, or null. Paths travel as NFC, '/'-separated and
 * relative; anything else (escaping the share, our own .peerfold folder) is a broken or hostile peer.
 */
export function malformedWirePath(path: string): string | null {
  if (path.length === 0) return 'empty path';
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.startsWith('/') || /^[A-Za-z]:(\/|$)/.test(path)) return 'absolute path';
  if (path !== path.normalize('NFC')) return 'not in NFC form';
  const parts = path.split('/');
  for (const part of parts) if (part === '' || part === '.' || part === '..') return `invalid path component "${part}"`;
  // compared without case: on macOS and Windows `.PeerFold/marker` is the share's own marker
  if (parts[0]!.toLowerCase() === PEERFOLD_DIR) return 'inside the internal .peerfold folder';
  // a conforming peer never indexes temp files; a name like one could overwrite or be removed as ours
  for (const part of parts) if (isTempName(part)) return `"${part}" is named like Peerfold's temp files`;
  return null;
}

/**
 * Why a well-formed path cannot be written on this device's file system, or null. Another OS may
 * hold names this one cannot: those are reported per path, never silently dropped.
 */
export function unsafeRemotePath(path: string, os: NodeJS.Platform = platform()): string | null {
  const malformed = malformedWirePath(path);
  if (malformed) return malformed;
  const parts = path.split('/');
  for (const part of parts)
    if (Buffer.byteLength(part) > 255) return `name longer than 255 bytes, more than this file system holds: ${part.slice(0, 32)}…`;
  if (os === 'win32') {
    for (const part of parts) {
      if (windowsBadChars.test(part)) return `name "${part}" has a character Windows does not allow`;
      if (windowsReserved.test(part)) return `name "${part}" is reserved on Windows`;
      if (/[. ]$/.test(part)) return `name "${part}" ends with a dot or space, which Windows does not allow`;
    }
  }
  return null;
}

/** On case-insensitive file systems two global paths that differ only in case cannot both exist. */
export function caseClashes(paths: readonly string[]): Map<string, string> {
  const seen = new Map<string, string>();
  const clashes = new Map<string, string>();
  for (const p of [...paths].sort()) {
    const key = p.toLowerCase();
    const other = seen.get(key);
    if (other !== undefined && other !== p) clashes.set(p, other);
    else seen.set(key, p);
  }
  return clashes;
}

/**
 * A synced path this device refuses to touch on disk: a symbolic link (or a file) where a folder
 * of the path should be. Writing through a link could reach anything outside the share (a peer's
 * `lnk -> ~/.ssh` then `lnk/authorized_keys`), so it is a per-path error, never followed.
 */
export class UnsafePathError extends Error {
  /** an API call that meets one (restore, resolve) answers 'refused' with this message */
  readonly code = 'refused';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'UnsafePathError';
  }
}

function relParts(rel: string): string[] {
  const parts = rel.split('/');
  if (rel.includes('\0') || rel.startsWith('/') || /^[A-Za-z]:/.test(rel) || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new UnsafePathError(rel, `not synced: "${rel}" is not a path inside the share`);
  }
  return parts;
}

/**
 * The absolute path of share-relative `rel` (any path of the share, `.peerfold/archive/...`
 * included), after checking against the disk, right now, that every folder on the way from the
 * root is a real folder: a symbolic link or a file there throws UnsafePathError. With `create`,
 * missing folders are made one at a time and each is checked after it is made (so a link put
 * there meanwhile is not followed either). Without it a missing folder ends the check: nothing
 * below it exists to follow. The last component is not checked: rename, unlink, rmdir and lstat
 * act on a link itself, and opens use O_NOFOLLOW. Call it immediately before the operation.
 */
export async function safeParent(root: string, rel: string, create = false): Promise<string> {
  const parts = relParts(rel);
  let dir = root;
  for (let i = 0; i < parts.length - 1; i++) {
    dir = join(dir, parts[i]!);
    let st = await folderLstats.lstat(dir);
    if (!st) {
      if (!create) break;
      await fsp.mkdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      st = await fsp.lstat(dir);
    }
    const where = parts.slice(0, i + 1).join('/');
    if (st.isSymbolicLink()) {
      throw new UnsafePathError(
        rel,
        `not synced: "${where}" is a symbolic link on this device, and Peerfold never writes through a link (it could lead outside the share); move the link away to sync ${rel}`,
      );
    }
    if (!st.isDirectory())
      throw new UnsafePathError(rel, `not synced: "${where}" is a file on this device, not a folder, so ${rel} cannot be placed in it`);
  }
  return join(root, ...parts);
}

/**
 * lstat of the folders on the way, shared: many files of one folder are pulled at once, and each
 * checks the same folders just before each step. Callers that ask for the same folder in one turn
 * of the event loop share one lstat, which starts after the last of them asked (in the loop's check
 * phase): so each caller's check still looks at the disk after it asked, as its own lstat would.
 */
class SharedLstats {
  private readonly waiting = new Map<string, Promise<Stats | null>>();

  lstat(full: string): Promise<Stats | null> {
    let p = this.waiting.get(full);
    if (!p) {
      p = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        // from here on a new caller gets a new lstat: this one may already be under way
        this.waiting.delete(full);
        return lstatOrNull(full);
      });
      this.waiting.set(full, p);
    }
    return p;
  }
}

const folderLstats = new SharedLstats();

/** lstat, or null when nothing is there. */
export async function lstatOrNull(full: string) {
  try {
    return await fsp.lstat(full);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
