import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ApiError } from '../../../shared/errors.ts';

/** a inside b, or the same folder. */
export function isInsideOrSame(a: string, b: string): boolean {
  const rel = relative(b, a);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/** The canonical absolute form of a folder the user named (symlinks resolved when it exists). */
export function canonicalFolder(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/**
 * Refuses a folder that cannot be shared, with a message that says why: it does not exist, is a
 * file, is not writable, overlaps another share, or holds Peerfold's own state.
 */
export function checkShareableFolder(
  path: string,
  shares: readonly { name: string; path: string }[],
  home: string,
  mustExist: boolean,
): string {
  const abs = canonicalFolder(path);
  let exists = false;
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
    exists = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw new ApiError('refused', `${abs} cannot be a folder: a part of that path is a file`);
    if (mustExist) throw new ApiError('refused', `no such folder: ${abs}`);
  }
  if (exists && !isDir) {
    throw new ApiError(
      'refused',
      `${abs} is a file, not a folder; ${mustExist ? 'share the folder that holds it' : 'give a folder (a new one is created)'}`,
    );
  }
  if (isDir) {
    try {
      accessSync(abs, constants.W_OK | constants.R_OK);
    } catch {
      throw new ApiError('refused', `${abs} is not readable and writable by this user; fix its permissions or pick another folder`);
    }
  }
  for (const s of shares) {
    if (isInsideOrSame(abs, s.path))
      throw new ApiError(
        'refused',
        abs === s.path ? `${abs} is already shared as "${s.name}"` : `${abs} is inside the share "${s.name}" (${s.path})`,
      );
    if (isInsideOrSame(s.path, abs))
      throw new ApiError('refused', `${abs} contains the share "${s.name}" (${s.path}); shares cannot overlap`);
  }
  const canonHome = canonicalFolder(home);
  if (isInsideOrSame(abs, canonHome) || isInsideOrSame(canonHome, abs)) {
    throw new ApiError('refused', `${abs} overlaps Peerfold's own home folder (${canonHome}); pick another folder`);
  }
  return abs;
}
