// For tests only: messages as a hostile peer writes them, straight to the wire, past the
// encoder's checks (which would refuse them).
import { deviceIdToBytes } from '../keys/device-id.ts';
import { Writer, varintSize } from './codec.ts';
import { WIRE_FORMAT } from './messages.ts';

export interface CraftedEntry {
  share: string;
  indexId: number;
  maxSequence: number;
  /** the single file entry's fields */
  path: string;
  size: number;
  chunkCount: number;
  /** `refs` chunk references of `chunkSize` bytes each, all with `hash` */
  chunkSize: number;
  refs: number;
  hash: Uint8Array;
  device: string;
  sequence: number;
}

/** An indexUpdate with one file entry, any sizes and counts (field order as in messages.ts). */
export function craftIndexUpdate(e: CraftedEntry): Uint8Array {
  const path = Buffer.from(e.path);
  const device = deviceIdToBytes(e.device);
  const w = new Writer(256 + path.length + e.refs * (32 + 10));
  w.byte(WIRE_FORMAT);
  w.varint(16); // indexUpdate
  w.bytes(Buffer.from(e.share, 'hex'));
  w.varint(e.indexId);
  w.varint(e.maxSequence);
  w.varint(1); // entries
  w.varint(path.length);
  w.bytes(path);
  w.varint(0); // type: file
  w.varint(e.size);
  w.varint(0o644);
  w.varint(2); // mtimeMs 1, zigzag
  w.varint(1); // version: one (device, counter)
  w.bytes(device);
  w.varint(e.sequence);
  w.varint(e.sequence);
  w.byte(0); // not deleted
  w.byte(0); // no symlink target
  w.varint(e.chunkCount);
  w.varint(e.refs);
  for (let i = 0; i < e.refs; i++) {
    w.bytes(e.hash);
    w.varint(e.chunkSize);
  }
  w.bytes(device); // modifiedBy
  w.varint(0); // no signature
  return w.buf.subarray(0, w.pos);
}

/** `n` as the wire's varint, for hand-made hostile input (the journal's records use the same varints). */
export function varintBytes(n: number): number[] {
  const w = new Writer(varintSize(n));
  w.varint(n);
  return [...w.buf];
}
