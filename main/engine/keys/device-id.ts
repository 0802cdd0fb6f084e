// Device IDs: what a person sees and compares, and what peers verify. A device ID is the first
// 20 bytes of the SHA-256 of the device's DTLS certificate (DER), in RFC 4648 base32 (32
// symbols), followed by 3 check symbols, grouped by 7 with dashes:
//   MFRGGZD-FMZTMOB-ZGQ4TMN-BVG6ZDB-OJ2HK3A  (35 symbols)
// The check symbols make the whole word divisible by g(x) = (x - a)(x - a^2)(x - a^3) over GF(32)
// (a = 2, field polynomial x^5 + x^2 + 1), a Reed-Solomon-style code: every single typo and every
// swap of two neighbours is caught, and most other errors.

import { RFC4648_ALPHABET, fromSymbols, symbolsToText, toSymbols } from './base32.ts';

export type DeviceId = string;

export const DEVICE_ID_BYTES = 20;
const DATA_SYMBOLS = 32;
const CHECK_SYMBOLS = 3;
const GROUP = 7;

function gfMul(a: number, b: number): number {
  let r = 0;
  for (; b > 0; b >>= 1) {
    if (b & 1) r ^= a;
    a <<= 1;
    if (a & 32) a ^= 0b100101;
  }
  return r;
}

// g(x) = (x + a)(x + a^2)(x + a^3) in characteristic 2; coefficients from x^2 down to x^0.
const G = (() => {
  let poly = [1]; // highest degree first
  for (const root of [2, 4, 8]) {
    const next = new Array<number>(poly.length + 1).fill(0);
    for (let i = 0; i < poly.length; i++) {
      next[i]! ^= poly[i]!;
      next[i + 1]! ^= gfMul(poly[i]!, root);
    }
    poly = next;
  }
  return poly.slice(1); // monic: drop the x^3 coefficient
})();

/** Remainder of symbols(x) * x^3 modulo g(x); zero for a valid 35-symbol word. */
function remainder(symbols: number[]): number[] {
  const r = [0, 0, 0];
  for (const s of symbols) {
    const fb = s ^ r[0]!;
    r[0] = r[1]! ^ gfMul(fb, G[0]!);
    r[1] = r[2]! ^ gfMul(fb, G[1]!);
    r[2] = gfMul(fb, G[2]!);
  }
  return r;
}

/** The generator's coefficients (x^2, x^1, x^0), for PROTOCOL.md and tests. */
export const DEVICE_ID_GENERATOR: readonly number[] = G;

