// Share codes: what a person pastes or reads aloud to join a share. Bech32m strings:
//
//   <kind> "1" <format version symbol> <payload in base32> <6 checksum symbols>
//
// kind: pfw (read-write), pfr (read-only), pfe (encrypted), pfi (one-time invite: keys/invite-code.ts).
// payload: read-write: S_rw (16 bytes, 37 characters in all); read-only and encrypted: S || H_W
// (28 bytes, 56 characters in all). The bech32m checksum covers the kind too, and catches every
// error touching up to 4 characters: any single typo and any swap of two characters.

import type { ShareCodes } from '../../../shared/api.ts';
import { ApiError } from '../../../shared/errors.ts';
import { BECH32_ALPHABET, fromSymbols, symbolCount, symbolsToText, toSymbols } from './base32.ts';
import { CHECKSUM_LENGTH, checksum, verifyChecksum } from './bech32.ts';
import {
  SECRET_BYTES,
  WRITER_KEY_HASH_BYTES,
  weakenSecret,
  shareSecretFromReadWrite,
  type AccessLevel,
  type ShareSecret,
} from './secrets.ts';

export type CodeKind = AccessLevel | 'invite';

export const CODE_PREFIX: Record<CodeKind, string> = {
  'read-write': 'pfw',
  'read-only': 'pfr',
  encrypted: 'pfe',
  invite: 'pfi',
};
export const CODE_FORMAT_VERSION = 0;

const payloadBytes = (level: AccessLevel): number => (level === 'read-write' ? SECRET_BYTES : SECRET_BYTES + WRITER_KEY_HASH_BYTES);
/** Characters in a code of this level, separator and checksum included. */
export const codeLength = (level: AccessLevel): number =>
  CODE_PREFIX[level].length + 1 + 1 + symbolCount(payloadBytes(level)) + CHECKSUM_LENGTH;

export type CodeProblem = 'empty' | 'unknown-kind' | 'unsupported' | 'invalid-character' | 'wrong-length' | 'checksum' | 'malformed';

export type CodeParse =
  | { ok: true; level: AccessLevel; secret: Uint8Array; writerKeyHash: Uint8Array | null; code: string }
  | { ok: false; problem: CodeProblem; error: string };

/** A code for `secret` at `level`; read-only and encrypted codes also carry the writer key hash. */
export function encodeCode(level: AccessLevel, secret: Uint8Array, writerKeyHash?: Uint8Array): string {
  if (secret.length !== SECRET_BYTES) throw new RangeError(`a share secret is ${SECRET_BYTES} bytes`);
  let payload = secret;
  if (level !== 'read-write') {
    if (writerKeyHash?.length !== WRITER_KEY_HASH_BYTES)
      throw new RangeError(`a ${level} code needs the ${WRITER_KEY_HASH_BYTES}-byte writer key hash`);
    payload = new Uint8Array(SECRET_BYTES + WRITER_KEY_HASH_BYTES);
    payload.set(secret);
    payload.set(writerKeyHash, SECRET_BYTES);
  }
  const prefix = CODE_PREFIX[level];
  const data = [CODE_FORMAT_VERSION, ...toSymbols(payload)];
  return `${prefix}1${symbolsToText([...data, ...checksum(prefix, data)], BECH32_ALPHABET)}`;
}

/** Every code a share secret can give: its own level and the ones below. */
export function shareCodes(s: ShareSecret): ShareCodes {
  const code = (level: AccessLevel): string | null => {
    try {
      const w = weakenSecret(s, level);
      return encodeCode(level, w.secret, w.writerKeyHash);
    } catch {
      return null; // a level above the one held
    }
  };
  return { readWrite: code('read-write'), readOnly: code('read-only'), encrypted: code('encrypted') };
}

/** The share secret a successfully parsed code grants. */
export function shareSecretFromCode(parsed: Extract<CodeParse, { ok: true }>): ShareSecret {
  if (parsed.level === 'read-write') return shareSecretFromReadWrite(parsed.secret);
  return { level: parsed.level, secret: parsed.secret, writerKeyHash: parsed.writerKeyHash! };
}

