// The index exchange of one share on one link (PROTOCOL.md, "Index exchange"). Each (link, share)
// pair has its own: a share added to a live link starts one, a withdrawn share stops its own and
// leaves the others running.
//
// Sending this device's index:   waiting-for-ack -> idle <-> sending (<-> sending-again) ; stopped
//   waiting-for-ack  nothing sent until the peer says where it stands (its first indexAck)
//   idle             the peer has everything up to `sentUpTo`
//   sending          a send loop runs; `sending-again`: more changed meanwhile, loop once more
//   stopped          withdrawn or the link closed: nothing more is sent or applied
// Receiving the peer's index: messages are applied in order by the link's queue (receive()).

import type { FileRecord } from '../index/rows.ts';
import type { EntrySigner } from '../keys/entry-signing.ts';
import type { IndexStore } from '../index/store.ts';
import {
  IndexAssembler,
  MAX_CHUNKS_PER_FILE,
  ProtocolViolation,
  splitIndexUpdate,
  type IndexAck,
  type IndexChunks,
  type IndexUpdate,
  type FileEntryWire,
  type Message,
} from '../protocol/messages.ts';
import { fromWire, toWire } from '../protocol/wire.ts';
import { malformedWirePath } from '../pull/path-safety.ts';
import type { FetchBlob, ShareSealing } from './share-sealing.ts';

/**
 * How this share's entries travel on this link (PROTOCOL.md, "Encrypted members"):
 *   plain    both devices read the share: entries as they are, every one signed and checked
 *   relay    this device is an encrypted member: encrypted entries pass unchanged (it can check no
 *            signature), and it sends none it made itself
 *   sealed   this device reads the share, the peer is an encrypted member: what goes out is
 *            presented encrypted, what comes in is opened and its writer signature checked
 */
export type Carriage = { kind: 'plain' } | { kind: 'relay' } | { kind: 'sealed'; sealing: ShareSealing; fetchBlob: FetchBlob };

/** Entries read from the database per index message batch. */
export const INDEX_PAGE = 500;

/**
 * How many pages of this device's index may be sent and not yet acknowledged (the peer acks a page
 * once it has written it), and how long the send loop waits for an ack that moves before it lets a
 * window more go. Without a window a device sending its whole index to a new one sent every page at
 * once and the receiver held them all, decoded, in its link's queue while it applied them one by
 * one between its pulls: at 100,000 files that was most of its 738 MB peak (bench/README.md, "Scale,
 * sixth round"). Four pages keep the peer busy (it applies one per turn of its share loop; the ack
 * comes back well before the third page is written). The wait gives up rather than stalls: a peer
 * whose acks never name this index (or never come) gets everything anyway, each timeout doubling
 * the window, and an ack that moves sets it back.
 */
export interface IndexWindow {
  pages: number;
  ackWaitMs: number;
}
export const INDEX_WINDOW: IndexWindow = { pages: 4, ackWaitMs: 10_000 };

/** A batch of a peer's index entries, to be written as a job of the share (ExchangeDeps.applyRemote). */
export interface PeerIndexWrite {
  /** the peer whose entries these are */
  device: string;
  /** the entries, as they will be written */
  records: readonly FileRecord[];
  /** writes them; true when the peer's earlier entries were dropped first (its index started over) */
  apply(): boolean;
}

export type SendState = 'waiting-for-ack' | 'idle' | 'sending' | 'sending-again' | 'stopped';

export type ExchangeStore = Pick<
  IndexStore,
  | 'filesSince'
  | 'maxSequence'
  | 'getPeer'
  | 'updatePeer'
  | 'putFiles'
  | 'transaction'
  | 'forgetDevice'
  | 'localIndexId'
  | 'peerIndexId'
  | 'setPeerIndexId'
>;

