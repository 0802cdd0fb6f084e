// What this device needs of a share: every path where its own entry differs from the global one
// (sync/decide), in the order the puller carries it out, plus the share's totals for status.
import type { FileRecord, PathEntries } from '../index/rows.ts';
import { decide, type Decision } from '../sync/decide.ts';
import { readOnlyChange, sharedGlobal } from '../sync/read-only.ts';
import { tempRelPath } from './file-puller.ts';
import { unsafeRemotePath } from './path-safety.ts';
import type { RetryBook } from './retry.ts';

export interface NeedItem {
  path: string;
  global: FileRecord;
  local: FileRecord | undefined;
  decision: Exclude<Decision, { kind: 'none' }>;
}

export interface NeedTotals {
  globalFiles: number;
  globalBytes: number;
  /** files and symlinks still to get or delete; folders and bookkeeping-only changes are not "files" */
  needFiles: number;
  needBytes: number;
  /** on a read-only share: paths changed here, which no other device accepts (sync/read-only.ts) */
  localChanges: number;
}

/**
 * A path a plan will carry out: only what ordering it and the flight decisions need. Its records
 * are read again when its turn comes (Puller.guard does anyway: the index may have moved on), so
 * a plan for 100,000 files holds ~100 B per file instead of two decoded records (~1.2 KB).
 */
export interface PlannedPath {
  path: string;
  kind: NeedItem['decision']['kind'];
  /** the global entry's type and size when the need was computed */
  type: FileRecord['type'];
  size: number;
}

export interface Need {
  /** what to do now (paths waiting after a failure are left out, but counted in the totals) */
  items: PlannedPath[];
  totals: NeedTotals;
  /** the temp files pulls still want (an interrupted pull resumes from its temp file) */
  ownedTemps: Set<string>;
}

/** The order of a pull: bookkeeping, folders top-down, files and symlinks, deletions deepest first. */
export interface PullPlan {
  adopts: PlannedPath[];
  dirs: PlannedPath[];
  files: PlannedPath[];
  deletes: PlannedPath[];
}

/** The content hash a file's temp name carries (an empty file has the hash of no bytes). */
export function contentHashOf(r: Pick<FileRecord, 'hash'>): string {
  return r.hash || 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
}

/** What a pull of a path was decided from: when either side changes, it is a new decision. */
export function decisionKey(local: FileRecord | undefined, global: FileRecord): string {
  return `${JSON.stringify(global.version)}|${global.deleted}|${local ? `${local.sequence}:${JSON.stringify(local.version)}` : '-'}`;
}

/**
 * Walks every path of a share once. `failures` learns which paths are no longer needed and which
 * names this file system cannot hold; paths waiting after a failure are counted but not planned.
 */
/** `readOnly`: the share is read-only here, so it syncs to its peers' versions (sync/read-only.ts). */
export function computeNeed(paths: Iterable<PathEntries>, self: string, failures: RetryBook, now: number, readOnly = false): Need {
  const items: PlannedPath[] = [];
  const needed = new Set<string>();
  const ownedTemps = new Set<string>();
  const totals: NeedTotals = { globalFiles: 0, globalBytes: 0, needFiles: 0, needBytes: 0, localChanges: 0 };
  for (const { path, entries } of paths) {
    const global = sharedGlobal(entries, self, readOnly);
    if (
      readOnly &&
      readOnlyChange(
        entries.find((e) => e.deviceId === self),
        global,
      )
    )
      totals.localChanges++;
    if (!global) continue;
    if (!global.deleted && global.type !== 'dir') {
      totals.globalFiles++;
      totals.globalBytes += global.size;
    }
    const local = entries.find((e) => e.deviceId === self);
    const decision = decide(local, global, self);
    if (decision.kind === 'none') continue;
    needed.add(path);
    if (decision.kind !== 'adopt' && global.type !== 'dir') totals.needFiles++;
    if (decision.kind === 'fetch' && global.type === 'file') {
      totals.needBytes += global.size;
      ownedTemps.add(tempRelPath(path, contentHashOf(global)));
    }
    const unsafe = unsafeRemotePath(path);
    if (unsafe) {
      failures.refused(path, `not synced: ${unsafe}`);
      continue;
    }
    if (failures.waiting(path, decisionKey(local, global), now)) continue;
    items.push({ path, kind: decision.kind, type: global.type, size: global.size });
  }
  failures.keepOnly(needed);
  return { items, totals, ownedTemps };
}

export function planPull(items: readonly PlannedPath[]): PullPlan {
  return {
    adopts: items.filter((n) => n.kind === 'adopt'),
    dirs: items.filter((n) => n.kind === 'fetch' && n.type === 'dir').sort((a, b) => a.path.localeCompare(b.path)),
    files: items.filter((n) => n.kind === 'fetch' && n.type !== 'dir'),
    deletes: items.filter((n) => n.kind === 'delete').sort((a, b) => b.path.localeCompare(a.path)),
  };
}

/**
 * A planned path as it is now: its records read again, the decision made again. Null when there
 * is nothing (left) to do, or something else than planned (the index moved on: a new plan follows).
 */
export function resolvePlanned(p: PlannedPath, entries: readonly FileRecord[], self: string, readOnly: boolean): NeedItem | null {
  const global = sharedGlobal(entries, self, readOnly);
  if (!global) return null;
  const local = entries.find((e) => e.deviceId === self);
  const decision = decide(local, global, self);
  if (decision.kind !== p.kind) return null;
  return { path: p.path, global, local, decision };
}
