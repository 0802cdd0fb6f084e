// The share secret hierarchy (PROTOCOL.md, "Share secrets and codes"):
//
//   read-write secret  S_rw  16 random bytes
//   read-only secret   S_ro  = HKDF(S_rw, "peerfold/v1 read-only secret")
//   encrypted secret   S_enc = HKDF(S_ro, "peerfold/v1 encrypted secret")
//
// Each level also carries the writer key hash H_W: 12 bytes of SHA-256 over the share's writer
// public key, which is derived from S_rw only. Members below read-write cannot sign, but with H_W
// they can check a writer key a peer presents, so (later) nobody but a writer can inject changes.
// H_W is mixed into everything derived below, so a share is (S_enc, H_W): a code whose H_W was
// tampered with names another share. Everything a peer outside the share sees (the discovery ID)
// and the share ID come from the encrypted level, which every member can derive.

import { createHash, createPrivateKey, createPublicKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import type { AccessLevel } from '../../../shared/api.ts';
import { RFC4648_ALPHABET, symbolsToText, toSymbols } from './base32.ts';

export type { AccessLevel };

/** Strongest first. */
export const LEVELS: readonly AccessLevel[] = ['read-write', 'read-only', 'encrypted'];
export const SECRET_BYTES = 16;
export const WRITER_KEY_HASH_BYTES = 12;
export const DISCOVERY_ID_BYTES = 20;
export const AUTH_KEY_BYTES = 32;
export const SHARE_ID_CHARS = 12;

export const INFO = {
  readOnly: 'peerfold/v1 read-only secret',
  encrypted: 'peerfold/v1 encrypted secret',
  writerSigningKey: 'peerfold/v1 writer signing key',
  writerKeyHash: 'peerfold/v1 writer key',
  discoveryId: 'peerfold/v1 discovery id',
  trackerKey: 'peerfold/v1 tracker key',
  shareId: 'peerfold/v1 share id',
  authKey: 'peerfold/v1 handshake auth key',
} as const;

export interface ShareSecret {
  level: AccessLevel;
  /** S_rw, S_ro or S_enc: 16 bytes */
  secret: Uint8Array;
  /** H_W: 12 bytes */
  writerKeyHash: Uint8Array;
}

export interface ShareKeys {
  level: AccessLevel;
  /** 20 bytes: what LAN announcements and trackers carry; also names the share on the wire */
  discoveryId: Uint8Array;
  discoveryIdHex: string;
  /** 32 bytes: what the rotating IDs announced to trackers come from (keys/tracker-id.ts) */
  trackerKey: Uint8Array;
  /** 12 lower-case base32 characters, identical on every device: the share's ID in the API and CLI */
  shareId: string;
  /** handshake MAC keys for this device's level and every level below it */
  authKeys: Partial<Record<AccessLevel, Uint8Array>>;
  /** H_W: what a writer's signature is checked against (keys/entry-signing.ts) */
  writerKeyHash: Uint8Array;
  /** S_rw on a writer (it signs entries with the key derived from it), null on every other level */
  readWriteSecret: Uint8Array | null;
  /** S_ro on a trusted member (it encrypts for encrypted members, keys/sealing.ts), null on an encrypted one */
  readOnlySecret: Uint8Array | null;
}

/** 0 = read-write (strongest), 1 = read-only, 2 = encrypted. */
export const levelRank = (level: AccessLevel): number => LEVELS.indexOf(level);
/** True when `held` grants at least what `wanted` does. */
export const levelCovers = (held: AccessLevel, wanted: AccessLevel): boolean => levelRank(held) <= levelRank(wanted);

const hkdf = (ikm: Uint8Array, info: string, length: number): Uint8Array =>
  new Uint8Array(hkdfSync('sha256', ikm, new Uint8Array(0), info, length));

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
};

function checkLength(what: string, bytes: Uint8Array, n: number): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
}

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410), the form node:crypto imports.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The share's writer key (Ed25519), derivable from S_rw only: it signs index entries (keys/entry-signing.ts). */
export function writerSigningKey(readWriteSecret: Uint8Array): { privateKey: KeyObject; publicKey: Uint8Array } {
  checkLength('a read-write secret', readWriteSecret, SECRET_BYTES);
  const seed = hkdf(readWriteSecret, INFO.writerSigningKey, 32);
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { privateKey, publicKey: new Uint8Array(spki.subarray(spki.length - 32)) };
}

export function writerKeyHash(writerPublicKey: Uint8Array): Uint8Array {
  const h = createHash('sha256').update(INFO.writerKeyHash).update(writerPublicKey).digest();
  return new Uint8Array(h.subarray(0, WRITER_KEY_HASH_BYTES));
}

export function shareSecretFromReadWrite(readWriteSecret: Uint8Array): ShareSecret {
  checkLength('a read-write secret', readWriteSecret, SECRET_BYTES);
  return { level: 'read-write', secret: readWriteSecret, writerKeyHash: writerKeyHash(writerSigningKey(readWriteSecret).publicKey) };
}

/** A new share: a random read-write secret (128 bits keeps codes short and is plenty). */
export const createShareSecret = (): ShareSecret => shareSecretFromReadWrite(new Uint8Array(randomBytes(SECRET_BYTES)));

/** The secret of a weaker level (or the same); derivation only goes down the hierarchy. */
export function weakenSecret(s: ShareSecret, to: AccessLevel): ShareSecret {
  checkLength('a share secret', s.secret, SECRET_BYTES);
  checkLength('a writer key hash', s.writerKeyHash, WRITER_KEY_HASH_BYTES);
  if (!levelCovers(s.level, to)) throw new RangeError(`a ${s.level} secret cannot give a ${to} secret`);
  let { level, secret } = s;
  while (level !== to) {
    if (level === 'read-write') {
      secret = hkdf(secret, INFO.readOnly, SECRET_BYTES);
      level = 'read-only';
    } else {
      secret = hkdf(secret, INFO.encrypted, SECRET_BYTES);
      level = 'encrypted';
    }
  }
  return { level, secret, writerKeyHash: s.writerKeyHash };
}

/** HMAC key that proves `level` in the handshake: HKDF(S_level || H_W, "peerfold/v1 handshake auth key"). */
export function authKey(s: ShareSecret, level: AccessLevel): Uint8Array {
  const at = weakenSecret(s, level);
  return hkdf(concat(at.secret, at.writerKeyHash), INFO.authKey, AUTH_KEY_BYTES);
}

export function deriveShareKeys(s: ShareSecret): ShareKeys {
  const enc = weakenSecret(s, 'encrypted');
  const base = concat(enc.secret, enc.writerKeyHash);
  const discoveryId = hkdf(base, INFO.discoveryId, DISCOVERY_ID_BYTES);
  const shareIdBytes = hkdf(base, INFO.shareId, 8);
  const shareId = symbolsToText(toSymbols(shareIdBytes).slice(0, SHARE_ID_CHARS), RFC4648_ALPHABET).toLowerCase();
  const authKeys: Partial<Record<AccessLevel, Uint8Array>> = {};
  for (const level of LEVELS) if (levelCovers(s.level, level)) authKeys[level] = authKey(s, level);
  return {
    level: s.level,
    discoveryId,
    discoveryIdHex: Buffer.from(discoveryId).toString('hex'),
    trackerKey: hkdf(base, INFO.trackerKey, 32),
    shareId,
    authKeys,
    writerKeyHash: s.writerKeyHash,
    readWriteSecret: s.level === 'read-write' ? s.secret : null,
    readOnlySecret: levelCovers(s.level, 'read-only') ? weakenSecret(s, 'read-only').secret : null,
  };
}
