// Flow control for one data channel.
//
// libdatachannel queues whatever we hand it in native memory, without limit. So a message goes to
// the native channel only while its bufferedAmount is under `highWater`; otherwise it waits here
// until the channel reports bufferedAmount fell to `lowWater`. A caller that awaits each send()
// therefore keeps native memory bounded by highWater + one message, and the JS-side queue is
// capped too (maxQueuedBytes), so even a caller that never awaits cannot grow memory without bound.

export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface SenderChannel {
  sendMessageBinary(bytes: Uint8Array): boolean;
  bufferedAmount(): number;
}

export interface SenderLimits {
  highWater: number;
  lowWater: number;
  maxQueuedBytes: number;
  maxMessageBytes: number;
}

export const DEFAULT_SENDER_LIMITS: SenderLimits = {
  highWater: 1024 * 1024,
  lowWater: 256 * 1024,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxMessageBytes: MAX_MESSAGE_BYTES,
};

interface Pending {
  bytes: Uint8Array;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The queue holds `maxQueuedBytes` already: nothing is lost, the caller may send later or answer smaller. */
export class SendQueueFullError extends Error {
  override name = 'SendQueueFullError';
}

export class ChannelSender {
  private readonly queue: Pending[] = [];
  private queued = 0;
  private failed: Error | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  /** total payload bytes handed to the native channel */
  bytesSent = 0;
  /** largest bufferedAmount seen right after a send (for tests and diagnostics) */
  maxBufferedSeen = 0;

  constructor(
    private readonly channel: SenderChannel,
    private readonly name: string,
    readonly limits: SenderLimits = DEFAULT_SENDER_LIMITS,
  ) {
    if (!(limits.lowWater < limits.highWater)) throw new Error('lowWater must be below highWater');
  }

  get queuedBytes(): number {
    return this.queued;
  }

  /**
   * Resolves once the message is handed to the native channel (the caller may then reuse the
   * buffer; until then it must not modify it). Rejects when the message is too big, the queue is
   * full or the channel failed.
   */
  send(bytes: Uint8Array): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!(bytes instanceof Uint8Array)) return Promise.reject(new TypeError(`${this.name}: send() takes a Uint8Array`));
    if (bytes.byteLength > this.limits.maxMessageBytes) {
      return Promise.reject(
        new RangeError(
          `${this.name}: message of ${bytes.byteLength} bytes exceeds the ${this.limits.maxMessageBytes}-byte limit; split it`,
        ),
      );
    }
    if (this.queued + bytes.byteLength > this.limits.maxQueuedBytes) {
      return Promise.reject(
        new SendQueueFullError(`${this.name}: send queue full (${this.queued} bytes waiting); await send() before sending more`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, resolve, reject });
      this.queued += bytes.byteLength;
      this.pump();
    });
  }

  /** The owner calls this from the channel's onBufferedAmountLow callback. */
  onBufferedAmountLow(): void {
    this.pump();
  }

  /** Rejects everything waiting and every later send with `err`. */
  fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.stopPoll();
    const waiting = this.queue.splice(0);
    this.queued = 0;
    for (const p of waiting) p.reject(err);
  }

  private pump(): void {
    if (this.failed) return;
    while (this.queue.length > 0) {
      let buffered: number;
      try {
        buffered = this.channel.bufferedAmount();
      } catch (err) {
        this.fail(new Error(`${this.name}: channel unusable: ${err instanceof Error ? err.message : String(err)}`));
        return;
      }
      if (buffered >= this.limits.highWater) break;
      const p = this.queue.shift()!;
      this.queued -= p.bytes.byteLength;
      try {
        this.channel.sendMessageBinary(p.bytes);
      } catch (err) {
        const e = new Error(`${this.name}: send failed: ${err instanceof Error ? err.message : String(err)}`);
        p.reject(e);
        this.fail(e);
        return;
      }
      this.bytesSent += p.bytes.byteLength;
      try {
        this.maxBufferedSeen = Math.max(this.maxBufferedSeen, this.channel.bufferedAmount());
      } catch {
        // the next pump reports it
      }
      p.resolve();
    }
    // The low-water callback is what normally wakes us; the slow poll only guards against a
    // callback lost in a race with close, so a stuck queue is impossible.
    if (this.queue.length > 0) this.startPoll();
    else this.stopPoll();
  }

  private startPoll(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => this.pump(), 250);
    this.pollTimer.unref();
  }

  private stopPoll(): void {
    if (!this.pollTimer) return;
    clearInterval(this.pollTimer);
    this.pollTimer = null;
  }
}
