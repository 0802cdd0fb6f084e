// A bulk stream: TLS 1.3 (node:tls) over a byte stream (a udx stream, or a TCP connection), both
// device certificates pinned, bound to one authenticated link by tokens swapped over it, carrying
// length-prefixed messages (PROTOCOL.md, "Bulk streams"):
//
//   frame = u32 length (big-endian) | length bytes      a length of 0 is a keepalive
//
// The first frame each way is the token the *other* side sent in its offer over the link: a
// device that was not on the link cannot know it, so nobody can attach a stream to someone else's
// link, even one holding a valid device certificate. The certificate each side presents must be
// the one the WebRTC link's DTLS saw (the device ID's certificate): the stream is encrypted and
// authenticated no weaker than the data channel. Both transports (udx.ts, tcp-bulk.ts) bind their
// streams here and nowhere else.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { errorMessage, guard, type NetLog } from './log.ts';
import { normalizeFingerprint } from '../keys/device-id.ts';
import { readIntoOneBuffer } from './tls-read-buffer.ts';
import { frameBuffer, isPooledFrame, recycleFrame } from './frame-pool.ts';
import { FRAME_ROOM, hasFrameRoom } from '../protocol/messages.ts';

/** Largest message a frame may carry: one data-channel message (256 KiB). */
export const MAX_FRAME_BYTES = 256 * 1024;
export const TOKEN_BYTES = 16;
export const KEEPALIVE_MS = 1_000;
/** Nothing heard on the stream for this long: it is dead (the link falls back to the data channel). */
export const DEAD_MS = Number(process.env.PEERFOLD_UDX_DEAD_MS ?? 10_000);
export const SECURE_TIMEOUT_MS = 10_000;
/** Bytes a stream accepts into its buffers before send() waits (the flow control, as ChannelSender's 1 MiB mark). */
const HIGH_WATER = 1024 * 1024;
/** Messages up to this size are framed in one buffer with their header (a copy this small costs less than a second piece). */
const SMALL_FRAME = 4096;

export class FrameError extends Error {}

const NO_BYTES = Buffer.alloc(0);

/**
 * Splits a byte stream into frames (pure; empty frames are keepalives). A frame that is not
 * wholly inside one piece is copied, piece by piece, straight into a buffer of its own, allocated
 * once its header says how long it is: a 256 KiB frame that arrives as sixteen 16 KiB TLS records
 * costs one buffer, not a list of pieces and a second buffer they are gathered into.
 */
export class FrameReader {
  /** the next frame's length header while it arrives split */
  private readonly head = Buffer.alloc(4);
  private headHave = 0;
  /** the frame being filled (its header was read), and how much of it is */
  private body: Buffer | null = null;
  private bodyHave = 0;

  constructor(private readonly max = MAX_FRAME_BYTES) {}

  /**
   * The complete frames `chunk` finishes, in order. Throws FrameError on an oversized frame (before
   * allocating anything for it). `transient`: the caller reuses `chunk`'s memory once this returns
   * (a socket's one read buffer), so no frame may be a view into it.
   */
  push(chunk: Buffer, transient = false): Buffer[] {
    const out: Buffer[] = [];
    const n = chunk.length;
    let at = 0;
    while (at < n) {
      if (this.body === null) {
        let len: number;
        if (this.headHave === 0 && n - at >= 4) {
          len = chunk.readUInt32BE(at);
          at += 4;
        } else {
          const use = Math.min(4 - this.headHave, n - at);
          chunk.copy(this.head, this.headHave, at, at + use);
          this.headHave += use;
          at += use;
          if (this.headHave < 4) break;
          this.headHave = 0;
          len = this.head.readUInt32BE(0);
        }
        if (len > this.max) throw new FrameError(`a frame of ${len} bytes (at most ${this.max})`);
        if (len === 0) {
          out.push(NO_BYTES);
          continue;
        }
        if (!transient && n - at >= len) {
          // wholly inside a piece the reader may keep: a view, no copy
          out.push(chunk.subarray(at, at + len));
          at += len;
          continue;
        }
        // a big frame gets memory of its own (never a slice of Node's shared pool), so what keeps
        // its data (a chunk on its way to disk) keeps nothing else alive; the puller hands it back
        // for the next frame once the chunk is written (frame-pool.ts)
        this.body = len <= SMALL_FRAME ? Buffer.allocUnsafe(len) : frameBuffer(len);
        this.bodyHave = 0;
      }
      const use = Math.min(this.body.length - this.bodyHave, n - at);
      copyBytes(this.body, this.bodyHave, chunk, at, at + use);
      this.bodyHave += use;
      at += use;
      if (this.bodyHave === this.body.length) {
        out.push(this.body);
        this.body = null;
      }
    }
    return out;
  }
}

