// Runtime validation of every call's params, for the carriers that receive them from outside the
// process: the daemon's WebSocket bridge and Electron's IPC handlers. TypeScript types vanish at
// runtime, so a renderer bug or a hostile page must meet a wall here rather than in the engine.
// Pure: no I/O, no Node-only imports.
import type { AccessLevel, EventName, Method, Params, ResolveKeep } from './api.ts';
import { ApiError } from './errors.ts';
import { parseServerList, parseStunUrl, parseTrackerUrl, parseTurnUrl, type Parsed } from './net-servers.ts';

/** Upper bounds on what a call may carry. Generous for people, tight enough to stop abuse. */
export const limits = {
  /** a file-system path or a share reference (an id or a folder path) */
  path: 4096,
  /** a share's display name */
  name: 255,
  /** a share code (the format stays under 60 characters; room for spaces and dashes people paste) */
  code: 200,
  /** HOST:PORT */
  address: 300,
  /** the text of .peerfold/ignore */
  ignoreText: 1024 * 1024,
  deviceName: 64,
  previewBytes: 16 * 1024 * 1024,
  recentLimit: 10_000,
  /** an invite's lifetime: 30 days */
  inviteLifeMs: 30 * 86_400_000,
  inviteUses: 1000,
  /** kB/s limits and archive days */
  bigCount: 1e9,
} as const;

interface Field<T> {
  optional: boolean;
  /** Returns the value to pass on, or throws a message describing what was expected. */
  parse(value: unknown): T;
}
interface ReqField<T> extends Field<T> {
  optional: false;
}
interface OptField<T> extends Field<T> {
  optional: true;
}

/** One field checker per key of T, required or optional exactly as T declares it. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- `{} extends Pick<T, K>` is how TypeScript asks "is K optional?"
type Schema<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? OptField<NonNullable<T[K]>> : ReqField<T[K]> };

class Invalid extends Error {}

function req<T>(parse: (value: unknown) => T): ReqField<T> {
  return { optional: false, parse };
}
function opt<T>(field: ReqField<T>): OptField<T> {
  return { optional: true, parse: field.parse };
}

/** A list of server URLs: an array, or one comma-separated string (the CLI's form). */
function serverList(what: string, parseOne: (url: string) => Parsed<unknown>): ReqField<string[]> {
  return req((v) => {
    const r = parseServerList(v, what, parseOne);
    if (!r.ok) throw new Invalid(r.error);
    return r.value;
  });
}

const hasControlChars = (s: string): boolean => /[\u0000-\u001f\u007f]/.test(s);

function str(max: number, what: string, allowControl = false): ReqField<string> {
  return req((v) => {
    if (typeof v !== 'string') throw new Invalid(`expected ${what} (a string)`);
    if (v.length === 0) throw new Invalid(`expected ${what}, got an empty string`);
    if (v.length > max) throw new Invalid(`${what} is too long (${v.length} characters; at most ${max})`);
    if (v.includes('\u0000')) throw new Invalid(`${what} contains a NUL character`);
    if (!allowControl && hasControlChars(v)) throw new Invalid(`${what} contains control characters`);
    return v;
  });
}

/** Text that may be empty and may hold newlines and tabs (file contents). */
function text(max: number, what: string): ReqField<string> {
  return req((v) => {
    if (typeof v !== 'string') throw new Invalid(`expected ${what} (a string)`);
    if (v.length > max) throw new Invalid(`${what} is too long (${v.length} characters; at most ${max})`);
    if (v.includes('\u0000')) throw new Invalid(`${what} contains a NUL character`);
    return v;
  });
}

/** `what` describes the accepted values for a person, e.g. "a port number from 0 to 65535". */
function int(min: number, max: number, what: string): ReqField<number> {
  return req((v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Invalid(`expected ${what} (a finite number)`);
    if (!Number.isInteger(v) || v < min || v > max) throw new Invalid(`expected ${what}, got ${v}`);
    return v;
  });
}

function bool(what: string): ReqField<boolean> {
  return req((v) => {
    if (typeof v !== 'boolean') throw new Invalid(`expected ${what} (true or false)`);
    return v;
  });
}

function oneOf<T extends string>(values: readonly T[], what: string): ReqField<T> {
  return req((v) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      throw new Invalid(`expected ${what}: one of ${values.join(', ')}`);
    }
    return v as T;
  });
}

const path = str(limits.path, 'a path');
const shareRef = str(limits.path, 'a share id or folder path');
const shareName = req((v) => {
  const s = str(limits.name, 'a share name').parse(v);
  if (s.trim().length === 0) throw new Invalid('expected a share name, got only spaces');
  return s;
});
const code = str(limits.code, 'a share code');
const resolveKeeps: readonly ResolveKeep[] = ['local', 'remote', 'both'];
const accessLevels: readonly AccessLevel[] = ['read-write', 'read-only', 'encrypted'];

