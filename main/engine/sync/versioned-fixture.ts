// Tests' shorthand for one device's entry of a path, as the sync decisions see it.
import type { Versioned } from './global.ts';

/** A file entry of `deviceId` at `version`, written by that device unless `over` says otherwise. */
export function versioned(deviceId: string, version: Record<string, number>, over: Partial<Versioned> = {}): Versioned {
  return { deviceId, version, deleted: false, type: 'file', mtimeMs: 1000, modifiedBy: deviceId, hash: 'aa', ...over };
}
