// The IPC boundary between the window and main, as pure functions: who may call, what a call may
// carry, what a reply looks like, and what the Electron shell does itself instead of the engine.
import { posix, win32 } from 'node:path';
import type { ApiErrorShape, EventName, Method, Settings } from '../../shared/api.ts';
import { ApiError } from '../../shared/errors.ts';
import { isAppUrl } from './window-policy.ts';

/**
 * What a call resolves to across IPC. Errors travel as data: Electron reduces a thrown Error to
 * its message on the way through ipcMain.handle and the context bridge, and the renderer needs
 * the code.
 */
export type CallReply = { ok: true; result: unknown } | { ok: false; error: ApiErrorShape };

export interface CallTarget {
  call(method: Method, params: never): Promise<unknown>;
}

/** Returns the params the engine gets; throws ApiError('bad-request') when they do not fit the contract. */
export type ParamsValidator = (method: string, params: unknown) => unknown;

/** Side effects the shell performs after (or instead of) an engine call. */
export type ShellEffect = { kind: 'quit' } | { kind: 'startAtLogin'; enabled: boolean };

const EVENTS: Record<EventName, true> = { status: true, conflict: true, shareSynced: true, shareState: true, error: true, peers: true };
/** Every engine event, forwarded to the window. */
export const EVENT_NAMES = Object.keys(EVENTS) as EventName[];

/** Only our own page may use the bridge; a frame from anywhere else gets nothing. */
export function isTrustedSender(frameUrl: string | undefined | null): boolean {
  return typeof frameUrl === 'string' && isAppUrl(frameUrl);
}

export function replyError(err: unknown): CallReply {
  const e = ApiError.from(err);
  return { ok: false, error: { code: e.code, message: e.message } };
}

/**
 * Validates and performs one call. In the desktop app 'stop' means quitting the app (the engine
 * stops as part of that), so it is answered here and handed back as an effect.
 */
export async function handleCall(
  engine: CallTarget,
  validate: ParamsValidator,
  method: unknown,
  params: unknown,
): Promise<{ reply: CallReply; effects: ShellEffect[] }> {
  try {
    if (typeof method !== 'string') throw new ApiError('bad-request', 'method must be a string naming an API call');
    const checked = validate(method, params);
    if (method === 'stop') return { reply: { ok: true, result: { ok: true } }, effects: [{ kind: 'quit' }] };
    const result = await engine.call(method as Method, checked as never);
    return { reply: { ok: true, result }, effects: effectsOf(method as Method, result) };
  } catch (err) {
    return { reply: replyError(err), effects: [] };
  }
}

function effectsOf(method: Method, result: unknown): ShellEffect[] {
  // the engine only stores startAtLogin; registering with the OS is the shell's job
  if (method === 'setSettings') {
    const s = result as Partial<Settings> | null;
    if (s && typeof s.startAtLogin === 'boolean') return [{ kind: 'startAtLogin', enabled: s.startAtLogin }];
  }
  return [];
}

export type OpenPathPlan = { ok: true; path: string } | { ok: false; error: ApiErrorShape };

/**
 * The window may open only what lives in a shared folder: the renderer is not trusted with the
 * whole disk, and opening an arbitrary file could run a program. (main reveals files in the file
 * manager rather than opening them, for the same reason.)
 */
export function planOpenPath(path: unknown, sharePaths: readonly string[], platform: NodeJS.Platform): OpenPathPlan {
  const bad = (message: string): OpenPathPlan => ({ ok: false, error: { code: 'bad-request', message } });
  if (typeof path !== 'string' || path.length === 0 || path.length > 4096 || path.includes('\0')) {
    return bad('openPath needs the absolute path of a file or folder');
  }
  const p = platform === 'win32' ? win32 : posix;
  if (!p.isAbsolute(path)) return bad('openPath needs an absolute path');
  const target = p.resolve(path);
  const fold = (s: string) => (platform === 'win32' || platform === 'darwin' ? s.toLowerCase() : s);
  const inside = sharePaths.some((root) => {
    const rel = p.relative(fold(p.resolve(root)), fold(target));
    return rel === '' || (rel !== '..' && !rel.startsWith('..' + p.sep) && !p.isAbsolute(rel));
  });
  if (!inside)
    return { ok: false, error: { code: 'refused', message: `${path} is not inside a shared folder, so Peerfold will not open it` } };
  return { ok: true, path: target };
}
