// The channel a link's blocks go over: its bulk streams (TCP or udx) while any is up, the WebRTC
// data channel otherwise. Several TCP streams of one link (stripes, tcp-leg.ts) carry the blocks
// side by side: each request goes over the stream with the fewest bytes asked for and not yet
// answered, so a stream whose window or loss holds it back is given less. Falling back is
// automatic and loses no request: whatever a dead stream did not deliver, the link sends again
// (`onLost` names those requests; they go over the streams still up, or the data channel), and an
// answer goes back the way its request came, or over the data channel when that way is gone.

import type { BlockCarrier, Channel } from './pipe.ts';

/** What the carrier needs of a bulk stream (net/bulk-tls.ts's BulkStream is one). */
export interface BulkStreamLike {
  readonly closed: boolean;
  send(bytes: Uint8Array): Promise<void>;
  onMessage(handler: (bytes: Uint8Array) => void): void;
  onClose(handler: (reason: string) => void): void;
  close(reason: string): void;
}

/** One stream of the link, with the requests that went over it and wait for their answer. */
interface Lane {
  stream: BulkStreamLike;
  /** request id -> bytes it asked for */
  asked: Map<number, number>;
  askedBytes: number;
}

/**
 * Called when a stream that carried blocks is gone: `requests` are the ids of the requests it
 * carried that had no answer yet (what must be sent again).
 */
export type LostHandler = (reason: string, requests: number[]) => void;

/**
 * The lane to send on (pure): of the open ones but `not`, the one with the fewest bytes waiting for
 * an answer; the earliest of equals.
 */
export function leastAsked<L extends { askedBytes: number; stream: { closed: boolean } }>(lanes: readonly L[], not?: unknown): L | null {
  let best: L | null = null;
  for (const l of lanes) if (!l.stream.closed && l.stream !== not && (!best || l.askedBytes < best.askedBytes)) best = l;
  return best;
}

export class BulkCarrier implements Channel {
  private lanes: Lane[] = [];
  private kind: BlockCarrier = 'datachannel';
  /** request id -> the lane it went over */
  private readonly laneOf = new Map<number, Lane>();
  private handler: ((bytes: Uint8Array, replyOn: Channel) => void) | null = null;
  private readonly lostHandlers: LostHandler[] = [];

  constructor(private readonly fallback: Channel) {}

  get transport(): BlockCarrier {
    return this.lanes.length ? this.kind : 'datachannel';
  }

  /** Bulk streams carrying the blocks now. */
  get streams(): number {
    return this.lanes.length;
  }

  /** Anything but a request (an answer sent without its way back): the least busy stream. */
  send(bytes: Uint8Array): Promise<void> {
    const lane = leastAsked(this.lanes);
    return lane ? this.sendVia(lane.stream, bytes) : this.fallback.send(bytes);
  }

  /**
   * A block request (id, bytes asked for): over the stream with the fewest bytes asked and not
   * answered. `after`: the sizes of the ids id + 1, ... that the same message asks for (a requestRun).
   */
  sendRequest(bytes: Uint8Array, id: number, size: number, after: readonly number[] = []): Promise<void> {
    for (let i = 0; i <= after.length; i++) this.settle(id + i); // sent again: it counts where it goes now
    const lane = leastAsked(this.lanes);
    if (!lane) return this.fallback.send(bytes);
    for (let i = 0; i <= after.length; i++) {
      const n = i === 0 ? size : after[i - 1]!;
      lane.asked.set(id + i, n);
      lane.askedBytes += n;
      this.laneOf.set(id + i, lane);
    }
    return this.sendVia(lane.stream, bytes);
  }

  /** The answer to request `id` arrived (or the request was given up): its stream has that much less to bring. */
  answered(id: number): void {
    this.settle(id);
  }

  onMessage(handler: (bytes: Uint8Array, replyOn?: Channel) => void): void {
    this.handler = handler;
    this.fallback.onMessage((bytes) => handler(bytes, this.fallback));
  }

  onLost(handler: LostHandler): void {
    this.lostHandlers.push(handler);
  }

  /**
   * Blocks go over `stream` (of transport `kind`) from now on, until it closes: beside the streams
   * already up when they are of the same kind (stripes), instead of them otherwise. A stream this
   * replaces is closed, and what it had not delivered is sent again over the new one.
   */
  attach(stream: BulkStreamLike, kind: Exclude<BlockCarrier, 'datachannel'>): void {
    const replaced = kind === this.kind ? [] : this.lanes;
    const lane: Lane = { stream, asked: new Map(), askedBytes: 0 };
    this.lanes = kind === this.kind ? [...this.lanes, lane] : [lane];
    this.kind = kind;
    const replyOn: Channel = { send: (bytes) => this.sendVia(stream, bytes), onMessage: () => {} };
    stream.onMessage((bytes) => this.handler?.(bytes, replyOn));
    stream.onClose((reason) => {
      this.lanes = this.lanes.filter((l) => l !== lane);
      const requests = [...lane.asked.keys()];
      for (const id of requests) if (this.laneOf.get(id) === lane) this.laneOf.delete(id);
      lane.asked.clear();
      lane.askedBytes = 0;
      for (const h of this.lostHandlers) h(reason, requests);
    });
    for (const old of replaced) if (old.stream !== stream) old.stream.close(`replaced by a ${kind} stream`);
  }

  close(reason: string): void {
    const lanes = this.lanes;
    this.lanes = [];
    for (const l of lanes) l.stream.close(reason);
  }

  private settle(id: number): void {
    const lane = this.laneOf.get(id);
    if (!lane) return;
    this.laneOf.delete(id);
    const size = lane.asked.get(id);
    if (size === undefined) return;
    lane.asked.delete(id);
    lane.askedBytes -= size;
  }

  /** Over `stream` while it is open; else over another stream of the link, or the data channel. */
  private sendVia(stream: BulkStreamLike, bytes: Uint8Array): Promise<void> {
    if (stream.closed) return this.sendElsewhere(stream, bytes);
    // closed under it: another stream; refused while open (a message too large): the data channel
    return stream.send(bytes).catch(() => (stream.closed ? this.sendElsewhere(stream, bytes) : this.fallback.send(bytes)));
  }

  private sendElsewhere(dead: BulkStreamLike, bytes: Uint8Array): Promise<void> {
    const lane = leastAsked(this.lanes, dead);
    return lane ? this.sendVia(lane.stream, bytes) : this.fallback.send(bytes);
  }
}
