// One authenticated connection to one device: the handshake, then for every share both hold,
// the delta index exchange (on the 'index' channel) and block requests (on the 'data' channel).
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { FileRecord } from '../index/rows.ts';
import type { ShareKeys } from '../keys/secrets.ts';
import type { PeerLink, LinkChannel } from '../net/transport.ts';
import { HANDSHAKE_TIMEOUT_MS, Handshake, type SharedShare } from '../protocol/handshake.ts';
import {
  DecodeError,
  IndexAssembler,
  MAX_BLOCK_DATA,
  ProtocolViolation,
  chunkRanges,
  decodeMessage,
  encodeMessage,
  splitIndexUpdate,
  type FileEntryWire,
  type IndexAck,
  type IndexChunks,
  type IndexUpdate,
  type Message,
  type BlockRequest as Request,
  type BlockResponse as Response,
  type ResponseStatus,
} from '../protocol/messages.ts';
import { malformedWirePath } from '../pull/path-safety.ts';
import { normalizeVector } from '../sync/vv.ts';
import { symlinkHash } from '../sync/local-changes.ts';
import { guard } from '../net/log.ts';

/** What a session needs from the rest of the engine, per share (keyed by discovery ID hex). */
export interface SessionHost {
  deviceId: string;
  deviceName: () => string;
  fingerprint: string;
  clientVersion: string;
  /** shares this device offers to this peer right now (not paused) */
  shareKeys(discoveryIds: readonly string[]): ShareKeys[];
  shareIdOf(discoveryId: string): string | null;
  shareRoot(shareId: string): string | null;
  shareActive(shareId: string): boolean;
  store: import('../index/store.ts').IndexStore;
  indexIdOf(shareId: string): number;
  peerIndexId(shareId: string, deviceId: string): number;
  setPeerIndexId(shareId: string, deviceId: string, indexId: number): void;
  /** the peer's index for this share changed */
  remoteIndexChanged(shareId: string): void;
  /** waits until n more bytes may be sent under the upload limit */
  throttleSend(n: number): Promise<void>;
  accepted(session: Session): void;
  closed(session: Session, reason: string): void;
  log(message: string): void;
}

/** Requests this device keeps in flight to one peer; more wait their turn. */
export const MAX_REQUESTS_IN_FLIGHT = 32;
/** Requests this device serves to one peer at once; beyond it the peer is told to retry. */
export const MAX_SERVING = 64;
const INDEX_PAGE = 500;

interface Pending {
  resolve: (r: Response) => void;
  reject: (e: Error) => void;
}

interface ShareState {
  shareId: string;
  discoveryId: string;
  /** our local sequence the peer has (from its acks): we send what comes after */
  sentUpTo: number;
  /** set once the peer told us where it stands with our index */
  started: boolean;
  sending: boolean;
  again: boolean;
}

export class Session {
  readonly link: PeerLink;
  deviceId = '';
  deviceName = '';
  private readonly handshake: Handshake;
  private accepted = false;
  private ended = false;
  /** by discovery ID */
  readonly shares = new Map<string, ShareState>();
  private readonly assembler = new IndexAssembler();
  private nextRequestId = 1;
  private readonly pending = new Map<number, Pending>();
  private waiting: (() => void)[] = [];
  private indexQueue: Promise<void> = Promise.resolve();
  inFlight = 0;
  private serving = 0;

