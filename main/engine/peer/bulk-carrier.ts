// The channel a link's blocks go over: a bulk stream (TCP or udx) while one is up, the WebRTC
// data channel otherwise. Falling back is automatic and loses no request: whatever a dead stream did
// not deliver, the link sends again (`onLost`), and an answer goes back the way its request came,
// or over the data channel when that way is gone.

import type { BlockCarrier, Channel } from './pipe.ts';

/** What the carrier needs of a bulk stream (net/bulk-tls.ts's BulkStream is one). */
export interface BulkStreamLike {
  readonly closed: boolean;
  send(bytes: Uint8Array): Promise<void>;
  onMessage(handler: (bytes: Uint8Array) => void): void;
  onClose(handler: (reason: string) => void): void;
  close(reason: string): void;
}

export class BulkCarrier implements Channel {
  private stream: BulkStreamLike | null = null;
  private kind: BlockCarrier = 'datachannel';
  private handler: ((bytes: Uint8Array, replyOn: Channel) => void) | null = null;
  private readonly lostHandlers: ((reason: string) => void)[] = [];

  constructor(private readonly fallback: Channel) {}

  get transport(): BlockCarrier {
    return this.stream ? this.kind : 'datachannel';
  }

  send(bytes: Uint8Array): Promise<void> {
    const s = this.stream;
    return s ? this.sendVia(s, bytes) : this.fallback.send(bytes);
  }

  onMessage(handler: (bytes: Uint8Array, replyOn?: Channel) => void): void {
    this.handler = handler;
    this.fallback.onMessage((bytes) => handler(bytes, this.fallback));
  }

  /** Called with the reason each time a stream that carried blocks is gone: what it had not delivered is lost. */
  onLost(handler: (reason: string) => void): void {
    this.lostHandlers.push(handler);
  }

  /**
   * From now on blocks go over `stream` (of transport `kind`), until it closes. A stream this
   * replaces is closed, and what it had not delivered is sent again over the new one.
   */
  attach(stream: BulkStreamLike, kind: Exclude<BlockCarrier, 'datachannel'>): void {
    const old = this.stream;
    this.stream = stream;
    this.kind = kind;
    const replyOn: Channel = { send: (bytes) => this.sendVia(stream, bytes), onMessage: () => {} };
    stream.onMessage((bytes) => this.handler?.(bytes, replyOn));
    stream.onClose((reason) => {
      if (this.stream === stream) this.stream = null;
      for (const h of this.lostHandlers) h(reason);
    });
    if (old && old !== stream) old.close(`replaced by a ${kind} stream`);
  }

  close(reason: string): void {
    this.stream?.close(reason);
    this.stream = null;
  }

  /** Over `stream` while it is open; over the data channel when it is closed or closes before taking the message. */
  private sendVia(stream: BulkStreamLike, bytes: Uint8Array): Promise<void> {
    if (stream.closed) return this.fallback.send(bytes);
    return stream.send(bytes).catch(() => this.fallback.send(bytes));
  }
}
