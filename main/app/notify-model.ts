// Which desktop notifications to show, as a pure reducer over engine events. The memory it keeps
// is plain JSON so main.ts can persist it: a restart must not announce a share's "first sync" again.
import type { ApiEvents, EventName, ShareId, StatusResult } from '../../shared/api.ts';

export type NoticeKind = 'conflict' | 'synced' | 'error';

export interface Notice {
  kind: NoticeKind;
  title: string;
  body: string;
  /** where a click on the notification takes the window (a renderer hash route) */
  route: string;
}

export interface NotifyMemory {
  /** conflict keys already announced, oldest first, bounded */
  conflicts: string[];
  /** shares whose first completed sync was announced */
  synced: ShareId[];
  /** error key -> when it was announced; share errors stay until the share is fine again */
  errors: Record<string, number>;
  /** share id -> when its last conflict notice was shown (to calm a burst) */
  lastConflictAt: Record<ShareId, number>;
  /** share id -> name, learned from status, so notices can say which folder */
  names: Record<ShareId, string>;
}

export type EngineEvent = { [E in EventName]: { event: E; data: ApiEvents[E] } }[EventName];

export interface NotifyResult {
  memory: NotifyMemory;
  notices: Notice[];
}

/** How many conflict keys to remember; older ones are never re-announced anyway (no event repeats them). */
export const CONFLICT_MEMORY = 1000;
/** A burst of conflicts (a whole folder edited on both sides) gets one notice per share in this window. */
export const CONFLICT_QUIET_MS = 10_000;
/** Engine-wide errors carry no share whose recovery we could observe: the same one may repeat after this. */
export const ENGINE_ERROR_REPEAT_MS = 60 * 60_000;

export function emptyNotifyMemory(): NotifyMemory {
  return { conflicts: [], synced: [], errors: {}, lastConflictAt: {}, names: {} };
}

export function notify(memory: NotifyMemory, input: EngineEvent, now: number): NotifyResult {
  switch (input.event) {
    case 'conflict':
      return onConflict(memory, input.data, now);
    case 'shareSynced':
      return onSynced(memory, input.data);
    case 'error':
      return onError(memory, input.data.shareId, input.data.message, now);
    case 'status':
      return onStatus(memory, input.data, now);
    case 'peers':
    case 'shareState':
      // status carries the same state; notices come from status and the events above
      return { memory, notices: [] };
  }
}

function shareName(memory: NotifyMemory, id: ShareId | null, fallback?: string): string | null {
  if (id === null) return null;
  return memory.names[id] ?? fallback ?? null;
}

function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}

function onConflict(memory: NotifyMemory, c: ApiEvents['conflict'], now: number): NotifyResult {
  const key = `${c.shareId}\n${c.conflictPath}`;
  if (memory.conflicts.includes(key)) return { memory, notices: [] };
  const conflicts = [...memory.conflicts, key].slice(-CONFLICT_MEMORY);
  const last = memory.lastConflictAt[c.shareId];
  const quiet = last !== undefined && now - last >= 0 && now - last < CONFLICT_QUIET_MS;
  if (quiet) return { memory: { ...memory, conflicts }, notices: [] };
  const name = shareName(memory, c.shareId);
  const notice: Notice = {
    kind: 'conflict',
    title: name ? `Conflict in ${name}` : 'New conflict',
    body: `${baseName(c.path)} was changed on two devices. Both versions are kept: choose which to keep.`,
    route: '#/conflicts',
  };
  return {
    memory: { ...memory, conflicts, lastConflictAt: { ...memory.lastConflictAt, [c.shareId]: now } },
    notices: [notice],
  };
}

function onSynced(memory: NotifyMemory, s: ApiEvents['shareSynced']): NotifyResult {
  if (memory.synced.includes(s.shareId)) return { memory, notices: [] };
  const name = shareName(memory, s.shareId, s.name) ?? s.name;
  return {
    memory: { ...memory, synced: [...memory.synced, s.shareId] },
    notices: [
      {
        kind: 'synced',
        title: `${name} is ready`,
        body: 'The first sync finished: every file is here.',
        route: `#/shares/${encodeURIComponent(s.shareId)}`,
      },
    ],
  };
}

function errorKey(shareId: ShareId | null, message: string): string {
  return `${shareId ?? '*'}\n${message}`;
}

function onError(memory: NotifyMemory, shareId: ShareId | null, message: string, now: number): NotifyResult {
  const key = errorKey(shareId, message);
  const shownAt = memory.errors[key];
  if (shownAt !== undefined && (shareId !== null || now - shownAt < ENGINE_ERROR_REPEAT_MS)) return { memory, notices: [] };
  const name = shareName(memory, shareId);
  return {
    memory: { ...memory, errors: { ...memory.errors, [key]: now } },
    notices: [
      {
        kind: 'error',
        title: name ? `Problem with ${name}` : 'Peerfold has a problem',
        body: message,
        route: shareId ? `#/shares/${encodeURIComponent(shareId)}` : '#/',
      },
    ],
  };
}

/**
 * Status teaches share names, announces share errors that arrived without an error event, and
 * forgets share errors that are gone, so the same error is announced again if it comes back.
 */
function onStatus(memory: NotifyMemory, status: StatusResult, now: number): NotifyResult {
  const names = { ...memory.names };
  for (const s of status.shares) names[s.id] = s.name;
  const current = new Set(status.shares.flatMap((s) => (s.error ? [errorKey(s.id, s.error)] : [])));
  const known = new Set(status.shares.map((s) => s.id));
  const errors: Record<string, number> = {};
  for (const [key, at] of Object.entries(memory.errors)) {
    const shareId = key.slice(0, key.indexOf('\n'));
    // engine-wide errors, and errors of shares this status does not cover, are left alone
    if (shareId === '*' || !known.has(shareId) || current.has(key)) errors[key] = at;
  }
  let next: NotifyMemory = { ...memory, names, errors };
  const notices: Notice[] = [];
  for (const s of status.shares) {
    if (!s.error) continue;
    const r = onError(next, s.id, s.error, now);
    next = r.memory;
    notices.push(...r.notices);
  }
  return { memory: next, notices };
}

/** Reads persisted memory, keeping only well-formed parts: a damaged file costs a repeat notice, not a crash. */
export function parseNotifyMemory(text: string): NotifyMemory {
  const out = emptyNotifyMemory();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return out;
  }
  if (!raw || typeof raw !== 'object') return out;
  const r = raw as Record<string, unknown>;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const record = <T>(v: unknown, ok: (x: unknown) => x is T): Record<string, T> => {
    const o: Record<string, T> = {};
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) if (ok(x)) o[k] = x;
    }
    return o;
  };
  const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const isStr = (x: unknown): x is string => typeof x === 'string';
  out.conflicts = strings(r.conflicts).slice(-CONFLICT_MEMORY);
  out.synced = strings(r.synced);
  out.errors = record(r.errors, isNum);
  out.lastConflictAt = record(r.lastConflictAt, isNum);
  out.names = record(r.names, isStr);
  return out;
}

export function serializeNotifyMemory(memory: NotifyMemory): string {
  return JSON.stringify(memory);
}
