// Block requests this device has in flight to one peer (PROTOCOL.md, "Block transfer",
// requester side): ids, a bounded number in flight (more wait for a slot), answers matched to
// requests, and one abort path: each AbortSignal gets a single listener however many requests
// and slot waits use it (a puller shares one signal among all chunks of a file), and closing the
// tracker fails everything at once.

import { MAX_BLOCK_DATA, chunkRanges, type BlockRequest, type BlockResponse, type ResponseStatus } from '../protocol/messages.ts';

/** Requests this device keeps in flight to one peer; more wait their turn. */
export const MAX_REQUESTS_IN_FLIGHT = 32;

export type TrackerState = 'open' | 'closed';

interface Waiter {
  signal: AbortSignal;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Pending {
  /** the request as sent (sent again, same id, when its carrier lost it) */
  msg: BlockRequest;
  signal: AbortSignal;
  resolve: (r: BlockResponse) => void;
  reject: (e: Error) => void;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

export class RequestTracker {
  private state: TrackerState = 'open';
  private closeReason = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: Waiter[] = [];
  private inFlightNow = 0;
  /** per signal: how many requests and waits use it, and its one abort listener */
  private readonly watched = new Map<AbortSignal, { users: number; listener: () => void }>();

  constructor(
    private readonly send: (msg: BlockRequest) => Promise<void>,
    private readonly maxInFlight = MAX_REQUESTS_IN_FLIGHT,
  ) {}

  get inFlight(): number {
    return this.inFlightNow;
  }

  /** Abort listeners currently registered (tests check it stays at one per signal). */
  get listeners(): number {
    return this.watched.size;
  }

  get current(): TrackerState {
    return this.state;
  }

  /** Fetches one chunk (in parts of at most MAX_BLOCK_DATA); the caller verifies its hash. */
  async fetchChunk(
    share: string,
    path: string,
    hash: Uint8Array,
    offset: number,
    size: number,
    signal: AbortSignal,
  ): Promise<Uint8Array | ResponseStatus> {
    const ranges = chunkRanges(offset, size, MAX_BLOCK_DATA);
    // most chunks fit one message: its data (already a copy, see answered()) is the chunk
    const out = ranges.length === 1 ? null : new Uint8Array(size);
    for (const range of ranges) {
      await this.slot(signal);
      let res: BlockResponse;
      try {
        res = await this.request({ type: 'request', id: 0, share, path, hash, offset: range.offset, size: range.size }, signal);
      } finally {
        this.release();
      }
      if (res.status !== 'ok') return res.status;
      if (res.data.length !== range.size) return 'invalid-request';
      if (!out) return res.data;
      out.set(res.data, range.offset - offset);
    }
    return out ?? new Uint8Array(0);
  }

  /** A response from the peer; one for a request given up on is ignored. */
  answered(msg: BlockResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    this.unwatch(p.signal);
    // decoded fields are views into the message buffer: keep a copy
    p.resolve({ ...msg, data: new Uint8Array(msg.data) });
  }

  /** Fails every request in flight and every wait for a slot; later calls fail at once. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    const err = new Error(`connection closed: ${reason}`);
    for (const p of this.pending.values()) p.reject(err);
    for (const w of this.waiting) w.reject(err);
    this.pending.clear();
    this.waiting.length = 0;
    for (const [signal, w] of this.watched) signal.removeEventListener('abort', w.listener);
    this.watched.clear();
  }

  private closedError(): Error {
    return new Error(`connection closed: ${this.closeReason}`);
  }

  private watch(signal: AbortSignal): void {
    const w = this.watched.get(signal);
    if (w) {
      w.users++;
      return;
    }
    const listener = () => this.aborted(signal);
    this.watched.set(signal, { users: 1, listener });
    signal.addEventListener('abort', listener, { once: true });
  }

  private unwatch(signal: AbortSignal): void {
    const w = this.watched.get(signal);
    if (!w || --w.users > 0) return;
    this.watched.delete(signal);
    signal.removeEventListener('abort', w.listener);
  }

  private aborted(signal: AbortSignal): void {
    this.watched.delete(signal);
    const err = abortError(signal);
    for (const [id, p] of this.pending) {
      if (p.signal !== signal) continue;
      this.pending.delete(id);
      p.reject(err);
    }
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i]!.signal !== signal) continue;
      const [w] = this.waiting.splice(i, 1);
      w!.reject(err);
    }
  }

  private slot(signal: AbortSignal): Promise<void> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (this.inFlightNow < this.maxInFlight) {
      this.inFlightNow++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.watch(signal);
      this.waiting.push({
        signal,
        resolve: () => {
          this.unwatch(signal);
          this.inFlightNow++;
          resolve();
        },
        reject,
      });
    });
  }

  private release(): void {
    this.inFlightNow--;
    if (this.state === 'open' && this.inFlightNow < this.maxInFlight) this.waiting.shift()?.resolve();
  }

  private request(msg: BlockRequest, signal: AbortSignal): Promise<BlockResponse> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    if (signal.aborted) return Promise.reject(abortError(signal));
    const id = this.nextId++;
    return new Promise<BlockResponse>((resolve, reject) => {
      this.watch(signal);
      const sent = { ...msg, id };
      this.pending.set(id, { msg: sent, signal, resolve, reject });
      this.transmit(id, sent);
    });
  }

  private transmit(id: number, msg: BlockRequest): void {
    this.send(msg).catch((err) => {
      const p = this.pending.get(id);
      if (!p || p.msg !== msg) return;
      this.pending.delete(id);
      this.unwatch(p.signal);
      p.reject(err as Error);
    });
  }

  /**
   * Sends every request still waiting for its answer again, same id: the carrier it went over
   * failed and may have lost it or its answer. A second answer to one request is ignored.
   */
  resendPending(): number {
    if (this.state === 'closed') return 0;
    for (const [id, p] of this.pending) this.transmit(id, p.msg);
    return this.pending.size;
  }
}
