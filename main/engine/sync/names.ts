import { posix } from 'node:path';

/** YYYYMMDD-HHMMSS in local time: the stamp users see in conflict and archive names. */
export function timeStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** A short tag for archive names: who made the version and their counter. */
export function versionTag(r: { version: Readonly<Record<string, number>>; modifiedBy: string }): string {
  const who = r.modifiedBy.replace(/[^A-Za-z0-9]/g, '').slice(0, 7) || 'local';
  return `${who}-${r.version[r.modifiedBy] ?? 0}`;
}

/** A device name made safe for a file name on every OS. */
export function safeDeviceName(name: string): string {
  const s = name
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._-]+/gu, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return s.slice(0, 40) || 'device';
}

/** Splits "a/b/report.final.docx" into dir "a/b", stem "report.final", ext ".docx"; dotfiles have no ext. */
export function splitName(path: string): { dir: string; stem: string; ext: string } {
  const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
  const base = posix.basename(path);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return { dir, stem: base, ext: '' };
  return { dir, stem: base.slice(0, dot), ext: base.slice(dot) };
}

function join(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/** The first 7 characters of a device ID (its first group): what tells devices of one name apart. */
export function shortDeviceId(deviceId: string): string {
  return deviceId.replace(/-/g, '').slice(0, 7).toUpperCase();
}

/** What every conflict copy's name holds (parseConflictPath needs more). */
export const CONFLICT_MARK = '.conflict-';

/**
 * name.conflict-<device name>-<ID7>-<YYYYMMDD-HHMMSS>.ext, with -2, -3… when that name is taken.
 * A conflict of a conflict copy is named after the file the copy came from, so names never nest.
 */
export function conflictPath(path: string, author: { name: string; id: string }, ms: number, taken: (p: string) => boolean): string {
  const { dir, stem, ext } = splitName(conflictOrigin(path));
  const base = `${stem}${CONFLICT_MARK}${safeDeviceName(author.name)}-${shortDeviceId(author.id)}-${timeStamp(ms)}`;
  for (let n = 1; ; n++) {
    const candidate = join(dir, `${base}${n === 1 ? '' : `-${n}`}${ext}`);
    if (!taken(candidate)) return candidate;
  }
}

// With the author's ID7, and without it (copies made by earlier versions, still on disks).
const conflictRe = /^(.*)\.conflict-(.+)-([A-Z2-7]{7})-(\d{8}-\d{6})(?:-\d+)?(\.[^./]*)?$/u;
const conflictReWithoutId = /^(.*)\.conflict-(.+)-(\d{8}-\d{6})(?:-\d+)?(\.[^./]*)?$/u;

export interface ParsedConflictPath {
  /** the path this is a conflict copy of (itself a conflict copy in names made before they stopped nesting) */
  original: string;
  deviceName: string;
  /** the author's ID7; null in names made by versions before it was added */
  deviceIdPrefix: string | null;
  stamp: string;
}

/** For a conflict copy's path, the path it is a conflict of and the device named in it. */
export function parseConflictPath(path: string): ParsedConflictPath | null {
  const { dir } = splitName(path);
  const base = posix.basename(path);
  const m = conflictRe.exec(base);
  if (m) return { original: join(dir, `${m[1]}${m[5] ?? ''}`), deviceName: m[2]!, deviceIdPrefix: m[3]!, stamp: m[4]! };
  const old = conflictReWithoutId.exec(base);
  if (!old) return null;
  return { original: join(dir, `${old[1]}${old[4] ?? ''}`), deviceName: old[2]!, deviceIdPrefix: null, stamp: old[3]! };
}

/** The file a (possibly nested) conflict copy came from; any other path is its own origin. */
export function conflictOrigin(path: string): string {
  for (let p = parseConflictPath(path); p; p = parseConflictPath(path)) path = p.original;
  return path;
}

export const ARCHIVE_DIR = '.peerfold/archive';

/** .peerfold/archive/<dir>/<stem>~<YYYYMMDD-HHMMSS>~<version tag><ext>, unique via `taken`. */
export function archivePath(path: string, ms: number, versionTag: string, taken: (p: string) => boolean): string {
  const { dir, stem, ext } = splitName(path);
  const tag = versionTag.replace(/[^A-Za-z0-9-]/g, '');
  const base = `${stem}~${timeStamp(ms)}~${tag}`;
  for (let n = 1; ; n++) {
    const candidate = join(ARCHIVE_DIR, join(dir, `${base}${n === 1 ? '' : `-${n}`}${ext}`));
    if (!taken(candidate)) return candidate;
  }
}

const archiveRe = /^(.*)~(\d{8}-\d{6})~([A-Za-z0-9-]*?)(?:-\d+)?(\.[^./]*)?$/;

/** For a path inside the archive, the share path it came from and the time it was archived. */
export function parseArchivePath(archived: string): { original: string; stamp: string } | null {
  if (!archived.startsWith(`${ARCHIVE_DIR}/`)) return null;
  const rel = archived.slice(ARCHIVE_DIR.length + 1);
  const { dir } = splitName(rel);
  const m = archiveRe.exec(posix.basename(rel));
  if (!m) return null;
  return { original: join(dir, `${m[1]}${m[4] ?? ''}`), stamp: m[2] };
}

/** Parses a YYYYMMDD-HHMMSS stamp back to local-time ms. */
export function parseStamp(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(stamp);
  if (!m) return NaN;
  return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]).getTime();
}
