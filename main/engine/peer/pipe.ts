// The two seams a device link stands on, kept apart so either can change alone:
//   LinkOrigin   how the link came up: who dialed, the connection id, how the peer was found, the
//                certificates DTLS saw. Signaling, LAN discovery, a tracker or a relay make it.
//   MessagePipe  what carries the messages: today the two data channels of one WebRTC peer
//                connection ('index' for control and index, 'data' for blocks). A second transport
//                for bulk data only has to provide another `Channel` for blocks.
// net/transport.ts's PeerLink is both; tests use in-memory pipes (test-pipes.ts).

import type { LinkChannel, LinkPeer, LinkRole, LinkStats, LinkVia } from '../net/transport.ts';

export type { LinkChannel, LinkStats, LinkVia };

/** One ordered, reliable message stream. */
export interface Channel {
  /** Resolves when handed to the transport; awaiting it is the flow control. */
  send(bytes: Uint8Array): Promise<void>;
  /** Sets the handler; messages that came earlier are delivered to it. */
  onMessage(handler: (bytes: Uint8Array) => void): void;
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
  readonly via: LinkVia;
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
