import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import fc from 'fast-check';
import { Chunker, chunkBoundaries, chunkSizes, DEFAULT_CDC_PARAMS, GEAR, masksFor, type CdcParams } from './cdc.ts';

const SMALL: CdcParams = { min: 64, avg: 256, max: 1024 };

/** The test-vector input: SHA-256("peerfold cdc test vector" || uint32be(k)) for k = 0, 1, ... concatenated. */
function vectorInput(n: number): Buffer {
  const out = Buffer.alloc(n);
  const k4 = Buffer.alloc(4);
  for (let k = 0; k * 32 < n; k++) {
    k4.writeUInt32BE(k);
    createHash('sha256')
      .update('peerfold cdc test vector')
      .update(k4)
      .digest()
      .copy(out, k * 32);
  }
  return out;
}

function randomData(n: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** The definition in cdc.ts's header, written as plainly as possible, byte by byte. */
function referenceSizes(data: Uint8Array, p: CdcParams): number[] {
  const bits = Math.log2(p.avg);
  const top = (b: number) => (0xffffffff - (2 ** (32 - b) - 1)) >>> 0;
  const maskS = top(bits + 2);
  const maskL = top(bits - 2);
  const sizes: number[] = [];
  let start = 0;
  while (start < data.length) {
    let fp = 0;
    let size = data.length - start;
    for (let k = p.min; start + k < data.length; k++) {
      fp = (fp * 2 + (GEAR[data[start + k]] >>> 0)) % 2 ** 32;
      const len = k + 1;
      const mask = len <= p.avg ? maskS : maskL;
      if (len === p.max || (fp & mask) >>> 0 === 0) {
        size = len;
        break;
      }
    }
    size = Math.min(size, data.length - start);
    sizes.push(size);
    start += size;
  }
  return sizes;
}

test('the gear table is the documented one (part of the protocol)', () => {
  const bytes = Buffer.alloc(1024);
  for (let i = 0; i < 256; i++) bytes.writeInt32BE(GEAR[i], i * 4);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), '542acbc6e33b2a4ed896cadefbbd4780655a848d4380d598132f458fb8dcd795');
  assert.equal((GEAR[0] >>> 0).toString(16), '246cad60');
  assert.equal((GEAR[255] >>> 0).toString(16), 'd0a629c6');
  // GEAR[i] = first 4 bytes of SHA-256("peerfold/cdc/gear/v1" || i), big-endian
  const d = createHash('sha256').update('peerfold/cdc/gear/v1').update(Uint8Array.of(1)).digest();
  assert.equal(GEAR[1] >>> 0, d.readUInt32BE(0));
});

test('masks for the default parameters', () => {
  const { maskS, maskL } = masksFor(DEFAULT_CDC_PARAMS);
  assert.equal(maskS >>> 0, 0xffffc000);
  assert.equal(maskL >>> 0, 0xfffc0000);
});

test('test vectors: default parameters on 1 MiB of the vector input', () => {
  const input = vectorInput(1 << 20);
  const sizes = chunkSizes(input);
  assert.deepEqual(sizes, [69321, 80766, 33420, 67436, 47879, 87427, 93639, 84828, 59768, 73984, 106364, 75334, 84585, 83825]);
  let start = 0;
  const hashes = sizes.map((s) => {
    const h = createHash('sha256')
      .update(input.subarray(start, start + s))
      .digest();
    start += s;
    return h;
  });
  assert.equal(hashes[0].toString('hex'), '0ee261ddd80a13f0c3a7ce0b56f2f8fcbae707dd138290071fa21d9b3cd903ac');
  assert.equal(
    createHash('sha256').update(Buffer.concat(hashes)).digest('hex'),
    '1283bc330a8ed75f1157be13d91fb74d40e0b8f57e7602cc6c5e3678853ab1b5',
  );
});

test('test vectors: min 64 / avg 256 / max 1024 on 8 KiB of the vector input', () => {
  assert.deepEqual(
    chunkSizes(vectorInput(8192), SMALL),
    [
      296, 280, 260, 137, 291, 296, 359, 510, 355, 164, 336, 196, 193, 386, 347, 286, 302, 259, 296, 371, 319, 291, 299, 81, 351, 242, 70,
      325, 104, 115, 75,
    ],
  );
});

