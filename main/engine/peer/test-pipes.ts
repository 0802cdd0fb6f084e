// Two in-memory message pipes joined to each other, for tests of the device link without
// node-datachannel: ordered per channel, delivered asynchronously, closable from either end, and
// `cut()` to model a peer that vanished without a word (killed, unplugged): nothing arrives, no
// close is seen.

import type { LinkChannel, LinkStats, LinkVia } from '../net/transport.ts';
import type { LinkOrigin, MessagePipe } from './pipe.ts';

export interface FakeEnd {
  deviceId: string;
  deviceName: string;
  fingerprint: string;
}

export class MemoryPipe implements MessagePipe, LinkOrigin {
  other: MemoryPipe | null = null;
  private readonly handlers = new Map<LinkChannel, (bytes: Uint8Array) => void>();
  private readonly early = new Map<LinkChannel, Uint8Array[]>();
  private readonly closeHandlers: ((reason: string) => void)[] = [];
  private closedWith: string | null = null;
  /** set by cut(): sends vanish, nothing is delivered */
  severed = false;
  bytesIn = 0;
  bytesOut = 0;
  /** every message sent, by channel (tests look at what went over the wire) */
  readonly sent: { channel: LinkChannel; bytes: Uint8Array }[] = [];
  via: LinkVia = 'lan';
  get connectedVia(): LinkVia {
    return this.via;
  }
  remoteAddress: string | null = '127.0.0.1:1';
  peer: LinkOrigin['peer'] = null;

  constructor(
    readonly id: string,
    readonly role: 'offerer' | 'answerer',
    readonly localFingerprint: string,
    readonly remoteFingerprint: string,
  ) {}

  get closed(): boolean {
    return this.closedWith !== null;
  }

  send(channel: LinkChannel, bytes: Uint8Array): Promise<void> {
    if (this.closedWith !== null) return Promise.reject(new Error(`link closed: ${this.closedWith}`));
    this.sent.push({ channel, bytes });
    this.bytesOut += bytes.byteLength;
    const copy = new Uint8Array(bytes);
    const to = this.other;
    if (!this.severed && to && !to.severed) setImmediate(() => to.deliver(channel, copy));
    return Promise.resolve();
  }

  private deliver(channel: LinkChannel, bytes: Uint8Array): void {
    if (this.closedWith !== null || this.severed) return;
    this.bytesIn += bytes.byteLength;
    const h = this.handlers.get(channel);
    if (h) h(bytes);
    else this.early.set(channel, [...(this.early.get(channel) ?? []), bytes]);
  }

  onMessage(channel: LinkChannel, handler: (bytes: Uint8Array) => void): void {
    this.handlers.set(channel, handler);
    const held = this.early.get(channel) ?? [];
    this.early.delete(channel);
    for (const b of held) handler(b);
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandlers.push(handler);
  }

  close(reason: string): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    for (const h of this.closeHandlers) h(reason);
    const to = this.other;
    if (to && !this.severed) setImmediate(() => to.close('peer closed the connection'));
  }

  stats(): LinkStats {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut, inBytesPerSec: 0, outBytesPerSec: 0 };
  }

  /** The far end stops existing without closing anything. */
  cut(): void {
    this.severed = true;
    if (this.other) this.other.severed = true;
  }
}

let nextId = 1;

/** A link from `dialer` to `listener`: [the dialer's end, the listener's end]. */
export function pipePair(dialer: FakeEnd, listener: FakeEnd, discoveryIds: string[]): [MemoryPipe, MemoryPipe] {
  const id = (nextId++).toString(16).padStart(16, '0');
  const a = new MemoryPipe(id, 'offerer', dialer.fingerprint, listener.fingerprint);
  const b = new MemoryPipe(id, 'answerer', listener.fingerprint, dialer.fingerprint);
  a.other = b;
  b.other = a;
  a.peer = { deviceId: listener.deviceId, deviceName: listener.deviceName, discoveryIds };
  b.peer = { deviceId: dialer.deviceId, deviceName: dialer.deviceName, discoveryIds };
  return [a, b];
}