const LEVEL_BY_PREFIX = new Map(Object.entries(CODE_PREFIX).map(([k, p]) => [p, k as CodeKind]));
const KNOWN = 'pfw1 (read-write), pfr1 (read-only), pfe1 (encrypted) or pfi1 (a one-time invite)';
const HINTS: Record<string, string> = {
  o: ' (codes never use the letter o: did you mean the digit 0?)',
  b: ' (codes never use the letter b: did you mean the digit 8?)',
  i: ' (codes never use the letter i: did you mean the letter l?)',
  '1': ' (after the prefix, codes never use the digit 1: did you mean the letter l?)',
};
const fail = (problem: CodeProblem, error: string): CodeParse => ({ ok: false, problem, error });

/** Longer than any code, spaces and dashes removed: refused by its length before it is decoded. */
const MAX_CODE_CHARS = 256;

/** Parses a code as a person may paste it: any case, with spaces or dashes anywhere. */
export function parseCode(text: string): CodeParse {
  if (text !== null && text !== undefined && typeof text !== 'string')
    return fail('malformed', 'a code is text: paste the code you were sent');
  const code = (text ?? '').replace(/[\s-]/g, '').toLowerCase();
  if (!code) return fail('empty', 'no code given: paste the code you were sent');
  if (code.length > MAX_CODE_CHARS) {
    return fail('wrong-length', `wrong length: a code has at most ${codeLength('read-only')} characters, this one has ${code.length}`);
  }
  const sep = code.indexOf('1');
  const prefix = sep >= 0 ? code.slice(0, sep) : '';
  const kind = LEVEL_BY_PREFIX.get(prefix);
  if (!kind) {
    const start = sep >= 0 && sep <= 6 ? `"${code.slice(0, sep + 1)}"` : `"${code.slice(0, 4)}..."`;
    return fail('unknown-kind', `unknown kind of code ${start}: a Peerfold code starts with ${KNOWN}`);
  }
  if (kind === 'invite')
    return fail(
      'unsupported',
      'this is a one-time invite code, not a share code: join with it (peerfold join CODE PATH), it cannot stand for a share here',
    );
  const level = kind;
  const body = code.slice(sep + 1);
  const symbols: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const v = BECH32_ALPHABET.indexOf(body[i]!);
    if (v < 0) {
      return fail('invalid-character', `invalid character '${body[i]}' at position ${sep + 2 + i}${HINTS[body[i]!] ?? ''}`);
    }
    symbols.push(v);
  }
  const want = codeLength(level);
  const checksumOk = symbols.length > CHECKSUM_LENGTH && verifyChecksum(prefix, symbols);
  if (checksumOk && symbols[0] !== CODE_FORMAT_VERSION) {
    return fail('unsupported', `this code was made by a newer version of Peerfold (code format ${symbols[0]}): update Peerfold to use it`);
  }
  if (code.length !== want) {
    const which = code.length < want ? 'a character is missing' : 'there is a character too many';
    return fail('wrong-length', `wrong length: a ${level} code has ${want} characters, this one has ${code.length} (${which})`);
  }
  if (!checksumOk) return fail('checksum', 'checksum mismatch: a character is mistyped or two are swapped');
  const payload = fromSymbols(symbols.slice(1, symbols.length - CHECKSUM_LENGTH));
  if (!payload || payload.length !== payloadBytes(level))
    return fail('malformed', 'this code is malformed (its padding is not zero): ask for a new one');
  return {
    ok: true,
    level,
    secret: payload.slice(0, SECRET_BYTES),
    writerKeyHash: level === 'read-write' ? null : payload.slice(SECRET_BYTES),
    code,
  };
}

/** A code split into groups of 4 after its prefix, for reading aloud; parseCode accepts it back. */
export function groupCode(code: string): string {
  const sep = code.indexOf('1');
  return `${code.slice(0, sep + 1)} ${code
    .slice(sep + 1)
    .match(/.{1,4}/g)!
    .join(' ')}`;
}

/** The share secret kept in a stored share (its code). */
export function storedShareSecret(share: { id: string; secret: string }): ShareSecret {
  const parsed = parseCode(share.secret);
  if (!parsed.ok) throw new ApiError('internal', `the stored secret of share ${share.id} is unreadable: ${parsed.error}`);
  return shareSecretFromCode(parsed);
}