const schemas: { [M in Method]: Schema<Params<M>> } = {
  status: { share: opt(shareRef) },
  share: { path, name: opt(shareName) },
  join: { code, path, name: opt(shareName), peer: opt(str(limits.address, 'the address of the device that made the invite (HOST:PORT)')) },
  unshare: { share: shareRef },
  codes: { share: shareRef },
  checkCode: { code },
  invite: {
    share: shareRef,
    access: opt(oneOf(accessLevels, 'an access level')),
    expiresInMs: opt(int(1000, limits.inviteLifeMs, `a lifetime from 1 s to ${limits.inviteLifeMs / 86_400_000} days, in ms`)),
    uses: opt(int(1, limits.inviteUses, `a number of uses from 1 to ${limits.inviteUses}`)),
  },
  invites: { share: shareRef },
  revokeInvite: { share: shareRef, id: str(64, 'an invite ID') },
  files: { share: shareRef, path: opt(str(limits.path, 'a path inside the share')) },
  rescan: { share: opt(shareRef) },
  pause: { share: opt(shareRef) },
  resume: { share: opt(shareRef) },
  peers: { share: opt(shareRef) },
  addPeer: { share: shareRef, address: str(limits.address, 'a peer address (HOST:PORT)') },
  conflicts: { share: opt(shareRef) },
  resolve: { share: shareRef, path, keep: oneOf(resolveKeeps, 'which version to keep') },
  preview: { share: shareRef, path, maxBytes: opt(int(1, limits.previewBytes, `a byte count from 1 to ${limits.previewBytes}`)) },
  archive: { share: shareRef },
  restore: { share: shareRef, archivedPath: str(limits.path, 'an archived path') },
  confirmDeletes: { share: shareRef },
  restoreDeletes: { share: shareRef },
  changes: { share: shareRef },
  revert: { share: shareRef, path: opt(path) },
  recent: { share: opt(shareRef), limit: opt(int(1, limits.recentLimit, `a whole number from 1 to ${limits.recentLimit}`)) },
  getIgnore: { share: shareRef },
  setIgnore: { share: shareRef, text: text(limits.ignoreText, 'the ignore rules text') },
  getSettings: {},
  setSettings: {
    deviceName: opt(
      req((v) => {
        const s = str(limits.deviceName, 'a device name').parse(v);
        if (s.trim().length === 0) throw new Invalid('expected a device name, got only spaces');
        return s;
      }),
    ),
    listenPort: opt(int(0, 65535, 'a port number from 0 to 65535 (0 picks any free port)')),
    lanDiscovery: opt(bool('a boolean')),
    maxSendKBps: opt(int(0, limits.bigCount, 'a whole number of kB/s, 0 or more (0 = unlimited)')),
    maxRecvKBps: opt(int(0, limits.bigCount, 'a whole number of kB/s, 0 or more (0 = unlimited)')),
    archiveDays: opt(int(0, limits.bigCount, 'a whole number of days, 0 or more')),
    startAtLogin: opt(bool('a boolean')),
    trackers: opt(serverList('trackers', parseTrackerUrl)),
    stunServers: opt(serverList('stunServers', parseStunUrl)),
    turnServers: opt(serverList('turnServers', parseTurnUrl)),
    lanOnly: opt(bool('a boolean')),
    limitLan: opt(bool('a boolean')),
  },
  listDir: { path: opt(path) },
  stop: {},
};

/** Every method of the contract, in declaration order. */
export const methodNames = Object.keys(schemas) as Method[];

const eventsRecord: { [E in EventName]: true } = {
  status: true,
  conflict: true,
  shareSynced: true,
  shareState: true,
  error: true,
  peers: true,
};
/** Every event of the contract. */
export const eventNames = Object.keys(eventsRecord) as EventName[];

export function isMethod(x: unknown): x is Method {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(schemas, x);
}

export function isEventName(x: unknown): x is EventName {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(eventsRecord, x);
}

/** Names the keys a method accepts (for messages and for the CLI's settings command). */
export function paramNames(method: Method): string[] {
  return Object.keys(schemas[method]);
}

/**
 * A plain copy of the object's own enumerable values. Reading may run code (a getter, a proxy
 * trap) that throws: that is a bad request too, not an exception of another kind.
 */
function ownValues(method: string, params: Record<string, unknown>): Record<string, unknown> {
  try {
    const copy: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(params)) copy[key] = params[key];
    return copy;
  } catch (err) {
    throw new ApiError('bad-request', `params for ${method} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Checks params for a method and returns a fresh object holding only the known keys.
 * Keys whose value is undefined count as absent (Electron's structured clone keeps them).
 * Throws ApiError('bad-request') naming the method and the parameter at fault.
 */
export function validateParams<M extends Method>(method: M, params: unknown): Params<M>;
export function validateParams(method: string, params: unknown): Params<Method>;
export function validateParams(method: string, params: unknown): Params<Method> {
  if (!isMethod(method)) {
    const shown = typeof method === 'string' ? JSON.stringify(method.slice(0, 64)) : typeof method;
    throw new ApiError('bad-request', `unknown method ${shown}`);
  }
  if (params === undefined) params = {};
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new ApiError('bad-request', `params for ${method} must be an object`);
  }
  const schema = schemas[method] as Record<string, Field<unknown>>;
  const input = ownValues(method, params as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (input[key] === undefined) continue;
    if (!Object.prototype.hasOwnProperty.call(schema, key)) {
      const known = Object.keys(schema);
      const hint = known.length ? `; it takes ${known.join(', ')}` : '; it takes no parameters';
      throw new ApiError('bad-request', `unknown parameter ${JSON.stringify(key.slice(0, 64))} for ${method}${hint}`);
    }
  }
  for (const [key, field] of Object.entries(schema)) {
    const value = Object.prototype.hasOwnProperty.call(input, key) ? input[key] : undefined;
    if (value === undefined) {
      if (field.optional) continue;
      throw new ApiError('bad-request', `${method} needs the parameter "${key}"`);
    }
    try {
      out[key] = field.parse(value);
    } catch (err) {
      if (err instanceof Invalid) throw new ApiError('bad-request', `bad parameter "${key}" for ${method}: ${err.message}`);
      throw err;
    }
  }
  return out as Params<Method>;
}