/**
 * Copies source[start, end) (not empty) to target at `at`. Into a SharedArrayBuffer (the frame
 * pool's memory) `Buffer.copy` is V8's TypedArray set, which copies shared memory word by word
 * (`relaxed_memmove`: 10 % of a receiver's samples, three times the plain copy); `fill` with a
 * buffer of the region's exact length is one memcpy in Node's C++.
 */
function copyBytes(target: Buffer, at: number, source: Buffer, start: number, end: number): void {
  target.fill(source.subarray(start, end), at, at + end - start);
}

export function frameHeader(len: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(len, 0);
  return h;
}

/** What binds a stream to one link: the peer's pinned certificate and the two tokens of the offers. */
export interface StreamBinding {
  /** SHA-256 of the certificate the peer must present: the one its link's DTLS presented */
  remoteFingerprint: string;
  /** what this device sent in its offer: the peer must present it first */
  ourToken: Uint8Array;
  /** what the peer sent in its offer: presented first */
  peerToken: Uint8Array;
}

interface StreamOptions {
  /** what carries the TLS bytes ('udx', 'TCP'), for messages */
  over: string;
  timeoutMs?: number;
  /** bytes a stream accepts into its buffers before send() waits (default 1 MiB) */
  highWater?: number;
  log: NetLog;
}

export interface SecureStreamOptions extends StreamBinding, Omit<StreamOptions, 'over'> {
  /** what carries the TLS bytes (default 'udx') */
  over?: string;
  /** the dialer of the WebRTC link is the TLS client */
  role: 'client' | 'server';
  certPem: string;
  keyPem: string;
}

