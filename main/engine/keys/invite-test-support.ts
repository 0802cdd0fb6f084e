// A fixed invite and a way to alter a code deliberately, for the invite tests.
import { BECH32_ALPHABET, fromSymbols, symbolsToText, toSymbols } from './base32.ts';
import { checksum } from './bech32.ts';
import { deviceIdFromFingerprint } from './device-id.ts';
import type { Invite } from './invite-code.ts';

export const sampleInvite: Invite = {
  issuer: deviceIdFromFingerprint('11'.repeat(32)),
  discoveryId: '00112233445566778899aabbccddeeff00112233',
  id: '0123456789abcdef',
  secret: Uint8Array.from({ length: 16 }, (_, i) => i),
  expiresAt: 1_800_000_000_000,
  level: 'read-write',
};

/** The code with its payload changed by `edit` and a valid checksum recomputed: a deliberate alteration. */
export function altered(code: string, edit: (payload: Uint8Array) => void): string {
  const symbols = [...code.slice(4)].map((c) => BECH32_ALPHABET.indexOf(c));
  const payload = fromSymbols(symbols.slice(1, -6))!;
  edit(payload);
  const data = [0, ...toSymbols(payload)];
  return `pfi1${symbolsToText([...data, ...checksum('pfi', data)], BECH32_ALPHABET)}`;
}