export interface ExchangeDeps {
  self: string;
  peer: { deviceId: string; name: () => string };
  store: ExchangeStore;
  send(msg: Message): Promise<void>;
  /** the share is active here (not paused): its index is sent and the peer's applied */
  active(): boolean;
  /** the peer's index for this share changed in a way that may change what this device needs */
  remoteIndexChanged(): void;
  /**
   * Writes the peer's entries (`write.apply`) when the share may take them: as a job of its loop,
   * between its scans and pulls. Resolves once written (then the peer is acknowledged): true when
   * they may change what this device needs, false when they only echo what it already holds.
   */
  applyRemote(write: PeerIndexWrite): Promise<boolean>;
  /** signs this device's entries (a writer) and checks the peer's */
  signer: EntrySigner;
  /** an entry of the peer failed its signature check: it was dropped */
  rejected(path: string, reason: string): void;
  /** test-only (PEERFOLD_TEST=1): alters what is sent, to prove receivers refuse forgeries */
  forge?: (e: FileEntryWire) => FileEntryWire;
  /** default plain */
  carriage?: Carriage;
  /**
   * The peer proved the read-write secret for this share on this link (a proof is checked at the
   * weaker of both devices' levels, so this device is a writer too). Entries then travel unsigned
   * both ways (PROTOCOL.md, "Signed entries"): a device that holds S_rw can sign any entry it
   * likes, so its signature proves nothing, and a writer keeps no signature it receives.
   */
  peerWrites?: boolean;
  /** default INDEX_WINDOW (tests make it small) */
  window?: IndexWindow;
}

export class IndexExchange {
  private state: SendState = 'waiting-for-ack';
  /** our local sequence the peer has (from its acks): we send what comes after */
  private sentUpTo = 0;
  /**
   * The peer's latest acknowledgement of our current index. Kept in memory and written to the
   * peers row only with the next write this exchange makes anyway (a batch of the peer's entries):
   * nothing reads it back, and a durable commit (an fdatasync on the main thread) per ack cost the
   * device sending its index 4 % of its main thread.
   */
  private ackedSeq = 0;
  private readonly assembler: IndexAssembler;
  private readonly carriage: Carriage;
  /** entries go out and come in unsigned: both ends proved S_rw (ExchangeDeps.peerWrites) */
  private readonly betweenWriters: boolean;
  private readonly window: IndexWindow;
  /** the highest sequence of each page sent and not yet acknowledged, in order */
  private readonly unacked: number[] = [];
  /** pages that may be unacknowledged now: window.pages, doubled at each wait that timed out */
  private windowPages: number;
  /** wakes the send loop waiting for room (an ack, or the exchange stopped) */
  private wake: (() => void) | null = null;

  constructor(
    readonly shareId: string,
    readonly discoveryId: string,
    private readonly deps: ExchangeDeps,
  ) {
    this.carriage = deps.carriage ?? { kind: 'plain' };
    this.betweenWriters = this.carriage.kind === 'plain' && deps.peerWrites === true && deps.signer.canSign;
    this.assembler = new IndexAssembler(this.carriage.kind === 'plain' ? 'plain' : 'encrypted');
    this.window = deps.window ?? INDEX_WINDOW;
    this.windowPages = this.window.pages;
  }

  get current(): SendState {
    return this.state;
  }

  /** Our local sequence the peer has acknowledged on this link (0: nothing yet). */
  get acknowledged(): number {
    return this.ackedSeq;
  }

  // a getter, so that checks after an await see a stop that happened meanwhile
  private get stopped(): boolean {
    return this.state === 'stopped';
  }

  /** The first message once the share is carried: where this device stands with the peer's index. */
  opening(): IndexAck {
    // what an encrypted member holds is opened anew on each link (ShareSealing keeps it in memory)
    if (this.carriage.kind === 'sealed') return { type: 'indexAck', share: this.discoveryId, indexId: 0, sequence: 0 };
    const row = this.deps.store.getPeer(this.shareId, this.deps.peer.deviceId);
    return {
      type: 'indexAck',
      share: this.discoveryId,
      indexId: this.deps.store.peerIndexId(this.shareId, this.deps.peer.deviceId),
      sequence: row?.remoteSeqSeen ?? 0,
    };
  }

  /** Pages sent to the peer and not yet acknowledged (tests). */
  get pagesInFlight(): number {
    return this.unacked.length;
  }

  stop(): void {
    this.state = 'stopped';
    this.wake?.();
  }

  /** An index message from the peer, in order. Throws ProtocolViolation for a broken or hostile one. */
  async receive(msg: IndexAck | IndexUpdate | IndexChunks): Promise<void> {
    if (this.state === 'stopped') return;
    if (msg.type === 'indexAck') return this.onAck(msg);
    return this.onIndexPart(msg);
  }

