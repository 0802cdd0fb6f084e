// Writer signatures on index entries (PROTOCOL.md, "Signed entries"). Only a device holding the
// read-write secret can sign; every member checks a signature against the writer key hash H_W its
// code carries, so a read-only or encrypted member can relay a writer's entries (it passes the
// signature on unchanged) but cannot make one up. Between two writers entries travel unsigned (the
// link proved both hold S_rw: peer/index-exchange.ts `peerWrites`).
//
// A signature field is W || Ed25519(W's private key, signed bytes): the 32-byte public key comes
// with it because members below read-write cannot derive W, only check it against H_W.

import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ENTRY_SIGNATURE_BYTES, type FileEntryWire } from '../protocol/messages.ts';
import { deviceIdToBytes } from './device-id.ts';
import { writerKeyHash, writerSigningKey } from './secrets.ts';

export { ENTRY_SIGNATURE_BYTES };
export const ENTRY_SIGNATURE_CONTEXT = 'peerfold/v1 entry';

/** What a signature covers: everything that defines the version, nothing a relay may change. */
export type SignedEntry = Pick<
  FileEntryWire,
  'path' | 'type' | 'size' | 'mode' | 'mtimeMs' | 'version' | 'deleted' | 'symlinkTarget' | 'chunks' | 'modifiedBy'
>;

const TYPE_BYTE = { file: 0, dir: 1, symlink: 2 } as const;

/**
 * The bytes a writer signs (PROTOCOL.md, "Signed entries"): the context, the share's discovery ID,
 * then the entry's fields in a fixed order with fixed-width big-endian numbers. The sequence is
 * left out (each device numbers its own index) and of the mode only "executable" counts.
 */
export function signedEntryBytes(discoveryId: Uint8Array, e: SignedEntry): Uint8Array {
  const parts: Buffer[] = [Buffer.from(ENTRY_SIGNATURE_CONTEXT, 'ascii'), Buffer.from(discoveryId)];
  const u8 = (n: number) => parts.push(Buffer.from([n]));
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    parts.push(b);
  };
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    parts.push(b);
  };
  const i64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(Math.floor(n)));
    parts.push(b);
  };
  const text = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    u32(b.length);
    parts.push(b);
  };
  text(e.path);
  u8(TYPE_BYTE[e.type]);
  u8(e.deleted ? 1 : 0);
  u64(e.size);
  u8(e.mode & 0o111 ? 1 : 0);
  i64(e.mtimeMs);
  const version = Object.entries(e.version)
    .filter(([, n]) => n !== 0)
    .map(([id, n]) => ({ device: Buffer.from(deviceIdToBytes(id)), n }))
    .sort((a, b) => Buffer.compare(a.device, b.device));
  u32(version.length);
  for (const v of version) {
    parts.push(v.device);
    u64(v.n);
  }
  parts.push(Buffer.from(deviceIdToBytes(e.modifiedBy)));
  text(e.symlinkTarget ?? '');
  u32(e.chunks.length);
  for (const c of e.chunks) {
    parts.push(Buffer.from(c.hash));
    u32(c.size);
  }
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * Signatures made or checked lately: Ed25519 is deterministic, so one version has one signature,
 * and the same version comes and goes many times (a writer sends it to every peer; a device gets
 * it from each peer that holds it, and its own copy back from every device that pulled it). An
 * Ed25519 operation costs ~0.5-2 ms on a loaded machine; a repeat costs a SHA-256 of the signed
 * bytes. Keyed by the writer key and the signed bytes (which name the share), holding the one
 * signature known good for them: a different signature for the same bytes is checked in full.
 */
export const SIGNATURE_MEMO_SIZE = 20_000;
const memo = new Map<string, string>();

function memoKey(publicKey: Uint8Array, signed: Uint8Array): string {
  return createHash('sha256').update(publicKey).update(signed).digest().toString('latin1');
}

function remember(key: string, sig: Uint8Array): void {
  memo.delete(key);
  memo.set(key, Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).toString('latin1'));
  if (memo.size > SIGNATURE_MEMO_SIZE) memo.delete(memo.keys().next().value!);
}

// SubjectPublicKeyInfo wrapping of a raw Ed25519 public key (RFC 8410), the form node:crypto imports.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Signs and checks one share's entries. A writer (it has S_rw) signs; everybody checks. */
export class EntrySigner {
  private readonly writer: { privateKey: KeyObject; publicKey: Uint8Array } | null;
  private readonly discoveryId: Uint8Array;
  private readonly writerKeyHash: Uint8Array;
  /** the checked writer key, once a signature named it (there is one per share) */
  private writerKey: KeyObject | null = null;

  /** `readWriteSecret`: S_rw when this device is a writer, else null */
  constructor(discoveryId: Uint8Array, keyHash: Uint8Array, readWriteSecret: Uint8Array | null) {
    this.discoveryId = discoveryId;
    this.writerKeyHash = keyHash;
    this.writer = readWriteSecret ? writerSigningKey(readWriteSecret) : null;
    if (this.writer) this.writerKey = createPublicKey(this.writer.privateKey);
  }

  get canSign(): boolean {
    return this.writer !== null;
  }

  /**
   * What of a received entry's (checked) signature this device stores. A member that cannot sign
   * keeps it, to pass it on with that version. A writer signs every entry it sends itself, so a
   * signature it received has no further use there: 64-96 bytes per entry, on disk and in memory,
   * kept for nothing (a share's access never goes down).
   */
  kept(signature: Uint8Array | null | undefined): Uint8Array | null {
    return this.canSign ? null : (signature ?? null);
  }

  /** W || signature (96 bytes). Throws on a device that is not a writer. */
  sign(e: SignedEntry): Uint8Array {
    if (!this.writer) throw new Error('only a read-write member can sign entries');
    const signed = signedEntryBytes(this.discoveryId, e);
    const key = memoKey(this.writer.publicKey, signed);
    const known = memo.get(key);
    const sig = known !== undefined ? Buffer.from(known, 'latin1') : sign(null, signed, this.writer.privateKey);
    if (known === undefined) remember(key, sig);
    const out = new Uint8Array(ENTRY_SIGNATURE_BYTES);
    out.set(this.writer.publicKey);
    out.set(sig, 32);
    return out;
  }

  /** Why `signature` does not prove that a writer made this version, or null when it does. */
  check(e: SignedEntry, signature: Uint8Array): string | null {
    if (signature.length === 0) return 'it is not signed';
    if (signature.length !== ENTRY_SIGNATURE_BYTES) return `its signature is ${signature.length} bytes, not ${ENTRY_SIGNATURE_BYTES}`;
    const key = this.keyFor(signature.subarray(0, 32));
    if (!key) return "it is signed with a key that is not the share's writer key";
    const signed = signedEntryBytes(this.discoveryId, e);
    const sig = signature.subarray(32);
    const mk = memoKey(signature.subarray(0, 32), signed);
    if (memo.get(mk) === Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).toString('latin1')) return null;
    if (!verify(null, signed, key, sig)) return 'its signature does not match its contents';
    remember(mk, sig);
    return null;
  }

  private keyFor(publicKey: Uint8Array): KeyObject | null {
    if (!Buffer.from(writerKeyHash(publicKey)).equals(Buffer.from(this.writerKeyHash))) return null;
    if (!this.writerKey)
      this.writerKey = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return this.writerKey;
  }
}