/** Lower-case hex of a fingerprint given as hex, with or without colons, any case. */
export function normalizeFingerprint(fp: string): string | null {
  if (typeof fp !== 'string') return null;
  const hex = fp.trim().replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

// Index messages carry a device ID per version vector entry: converting the few devices a node
// knows over and over again is the hot path, so both directions are memoised (bounded).
const CACHE_LIMIT = 4096;
const textByHex = new Map<string, DeviceId>();
const bytesByText = new Map<string, Uint8Array>();
function remember<K, V>(cache: Map<K, V>, k: K, v: V): V {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(k, v);
  return v;
}

export function deviceIdFromBytes(bytes: Uint8Array): DeviceId {
  if (bytes.length !== DEVICE_ID_BYTES) throw new RangeError(`a device ID has ${DEVICE_ID_BYTES} bytes, got ${bytes.length}`);
  const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
  const known = textByHex.get(key);
  if (known) return known;
  const data = toSymbols(bytes);
  const text = symbolsToText([...data, ...remainder(data)], RFC4648_ALPHABET);
  return remember(textByHex, key, text.match(new RegExp(`.{1,${GROUP}}`, 'g'))!.join('-'));
}

/** The device ID of a certificate whose SHA-256 fingerprint is `fpHex` (hex, colons allowed). */
export function deviceIdFromFingerprint(fpHex: string): DeviceId {
  const hex = normalizeFingerprint(fpHex);
  if (!hex) throw new RangeError('a SHA-256 fingerprint is 64 hex digits');
  return deviceIdFromBytes(Buffer.from(hex.slice(0, DEVICE_ID_BYTES * 2), 'hex'));
}

export type DeviceIdParse = { ok: true; deviceId: DeviceId; bytes: Uint8Array } | { ok: false; error: string };

// Letters people type for the digits base32 lacks (as Syncthing does).
const LOOKALIKES: Record<string, string> = { '0': 'O', '1': 'I', '8': 'B' };

/** Parses a device ID as a person may type it: any case, dashes or spaces anywhere or none. */
export function parseDeviceId(text: string): DeviceIdParse {
  if (typeof text !== 'string') return { ok: false, error: 'a device ID is text' };
  // longer than any device ID with a separator between every two characters: not worth cleaning
  if (text.length > 4 * (DATA_SYMBOLS + CHECK_SYMBOLS))
    return {
      ok: false,
      error: `wrong length: a device ID has ${DATA_SYMBOLS + CHECK_SYMBOLS} characters (not counting dashes), this one has ${text.length}`,
    };
  const cleaned = text
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/[018]/g, (c) => LOOKALIKES[c]!);
  if (!cleaned) return { ok: false, error: 'no device ID given' };
  const want = DATA_SYMBOLS + CHECK_SYMBOLS;
  if (cleaned.length !== want) {
    return { ok: false, error: `wrong length: a device ID has ${want} characters (not counting dashes), this one has ${cleaned.length}` };
  }
  const symbols: number[] = [];
  for (let i = 0; i < cleaned.length; i++) {
    const v = RFC4648_ALPHABET.indexOf(cleaned[i]!);
    if (v < 0) return { ok: false, error: `invalid character '${cleaned[i]}' at position ${i + 1}: a device ID uses only A-Z and 2-7` };
    symbols.push(v);
  }
  if (remainder(symbols).some((s) => s !== 0)) {
    return { ok: false, error: 'checksum mismatch: a character is mistyped or two are swapped' };
  }
  const bytes = fromSymbols(symbols.slice(0, DATA_SYMBOLS))!;
  return { ok: true, deviceId: deviceIdFromBytes(bytes), bytes };
}

/** The 20 bytes of a device ID (throws on an invalid one: use parseDeviceId for user input). */
export function deviceIdToBytes(deviceId: DeviceId): Uint8Array {
  const known = bytesByText.get(deviceId);
  if (known) return known.slice();
  const p = parseDeviceId(deviceId);
  if (!p.ok) throw new RangeError(`invalid device ID ${JSON.stringify(deviceId)}: ${p.error}`);
  return remember(bytesByText, deviceId, p.bytes).slice();
}

/** True when the certificate with fingerprint `fpHex` is the one device `deviceId` names. */
export function fingerprintMatchesDeviceId(fpHex: string, deviceId: DeviceId): boolean {
  const hex = normalizeFingerprint(fpHex);
  const p = parseDeviceId(deviceId);
  return !!hex && p.ok && Buffer.from(p.bytes).toString('hex') === hex.slice(0, DEVICE_ID_BYTES * 2);
}

/**
 * The sha-256 certificate fingerprint an SDP announces (`a=fingerprint:sha-256 AB:CD:...`), as
 * lower-case hex. Null when there is none, when it uses another hash, or when the SDP carries
 * several that disagree (session- and media-level lines must name the same certificate).
 */
export function parseSdpFingerprint(sdp: string): string | null {
  if (typeof sdp !== 'string') return null;
  let found: string | null = null;
  for (const m of sdp.matchAll(/^a=fingerprint:(\S+)\s+(\S+)\s*$/gim)) {
    if (m[1]!.toLowerCase() !== 'sha-256') return null;
    const hex = normalizeFingerprint(m[2]!);
    if (!hex || (found !== null && found !== hex)) return null;
    found = hex;
  }
  return found;
}

/** An SDP-style fingerprint (`AB:CD:...`, upper case) from lower-case hex. */
export const sdpFingerprint = (hex: string): string => hex.toUpperCase().match(/../g)!.join(':');