  private onAck(msg: IndexAck): void {
    const { store, self } = this.deps;
    const mine = store.localIndexId(this.shareId);
    if (this.state === 'waiting-for-ack') {
      this.sentUpTo = msg.indexId === mine ? Math.min(msg.sequence, store.maxSequence(this.shareId, self)) : 0;
      this.state = 'idle';
      this.push(true);
    }
    if (msg.indexId !== mine) return;
    this.ackedSeq = msg.sequence;
    let acked = 0;
    while (acked < this.unacked.length && this.unacked[acked]! <= msg.sequence) acked++;
    if (!acked) return;
    this.unacked.splice(0, acked);
    this.windowPages = this.window.pages;
    this.wake?.();
  }

  /**
   * Waits until fewer than the window's pages are unacknowledged (INDEX_WINDOW). A wait with no
   * ack for ackWaitMs doubles the window instead: this never waits forever.
   */
  private async room(): Promise<void> {
    while (!this.stopped && this.unacked.length >= this.windowPages) {
      const acked = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = null;
          resolve(false);
        }, this.window.ackWaitMs);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve(true);
        };
      });
      if (!acked) this.windowPages *= 2;
    }
  }

  /**
   * This device's index changed: send the peer what it has not seen (once it asked). The first
   * send after the peer's first ack says so even when there is nothing: the peer then knows it has
   * all of this index (a device that just joined waits for that before it calls itself in sync).
   */
  push(first = false): void {
    if (this.state === 'sending') this.state = 'sending-again';
    if (this.state !== 'idle') return;
    this.state = 'sending';
    void this.sendLoop(first).then(
      () => {
        if (this.state === 'sending-again') {
          this.state = 'idle';
          this.push();
        } else if (this.state === 'sending') this.state = 'idle';
      },
      () => {
        // the link failed mid-send: it closes; the next link resumes from the peer's ack
        this.state = 'stopped';
      },
    );
  }

  private async sendLoop(first: boolean): Promise<void> {
    const { store, self } = this.deps;
    const indexId = store.localIndexId(this.shareId);
    while (!this.stopped && this.deps.active()) {
      await this.room();
      if (this.stopped || !this.deps.active()) return;
      const page = store.filesSince(this.shareId, self, this.sentUpTo, INDEX_PAGE);
      const maxSequence = store.maxSequence(this.shareId, self);
      if (!page.length) {
        if (first) await this.deps.send({ type: 'indexUpdate', share: this.discoveryId, indexId, maxSequence, entries: [] });
        return;
      }
      first = false;
      const entries: FileEntryWire[] = [];
      // the peer acks the highest sequence among the entries it got: the last one sent, not the page's
      let lastSent = 0;
      for (const r of page) {
        const e = await this.outgoing(r);
        if (this.stopped) return;
        // an entry no message can carry (indexed before scans refused such files) must not stop the rest
        if (e && e.chunks.length <= MAX_CHUNKS_PER_FILE) {
          entries.push(e);
          lastSent = r.sequence;
        }
      }
      for (const m of splitIndexUpdate({ share: this.discoveryId, indexId, maxSequence }, entries)) {
        if (this.stopped) return;
        await this.deps.send(m);
      }
      // a page with nothing to send is acked by nobody: it takes no room in the window
      if (entries.length && lastSent > this.ackedSeq) this.unacked.push(lastSent);
      this.sentUpTo = page[page.length - 1]!.sequence;
    }
  }

  /**
   * An entry as it goes out: a writer signs it (unless the peer is a writer too); a member that
   * cannot sign passes on the signature it received with that version, and sends nothing for a
   * version no writer signed (its own local change: no other device would accept it).
   */
  private seal(r: FileRecord): FileEntryWire | null {
    const { signer, forge } = this.deps;
    if (!forge || this.carriage.kind !== 'plain') return this.betweenWriters ? unsigned(r) : signedForSending(signer, r);
    const e = this.betweenWriters ? unsigned(r) : toWire(r);
    if (signer.canSign && !this.betweenWriters) e.signature = signer.sign(e);
    return forge(e);
  }

  private async outgoing(r: FileRecord): Promise<FileEntryWire | null> {
    switch (this.carriage.kind) {
      case 'plain':
        return this.seal(r);
      case 'relay':
        // an encrypted member makes no versions: a change on its own disk is never sent
        if (r.modifiedBy === this.deps.self) return null;
        return this.deps.forge ? this.deps.forge(toWire(r)) : toWire(r);
      case 'sealed': {
        const e = this.seal(r);
        return e && this.carriage.sealing.present(e);
      }
    }
  }

  /** The peer's entry as this device stores it, or why it is refused (not a protocol violation). */
  private async incoming(e: FileEntryWire): Promise<FileRecord | { refused: string }> {
    const { signer, peer } = this.deps;
    if (this.carriage.kind === 'relay') return fromWire(e, this.shareId, peer.deviceId);
    let plain = e;
    if (this.carriage.kind === 'sealed') {
      const opened = await this.carriage.sealing.open(e, this.carriage.fetchBlob);
      if ('refused' in opened) return opened;
      plain = opened;
      const bad = malformedWirePath(plain.path);
      if (bad) return { refused: `its path ${JSON.stringify(plain.path)} is malformed: ${bad}` };
    }
    // a writer that proved S_rw could sign whatever it sent: nothing to check, nothing to keep
    if (this.betweenWriters) return { ...fromWire(plain, this.shareId, peer.deviceId), signature: null };
    // not a protocol violation: a relay may pass on what another device forged; only the entry goes
    const forged = signer.check(plain, plain.signature);
    if (forged) return { refused: forged };
    const r = fromWire(plain, this.shareId, peer.deviceId);
    r.signature = signer.kept(r.signature);
    return r;
  }

  private async onIndexPart(msg: IndexUpdate | IndexChunks): Promise<void> {
    const batch = this.assembler.push(msg);
    if (!batch || !this.deps.active()) return;
    const { store, peer } = this.deps;
    const records: FileRecord[] = [];
    // refused entries count too: the peer is acknowledged for everything it sent
    let batchMax = 0;
    for (const e of batch.entries) {
      const bad = malformedWirePath(e.path);
      if (bad) throw new ProtocolViolation(`malformed path ${JSON.stringify(e.path)}: ${bad}`);
      if (e.sequence > batchMax) batchMax = e.sequence;
    }
    const got = await Promise.all(batch.entries.map((e) => this.incoming(e)));
    if (this.stopped) return;
    got.forEach((r, i) => {
      if ('refused' in r) this.deps.rejected(batch.entries[i]!.path, r.refused);
      else records.push(r);
    });
    let maxSeq = 0;
    const mayChangeNeed = await this.deps.applyRemote({
      device: peer.deviceId,
      records,
      apply: () => {
        if (this.stopped) return false;
        let restarted = false;
        store.transaction(() => {
          const known = store.peerIndexId(this.shareId, peer.deviceId);
          if (known !== batch.indexId) {
            // the peer's index was rebuilt (or this is the first contact): start its records afresh
            if (known !== 0) {
              store.forgetDevice(this.shareId, peer.deviceId);
              restarted = true;
            }
            store.setPeerIndexId(this.shareId, peer.deviceId, batch.indexId);
          }
          maxSeq = store.getPeer(this.shareId, peer.deviceId)?.remoteSeqSeen ?? 0;
          if (batchMax > maxSeq) maxSeq = batchMax;
          if (records.length) store.putFiles(records);
          store.updatePeer(this.shareId, peer.deviceId, {
            remoteSeqSeen: maxSeq,
            name: peer.name(),
            lastSeen: Date.now(),
            ...(this.ackedSeq ? { localSeqAcked: this.ackedSeq } : {}),
          });
        });
        return restarted;
      },
    });
    if (this.stopped) return;
    if (mayChangeNeed) this.deps.remoteIndexChanged();
    await this.deps.send({ type: 'indexAck', share: this.discoveryId, indexId: batch.indexId, sequence: maxSeq });
  }
}

/** An entry as it goes from one writer to another: with no signature (ExchangeDeps.peerWrites). */
function unsigned(r: FileRecord): FileEntryWire {
  return { ...toWire(r), signature: new Uint8Array(0) };
}

/**
 * An own entry as it may go out: a writer signs it; a member that cannot sign passes on the
 * signature it received with that version, and sends nothing for a version no writer signed.
 */
export function signedForSending(signer: EntrySigner, r: FileRecord): FileEntryWire | null {
  const e = toWire(r);
  if (signer.canSign) e.signature = signer.sign(e);
  else if (signer.check(e, e.signature) !== null) return null;
  return e;
}
