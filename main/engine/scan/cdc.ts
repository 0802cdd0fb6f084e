// Content-defined chunking, FastCDC-style (Xia et al., 2016): a gear rolling hash, cut-point
// skipping below the minimum size, and normalized chunking (a harder mask before the average
// size, an easier one after it) so chunk sizes cluster around the average.
//
// This is part of the wire protocol: two devices must cut the same bytes at the same places, or
// they cannot share chunks. The exact definition, for a second implementation:
//
//   GEAR[i] (i = 0..255) = the first 4 bytes, read as a big-endian uint32, of
//                          SHA-256( ASCII "peerfold/cdc/gear/v1" || the single byte i )
//   bitsS = log2(avg) + 2, bitsL = log2(avg) - 2
//   maskS = the top bitsS bits of a uint32 set (e.g. avg = 64 KiB: bitsS = 18, maskS = 0xFFFFC000)
//   maskL = the top bitsL bits of a uint32 set (               bitsL = 14, maskL = 0xFFFC0000)
//
//   For each chunk, starting at the byte after the previous cut (or at byte 0), with k the index of
//   a byte within the chunk:
//     bytes k < min are not hashed;
//     fp = 0 just before byte k = min is hashed;
//     for k >= min: fp = (fp * 2 + GEAR[byte]) mod 2^32; then with len = k + 1:
//       cut after this byte if len == max,
//       or if len <= avg and (fp & maskS) == 0,
//       or if len >  avg and (fp & maskL) == 0.
//   At the end of the input, the remaining bytes (if any) form the last chunk. Empty input has
//   no chunks.
//
// Using the top bits of the hash matters: bit b of fp depends on the last b + 1 bytes only, so
// the top bits see the widest window (32 bytes).

import { createHash } from 'node:crypto';

export interface CdcParams {
  /** no cut before this many bytes */
  min: number;
  /** target average; a power of two */
  avg: number;
  /** a chunk is cut here at the latest */
  max: number;
}

/**
 * 16 KiB / 64 KiB / 256 KiB (mean chunk ~74 KiB on random data). Measured with
 * bench/cdc-params.ts: a 5-byte mid-file insertion changes one chunk for every candidate set and
 * chunking speed (~1.3 GB/s) does not depend on the sizes, so the choice is index size against
 * re-transfer granularity: ~14k chunk records per GiB (~0.07% of the data) and ~7k for a 512 MiB
 * file, while one small edit costs well under 256 KiB of transfer (10 scattered edits: ~0.8 MiB,
 * vs 1.5 MiB at 128 KiB average and 3.2 MiB at 256 KiB).
 */
export const DEFAULT_CDC_PARAMS: Readonly<CdcParams> = Object.freeze({
  min: 16 * 1024,
  avg: 64 * 1024,
  max: 256 * 1024,
});

export const GEAR_SEED = 'peerfold/cdc/gear/v1';

function makeGear(): Int32Array {
  const gear = new Int32Array(256);
  const seed = Buffer.from(GEAR_SEED, 'ascii');
  for (let i = 0; i < 256; i++) {
    const digest = createHash('sha256').update(seed).update(Uint8Array.of(i)).digest();
    gear[i] = digest.readInt32BE(0); // stored signed; only the bit pattern matters
  }
  return gear;
}

/** The gear table (bit patterns of the uint32 values; read with `>>> 0` for unsigned). */
export const GEAR: Readonly<Int32Array> = makeGear();

/** Top `bits` bits of a 32-bit word, as a signed int32 bit pattern. */
function topBits(bits: number): number {
  return bits >= 32 ? -1 : ~((1 << (32 - bits)) - 1) | 0;
}

export interface CdcMasks {
  /** used while the chunk is no longer than avg (harder: more bits) */
  maskS: number;
  /** used once the chunk is longer than avg (easier: fewer bits) */
  maskL: number;
}

export function validateParams(p: CdcParams): void {
  const { min, avg, max } = p;
  if (!Number.isInteger(min) || !Number.isInteger(avg) || !Number.isInteger(max)) {
    throw new Error(`chunk sizes must be integers (got min=${min} avg=${avg} max=${max})`);
  }
  if (avg < 256 || (avg & (avg - 1)) !== 0) throw new Error(`chunk avg must be a power of two >= 256 (got ${avg})`);
  if (!(min >= 64 && min < avg && avg < max)) {
    throw new Error(`chunk sizes must satisfy 64 <= min < avg < max (got min=${min} avg=${avg} max=${max})`);
  }
}

