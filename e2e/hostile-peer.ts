// A scriptable hostile peer for end-to-end tests: a device that holds a share's code and speaks
// the real protocol (a node-datachannel link dialed through the daemon's signaling listener, the
// real handshake with the share's secret), then sends whatever the test scripts: crafted index
// entries, raw messages, chunk replies that are corrupt, or nothing at all.
//
// Built from the lowest layers only (net/ for the link, protocol/ for the handshake and the
// message codec, keys/ for identity and share keys), never from model/: it must keep working
// whatever the engine's session and network code become.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceId } from '../shared/api.ts';
import { parseCode, shareSecretFromCode } from '../main/engine/keys/codes.ts';
import { loadOrCreateIdentity, type DeviceIdentity } from '../main/engine/keys/identity.ts';
import { deriveShareKeys, type ShareKeys } from '../main/engine/keys/secrets.ts';
import { EntrySigner } from '../main/engine/keys/entry-signing.ts';
import { dial, type PeerLink } from '../main/engine/net/index.ts';
import { Handshake } from '../main/engine/protocol/handshake.ts';
import {
  decodeMessage,
  encodeMessage,
  splitIndexUpdate,
  type BlockRequest,
  type FileEntryWire,
  type IndexChunks,
  type IndexUpdate,
  type Message,
  type ResponseStatus,
} from '../main/engine/protocol/messages.ts';
import { chunkSizes } from '../main/engine/scan/cdc.ts';
import { sha256 } from '../main/engine/pull/file-puller.ts';
import { waitUntil, type Device } from './harness.ts';

/** One entry as a test describes it; everything left out gets a plausible value. */
export interface EntrySpec {
  path: string;
  type?: FileEntryWire['type'];
  /** a file's content: chunked as the engine would, and served on request */
  data?: Uint8Array | string;
  symlinkTarget?: string;
  deleted?: boolean;
  mode?: number;
}

/** What the peer answers to a chunk request: the honest bytes, corrupt bytes, a status, or nothing. */
export type Replies = 'honest' | 'corrupt' | 'silent';

export class HostilePeer {
  readonly deviceId: DeviceId;
  /** every message received after the handshake, in order */
  readonly received: Message[] = [];
  /** chunk requests received */
  readonly requests: BlockRequest[] = [];
  /** why the link closed, once it has ('' while open) */
  closedReason = '';
  /** the reason the daemon gave in its close message, if it sent one */
  closeMessage = '';
  replies: Replies = 'honest';
  /** when true nothing at all is answered: no pongs, no acks, no chunks */
  silent = false;
  private sequence = 0;
  private readonly indexId = 1 + Math.floor(Math.random() * 1e9);
  private readonly content = new Map<string, Uint8Array>();

  private readonly signer: EntrySigner;

  private constructor(
    readonly link: PeerLink,
    readonly keys: ShareKeys,
    identity: DeviceIdentity,
  ) {
    this.deviceId = identity.deviceId;
    this.signer = new EntrySigner(keys.discoveryId, keys.writerKeyHash, keys.readWriteSecret);
  }

  /**
   * Dials `target`, proves the share of `code` (the read-write code for a member peer) and waits
   * until the handshake is accepted. `home` keeps the peer's identity (one folder per peer).
   */
  static async connect(target: Device, code: string, home: string, deviceName = 'mallory'): Promise<HostilePeer> {
    const parsed = parseCode(code);
    if (!parsed.ok) throw new Error(`not a share code: ${code}`);
    const keys = deriveShareKeys(shareSecretFromCode(parsed));
    mkdirSync(home, { recursive: true });
    const identity = loadOrCreateIdentity(home);
    const port = (await target.status()).device.listenPort;
    const link = await dial('127.0.0.1', port, {
      device: { deviceId: identity.deviceId, deviceName },
      discoveryIds: [keys.discoveryIdHex],
      via: 'manual',
      link: { certPemFile: identity.certPemPath, keyPemFile: identity.keyPemPath, bindAddress: '127.0.0.1' },
    });
    const peer = new HostilePeer(link, keys, identity);
    await peer.handshake(deviceName, identity);
    return peer;
  }

  private handshake(deviceName: string, identity: DeviceIdentity): Promise<void> {
    const hs = new Handshake({
      local: { deviceId: identity.deviceId, fingerprint: identity.fingerprint, deviceName, clientVersion: 'hostile-peer/1' },
      remoteFingerprint: this.link.remoteFingerprint,
      shares: [this.keys],
    });
    return new Promise<void>((resolve, reject) => {
      let accepted = false;
      this.link.onClose((reason) => {
        this.closedReason = reason || 'closed';
        if (!accepted) reject(new Error(`the link closed during the handshake: ${reason}`));
      });
      this.link.onMessage('index', (bytes) => {
        const msg = decodeMessage(bytes);
        if (msg.type === 'close') this.closeMessage = msg.reason;
        if (!accepted) {
          const step = hs.receive(msg);
          for (const m of step.send) void this.send('index', m);
          if (step.outcome?.accepted) {
            accepted = true;
            resolve();
          } else if (step.outcome) reject(new Error(`handshake refused: ${step.outcome.reason}`));
          return;
        }
        this.received.push(msg);
        if (this.silent) return;
        if (msg.type === 'ping') void this.send('index', { type: 'pong', id: msg.id });
      });
      this.link.onMessage('data', (bytes) => {
        const msg = decodeMessage(bytes);
        if (msg.type !== 'request') return;
        this.requests.push(msg);
        if (this.silent || this.replies === 'silent') return;
        void this.send('data', { type: 'response', id: msg.id, ...this.answer(msg) });
      });
      void this.sendAll('index', hs.start());
    });
  }

