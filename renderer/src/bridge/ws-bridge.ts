// The web UI's bridge: the API contract carried over the daemon's WebSocket (CallFrame out,
// ReplyFrame/EventFrame in). The daemon authenticates the socket with the HttpOnly cookie it set
// when the user opened the URL it printed, so nothing extra is sent here. The socket reconnects
// on its own; the connection state is observable so the UI can say "disconnected".
import type {
  ApiEvents,
  CallFrame,
  EventName,
  Method,
  Params,
  PeerfoldBridge,
  ReplyFrame,
  Result,
  ShellCapabilities,
} from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';

export type ConnectionPhase = 'connecting' | 'open' | 'closed';

export interface ConnectionState {
  phase: ConnectionPhase;
  /** failed attempts since the socket was last open */
  attempts: number;
  /** ms since epoch of the next automatic attempt while closed; null otherwise */
  retryAt: number | null;
  /** true once a socket has been open at least once (a later close is a disconnect, not a failed start) */
  everOpened: boolean;
}

/** A bridge whose carrier can drop: the renderer shows its state. */
export interface ConnectionAware {
  readonly connection: ConnectionState;
  onConnection(listener: (state: ConnectionState) => void): () => void;
  /** skip the back-off wait and try now */
  reconnectNow(): void;
}

export type WebBridge = PeerfoldBridge & ConnectionAware & { close(): void };

/** The part of the browser's WebSocket we use; the `ws` package's client fits it too (tests). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export interface WsBridgeOptions {
  url: string;
  createSocket?: (url: string) => SocketLike;
  /** first reconnect delay; doubles per failed attempt up to maxDelayMs */
  initialDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
}

const OPEN = 1;

export const webCapabilities: ShellCapabilities = Object.freeze({
  pickFolder: false,
  dropPaths: false,
  openPath: false,
  startAtLogin: false,
});

/** ws(s)://<host>/api for the page's own origin: the daemon serves both the UI and the API. */
export function apiUrlFor(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api`;
}

/** Back-off before reconnect attempt n (0-based): initial * 2^n, capped. */
export function reconnectDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
}

interface Pending {
  frame: CallFrame;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  sent: boolean;
}

export function createWsBridge(options: WsBridgeOptions): WebBridge {
  const createSocket = options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
  const initialDelay = options.initialDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 10_000;
  const now = options.now ?? Date.now;

  const listeners = new Map<EventName, Set<(data: unknown) => void>>();
  const connListeners = new Set<(s: ConnectionState) => void>();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let socket: SocketLike | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closedForGood = false;
  let state: ConnectionState = { phase: 'connecting', attempts: 0, retryAt: null, everOpened: false };

  function setState(next: ConnectionState) {
    state = next;
    for (const l of [...connListeners]) {
      try {
        l(state);
      } catch (err) {
        console.error('connection listener failed', err);
      }
    }
  }

  function sendFrame(p: Pending) {
    if (!socket || socket.readyState !== OPEN) return;
    try {
      socket.send(JSON.stringify(p.frame));
      p.sent = true;
    } catch {
      // the close handler will deal with it
    }
  }

  function onMessage(raw: unknown) {
    let msg: unknown;
    try {
      msg = JSON.parse(typeof raw === 'string' ? raw : String(raw));
    } catch {
      console.warn('peerfold: ignoring a frame that is not JSON');
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    const m = msg as Record<string, unknown>;
    if (typeof m.event === 'string') {
      const set = listeners.get(m.event as EventName);
      if (!set) return;
      for (const l of [...set]) {
        try {
          l(m.data);
        } catch (err) {
          console.error(`listener for "${m.event}" failed`, err);
        }
      }
      return;
    }
    if (typeof m.id === 'number') {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      const reply = m as unknown as ReplyFrame;
      if ('error' in reply) p.reject(ApiError.from(reply.error));
      else p.resolve(reply.result);
    }
  }

  function connect() {
    timer = null;
    if (closedForGood) return;
    setState({ ...state, phase: 'connecting', retryAt: null });
    let s: SocketLike;
    try {
      s = createSocket(options.url);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = s;
    s.onopen = () => {
      if (socket !== s) return;
      setState({ phase: 'open', attempts: 0, retryAt: null, everOpened: true });
      for (const p of pending.values()) if (!p.sent) sendFrame(p);
    };
    s.onmessage = (ev) => {
      if (socket === s) onMessage(ev.data);
    };
    s.onerror = () => {
      // a close event always follows
    };
    s.onclose = () => {
      if (socket !== s) return;
      socket = null;
      // Calls already sent may or may not have run; the caller decides whether to retry.
      for (const [id, p] of pending) {
        if (!p.sent) continue;
        pending.delete(id);
        p.reject(
          new ApiError('internal', 'The connection to the Peerfold daemon dropped before it answered. Try again once it reconnects.'),
        );
      }
      if (!closedForGood) scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    const delay = reconnectDelay(state.attempts, initialDelay, maxDelay);
    setState({ ...state, phase: 'closed', attempts: state.attempts + 1, retryAt: now() + delay });
    timer = setTimeout(connect, delay);
  }

  connect();

  return {
    capabilities: webCapabilities,
    get connection() {
      return state;
    },
    call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
      if (closedForGood) return Promise.reject(new ApiError('internal', 'This bridge was closed.'));
      return new Promise<Result<M>>((resolve, reject) => {
        const id = nextId++;
        const p: Pending = { frame: { id, method, params }, resolve: resolve as (v: unknown) => void, reject, sent: false };
        pending.set(id, p);
        // While disconnected the call waits and goes out on reconnect.
        sendFrame(p);
      });
    },
    on<E extends EventName>(event: E, listener: (data: ApiEvents[E]) => void): () => void {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener as (data: unknown) => void;
      set.add(l);
      return () => set.delete(l);
    },
    onConnection(listener) {
      connListeners.add(listener);
      return () => connListeners.delete(listener);
    },
    reconnectNow() {
      if (state.phase !== 'closed' || closedForGood) return;
      if (timer) clearTimeout(timer);
      connect();
    },
    close() {
      closedForGood = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const s = socket;
      socket = null;
      for (const p of pending.values()) p.reject(new ApiError('internal', 'This bridge was closed.'));
      pending.clear();
      try {
        s?.close();
      } catch {
        // already closed
      }
      setState({ ...state, phase: 'closed', retryAt: null });
    },
  };
}

export function isConnectionAware(bridge: PeerfoldBridge): bridge is PeerfoldBridge & ConnectionAware {
  return typeof (bridge as Partial<ConnectionAware>).onConnection === 'function';
}