export interface BindOptions extends StreamOptions {
  role: 'client' | 'server';
  /**
   * 'first' (default): send the peer's token as soon as its certificate checks out (both ends of
   * a udx stream, the TCP dialer). 'second': wait for the peer's token and answer with ours (a
   * TCP listener, which learns from that token which link the connection is for).
   */
  tokenOrder?: 'first' | 'second';
  /**
   * The binding for the certificate the peer presented (SHA-256 hex) and, with tokenOrder
   * 'second', the token it sent; null: no link here wants this stream.
   */
  bind(peerFingerprint: string, peerToken?: Buffer): StreamBinding | null | Promise<StreamBinding | null>;
  /** the TLS handshake is already done (a socket from a tls.Server's 'secureConnection') */
  secured?: boolean;
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
  /** small frames (and big frames' headers) written this turn, sent as one buffer at its end (write) */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushQueued = false;
  private readonly timer: NodeJS.Timeout;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    private readonly sock: tls.TLSSocket,
    private readonly reader: FrameReader,
    private readonly log: NetLog,
    private readonly highWater = HIGH_WATER,
  ) {
    // Every write is one buffer, and the socket writes each on its own: Node's writev copies all the
    // buffers it gathers into one before TLS encrypts them (a big frame copied once more: a tenth of
    // a sender's main thread). What writev gave (several small frames in one TLS record and one
    // system call) write() does itself, by gathering a turn's small frames into one buffer.
    (sock as unknown as { _writev: unknown })._writev = null;
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

  /** "ip:port" of the peer for a stream over TCP; null over udx (the socket is not a network one) */
  get remoteAddress(): string | null {
    const { remoteAddress: host, remotePort: port } = this.sock;
    if (!host || !port) return null;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  /** Resolves once handed to TLS; waits while more than highWater bytes are buffered (awaiting it is the flow control). */
  send(bytes: Uint8Array): Promise<void> {
    if (this.closedWith !== null) return Promise.reject(new Error(`bulk stream closed: ${this.closedWith}`));
    if (bytes.length > MAX_FRAME_BYTES) return Promise.reject(new Error(`message of ${bytes.length} bytes (at most ${MAX_FRAME_BYTES})`));
    if (!this.waiting.length && this.sock.writableLength < this.highWater) {
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

  /**
   * Small frames written in one turn of the event loop go out together, as one buffer once the
   * turn's callbacks and promise jobs are done: a burst of small messages (the requests one answer
   * lets go) is one TLS record and one system call, not one each. A big frame goes as its own
   * buffer after them; an answer encoded in place (protocol/messages.ts hasFrameRoom) gets its
   * frame header in the free bytes before it, so it is one buffer, never copied here.
   */
  private write(bytes: Uint8Array): void {
    const len = bytes.length;
    if (len <= SMALL_FRAME) {
      // header and body in one buffer: one piece for the socket to gather instead of two
      const frame = Buffer.allocUnsafe(4 + len);
      frame.writeUInt32BE(len, 0);
      frame.set(bytes, 4);
      this.queueSmall(frame);
    } else if (hasFrameRoom(bytes)) {
      const framed = Buffer.from(bytes.buffer, bytes.byteOffset - FRAME_ROOM, FRAME_ROOM + len);
      framed.writeUInt32BE(len, 0);
      this.writeBig(framed, bytes);
    } else {
      // the header goes with the small frames before it, the body alone
      this.queueSmall(frameHeader(len));
      this.writeBig(bytes, bytes);
    }
    this.bytesOut += len;
    this.lastSent = Date.now();
  }

  private queueSmall(frame: Buffer): void {
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(this.sendPending);
    }
  }

  /** `frame` (header and body) as one write; `body`'s memory goes back to the frame pool once the socket wrote it. */
  private writeBig(frame: Uint8Array, body: Uint8Array): void {
    this.sendPending();
    // pooled memory (a chunk the block server read into frameBuffer memory) goes back to the pool
    // once TLS and the socket are done with it; a carrier that does not say so leaves it to the GC
    if (isPooledFrame(body)) this.sock.write(frame, (err) => err || recycleFrame(body));
    else this.sock.write(frame);
  }

  private readonly sendPending = (): void => {
    this.flushQueued = false;
    const n = this.pending.length;
    if (!n) return;
    const one = n === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.sock.destroyed) this.sock.write(one);
  };

  private flush(): void {
    while (this.waiting.length && this.closedWith === null && this.sock.writableLength < this.highWater) {
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
    if (now - this.lastSent >= KEEPALIVE_MS && this.sock.writableLength < this.highWater) this.write(new Uint8Array(0));
  }
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Runs TLS over `duplex` (a udx stream wrapped by duplexOf), checks the peer's certificate and
 * token, and resolves with the open stream. Rejects (and destroys the duplex) on any mismatch or
 * after `timeoutMs`.
 */
export function secureStream(duplex: Duplex, opts: SecureStreamOptions): Promise<BulkStream> {
  const context = tls.createSecureContext({ cert: opts.certPem, key: opts.keyPem, minVersion: 'TLSv1.3' });
  const sock =
    opts.role === 'client'
      ? tls.connect({ socket: duplex, secureContext: context, rejectUnauthorized: false, minVersion: 'TLSv1.3' })
      : new tls.TLSSocket(duplex, { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: false });
  sock.once('close', () => duplex.destroy());
  const binding: StreamBinding = { remoteFingerprint: opts.remoteFingerprint, ourToken: opts.ourToken, peerToken: opts.peerToken };
  return bindStream(sock, { ...opts, over: opts.over ?? 'udx', bind: () => binding });
}

/**
 * Binds a TLS socket to a link: once TLS is through, checks that the peer's certificate is the
 * one `bind` names for it, sends the peer's token, checks the token the peer sends, and resolves
 * with the open stream. Rejects (and destroys the socket) on any mismatch, a malformed frame, or
 * after `timeoutMs` from the call (a peer that sends nothing, or a byte at a time, is cut then).
 */
export function bindStream(sock: tls.TLSSocket, opts: BindOptions): Promise<BulkStream> {
  const over = opts.over;
  const second = opts.tokenOrder === 'second';
  const reader = new FrameReader();
  return new Promise<BulkStream>((resolve, reject) => {
    let stream: BulkStream | null = null;
    let settled = false;
    /** the peer's certificate (sha-256 hex) once TLS is through */
    let seen: string | null = null;
    /** the binding, once chosen and our token sent */
    let bound: StreamBinding | null = null;
    let binding = false;
    let early: Buffer[] = [];
    const fail = (why: string) => {
      if (stream) return stream.close(why);
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(new Error(why));
    };
    const timer = setTimeout(
      guard(opts.log, 'bulk stream secure timer', () => fail(`the TLS handshake over ${over} did not finish in time`)),
      opts.timeoutMs ?? SECURE_TIMEOUT_MS,
    );
    timer.unref();
    /** Chooses the binding (with the peer's token when it answers second), checks it, sends our token. */
    const choose = (peerToken?: Buffer) => {
      binding = true;
      new Promise<StreamBinding | null>((r) => r(opts.bind(seen!, peerToken)))
        .then((b) => {
          if (settled) return;
          if (!b) return fail(`no link here wants a ${over} stream from the device of that certificate`);
          if (normalizeFingerprint(b.remoteFingerprint) !== seen)
            return fail(`the peer's certificate on the ${over} stream is not the one its link presented`);
          bound = b;
          sock.write(Buffer.concat([frameHeader(b.peerToken.length), Buffer.from(b.peerToken)]));
          if (early.length) open([]);
        })
        .catch((err) => fail(`cannot bind the ${over} stream: ${errorMessage(err)}`));
    };
    const secured = guard(opts.log, 'bulk stream secured', () => {
      const peer = sock.getPeerX509Certificate();
      if (!peer) return fail(`the peer presented no certificate on the ${over} stream`);
      seen = sha256Hex(peer.raw);
      if (!second) choose();
      else if (early.length) open([]);
    });
    // the first frame is the peer's token; nothing is accepted before its certificate was checked
    const open = (frames: Buffer[]) => {
      if (!stream) {
        early.push(...frames);
        if (!seen || !early.length) return;
        if (!bound) {
          if (second && !binding) choose(early[0]);
          return;
        }
        frames = early;
        early = [];
        const token = frames.shift()!;
        const ours = Buffer.from(bound.ourToken);
        if (token.length !== ours.length || !timingSafeEqual(token, ours)) {
          fail(`the peer presented a wrong token on the ${over} stream (not the device on this link)`);
          return;
        }
        settled = true;
        clearTimeout(timer);
        stream = new BulkStream(sock, reader, opts.log, opts.highWater);
        resolve(stream);
      }
      stream.received(frames);
    };
    if (opts.secured) queueMicrotask(secured);
    else sock.once(opts.role === 'client' ? 'secureConnect' : 'secure', secured);
    /** Bytes from the socket; `transient`: its memory is reused once this returns. */
    const arrived = (chunk: Buffer, transient: boolean) => {
      let frames: Buffer[];
      try {
        frames = reader.push(chunk, transient);
      } catch (err) {
        fail(`the peer sent a malformed frame: ${errorMessage(err)}`);
        return;
      }
      // until it has our token the peer sends its own and nothing else: no more is held for it
      if (!stream && !bound && early.length + frames.length > 1) {
        fail(`the peer sent more than its token on the ${over} stream before it was bound`);
        return;
      }
      open(frames);
    };
    // what TLS decrypted before the read buffer was in place (or all of it, where Node cannot
    // read into one buffer) comes as 'data' events, in order before what the buffer gets
    sock.on(
      'data',
      guard(opts.log, 'bulk stream data', (chunk: Buffer) => arrived(chunk, false)),
    );
    readIntoOneBuffer(
      sock,
      guard(opts.log, 'bulk stream data', (bytes: Buffer) => arrived(bytes, true)),
    );
    sock.on(
      'error',
      guard(opts.log, 'bulk stream error', (err: Error) => fail(`${over} stream failed: ${err.message}`)),
    );
    sock.on(
      'close',
      guard(opts.log, 'bulk stream closed', () => fail(`the peer closed the ${over} stream`)),
    );
    sock.on(
      'end',
      guard(opts.log, 'bulk stream end', () => fail(`the peer ended the ${over} stream`)),
    );
  });
}
