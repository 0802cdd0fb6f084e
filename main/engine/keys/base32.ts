// Bit regrouping and the two base32 alphabets Peerfold uses: RFC 4648 (upper case, for device
// IDs and share IDs, familiar from Syncthing) and bech32's (lower case, for share codes).

export const RFC4648_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** Regroups bits MSB-first from `from`-bit values into `to`-bit values; pads the tail with zeros. */
export function regroup(values: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | null {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (let i = 0; i < values.length; i++) {
    acc = ((acc << from) | values[i]!) & 0xffffff;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    return null; // leftover bits that are not zero padding
  }
  return out;
}

/** Bytes to 5-bit symbols (zero-padded). */
export const toSymbols = (bytes: Uint8Array): number[] => regroup(bytes, 8, 5, true)!;

/** 5-bit symbols to bytes; null when the padding bits are not zero or too many are left over. */
export function fromSymbols(symbols: number[]): Uint8Array | null {
  const out = regroup(symbols, 5, 8, false);
  return out ? Uint8Array.from(out) : null;
}

export const symbolsToText = (symbols: number[], alphabet: string): string => symbols.map((s) => alphabet[s]).join('');

export const symbolCount = (byteCount: number): number => Math.ceil((byteCount * 8) / 5);
