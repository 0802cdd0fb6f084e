// STUN binding requests (RFC 5389), enough to learn the public address a NAT maps this device's udx
// socket to: the request, and the mapped address out of a success response. Pure.

import { randomBytes } from 'node:crypto';

export const STUN_MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const MAPPED_ADDRESS = 0x0001;
const XOR_MAPPED_ADDRESS = 0x0020;

export interface MappedAddress {
  host: string;
  port: number;
  family: 4 | 6;
}

export function newTransactionId(): Uint8Array {
  return new Uint8Array(randomBytes(12));
}

/** A binding request with no attributes (20 bytes). */
export function bindingRequest(transactionId: Uint8Array): Buffer {
  const out = Buffer.alloc(20);
  out.writeUInt16BE(BINDING_REQUEST, 0);
  out.writeUInt16BE(0, 2);
  out.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  out.set(transactionId, 8);
  return out;
}

/** True for anything shaped like a STUN message (the two top bits 0, the magic cookie in place). */
export function looksLikeStun(b: Uint8Array): boolean {
  return b.length >= 20 && (b[0]! & 0xc0) === 0 && Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32BE(4) === STUN_MAGIC_COOKIE;
}

/** The transaction id of a STUN message (hex), for matching a response to its request. */
export function transactionIdOf(b: Uint8Array): string {
  return Buffer.from(b.subarray(8, 20)).toString('hex');
}

/**
 * The mapped address of a binding success response (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS), or
 * null for anything else: another message type, a truncated or malformed attribute, no address.
 */
export function parseBindingResponse(bytes: Uint8Array): MappedAddress | null {
  if (!looksLikeStun(bytes)) return null;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.readUInt16BE(0) !== BINDING_SUCCESS) return null;
  const len = b.readUInt16BE(2);
  if (20 + len > b.length || len % 4 !== 0) return null;
  let plain: MappedAddress | null = null;
  let at = 20;
  while (at + 4 <= 20 + len) {
    const type = b.readUInt16BE(at);
    const alen = b.readUInt16BE(at + 2);
    const value = b.subarray(at + 4, at + 4 + alen);
    if (at + 4 + alen > 20 + len) return null;
    if (type === XOR_MAPPED_ADDRESS) {
      const a = address(value, b.subarray(4, 20));
      if (a) return a;
    } else if (type === MAPPED_ADDRESS) plain ??= address(value, null);
    at += 4 + alen + ((4 - (alen % 4)) % 4);
  }
  return plain;
}

/** An address attribute's value; `xor` is the cookie + transaction id for XOR-MAPPED-ADDRESS. */
function address(v: Buffer, xor: Buffer | null): MappedAddress | null {
  if (v.length < 8) return null;
  const family = v[1] === 1 ? 4 : v[1] === 2 ? 6 : null;
  if (!family || v.length !== (family === 4 ? 8 : 20)) return null;
  const port = v.readUInt16BE(2) ^ (xor ? xor.readUInt16BE(0) : 0);
  const raw = Buffer.from(v.subarray(4));
  if (xor) for (let i = 0; i < raw.length; i++) raw[i]! ^= xor[i]!;
  const host =
    family === 4 ? [...raw].join('.') : (raw.toString('hex').match(/.{4}/g) ?? []).map((g) => g.replace(/^0{1,3}/, '')).join(':');
  if (port === 0) return null;
  return { host, port, family };
}
