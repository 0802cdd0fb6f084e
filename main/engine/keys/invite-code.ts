// One-time invite codes (PROTOCOL.md, "Invites"). A bech32m string like a share code, with its
// own kind so nobody mistakes one for the other:
//
//   "pfi" "1" <format version symbol> <payload in base32> <6 checksum symbols>
//
// payload (69 bytes): issuer device ID (20) | discovery ID (20) | invite ID (8) |
//                     invite secret (16) | expiry, seconds since the epoch (4, big-endian) | level (1)
//
// It never holds a share secret: the invite secret only proves the invite to the issuer, who
// keeps its own record of the invite (expiry, level, uses) and checks the joiner's proof against
// that record, so a code whose fields were altered proves nothing (protocol/invite-proof.ts).

import type { AccessLevel, DeviceId } from '../../../shared/api.ts';
import { BECH32_ALPHABET, fromSymbols, symbolCount, symbolsToText, toSymbols } from './base32.ts';
import { CHECKSUM_LENGTH, checksum, verifyChecksum } from './bech32.ts';
import { CODE_FORMAT_VERSION, CODE_PREFIX } from './codes.ts';
import { DEVICE_ID_BYTES, deviceIdFromBytes, deviceIdToBytes } from './device-id.ts';
import { DISCOVERY_ID_BYTES } from './secrets.ts';

export const INVITE_ID_BYTES = 8;
export const INVITE_SECRET_BYTES = 16;
const PAYLOAD_BYTES = DEVICE_ID_BYTES + DISCOVERY_ID_BYTES + INVITE_ID_BYTES + INVITE_SECRET_BYTES + 4 + 1;
/** Characters in an invite code, separator and checksum included. */
export const INVITE_CODE_LENGTH = CODE_PREFIX.invite.length + 1 + 1 + symbolCount(PAYLOAD_BYTES) + CHECKSUM_LENGTH;

const LEVEL_BYTE: Record<AccessLevel, number> = { 'read-write': 1, 'read-only': 2, encrypted: 3 };
const LEVEL_OF = new Map(Object.entries(LEVEL_BYTE).map(([k, v]) => [v, k as AccessLevel]));

export interface Invite {
  /** the device that issued it and answers for it */
  issuer: DeviceId;
  /** the share's discovery ID, 40 hex digits: how the joiner finds the issuer on the LAN */
  discoveryId: string;
  /** 16 hex digits; what `peerfold invites` lists and `revoke` takes */
  id: string;
  /** 16 bytes; proves the invite, never sent */
  secret: Uint8Array;
  /** ms since the epoch, a whole second */
  expiresAt: number;
  /** the level it grants */
  level: AccessLevel;
}

export type InviteParse = { ok: true; invite: Invite; code: string } | { ok: false; error: string };

export function encodeInvite(inv: Invite): string {
  const payload = new Uint8Array(PAYLOAD_BYTES);
  const id = Buffer.from(inv.id, 'hex');
  const discovery = Buffer.from(inv.discoveryId, 'hex');
  if (id.length !== INVITE_ID_BYTES || discovery.length !== DISCOVERY_ID_BYTES || inv.secret.length !== INVITE_SECRET_BYTES) {
    throw new RangeError('an invite needs an 8-byte ID, a 20-byte discovery ID and a 16-byte secret');
  }
  if (inv.expiresAt % 1000 !== 0 || inv.expiresAt < 0 || inv.expiresAt / 1000 > 0xffffffff)
    throw new RangeError('an invite expires on a whole second before 2106');
  let at = 0;
  for (const part of [deviceIdToBytes(inv.issuer), discovery, id, inv.secret]) {
    payload.set(part, at);
    at += part.length;
  }
  new DataView(payload.buffer).setUint32(at, inv.expiresAt / 1000);
  payload[at + 4] = LEVEL_BYTE[inv.level];
  const prefix = CODE_PREFIX.invite;
  const data = [CODE_FORMAT_VERSION, ...toSymbols(payload)];
  return `${prefix}1${symbolsToText([...data, ...checksum(prefix, data)], BECH32_ALPHABET)}`;
}

/** True when the text looks like an invite code (its kind), whatever else is wrong with it. */
export const looksLikeInvite = (text: unknown): boolean =>
  typeof text === 'string' && /^pfi1/.test(text.replace(/[\s-]/g, '').toLowerCase());

/** Parses an invite code as a person may paste it: any case, with spaces or dashes anywhere. */
export function parseInvite(text: string): InviteParse {
  const fail = (error: string): InviteParse => ({ ok: false, error });
  if (typeof text !== 'string') return fail('an invite code is text: paste the code you were sent');
  const code = text.replace(/[\s-]/g, '').toLowerCase();
  if (!looksLikeInvite(code)) return fail('an invite code starts with pfi1');
  if (code.length !== INVITE_CODE_LENGTH) {
    const which = code.length < INVITE_CODE_LENGTH ? 'a character is missing' : 'there is a character too many';
    return fail(`wrong length: an invite code has ${INVITE_CODE_LENGTH} characters, this one has ${code.length} (${which})`);
  }
  const symbols: number[] = [];
  for (let i = 4; i < code.length; i++) {
    const v = BECH32_ALPHABET.indexOf(code[i]!);
    if (v < 0) return fail(`invalid character '${code[i]}' at position ${i + 1}`);
    symbols.push(v);
  }
  if (!verifyChecksum(CODE_PREFIX.invite, symbols)) return fail('checksum mismatch: a character is mistyped or two are swapped');
  if (symbols[0] !== CODE_FORMAT_VERSION)
    return fail(`this invite was made by a newer version of Peerfold (code format ${symbols[0]}): update Peerfold to use it`);
  const payload = fromSymbols(symbols.slice(1, symbols.length - CHECKSUM_LENGTH));
  const level = payload ? LEVEL_OF.get(payload[PAYLOAD_BYTES - 1]!) : undefined;
  if (!payload || payload.length !== PAYLOAD_BYTES || !level) return fail('this invite code is malformed: ask for a new one');
  const hex = (from: number, n: number) => Buffer.from(payload.subarray(from, from + n)).toString('hex');
  let at = 0;
  const issuer = deviceIdFromBytes(payload.subarray(at, (at += DEVICE_ID_BYTES)));
  const discoveryId = hex(at, DISCOVERY_ID_BYTES);
  at += DISCOVERY_ID_BYTES;
  const id = hex(at, INVITE_ID_BYTES);
  at += INVITE_ID_BYTES;
  const secret = payload.slice(at, (at += INVITE_SECRET_BYTES));
  const expiresAt = new DataView(payload.buffer, payload.byteOffset).getUint32(at) * 1000;
  return { ok: true, code, invite: { issuer, discoveryId, id, secret, expiresAt, level } };
}