  constructor(
    link: PeerLink,
    private readonly host: SessionHost,
    expectDeviceId?: string,
  ) {
    this.link = link;
    const offered = host.shareKeys(link.peer?.discoveryIds ?? []);
    this.handshake = new Handshake({
      local: { deviceId: host.deviceId, fingerprint: host.fingerprint, deviceName: host.deviceName(), clientVersion: host.clientVersion },
      remoteFingerprint: link.remoteFingerprint,
      shares: offered,
      expectDeviceId,
    });
    const timer = setTimeout(guard((_, m) => host.log(m), 'handshake timer', () => {
      if (!this.accepted) this.close('the handshake did not finish in time');
    }), HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    link.onClose((reason) => this.end(reason, false));
    link.onMessage('index', (bytes) => this.onIndexChannel(bytes));
    link.onMessage('data', (bytes) => this.onDataChannel(bytes));
    this.sendAll('index', this.handshake.start());
  }

  get isAccepted(): boolean {
    return this.accepted && !this.ended;
  }

  hasShare(shareId: string): boolean {
    for (const s of this.shares.values()) if (s.shareId === shareId) return true;
    return false;
  }

  close(reason: string): void {
    if (this.ended) return;
    try {
      void this.link.send('index', encodeMessage({ type: 'close', reason })).catch(() => undefined);
    } catch {
      // the link may already be gone
    }
    this.end(reason, true);
  }

  private end(reason: string, closeLink: boolean): void {
    if (this.ended) return;
    this.ended = true;
    for (const p of this.pending.values()) p.reject(new Error(`connection to ${this.deviceName || 'peer'} closed: ${reason}`));
    this.pending.clear();
    for (const w of this.waiting) w();
    this.waiting = [];
    if (closeLink) setTimeout(() => this.link.close(reason), 50).unref();
    this.host.closed(this, reason);
  }

  private sendAll(channel: LinkChannel, msgs: Message[]): Promise<void> {
    let p = Promise.resolve();
    for (const m of msgs) {
      const bytes = encodeMessage(m);
      p = p.then(() => this.link.send(channel, bytes));
    }
    return p.catch((err) => this.end(`send failed: ${(err as Error).message}`, true));
  }

  private decode(bytes: Uint8Array): Message | null {
    try {
      return decodeMessage(bytes);
    } catch (err) {
      // a newer peer may send message types this version does not know: skip them
      if (err instanceof DecodeError && err.code === 'unknown-type' && this.accepted) return null;
      const why = err instanceof DecodeError ? err.message : String(err);
      this.host.log(`dropping ${this.deviceName || 'peer'}: malformed message (${why})`);
      this.close(`protocol violation: ${why}`);
      return null;
    }
  }

  // ---- the index channel: handshake, then index exchange ---------------------------------------

  private onIndexChannel(bytes: Uint8Array): void {
    if (this.ended) return;
    const msg = this.decode(bytes);
    if (!msg) return;
    if (!this.accepted) {
      const step = this.handshake.receive(msg);
      void this.sendAll('index', step.send);
      if (step.outcome) {
        if (!step.outcome.accepted) {
          this.host.log(`connection with ${step.outcome.peer?.deviceName ?? 'a peer'} refused: ${step.outcome.reason}`);
          this.end(step.outcome.reason, true);
          return;
        }
        this.deviceId = step.outcome.peer.deviceId;
        this.deviceName = step.outcome.peer.deviceName;
        this.onAccepted(step.outcome.shares);
      }
      return;
    }
    // index messages are applied in order, one at a time
    this.indexQueue = this.indexQueue.then(() => this.onIndexMessage(msg)).catch((err) => {
      const why = (err as Error).message;
      this.host.log(`dropping ${this.deviceName}: ${why}`);
      this.close(err instanceof ProtocolViolation ? `protocol violation: ${why}` : why);
    });
  }

  private onAccepted(shared: SharedShare[]): void {
    for (const s of shared) {
      const shareId = this.host.shareIdOf(s.share);
      if (!shareId) continue;
      this.shares.set(s.share, { shareId, discoveryId: s.share, sentUpTo: 0, started: false, sending: false, again: false });
    }
    this.accepted = true;
    this.host.accepted(this);
    // tell the peer where we stand with its index; it sends what comes after
    const acks: Message[] = [];
    for (const st of this.shares.values()) {
      const row = this.host.store.getPeer(st.shareId, this.deviceId);
      acks.push({ type: 'indexAck', share: st.discoveryId, indexId: this.host.peerIndexId(st.shareId, this.deviceId), sequence: row?.remoteSeqSeen ?? 0 });
    }
    void this.sendAll('index', acks);
  }

  private async onIndexMessage(msg: Message): Promise<void> {
    switch (msg.type) {
      case 'indexAck':
        return this.onAck(msg);
      case 'indexUpdate':
      case 'indexChunks':
        return this.onIndexPart(msg);
      case 'close':
        this.host.log(`${this.deviceName} closed the connection: ${msg.reason}`);
        this.end(msg.reason || 'closed by peer', true);
        return;
      case 'ping':
        await this.sendAll('index', [{ type: 'pong', id: msg.id }]);
        return;
      case 'pong':
        return;
      default:
        throw new ProtocolViolation(`${msg.type} is not expected after the handshake`);
    }
  }

  private shareOf(discoveryId: string): ShareState {
    const st = this.shares.get(discoveryId);
    if (!st) throw new ProtocolViolation(`a message for share ${discoveryId}, which this connection does not carry`);
    return st;
  }

  private onAck(msg: IndexAck): void {
    const st = this.shareOf(msg.share);
    const mine = this.host.indexIdOf(st.shareId);
    const from = msg.indexId === mine ? Math.min(msg.sequence, this.host.store.maxSequence(st.shareId, this.host.deviceId)) : 0;
    if (!st.started) {
      st.started = true;
      st.sentUpTo = from;
      this.pushIndex(st.shareId);
    }
    if (msg.indexId === mine) this.host.store.updatePeer(st.shareId, this.deviceId, { localSeqAcked: msg.sequence });
  }

  /** Sends this device's index entries the peer has not seen, in sequence order. */
  pushIndex(shareId: string): void {
    for (const st of this.shares.values()) {
      if (st.shareId !== shareId || !st.started || !this.isAccepted) continue;
      if (st.sending) {
        st.again = true;
        continue;
      }
      st.sending = true;
      void this.sendIndexLoop(st)
        .catch((err) => {
          // the link went away mid-send: the session ends; the next one resumes from the peer's ack
          if (this.isAccepted) this.close(`index send failed: ${(err as Error).message}`);
        })
        .finally(() => {
        st.sending = false;
        if (st.again) {
          st.again = false;
          this.pushIndex(shareId);
        }
      });
    }
  }

  private async sendIndexLoop(st: ShareState): Promise<void> {
    const self = this.host.deviceId;
    const indexId = this.host.indexIdOf(st.shareId);
    while (this.isAccepted && this.host.shareActive(st.shareId)) {
      const page = this.host.store.filesSince(st.shareId, self, st.sentUpTo, INDEX_PAGE);
      if (!page.length) return;
      const maxSequence = this.host.store.maxSequence(st.shareId, self);
      const messages = splitIndexUpdate({ share: st.discoveryId, indexId, maxSequence }, page.map(toWire));
      for (const m of messages) {
        if (!this.isAccepted) return;
        await this.link.send('index', encodeMessage(m));
      }
      st.sentUpTo = page[page.length - 1]!.sequence;
    }
  }

  private async onIndexPart(msg: IndexUpdate | IndexChunks): Promise<void> {
    const st = this.shareOf(msg.share);
    const batch = this.assembler.push(msg);
    if (!batch) return;
    if (!this.host.shareActive(st.shareId)) {
      // paused since the connection opened: end it; the next one restarts from the last ack
      this.close('share paused');
      return;
    }
    const known = this.host.peerIndexId(st.shareId, this.deviceId);
    if (known !== batch.indexId) {
      // the peer's index was rebuilt (or this is the first contact): start its records afresh
      if (known !== 0) this.host.store.forgetDevice(st.shareId, this.deviceId);
      this.host.setPeerIndexId(st.shareId, this.deviceId, batch.indexId);
    }
    const records: FileRecord[] = [];
    let maxSeq = this.host.store.getPeer(st.shareId, this.deviceId)?.remoteSeqSeen ?? 0;
    for (const e of batch.entries) {
      const bad = malformedWirePath(e.path);
      if (bad) throw new ProtocolViolation(`malformed path ${JSON.stringify(e.path)}: ${bad}`);
      records.push(fromWire(e, st.shareId, this.deviceId));
      if (e.sequence > maxSeq) maxSeq = e.sequence;
    }
    this.host.store.transaction(() => {
      this.host.store.putFiles(records);
      this.host.store.updatePeer(st.shareId, this.deviceId, { remoteSeqSeen: maxSeq, name: this.deviceName, lastSeen: Date.now() });
    });
    await this.sendAll('index', [{ type: 'indexAck', share: st.discoveryId, indexId: batch.indexId, sequence: maxSeq }]);
    this.host.remoteIndexChanged(st.shareId);
  }

  // ---- the data channel: block requests and responses ------------------------------------------

  private onDataChannel(bytes: Uint8Array): void {
    if (this.ended || !this.accepted) return;
    const msg = this.decode(bytes);
    if (!msg) return;
    if (msg.type === 'request') {
      if (this.serving >= MAX_SERVING) {
        void this.sendAll('data', [{ type: 'response', id: msg.id, status: 'overloaded', data: new Uint8Array(0) }]);
        return;
      }
      this.serving++;
      this.serve(msg)
        .catch((err) => this.host.log(`serving ${msg.path} to ${this.deviceName} failed: ${(err as Error).message}`))
        .finally(() => this.serving--);
    }
    else if (msg.type === 'response') {
      const p = this.pending.get(msg.id);
      if (!p) return; // answered after we gave up on it
      this.pending.delete(msg.id);
      // decoded fields are views into the message buffer: keep a copy
      p.resolve({ ...msg, data: new Uint8Array(msg.data) });
    } else this.close(`protocol violation: ${msg.type} on the data channel`);
  }

  private async serve(req: Request): Promise<void> {
    const reply = (status: ResponseStatus, data: Uint8Array = new Uint8Array(0)) =>
      this.sendAll('data', [{ type: 'response', id: req.id, status, data }]);
    const st = this.shares.get(req.share);
    if (!st || !this.host.shareActive(st.shareId)) return reply('not-shared');
    const root = this.host.shareRoot(st.shareId);
    if (!root) return reply('not-shared');
    try {
      // Usually the request is one whole chunk at the offset the requester took from our index:
      // the bytes there, checked against the hash, are the answer without looking up the file's
      // chunk list (decoding that per request made big files quadratic: a 1 GiB file has ~16k).
      const quick = this.quickLocate(st.shareId, req);
      let found = quick && (await readChunk(root, quick, req.hash).catch(() => null));
      if (!found) {
        const located = this.locate(st.shareId, req);
        if (!located) return reply('not-found');
        found = await readChunk(root, located, req.hash);
        if (!found) return reply('changed');
      }
      const part = found.chunk.subarray(req.offset - found.requestBase, req.offset - found.requestBase + req.size);
      await this.host.throttleSend(part.length);
      if (process.env.PEERFOLD_FAULT_CORRUPT_SERVE === '1' && part.length > 0) {
        // fault injection for tests: this device serves corrupt data, as a broken or hostile peer would
        const bad = Buffer.from(part);
        bad[0] ^= 0xff;
        return reply('ok', bad);
      }
      return reply('ok', part);
    } catch {
      return reply('io-error');
    }
  }

  /** The requested range itself, when it is a whole chunk of a live file here (serve() verifies it). */
  private quickLocate(shareId: string, req: Request): { path: string; offset: number; size: number; requestBase: number } | null {
    // a request of MAX_BLOCK_DATA bytes is usually a part of a bigger chunk: its hash is the chunk's
    if (req.size === 0 || req.size >= MAX_BLOCK_DATA) return null;
    const live = this.host.store.fileVersion(shareId, this.host.deviceId, req.path);
    return live && !live.deleted ? { path: req.path, offset: req.offset, size: req.size, requestBase: req.offset } : null;
  }

  /**
   * Where the requested range is on this device: in the named file's chunk whose range covers it,
   * or in any local file holding a chunk with that hash.
   */
  private locate(shareId: string, req: Request): { path: string; offset: number; size: number; requestBase: number } | null {
    const rec = this.host.store.getFile(shareId, this.host.deviceId, req.path);
    if (rec && !rec.deleted) {
      let at = 0;
      for (const c of rec.chunks) {
        if (req.offset >= at && req.offset + req.size <= at + c.size && Buffer.from(c.hash).equals(req.hash)) {
          return { path: rec.path, offset: at, size: c.size, requestBase: at };
        }
        at += c.size;
      }
    }
    // The file changed here, or the chunk sits in another file: a whole-chunk request can still
    // be served from wherever the chunk is (a part of a larger chunk cannot be placed).
    for (const loc of this.host.store.findChunk(req.hash)) {
      if (loc.shareId === shareId && loc.size === req.size) return { path: loc.path, offset: loc.offset, size: loc.size, requestBase: req.offset };
    }
    return null;
  }

  /** Fetches one chunk (in one or more parts) from this peer; the caller verifies it. */
  async fetchChunk(discoveryId: string, path: string, hash: Uint8Array, offset: number, size: number, signal: AbortSignal): Promise<Uint8Array | ResponseStatus> {
    const out = new Uint8Array(size);
    for (const range of chunkRanges(offset, size)) {
      await this.slot(signal);
      let res: Response;
      try {
        res = await this.request({ type: 'request', id: 0, share: discoveryId, path, hash, offset: range.offset, size: range.size }, signal);
      } finally {
        this.release();
      }
      if (res.status !== 'ok') return res.status;
      if (res.data.length !== range.size) return 'invalid-request';
      out.set(res.data, range.offset - offset);
    }
    return out;
  }

  private async slot(signal: AbortSignal): Promise<void> {
    while (this.inFlight >= MAX_REQUESTS_IN_FLIGHT) {
      signal.throwIfAborted();
      if (this.ended) throw new Error('connection closed');
      await new Promise<void>((r) => this.waiting.push(r));
    }
    this.inFlight++;
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }

  private request(msg: Request, signal: AbortSignal): Promise<Response> {
    if (this.ended) return Promise.reject(new Error('connection closed'));
    const id = this.nextRequestId++;
    return new Promise<Response>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.link.send('data', encodeMessage({ ...msg, id })).catch((err) => {
        this.pending.delete(id);
        reject(err as Error);
      });
    });
  }
}

