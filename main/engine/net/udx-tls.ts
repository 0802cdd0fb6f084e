// A bulk stream: TLS 1.3 (node:tls) over a udx stream, both device certificates pinned, bound to
// one authenticated link by tokens swapped over it, carrying length-prefixed messages
// (PROTOCOL.md, "Bulk streams"):
//
//   frame = u32 length (big-endian) | length bytes      a length of 0 is a keepalive
//
// The first frame each way is the token the *other* side sent in its udxOffer over the link: a
// device that was not on the link cannot know it, so nobody can attach a stream to someone else's
// link, even one holding a valid device certificate. The certificate each side presents must be
// the one the WebRTC link's DTLS saw (the device ID's certificate): the stream is encrypted and
// authenticated no weaker than the data channel.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { errorMessage, guard, type NetLog } from './log.ts';
import { normalizeFingerprint } from '../keys/device-id.ts';

/** Largest message a frame may carry: one data-channel message (256 KiB). */
export const MAX_FRAME_BYTES = 256 * 1024;
export const TOKEN_BYTES = 16;
export const KEEPALIVE_MS = 1_000;
/** Nothing heard on the stream for this long: it is dead (the link falls back to the data channel). */
export const DEAD_MS = Number(process.env.PEERFOLD_UDX_DEAD_MS ?? 10_000);
export const SECURE_TIMEOUT_MS = 10_000;
/** Bytes a stream accepts into its buffers before send() waits (the flow control, as ChannelSender's 1 MiB mark). */
const HIGH_WATER = 1024 * 1024;

export class FrameError extends Error {}

/** Splits a byte stream into frames (pure; empty frames are keepalives). */
export class FrameReader {
  private parts: Buffer[] = [];
  private have = 0;

  constructor(private readonly max = MAX_FRAME_BYTES) {}

  /** The complete frames `chunk` finishes, in order. Throws FrameError on an oversized frame. */
  push(chunk: Buffer): Buffer[] {
    this.parts.push(chunk);
    this.have += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.have < 4) break;
      const head = this.peek(4);
      const len = head.readUInt32BE(0);
      if (len > this.max) throw new FrameError(`a frame of ${len} bytes (at most ${this.max})`);
      if (this.have < 4 + len) break;
      this.take(4);
      out.push(len ? this.take(len) : Buffer.alloc(0));
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.parts[0]!.length >= n) return this.parts[0]!.subarray(0, n);
    return Buffer.concat(this.parts).subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.parts[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.parts.shift();
      else this.parts[0] = first.subarray(n);
      this.have -= n;
      return out;
    }
    const all = Buffer.concat(this.parts);
    const out = Buffer.from(all.subarray(0, n)); // its own memory: the rest stays referenced below
    this.parts = all.length > n ? [all.subarray(n)] : [];
    this.have -= n;
    return out;
  }
}

export function frameHeader(len: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(len, 0);
  return h;
}

export interface SecureStreamOptions {
  /** the dialer of the WebRTC link is the TLS client */
  role: 'client' | 'server';
  certPem: string;
  keyPem: string;
  /** SHA-256 of the certificate the peer must present: the one its link's DTLS presented */
  remoteFingerprint: string;
  /** what this device sent in its udxOffer: the peer must present it first */
  ourToken: Uint8Array;
  /** what the peer sent in its udxOffer: presented first */
  peerToken: Uint8Array;
  timeoutMs?: number;
  log: NetLog;
}

