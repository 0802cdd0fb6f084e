// Reading a TLS socket into one buffer it reuses, instead of a new Buffer per TLS record.
//
// node:tls decrypts in C++ and, by default, copies each record's plaintext (at most 16 KiB) into
// a freshly allocated ArrayBuffer for a 'data' event. On a bulk stream that is a GiB of short-lived
// buffers per GiB received, and V8 collects by how much ArrayBuffer memory was allocated: the
// receiver of a big file spent a third of its CPU in GC (bench/README.md, "The receiver's CPU per
// byte, second round"). Node reads into one buffer of the caller's (`onread`) for a net.Socket and for a
// tls.connect() that opens its own socket, but not for a TLSSocket wrapping a socket, which both
// bulk transports use (a TCP connection opened first, a udx stream). This sets the same two
// fields `onread` sets, on the TLS socket, and asks its handle (TLSWrap, a StreamBase) to read
// into the buffer.

import type * as tls from 'node:tls';

/** The one read buffer's size: a TLS record's plaintext is at most 16 KiB, so several fit. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Has `sock` hand what it decrypts to `onBytes` in one buffer it reuses: `bytes` is valid only
 * until `onBytes` returns (copy what must outlive the call), and no 'data' event is emitted for it.
 * Returns false and changes nothing where this Node lacks the fields (or PEERFOLD_TLS_READ_BUFFER=0,
 * for measuring): the caller's 'data' listener then gets every byte as before.
 */
export function readIntoOneBuffer(sock: tls.TLSSocket, onBytes: (bytes: Buffer) => void): boolean {
  if (process.env.PEERFOLD_TLS_READ_BUFFER === '0') return false;
  const symbols = Object.getOwnPropertySymbols(sock);
  const kBuffer = symbols.find((s) => s.description === 'kBuffer');
  const kBufferCb = symbols.find((s) => s.description === 'kBufferCb');
  const handle = (sock as unknown as { _handle?: { useUserBuffer?: unknown } | null })._handle;
  if (!kBuffer || !kBufferCb || !handle || typeof handle.useUserBuffer !== 'function') return false;
  const fields = sock as unknown as Record<symbol, unknown>;
  // already reading into a buffer of someone's (an onread option)
  if (fields[kBuffer] != null) return false;
  const buf = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  fields[kBuffer] = buf;
  // returning false would stop reading (net's onread contract): never
  fields[kBufferCb] = (n: number): true => {
    onBytes(buf.subarray(0, n));
    return true;
  };
  (handle.useUserBuffer as (b: Uint8Array) => void).call(handle, buf);
  return true;
}
