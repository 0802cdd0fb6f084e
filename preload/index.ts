// The preload: exposes exactly the PeerfoldBridge of shared/api.ts as window.peerfold, nothing
// more. It runs sandboxed, so it is bundled to CommonJS and may require only 'electron' at run
// time; everything else it uses is either a type or inlined by the bundler (channels.ts).
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { ApiErrorShape, ApiEvents, EventName, Method, Params, PeerfoldBridge, Result, ShellCapabilities } from '../shared/api.ts';
import { CALL_CHANNEL, EVENT_CHANNEL, OPEN_PATH_CHANNEL, PICK_FOLDER_CHANNEL } from './channels.ts';

type Reply = { ok: true; result: unknown } | { ok: false; error: ApiErrorShape };

/**
 * A failed call rejects with a plain { name, code, message } object: an Error would lose its code
 * crossing the context bridge (only the message survives), and the renderer needs the code.
 */
function unwrap<T>(reply: Reply): T {
  if (reply && reply.ok === true) return reply.result as T;
  const error = reply && reply.ok === false ? reply.error : { code: 'internal', message: 'no reply from the app' };
  throw { name: 'ApiError', code: error.code, message: error.message };
}

const listeners = new Map<string, Set<(data: unknown) => void>>();

// One IPC listener for all events; the renderer's listeners never see the IPC event object
// (it would hand them the sender, an escape hatch out of the bridge).
ipcRenderer.on(EVENT_CHANNEL, (_event, name: unknown, data: unknown) => {
  if (typeof name !== 'string') return;
  for (const l of listeners.get(name) ?? []) {
    try {
      l(data);
    } catch (err) {
      console.error(`peerfold: a listener for "${name}" threw`, err);
    }
  }
});

const capabilities: ShellCapabilities = { pickFolder: true, dropPaths: true, openPath: true, startAtLogin: true };

const bridge: PeerfoldBridge = {
  async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    return unwrap<Result<M>>(await ipcRenderer.invoke(CALL_CHANNEL, method, params));
  },
  on<E extends EventName>(event: E, listener: (data: ApiEvents[E]) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('peerfold.on needs a listener function');
    const l = listener as (data: unknown) => void;
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(l);
    return () => {
      listeners.get(event)?.delete(l);
    };
  },
  capabilities,
  async pickFolder(): Promise<string | null> {
    const path: unknown = await ipcRenderer.invoke(PICK_FOLDER_CHANNEL);
    return typeof path === 'string' ? path : null;
  },
  pathForFile(file: unknown): string | null {
    try {
      const path = webUtils.getPathForFile(file as Parameters<typeof webUtils.getPathForFile>[0]);
      return path === '' ? null : path;
    } catch {
      // not a File (or one made in the page, which has no path)
      return null;
    }
  },
  async openPath(path: string): Promise<void> {
    unwrap<unknown>(await ipcRenderer.invoke(OPEN_PATH_CHANNEL, path));
  },
};

contextBridge.exposeInMainWorld('peerfold', bridge);
