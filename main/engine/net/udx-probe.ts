// The datagrams two devices send each other's udx socket to find a UDP path before a bulk stream
// is connected (PROTOCOL.md, "Bulk streams"). Pure.
//
//   "PFUP" | version 1 | kind (1 probe, 2 answer) | u32 recipient stream id | u32 sender stream id
//
// 14 bytes. Stream ids are the ones both sides swapped in `udxOffer` over the authenticated link:
// a datagram naming a pair this device is not waiting for is dropped. They prove nothing (anyone
// on the path sees them); the TLS handshake inside the stream is what authenticates the peer.
// udx's own packets start with 0xff, so these never reach a stream.

export const PROBE_MAGIC = 'PFUP';
export const PROBE_VERSION = 1;
export const PROBE_BYTES = 14;

export type ProbeKind = 'probe' | 'answer';

export interface ProbeDatagram {
  kind: ProbeKind;
  /** the stream id of the device the datagram is for */
  to: number;
  /** the sender's own stream id */
  from: number;
}

const KIND_BYTE: Record<ProbeKind, number> = { probe: 1, answer: 2 };

export function encodeProbe(p: ProbeDatagram): Buffer {
  const out = Buffer.alloc(PROBE_BYTES);
  out.write(PROBE_MAGIC, 0, 'ascii');
  out[4] = PROBE_VERSION;
  out[5] = KIND_BYTE[p.kind];
  out.writeUInt32BE(p.to >>> 0, 6);
  out.writeUInt32BE(p.from >>> 0, 10);
  return out;
}

/** The datagram, or null for anything else (another program's packet, a newer version, junk). */
export function decodeProbe(bytes: Uint8Array): ProbeDatagram | null {
  if (bytes.length !== PROBE_BYTES) return null;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.toString('ascii', 0, 4) !== PROBE_MAGIC || b[4] !== PROBE_VERSION) return null;
  const kind = b[5] === 1 ? 'probe' : b[5] === 2 ? 'answer' : null;
  if (!kind) return null;
  return { kind, to: b.readUInt32BE(6), from: b.readUInt32BE(10) };
}