test('matches the plain reference definition', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 6000 }), fc.constantFrom(SMALL, { min: 100, avg: 512, max: 700 }), (data, p) => {
      assert.deepEqual(chunkSizes(data, p), referenceSizes(data, p));
    }),
    { numRuns: 200 },
  );
  const big = randomData(3 << 20, 'ref');
  assert.deepEqual(chunkSizes(big), referenceSizes(big, DEFAULT_CDC_PARAMS));
});

test('low-entropy input still cuts (zeros hit max; repeated text cuts by content)', () => {
  const zeros = chunkSizes(new Uint8Array(1 << 20));
  assert.ok(zeros.every((s) => s === DEFAULT_CDC_PARAMS.max));
  assert.deepEqual(chunkSizes(new Uint8Array(0)), []);
  assert.deepEqual(chunkSizes(new Uint8Array(10)), [10]);
});

test('split invariance: any split of the input into buffers gives the same chunks', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 12000 }), fc.array(fc.nat({ max: 12000 }), { maxLength: 20 }), (data, rawCuts) => {
      const whole = chunkBoundaries(data, SMALL);
      const splits = [...new Set(rawCuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
      const c = new Chunker(SMALL);
      const ends: number[] = [];
      let prev = 0;
      for (const at of [...splits, data.length]) {
        for (const cut of c.push(data.subarray(prev, at))) ends.push(prev + cut);
        prev = at;
      }
      if (c.finish() > 0) ends.push(data.length);
      assert.deepEqual(ends, whole);
    }),
    { numRuns: 300 },
  );
});

test('split invariance with default parameters on 4 MiB in odd-sized buffers', () => {
  const data = randomData(4 << 20, 'split');
  const whole = chunkBoundaries(data);
  for (const step of [1, 7, 4096, 65537, 1 << 20]) {
    const c = new Chunker();
    const ends: number[] = [];
    // 1-byte steps over 4 MiB are slow; use them for the first 300 KiB only
    const limit = step === 1 ? 300 * 1024 : data.length;
    for (let at = 0; at < limit; at += step) {
      for (const cut of c.push(data.subarray(at, Math.min(at + step, limit)))) ends.push(at + cut);
    }
    if (c.finish() > 0) ends.push(limit);
    assert.deepEqual(ends, step === 1 ? chunkBoundaries(data.subarray(0, limit)) : whole, `step ${step}`);
  }
});

test('chunk sizes stay within min..max', () => {
  const p = DEFAULT_CDC_PARAMS;
  const sizes = chunkSizes(randomData(16 << 20, 'sizes'));
  sizes.slice(0, -1).forEach((s) => assert.ok(s >= p.min && s <= p.max, `size ${s}`));
  const mean = (16 << 20) / sizes.length;
  assert.ok(mean > p.avg * 0.75 && mean < p.avg * 1.5, `mean ${mean}`);
});

test('an insertion of a few bytes in the middle of a 64 MiB file changes at most 3 chunks', () => {
  const data = randomData(64 << 20, 'stability');
  const hashesOf = (buf: Buffer) => {
    let start = 0;
    return chunkBoundaries(buf).map((end) => {
      const h = createHash('sha256').update(buf.subarray(start, end)).digest('hex');
      start = end;
      return h;
    });
  };
  const before = new Set(hashesOf(data));
  for (const [at, ins] of [
    [data.length >> 1, 'hello'],
    [(data.length >> 1) + 12345, 'x'],
    [data.length / 3, 'a few more bytes'],
  ] as const) {
    const edited = Buffer.concat([data.subarray(0, at), Buffer.from(ins), data.subarray(at)]);
    const after = hashesOf(edited);
    const changed = after.filter((h) => !before.has(h)).length;
    assert.ok(changed >= 1 && changed <= 3, `insertion at ${at} changed ${changed} chunks`);
  }
});

test('rejects unusable parameters', () => {
  assert.throws(() => new Chunker({ min: 100, avg: 1000, max: 4000 }), /power of two/);
  assert.throws(() => new Chunker({ min: 4096, avg: 4096, max: 8192 }), /min < avg < max/);
  assert.throws(() => new Chunker({ min: 10, avg: 4096, max: 8192 }), /64 <= min/);
});