/** The chunk at `at` when its bytes still hash to `hash`; null when they do not; throws on I/O errors. */
async function readChunk(root: string, at: { path: string; offset: number; size: number; requestBase: number }, hash: Uint8Array): Promise<{ chunk: Buffer; requestBase: number } | null> {
  const chunk = Buffer.allocUnsafe(at.size);
  const handle = await fsp.open(join(root, at.path), 'r');
  let read = 0;
  try {
    ({ bytesRead: read } = await handle.read(chunk, 0, at.size, at.offset));
  } finally {
    await handle.close();
  }
  return read === at.size && createHash('sha256').update(chunk).digest().equals(hash) ? { chunk, requestBase: at.requestBase } : null;
}

export function toWire(r: FileRecord): FileEntryWire {
  return {
    path: r.path,
    type: r.type,
    size: r.size,
    mode: r.mode,
    mtimeMs: r.mtimeMs,
    version: r.version,
    sequence: r.sequence,
    deleted: r.deleted,
    symlinkTarget: r.type === 'symlink' ? r.symlinkTarget : null,
    chunkCount: r.chunks.length,
    chunks: r.chunks.map((c) => ({ hash: c.hash, size: c.size })),
    modifiedBy: r.modifiedBy,
  };
}

export function fromWire(e: FileEntryWire, shareId: string, deviceId: string): FileRecord {
  const chunks = e.chunks.map((c) => ({ hash: new Uint8Array(c.hash), size: c.size }));
  return {
    shareId,
    deviceId,
    path: e.path,
    type: e.type,
    size: e.size,
    mode: e.mode,
    mtimeMs: e.mtimeMs,
    inode: 0,
    symlinkTarget: e.symlinkTarget,
    version: normalizeVector(e.version),
    sequence: e.sequence,
    deleted: e.deleted,
    chunks,
    hash: contentHash(e),
    modifiedBy: e.modifiedBy,
  };
}

/** The content hash is recomputed from what was received, never taken on trust. */
function contentHash(e: FileEntryWire): string {
  if (e.deleted) return '';
  if (e.type === 'symlink') return symlinkHash(e.symlinkTarget ?? '');
  if (e.type === 'dir') return '';
  const h = createHash('sha256');
  for (const c of e.chunks) h.update(c.hash);
  return h.digest('hex');
}
