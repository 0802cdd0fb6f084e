// The CLI's side of the control API: finds the daemon of a home (control.json + its pid), signs in
// with the token from the same home, and carries contract calls over the WebSocket.
import { WebSocket } from 'ws';
import type { ApiEvents, EventName, Method, Params, Result } from '../../shared/api.ts';
import { ApiError } from '../../shared/errors.ts';
import { readControlInfo, readToken } from './home-files.ts';
import { isProcessAlive, lockHolder } from './lock.ts';

export class DaemonNotRunningError extends Error {
  constructor(readonly home: string) {
    super(`no daemon is running for home ${home}; start one with \`peerfold daemon\``);
    this.name = 'DaemonNotRunningError';
  }
}

export interface ControlClient {
  /** the daemon's process id */
  readonly pid: number;
  readonly port: number;
  call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>>;
  on<E extends EventName>(event: E, listener: (data: ApiEvents[E]) => void): () => void;
  /** resolves when the daemon closes the connection (or close() was called) */
  readonly closed: Promise<void>;
  close(): void;
}

/**
 * `port` replaces the port from control.json: the e2e harness reaches a daemon inside a network
 * namespace through a forwarded port of its own.
 */
export async function connectToDaemon(home: string, opts: { port?: number } = {}): Promise<ControlClient> {
  const info = readControlInfo(home);
  if (!info || !isProcessAlive(info.pid)) throw new DaemonNotRunningError(home);
  const token = readToken(home);
  if (!token) throw new Error(`the daemon's token file is missing from ${home}; restart the daemon`);

  const ws = await new Promise<WebSocket>((resolve, reject) => {
    const sock = new WebSocket(`ws://127.0.0.1:${opts.port ?? info.port}/api`, {
      headers: { Authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    sock.once('open', () => resolve(sock));
    sock.once('unexpected-response', (_req, res) => {
      sock.terminate();
      if (res.statusCode === 401) reject(new Error(`the daemon for home ${home} refused our token; restart the daemon`));
      else reject(new Error(`the daemon for home ${home} answered HTTP ${res.statusCode} instead of opening the API`));
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      // a pid that is alive but not ours (the daemon died and the pid was reused) refuses the port
      if (err.code === 'ECONNREFUSED') reject(new DaemonNotRunningError(home));
      else reject(new Error(`cannot reach the daemon for home ${home}: ${err.message}`));
    });
  });

  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, Set<(data: unknown) => void>>();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  ws.on('message', (raw) => {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(raw.toString()) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof frame.event === 'string') {
      for (const l of listeners.get(frame.event) ?? []) l(frame.data);
      return;
    }
    const waiter = typeof frame.id === 'number' ? pending.get(frame.id) : undefined;
    if (!waiter) return;
    pending.delete(frame.id as number);
    if (frame.error) waiter.reject(ApiError.from(frame.error));
    else waiter.resolve(frame.result);
  });
  ws.on('error', () => {});
  ws.on('close', () => {
    for (const w of pending.values()) w.reject(new Error('the daemon closed the connection before answering'));
    pending.clear();
    resolveClosed();
  });

  return {
    pid: info.pid,
    port: info.port,
    call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
      return new Promise((resolve, reject) => {
        if (ws.readyState !== ws.OPEN) return reject(new Error('the connection to the daemon is closed'));
        const id = nextId++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    on<E extends EventName>(event: E, listener: (data: ApiEvents[E]) => void): () => void {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (data: unknown) => void);
      return () => set.delete(listener as (data: unknown) => void);
    },
    closed,
    close() {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
      // do not let a slow closing handshake hold the CLI
      setTimeout(() => ws.terminate(), 500).unref();
    },
  };
}

/**
 * The daemon `pid` of `home` has stopped: it removed its control file and released its lock (the
 * last steps of a clean stop, after the database is flushed), or its process is gone (a crash).
 */
export function daemonStopped(home: string, pid: number): boolean {
  const released = readControlInfo(home)?.pid !== pid && lockHolder(home) !== pid;
  return released || !isProcessAlive(pid);
}

/** Waits until the daemon has stopped, polling; false if it has not after timeoutMs. */
export async function waitForStop(home: string, pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!daemonStopped(home, pid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