/** One open bulk stream: ordered, reliable messages of at most MAX_FRAME_BYTES. */
export class BulkStream {
  private handler: ((bytes: Uint8Array) => void) | null = null;
  private undelivered: Uint8Array[] = [];
  private closeHandlers: ((reason: string) => void)[] = [];
  private closedWith: string | null = null;
  private readonly waiting: { bytes: Uint8Array; resolve: () => void; reject: (e: Error) => void }[] = [];
  private lastHeard = Date.now();
  private lastSent = Date.now();
  private lastTick = Date.now();
  private readonly timer: NodeJS.Timeout;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    private readonly sock: tls.TLSSocket,
    private readonly reader: FrameReader,
    private readonly log: NetLog,
  ) {
    sock.on(
      'drain',
      guard(log, 'bulk stream drain', () => this.flush()),
    );
    this.timer = setInterval(
      guard(log, 'bulk stream keepalive', () => this.tick()),
      KEEPALIVE_MS,
    );
    this.timer.unref();
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Resolves once handed to TLS; waits while more than 1 MiB is buffered (awaiting it is the flow control). */
  send(bytes: Uint8Array): Promise<void> {
    if (this.closedWith !== null) return Promise.reject(new Error(`bulk stream closed: ${this.closedWith}`));
    if (bytes.length > MAX_FRAME_BYTES) return Promise.reject(new Error(`message of ${bytes.length} bytes (at most ${MAX_FRAME_BYTES})`));
    if (!this.waiting.length && this.sock.writableLength < HIGH_WATER) {
      this.write(bytes);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiting.push({ bytes, resolve, reject }));
  }

  onMessage(handler: (bytes: Uint8Array) => void): void {
    this.handler = handler;
    const held = this.undelivered;
    this.undelivered = [];
    for (const b of held) this.deliver(b);
  }

  /** Called once with the reason when the stream closes (at once if it already has). */
  onClose(handler: (reason: string) => void): void {
    if (this.closedWith !== null) handler(this.closedWith);
    else this.closeHandlers.push(handler);
  }

  close(reason: string): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    clearInterval(this.timer);
    const err = new Error(`bulk stream closed: ${reason}`);
    for (const w of this.waiting.splice(0)) w.reject(err);
    this.sock.destroy();
    for (const h of this.closeHandlers.splice(0)) guard(this.log, 'bulk stream close handler', h)(reason);
  }

  /** Frames that arrived with the token frame, and everything after it. */
  received(frames: Buffer[]): void {
    this.lastHeard = Date.now();
    for (const f of frames) {
      if (this.closedWith !== null) return;
      if (!f.length) continue; // keepalive
      this.bytesIn += f.length;
      if (this.handler) this.deliver(f);
      else this.undelivered.push(f);
    }
  }

  private deliver(bytes: Uint8Array): void {
    try {
      this.handler!(bytes);
    } catch (err) {
      this.log('error', `bulk stream message handler threw: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }

  private write(bytes: Uint8Array): void {
    this.sock.cork();
    this.sock.write(frameHeader(bytes.length));
    if (bytes.length) this.sock.write(bytes);
    this.sock.uncork();
    this.bytesOut += bytes.length;
    this.lastSent = Date.now();
  }

  private flush(): void {
    while (this.waiting.length && this.closedWith === null && this.sock.writableLength < HIGH_WATER) {
      const w = this.waiting.shift()!;
      this.write(w.bytes);
      w.resolve();
    }
  }

  private tick(): void {
    const now = Date.now();
    // a late tick means this process stalled, not that the peer went quiet
    if (now - this.lastTick > 3 * KEEPALIVE_MS) this.lastHeard = now;
    this.lastTick = now;
    if (now - this.lastHeard > DEAD_MS) {
      this.close(`nothing heard for ${Math.round(DEAD_MS / 1000)} s`);
      return;
    }
    if (now - this.lastSent >= KEEPALIVE_MS && this.sock.writableLength < HIGH_WATER) this.write(new Uint8Array(0));
  }
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Runs TLS over `duplex` (a udx stream wrapped by duplexOf), checks the peer's certificate and
 * token, and resolves with the open stream. Rejects (and destroys the duplex) on any mismatch or
 * after `timeoutMs`.
 */
export function secureStream(duplex: Duplex, opts: SecureStreamOptions): Promise<BulkStream> {
  const want = normalizeFingerprint(opts.remoteFingerprint);
  const context = tls.createSecureContext({ cert: opts.certPem, key: opts.keyPem, minVersion: 'TLSv1.3' });
  const sock =
    opts.role === 'client'
      ? tls.connect({ socket: duplex, secureContext: context, rejectUnauthorized: false, minVersion: 'TLSv1.3' })
      : new tls.TLSSocket(duplex, { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: false });
  const reader = new FrameReader();
  return new Promise<BulkStream>((resolve, reject) => {
    let stream: BulkStream | null = null;
    let settled = false;
    let verified = false;
    let early: Buffer[] = [];
    const fail = (why: string) => {
      if (stream) return stream.close(why);
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      duplex.destroy();
      reject(new Error(why));
    };
    const timer = setTimeout(
      guard(opts.log, 'bulk stream secure timer', () => fail('the TLS handshake over udx did not finish in time')),
      opts.timeoutMs ?? SECURE_TIMEOUT_MS,
    );
    timer.unref();
    const secured = guard(opts.log, 'bulk stream secured', () => {
      const peer = sock.getPeerX509Certificate();
      if (!peer || !want || sha256Hex(peer.raw) !== want) {
        fail("the peer's certificate on the udx stream is not the one its link presented");
        return;
      }
      verified = true;
      sock.write(Buffer.concat([frameHeader(opts.peerToken.length), Buffer.from(opts.peerToken)]));
      if (early.length) open([]);
    });
    // the first frame is the peer's token; nothing is accepted before its certificate was checked
    const open = (frames: Buffer[]) => {
      if (!stream) {
        early.push(...frames);
        if (!verified || !early.length) return;
        frames = early;
        early = [];
        const token = frames.shift()!;
        const ours = Buffer.from(opts.ourToken);
        if (token.length !== ours.length || !timingSafeEqual(token, ours)) {
          fail('the peer presented a wrong token on the udx stream (not the device on this link)');
          return;
        }
        settled = true;
        clearTimeout(timer);
        stream = new BulkStream(sock, reader, opts.log);
        resolve(stream);
      }
      stream.received(frames);
    };
    sock.once(opts.role === 'client' ? 'secureConnect' : 'secure', secured);
    sock.on(
      'data',
      guard(opts.log, 'bulk stream data', (chunk: Buffer) => {
        let frames: Buffer[];
        try {
          frames = reader.push(chunk);
        } catch (err) {
          fail(`the peer sent a malformed frame: ${errorMessage(err)}`);
          return;
        }
        open(frames);
      }),
    );
    sock.on(
      'error',
      guard(opts.log, 'bulk stream error', (err: Error) => fail(`udx stream failed: ${err.message}`)),
    );
    sock.on(
      'close',
      guard(opts.log, 'bulk stream closed', () => fail('the peer closed the udx stream')),
    );
    sock.on(
      'end',
      guard(opts.log, 'bulk stream end', () => fail('the peer ended the udx stream')),
    );
  });
}
