// Block requests this device has in flight to one peer (PROTOCOL.md, "Block transfer",
// requester side): ids, a window of bytes in flight (flight-window.ts decides it; more wait for
// room), answers matched to requests, and one abort path: each AbortSignal gets a single listener
// however many requests and waits use it (a puller shares one signal among all chunks of a file),
// and closing the tracker fails everything at once.

import {
  MAX_BLOCK_DATA,
  batchResponses,
  chunkRanges,
  type BlockRequest,
  type BlockResponse,
  type RequestBatch,
  type RequestRun,
  type ResponseBatch,
  type ResponseStatus,
} from '../protocol/messages.ts';
import { FlightBudget } from './flight-budget.ts';
import { isPooledFrame, recycleFrame } from '../net/frame-pool.ts';
import {
  DEFAULT_WINDOW,
  admits,
  blocked,
  delivered,
  initialWindow,
  overloaded,
  type WindowConfig,
  type WindowState,
} from './flight-window.ts';

/** Times one part of a chunk is asked for again after the peer answered `overloaded`. */
const OVERLOADED_RETRIES = 8;

/**
 * How long a request waits for its answer once it went out; then the chunk is asked of another
 * peer, or the file fails for now and is retried. A peer that answers pings but never a request (a
 * hung or hostile one) must not stall a pull forever. Counted from sending, not from queueing:
 * across a slow link many requests wait for room in the window, and a request that waited there
 * still gets its full time on the wire.
 */
export const ANSWER_TIMEOUT_MS = Number(process.env.PEERFOLD_CHUNK_TIMEOUT_MS ?? 120_000);