  private answer(req: BlockRequest): { status: ResponseStatus; data: Uint8Array } {
    const data = this.content.get(req.path);
    if (!data || req.offset + req.size > data.length) return { status: 'not-found', data: new Uint8Array(0) };
    const part = Buffer.from(data.subarray(req.offset, req.offset + req.size));
    if (this.replies === 'corrupt' && part.length) part[0] ^= 0xff;
    return { status: 'ok', data: part };
  }

  get isOpen(): boolean {
    return this.closedReason === '';
  }

  send(channel: 'index' | 'data', msg: Message): Promise<void> {
    return this.sendRaw(channel, encodeMessage(msg));
  }

  async sendAll(channel: 'index' | 'data', msgs: Message[]): Promise<void> {
    for (const m of msgs) await this.send(channel, m);
  }

  /** Bytes as they are, for messages the encoder would refuse. */
  sendRaw(channel: 'index' | 'data', bytes: Uint8Array): Promise<void> {
    return this.link.send(channel, bytes).catch((err) => {
      if (this.isOpen) throw err;
    });
  }

  /** A well-formed entry for `spec`, with the next sequence number and a version this peer wrote. */
  entry(spec: EntrySpec): FileEntryWire {
    const type = spec.type ?? (spec.symlinkTarget !== undefined ? 'symlink' : 'file');
    const data = typeof spec.data === 'string' ? Buffer.from(spec.data) : (spec.data ?? new Uint8Array(0));
    const sequence = ++this.sequence;
    const chunks: FileEntryWire['chunks'] = [];
    if (type === 'file' && !spec.deleted) {
      let at = 0;
      for (const size of chunkSizes(data)) {
        chunks.push({ hash: sha256(data.subarray(at, at + size)), size });
        at += size;
      }
      this.content.set(spec.path, data);
    }
    return {
      path: spec.path,
      type,
      size: type === 'file' && !spec.deleted ? data.length : 0,
      mode: spec.mode ?? (type === 'dir' ? 0o755 : 0o644),
      mtimeMs: Date.now(),
      version: { [this.deviceId]: sequence },
      sequence,
      deleted: spec.deleted ?? false,
      symlinkTarget: type === 'symlink' ? (spec.symlinkTarget ?? '') : null,
      chunkCount: chunks.length,
      chunks,
      modifiedBy: this.deviceId,
      signature: new Uint8Array(0),
    };
  }

  /** Announces entries (in one index update, split as the engine would). */
  async announce(specs: EntrySpec[]): Promise<FileEntryWire[]> {
    const entries = specs.map((s) => this.entry(s));
    await this.sendAll('index', this.indexMessages(entries));
    return entries;
  }

  /**
   * The index messages carrying `entries`, which may be hand-made (any chunk list, any size). A
   * peer that joined with the read-write code signs them as a writer does; `sign: false` sends them
   * as they are.
   */
  indexMessages(entries: FileEntryWire[], { sign = true } = {}): (IndexUpdate | IndexChunks)[] {
    const signed = sign && this.signer.canSign ? entries.map((e) => ({ ...e, signature: this.signer.sign(e) })) : entries;
    return splitIndexUpdate({ share: this.keys.discoveryIdHex, indexId: this.indexId, maxSequence: this.sequence }, signed);
  }

  /**
   * Asks the daemon for its whole index (as a new peer does) and waits until the entry for
   * `path` has arrived; returns it (entries of small files arrive whole).
   */
  async learn(path: string): Promise<FileEntryWire> {
    await this.send('index', { type: 'indexAck', share: this.share, indexId: 0, sequence: 0 });
    return waitUntil(`the daemon's entry for ${path}`, () => {
      for (let i = this.received.length - 1; i >= 0; i--) {
        const m = this.received[i]!;
        if (m.type !== 'indexUpdate') continue;
        const e = m.entries.find((x) => x.path === path && x.chunks.length === x.chunkCount);
        if (e) return e;
      }
      return null;
    });
  }

  /** Announces another device's entry as this peer's own copy (same version), holding `data`. */
  async claim(e: FileEntryWire, data: Uint8Array): Promise<void> {
    this.content.set(e.path, data);
    await this.sendAll('index', this.indexMessages([{ ...e, sequence: this.nextSequence() }]));
  }

  /** The next sequence number, for hand-made entries. */
  nextSequence(): number {
    return ++this.sequence;
  }

  get share(): string {
    return this.keys.discoveryIdHex;
  }

  get index(): number {
    return this.indexId;
  }

  /** Waits until the daemon closes the link (it dropped this peer); returns its reason. */
  async dropped(timeoutMs = 60_000): Promise<string> {
    await waitUntil('the daemon to drop the hostile peer', () => !this.isOpen, timeoutMs);
    return this.closeMessage || this.closedReason;
  }

  close(): void {
    if (this.isOpen) this.link.close('test over');
  }
}

/** A fresh folder for one hostile peer's identity under a cluster's base folder. */
export function hostileHome(base: string, name: string): string {
  return join(base, `${name}-hostile-home`);
}
