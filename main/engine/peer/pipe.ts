// The two seams a device link stands on, kept apart so either can change alone:
//   LinkOrigin   how the link came up: who dialed, the connection id, how the peer was found, the
//                certificates DTLS saw. Signaling, LAN discovery, a tracker or a relay make it.
//   MessagePipe  what carries the messages: the two data channels of one WebRTC peer connection
//                ('index' for control and index, 'data' for blocks).
//   BulkPlug     a second carrier for the blocks (bulk-link.ts: a TCP or udx stream), set up over the live
//                link and falling back to the 'data' channel by itself.
// net/transport.ts's PeerLink is both; tests use in-memory pipes (test-pipes.ts).

import type { PeerTransport } from '../../../shared/api.ts';
import type { LinkChannel, LinkPeer, LinkRole, LinkStats, LinkVia } from '../net/transport.ts';
import type { BulkOffer } from '../protocol/messages.ts';

export type { LinkChannel, LinkStats, LinkVia };

/** One ordered, reliable message stream. */
export interface Channel {
  /** Resolves when handed to the transport; awaiting it is the flow control. */
  send(bytes: Uint8Array): Promise<void>;
  /**
   * Sets the handler; messages that came earlier are delivered to it. `replyOn`, when given, is
   * the way back the message came (an answer sent there reaches the peer even after a switch of
   * carrier).
   */
  onMessage(handler: (bytes: Uint8Array, replyOn?: Channel) => void): void;
}

/** What carries a link's blocks right now (PeerInfo.transport). */
export type BlockCarrier = PeerTransport;

/** A second carrier for a link's blocks: a Channel that sets itself up once the link is live. */
export interface BulkPlug extends Channel {
  readonly transport: BlockCarrier;
  /** streams of that transport carrying the blocks now (0 on the data channel) */
  readonly streams: number;
  /** The link is live: `sendControl` carries this plug's messages to the peer over the link. */
  start(sendControl: (msg: BulkOffer) => void): void;
  /** the peer's udxOffer or tcpOffer arrived over the link */
  peerOffered(msg: BulkOffer): void;
  /**
   * A block request: the plug picks which of its streams carries it (by bytes asked and not
   * answered). `after`: the sizes of the ids id + 1, ... the same message asks for (a requestRun).
   */
  sendRequest(bytes: Uint8Array, id: number, size: number, after?: readonly number[]): Promise<void>;
  /** the answer to request `id` arrived */
  answered(id: number): void;
  /** called when a stream the plug had given messages may not have delivered them: send `requests` (ids) again */
  onLost(handler: (reason: string, requests: number[]) => void): void;
  close(reason: string): void;
  /** what went over the second carrier (the data channel's bytes are the pipe's) */
  stats(): LinkStats;
}

export interface MessagePipe {
  send(channel: LinkChannel, bytes: Uint8Array): Promise<void>;
  onMessage(channel: LinkChannel, handler: (bytes: Uint8Array) => void): void;
  /** Called once with the reason when the pipe closes (from either end). */
  onClose(handler: (reason: string) => void): void;
  close(reason: string): void;
  readonly closed: boolean;
  stats(): LinkStats;
}

export interface LinkOrigin {
  /** the connection id both ends know (chosen by the dialer) */
  readonly id: string;
  /** 'offerer' = this device dialed */
  readonly role: LinkRole;
  /** how the peer was found */
  readonly via: LinkVia;
  /** how the peer is reached now: lan, manual, internet (through NATs) or relay (net/path.ts) */
  readonly connectedVia: LinkVia;
  /** who signaling said is on the other end (unproven until the handshake) */
  readonly peer: LinkPeer | null;
  readonly remoteAddress: string | null;
  readonly localFingerprint: string;
  readonly remoteFingerprint: string;
}

/** One named channel of a pipe. */
export function channelOf(pipe: MessagePipe, name: LinkChannel): Channel {
  return {
    send: (bytes) => pipe.send(name, bytes),
    onMessage: (handler) => pipe.onMessage(name, handler),
  };
}