/** The peer did not answer a request within the answer timeout after it was sent. */
export class NoAnswerError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer in ${timeoutMs / 1000} s`);
    this.name = 'NoAnswerError';
  }
}

export interface TrackerOptions {
  window?: WindowConfig;
  /** bytes in flight over all of this device's links (the global memory bound); default: this tracker's own */
  budget?: FlightBudget;
  /** a monotonic clock in ms; default performance.now */
  now?: () => number;
  /** how long a sent request waits for its answer; default ANSWER_TIMEOUT_MS */
  answerTimeoutMs?: number;
  /** sends a requestRun (without it, or until the peer says it answers runs, every request goes alone) */
  sendRun?: (msg: RequestRun) => Promise<void>;
  /** sends a requestBatch (without it, or until the peer says it answers batches, no batches) */
  sendBatch?: (msg: RequestBatch) => Promise<void>;
}

/** How full a link is, for choosing where a request goes and whether the puller should ask for more. */
export interface FlightLoad {
  /** bytes in flight and waiting, per byte of window (0: idle; above 1: requests wait) */
  load: number;
  windowBytes: number;
}

export type TrackerState = 'open' | 'closed';

/** What the peer said it answers as one requestRun (its requestRuns message). */
export interface RunLimits {
  maxChunks: number;
  maxBytes: number;
}

/** What the peer said it answers as one requestBatch (its requestBatches message). */
export interface BatchLimits {
  maxRequests: number;
  maxBytes: number;
}

/**
 * A request this large or smaller may go in a batch (a small file's chunk); larger ones go alone
 * or as runs: a batch's answer waits for its slowest request, and a big chunk fills a message alone.
 */
export const BATCH_PART_MAX_BYTES = 64 * 1024;

interface Waiter {
  signal: AbortSignal;
  size: number;
  /** the request it will send (which range of which file: whether it could join a run) */
  msg: BlockRequest;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Pending {
  /** the request as sent (sent again, same id, when its carrier lost it) */
  msg: BlockRequest;
  signal: AbortSignal;
  /** when it first went out (the tracker's clock): its answer's round trip feeds the window */
  sentAt: number;
  /** gives the request up when no answer came within the answer timeout of (re)sending it */
  timer: NodeJS.Timeout | null;
  resolve: (r: BlockResponse) => void;
  reject: (e: Error) => void;
}

/**
 * Decoded fields are views into the message's buffer. A chunk's data is most of its message (a
 * bulk stream's frame is a buffer of its own): kept as the view, with no copy of every byte
 * received. A view into a much larger buffer (several small answers read at once) is copied, so
 * that it does not hold the rest in memory.
 */
function ownedBytes(view: Uint8Array): Uint8Array {
  // a bulk stream's frame, in memory the puller hands back once the chunk is written
  if (isPooledFrame(view)) return view;
  return view.byteLength * 2 >= view.buffer.byteLength ? view : new Uint8Array(view);
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
  private bytesInFlight = 0;
  private bytesWaiting = 0;
  private window: WindowState;
  private readonly windowConfig: WindowConfig;
  private readonly budget: FlightBudget;
  private readonly now: () => number;
  private readonly answerTimeoutMs: number;
  private readonly sendRun: ((msg: RequestRun) => Promise<void>) | null;
  private readonly sendBatch: ((msg: RequestBatch) => Promise<void>) | null;
  private readonly unsubscribe: () => void;
  /** per signal: how many requests and waits use it, and its one abort listener */
  private readonly watched = new Map<AbortSignal, { users: number; listener: () => void }>();
  /** set once the peer said it answers runs: requests sent in one turn go out as runs where they can */
  private runs: RunLimits | null = null;
  /** set once the peer said it answers batches: small requests sent in one turn go out together */
  private batches: BatchLimits | null = null;
  /** requests sent in this turn, not yet handed to `send` (only while runs or batches are on) */
  private outbox: BlockRequest[] = [];

  constructor(
    private readonly send: (msg: BlockRequest) => Promise<void>,
    opts: TrackerOptions = {},
  ) {
    this.windowConfig = opts.window ?? DEFAULT_WINDOW;
    this.window = initialWindow(this.windowConfig);
    this.budget = opts.budget ?? new FlightBudget(this.windowConfig.maxBytes);
    this.now = opts.now ?? (() => performance.now());
    this.answerTimeoutMs = opts.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
    this.sendRun = opts.sendRun ?? null;
    this.sendBatch = opts.sendBatch ?? null;
    // room freed on another link may be what a request here waits for (the global bound)
    this.unsubscribe = this.budget.onRoom(() => this.pump());
  }

  /** Requests in flight now. */
  get inFlight(): number {
    return this.inFlightNow;
  }

  /** The window's state (tests, the bench's log). */
  get windowState(): Readonly<WindowState> {
    return this.window;
  }

  flight(): FlightLoad {
    const w = this.window.windowBytes;
    return { load: (this.bytesInFlight + this.bytesWaiting) / w, windowBytes: w };
  }

  /** Abort listeners currently registered (tests check it stays at one per signal). */
  get listeners(): number {
    return this.watched.size;
  }

  get current(): TrackerState {
    return this.state;
  }

  /**
   * The peer answers requestRun within `limits` (its requestRuns): from now on, requests that go
   * out in one turn for consecutive ranges of one file are sent as one run, and requests waiting
   * for room are let go in groups (see pump).
   */
  peerServesRuns(limits: RunLimits): void {
    this.runs = this.sendRun && limits.maxChunks >= 2 && limits.maxBytes > 0 ? { ...limits } : null;
  }

  /**
   * The peer answers requestBatch within `limits` (its requestBatches): from now on, small
   * requests that go out in one turn of the event loop for one share are sent as one batch.
   */
  peerServesBatches(limits: BatchLimits): void {
    this.batches = this.sendBatch && limits.maxRequests >= 2 && limits.maxBytes > 0 ? { ...limits } : null;
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
    const part = (range: { offset: number; size: number }) =>
      this.fetchPart({ type: 'request', id: 0, share, path, hash, offset: range.offset, size: range.size }, signal);
    if (ranges.length === 1) {
      // most chunks fit one message: its data (already a copy, see answered()) is the chunk
      const res = await part(ranges[0]!);
      if (res.status !== 'ok') return res.status;
      return res.data.length === size ? res.data : 'invalid-request';
    }
    const out = new Uint8Array(size);
    // the parts of a chunk go out together: a 256 KiB chunk must not cost two round trips
    const parts = await Promise.all(
      ranges.map(async (range) => {
        const res = await part(range);
        if (res.status !== 'ok') return res.status;
        if (res.data.length !== range.size) return 'invalid-request' as const;
        out.set(res.data, range.offset - offset);
        return null;
      }),
    );
    return parts.find((p) => p !== null) ?? out;
  }

  /** One part, asked again (after waiting for room) while the peer says it is overloaded. */
  private async fetchPart(msg: BlockRequest, signal: AbortSignal): Promise<BlockResponse> {
    for (let attempt = 0; ; attempt++) {
      await this.slot(signal, msg);
      let res: BlockResponse;
      try {
        res = await this.request(msg, signal);
      } finally {
        this.release(msg.size);
      }
      if (res.status !== 'overloaded' || attempt >= OVERLOADED_RETRIES) return res;
    }
  }

  /** A response from the peer; one for a request given up on is ignored. */
  answered(msg: BlockResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.forget(msg.id, p);
    const now = this.now();
    if (msg.status === 'ok') this.window = delivered(this.window, this.windowConfig, msg.data.length, now - p.sentAt, now);
    else if (msg.status === 'overloaded') this.window = overloaded(this.window, this.inFlightNow);
    p.resolve({ ...msg, data: ownedBytes(msg.data) });
  }

  /** The answers to a requestBatch: each as the response to its own id. */
  answeredBatch(msg: ResponseBatch): void {
    let frame: Uint8Array | null = null;
    for (const res of batchResponses(msg)) {
      // the answers share one frame: a pooled one is copied out of and handed back once, here
      if (isPooledFrame(res.data)) {
        frame = res.data;
        res.data = new Uint8Array(res.data);
      }
      this.answered(res);
    }
    if (frame) recycleFrame(frame);
  }

  /** Fails every request in flight and every wait for a slot; later calls fail at once. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    const err = new Error(`connection closed: ${reason}`);
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    for (const w of this.waiting) w.reject(err);
    this.pending.clear();
    this.waiting.length = 0;
    this.bytesWaiting = 0;
    this.unsubscribe();
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
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i]!.signal !== signal) continue;
      const [w] = this.waiting.splice(i, 1);
      this.bytesWaiting -= w!.size;
      w!.reject(err);
    }
    // a request that waited ahead of others may be gone: the rest may fit now
    this.pump();
  }

  private slot(signal: AbortSignal, msg: BlockRequest): Promise<void> {
    const size = msg.size;
    if (this.state === 'closed') return Promise.reject(this.closedError());
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (!this.waiting.length && this.fits(size)) {
      this.take(size);
      return Promise.resolve();
    }
    this.window = blocked(this.window, this.now());
    return new Promise<void>((resolve, reject) => {
      this.watch(signal);
      this.bytesWaiting += size;
      this.waiting.push({
        signal,
        size,
        msg,
        resolve: () => {
          this.unwatch(signal);
          resolve();
        },
        reject,
      });
    });
  }

  /** Room for `size` more bytes in this link's window and under the device's bound. */
  private fits(size: number): boolean {
    return admits(this.window, this.bytesInFlight, this.inFlightNow, size) && this.budget.admits(size, this.inFlightNow === 0);
  }

  private take(size: number): void {
    this.inFlightNow++;
    this.bytesInFlight += size;
    this.budget.take(size);
  }

  private release(size: number): void {
    this.inFlightNow--;
    this.bytesInFlight -= size;
    this.budget.release(size);
    this.pump();
  }

  /**
   * Lets waiting requests go, in order, while they fit. With runs on and the next two waiting for
   * consecutive ranges of one file, not before a run's worth of the window is free (or nothing is
   * in flight): one answer would otherwise let one request go, and a run would never form.
   * Requests for different files (small files) are never held back.
   */
  private pump(): void {
    if (this.state !== 'open') return;
    if (this.runs && this.inFlightNow > 0 && this.waiting.length > 1 && follows(this.waiting[0]!.msg, this.waiting[1]!.msg)) {
      const want = Math.min(this.runs.maxBytes, this.window.windowBytes / 4, this.bytesWaiting);
      if (this.window.windowBytes - this.bytesInFlight < want) {
        this.window = blocked(this.window, this.now());
        return;
      }
    }
    while (this.waiting.length && this.fits(this.waiting[0]!.size)) {
      const w = this.waiting.shift()!;
      this.bytesWaiting -= w.size;
      this.take(w.size);
      w.resolve();
    }
    // requests still wait: the window, not the demand, holds this epoch back
    if (this.waiting.length) this.window = blocked(this.window, this.now());
  }

  private request(msg: BlockRequest, signal: AbortSignal): Promise<BlockResponse> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    if (signal.aborted) return Promise.reject(abortError(signal));
    const id = this.nextId++;
    return new Promise<BlockResponse>((resolve, reject) => {
      this.watch(signal);
      const sent = { ...msg, id };
      this.pending.set(id, { msg: sent, signal, sentAt: this.now(), timer: null, resolve, reject });
      this.transmit(id, sent);
    });
  }

  /** Takes a request off the books (answered, failed or given up): its timer and abort listener go. */
  private forget(id: number, p: Pending): void {
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    this.unwatch(p.signal);
  }

  /** Sends (or sends again) a request; its answer timeout counts from now. */
  private transmit(id: number, msg: BlockRequest): void {
    const p = this.pending.get(id);
    if (p) {
      if (p.timer) clearTimeout(p.timer);
      p.timer = setTimeout(() => this.unanswered(id, p), this.answerTimeoutMs);
      p.timer.unref?.();
    }
    if (!this.runs && !this.batches) {
      this.send(msg).catch((err) => this.sendFailed([msg], err as Error));
      return;
    }
    // the requests of this turn go together (a batch's answer lets many go at once): never held longer
    if (!this.outbox.length) process.nextTick(this.flush);
    this.outbox.push(msg);
  }

  /**
   * The requests sent in one turn: consecutive ranges of one file, with consecutive ids, as runs;
   * small requests of one share, with consecutive ids, as batches.
   */
  private readonly flush = (): void => {
    const out = this.outbox;
    this.outbox = [];
    if (this.state !== 'open') return;
    for (const { kind, reqs: group } of packRequests(out, this.runs, this.batches)) {
      const first = group[0]!;
      let sent: Promise<void>;
      try {
        sent =
          kind === 'single'
            ? this.send(first)
            : kind === 'run'
              ? this.sendRun!({
                  type: 'requestRun',
                  id: first.id,
                  share: first.share,
                  path: first.path,
                  offset: first.offset,
                  chunks: group.map((r) => ({ hash: r.hash, size: r.size })),
                })
              : this.sendBatch!({
                  type: 'requestBatch',
                  id: first.id,
                  share: first.share,
                  requests: group.map((r) => ({ path: r.path, hash: r.hash, offset: r.offset, size: r.size })),
                });
      } catch (err) {
        // thrown in a tick of its own: it must not reach the process
        sent = Promise.reject(err as Error);
      }
      sent.catch((err) => this.sendFailed(group, err as Error));
    }
  };

  /** A send failed: the requests it carried fail (unless they were sent again meanwhile). */
  private sendFailed(msgs: BlockRequest[], err: Error): void {
    for (const msg of msgs) {
      const p = this.pending.get(msg.id);
      if (!p || p.msg !== msg) continue;
      this.forget(msg.id, p);
      p.reject(err);
    }
  }

  private unanswered(id: number, p: Pending): void {
    if (this.pending.get(id) !== p) return;
    this.forget(id, p);
    p.reject(new NoAnswerError(this.answerTimeoutMs));
  }

  /**
   * Sends requests still waiting for their answer again, same id: the carrier they went over
   * failed and may have lost them or their answers. `only`: those ids (the ones a lost stream
   * carried); default every one. A second answer to one request is ignored. Returns how many went.
   */
  resendPending(only?: readonly number[]): number {
    if (this.state === 'closed') return 0;
    if (!only) {
      for (const [id, p] of this.pending) this.transmit(id, p.msg);
      return this.pending.size;
    }
    let sent = 0;
    for (const id of only) {
      const p = this.pending.get(id);
      if (!p) continue;
      this.transmit(id, p.msg);
      sent++;
    }
    return sent;
  }
}

/**
 * Splits requests (in the order sent) into groups a requestRun can carry: the same share and file,
 * each starting where the one before ends, ids counting up by one, within the peer's limits.
 */
export function runsOf(reqs: readonly BlockRequest[], limits: RunLimits): BlockRequest[][] {
  const out: BlockRequest[][] = [];
  let group: BlockRequest[] = [];
  let bytes = 0;
  for (const r of reqs) {
    const last = group[group.length - 1];
    const joins =
      last !== undefined &&
      r.id === last.id + 1 &&
      follows(last, r) &&
      group.length < limits.maxChunks &&
      bytes + r.size <= limits.maxBytes;
    if (!joins) {
      if (group.length) out.push(group);
      group = [];
      bytes = 0;
    }
    group.push(r);
    bytes += r.size;
  }
  if (group.length) out.push(group);
  return out;
}

/** How a group of requests goes out: alone, as a requestRun, or as a requestBatch. */
export interface Outgoing {
  kind: 'single' | 'run' | 'batch';
  reqs: BlockRequest[];
}

/**
 * Splits requests (in the order sent) into messages: runs where runsOf finds them (with `runs`),
 * and, with `batches`, requests of at most BATCH_PART_MAX_BYTES that would go alone, of one share
 * and with ids counting up by one, gathered into batches within the peer's limits.
 */
export function packRequests(reqs: readonly BlockRequest[], runs: RunLimits | null, batches: BatchLimits | null): Outgoing[] {
  const out: Outgoing[] = [];
  let batch: BlockRequest[] = [];
  let bytes = 0;
  const close = () => {
    if (batch.length) out.push({ kind: batch.length === 1 ? 'single' : 'batch', reqs: batch });
    batch = [];
    bytes = 0;
  };
  for (const group of runsOf(reqs, runs ?? { maxChunks: 1, maxBytes: 0 })) {
    const r = group[0]!;
    if (group.length > 1 || !batches || r.size > Math.min(BATCH_PART_MAX_BYTES, batches.maxBytes)) {
      close();
      out.push({ kind: group.length > 1 ? 'run' : 'single', reqs: group });
      continue;
    }
    const last = batch[batch.length - 1];
    if (
      last &&
      (r.id !== last.id + 1 || r.share !== last.share || batch.length >= batches.maxRequests || bytes + r.size > batches.maxBytes)
    )
      close();
    batch.push(r);
    bytes += r.size;
  }
  close();
  return out;
}

/** `b` asks for the range of the same file that starts where `a`'s ends. */
function follows(a: BlockRequest, b: BlockRequest): boolean {
  return b.path === a.path && b.share === a.share && b.offset === a.offset + a.size;
}