export function masksFor(p: CdcParams): CdcMasks {
  validateParams(p);
  const bits = Math.log2(p.avg);
  return { maskS: topBits(bits + 2), maskL: topBits(bits - 2) };
}

/**
 * Streaming chunker. Feed buffers of any size with push(); it returns where chunks end inside
 * that buffer. The result does not depend on how the input is split into buffers: all state that
 * crosses a buffer edge is (bytes in the current chunk, fp).
 */
export class Chunker {
  readonly params: Readonly<CdcParams>;
  private readonly maskS: number;
  private readonly maskL: number;
  /** bytes in the current, not yet cut, chunk */
  private len = 0;
  private fp = 0;

  constructor(params: CdcParams = DEFAULT_CDC_PARAMS) {
    const { maskS, maskL } = masksFor(params);
    this.params = Object.freeze({ ...params });
    this.maskS = maskS;
    this.maskL = maskL;
  }

  /** Bytes consumed since the last cut (the size the last chunk would have if the input ended now). */
  get pending(): number {
    return this.len;
  }

  /**
   * Consume `buf`; returns the offsets in `buf` at which a chunk ends (exclusive), ascending.
   * The bytes after the last returned offset belong to a chunk that continues in the next buffer.
   */
  push(buf: Uint8Array): number[] {
    const cuts: number[] = [];
    const { min, avg, max } = this.params;
    const gear = GEAR;
    const n = buf.length;
    let i = 0;
    let len = this.len;
    let fp = this.fp;
    while (i < n) {
      if (len < min) {
        const take = Math.min(min - len, n - i);
        i += take;
        len += take;
        if (len < min) break;
        fp = 0;
        if (i >= n) break;
      }
      const mask = len < avg ? this.maskS : this.maskL;
      const regionEnd = len < avg ? avg : max;
      const end = i + Math.min(regionEnd - len, n - i);
      let j = i;
      let found = false;
      // Four bytes a round, one loop test for four lookups: 1.3-1.9x the bytes per CPU-second of
      // the one-byte loop (bench/README.md, "The scan on one hash worker"). Same cuts.
      const end4 = end - 3;
      while (j < end4) {
        fp = ((fp << 1) + gear[buf[j]]) | 0;
        if ((fp & mask) === 0) {
          j += 1;
          found = true;
          break;
        }
        fp = ((fp << 1) + gear[buf[j + 1]]) | 0;
        if ((fp & mask) === 0) {
          j += 2;
          found = true;
          break;
        }
        fp = ((fp << 1) + gear[buf[j + 2]]) | 0;
        if ((fp & mask) === 0) {
          j += 3;
          found = true;
          break;
        }
        fp = ((fp << 1) + gear[buf[j + 3]]) | 0;
        j += 4;
        if ((fp & mask) === 0) {
          found = true;
          break;
        }
      }
      while (!found && j < end) {
        fp = ((fp << 1) + gear[buf[j]]) | 0;
        j++;
        if ((fp & mask) === 0) found = true;
      }
      len += j - i;
      i = j;
      if (found || len === max) {
        cuts.push(i);
        len = 0;
      }
    }
    this.len = len;
    this.fp = fp;
    return cuts;
  }

  /** End of input: returns the size of the final chunk (0 when the input ended on a cut) and resets. */
  finish(): number {
    const last = this.len;
    this.len = 0;
    this.fp = 0;
    return last;
  }
}

/** Chunk end offsets (exclusive) for a whole buffer; the last one equals buf.length unless empty. */
export function chunkBoundaries(buf: Uint8Array, params: CdcParams = DEFAULT_CDC_PARAMS): number[] {
  const c = new Chunker(params);
  const cuts = c.push(buf);
  if (c.finish() > 0) cuts.push(buf.length);
  return cuts;
}

/** Chunk sizes for a whole buffer. */
export function chunkSizes(buf: Uint8Array, params: CdcParams = DEFAULT_CDC_PARAMS): number[] {
  const ends = chunkBoundaries(buf, params);
  return ends.map((end, k) => end - (k === 0 ? 0 : ends[k - 1]));
}
