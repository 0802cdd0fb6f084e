import { platform } from 'node:os';

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
  if (parts[0] === '.peerfold') return 'inside the internal .peerfold folder';
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
  for (const part of parts) if (Buffer.byteLength(part) > 255) return `name longer than 255 bytes, more than this file system holds: ${part.slice(0, 32)}…`;
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
