// The bech32m checksum (BIP-173 generator, BIP-350 constant): a BCH code over GF(32) that detects
// any error touching up to 4 characters in strings under 90 characters, so every single typo and
// every swap of two characters is caught.

const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
export const BECH32M_CONST = 0x2bc830a3;
export const CHECKSUM_LENGTH = 6;

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk = (chk ^ GENERATOR[i]!) >>> 0;
  }
  return chk;
}

function expandPrefix(prefix: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < prefix.length; i++) out.push(prefix.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < prefix.length; i++) out.push(prefix.charCodeAt(i) & 31);
  return out;
}

/** The six checksum symbols for a lower-case prefix and the data symbols. */
export function checksum(prefix: string, data: number[]): number[] {
  const mod = (polymod([...expandPrefix(prefix), ...data, 0, 0, 0, 0, 0, 0]) ^ BECH32M_CONST) >>> 0;
  const out: number[] = [];
  for (let i = 0; i < CHECKSUM_LENGTH; i++) out.push((mod >>> (5 * (5 - i))) & 31);
  return out;
}

/** True when data (with its checksum symbols at the end) checks out. */
export function verifyChecksum(prefix: string, dataWithChecksum: number[]): boolean {
  return polymod([...expandPrefix(prefix), ...dataWithChecksum]) === BECH32M_CONST;
}
