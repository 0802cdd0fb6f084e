// IPC channel names shared by the preload and main/app. No imports: the sandboxed preload bundle
// may require nothing but 'electron', so this file must stay a leaf.

/** invoke(method, params) -> CallReply */
export const CALL_CHANNEL = 'peerfold:call';
/** main -> window: (eventName, data) */
export const EVENT_CHANNEL = 'peerfold:event';
/** invoke() -> string | null */
export const PICK_FOLDER_CHANNEL = 'peerfold:pickFolder';
/** invoke(path) -> CallReply */
export const OPEN_PATH_CHANNEL = 'peerfold:openPath';
