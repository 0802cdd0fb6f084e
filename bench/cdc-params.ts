// Chooses the chunk sizes: for a few min/avg/max sets, on generated data, how many chunks (and
// bytes) a small edit changes, how fast chunking runs, and what the index pays per GiB.
// Run: node --import tsx bench/cdc-params.ts [sizeMiB]

import { createCipheriv, createHash } from 'node:crypto';
import { chunkBoundaries, type CdcParams } from '../main/engine/scan/cdc.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const size = Number(process.argv[2] ?? 64) * MiB;

/** Deterministic pseudo-random bytes (AES-256-CTR keystream of a fixed key). */
function randomData(n: number, seed: number): Buffer {
  const key = createHash('sha256').update(`bench-${seed}`).digest();
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return c.update(Buffer.alloc(n));
}

/** Text-like data: words from a small vocabulary, lines of varying length (low entropy). */
function textData(n: number): Buffer {
  const rnd = randomData(n, 7);
  const words =
    'the of and to in is that it for on with as was by at be this from or have an are not but what all were when we there can your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know'.split(
      ' ',
    );
  const out = Buffer.alloc(n);
  let o = 0;
  let r = 0;
  while (o < n) {
    const w = words[rnd[r++ % n] % words.length] + (rnd[r++ % n] % 12 === 0 ? '\n' : ' ');
    o += out.write(w, o, 'latin1');
  }
  return out;
}

interface Chunk {
  hash: string;
  size: number;
}

function chunksOf(buf: Buffer, p: CdcParams): Chunk[] {
  const ends = chunkBoundaries(buf, p);
  let start = 0;
  return ends.map((end) => {
    const c = { hash: createHash('sha256').update(buf.subarray(start, end)).digest('hex'), size: end - start };
    start = end;
    return c;
  });
}

/** Chunks of `after` not present in `before`: what a peer would have to fetch. */
function changed(before: Chunk[], after: Chunk[]): { chunks: number; bytes: number } {
  const have = new Set(before.map((c) => c.hash));
  const need = after.filter((c) => !have.has(c.hash));
  return { chunks: need.length, bytes: need.reduce((s, c) => s + c.size, 0) };
}

function insertAt(buf: Buffer, at: number, bytes: Buffer): Buffer {
  return Buffer.concat([buf.subarray(0, at), bytes, buf.subarray(at)]);
}

/** 10 scattered small edits: 5 insertions, 5 deletions of 1-100 bytes. */
function scatteredEdits(buf: Buffer): Buffer {
  let out = buf;
  const r = randomData(64, 99);
  for (let k = 0; k < 10; k++) {
    const at = Math.floor(((k + 0.5) / 10) * out.length) + r[k];
    const len = 1 + (r[10 + k] % 100);
    out = k % 2 === 0 ? insertAt(out, at, randomData(len, 1000 + k)) : Buffer.concat([out.subarray(0, at), out.subarray(at + len)]);
  }
  return out;
}

const sets: CdcParams[] = [
  { min: 4 * KiB, avg: 16 * KiB, max: 64 * KiB },
  { min: 8 * KiB, avg: 32 * KiB, max: 128 * KiB },
  { min: 16 * KiB, avg: 64 * KiB, max: 256 * KiB },
  { min: 32 * KiB, avg: 128 * KiB, max: 512 * KiB },
  { min: 64 * KiB, avg: 256 * KiB, max: 1024 * KiB },
];

const fmt = (n: number) => (n >= MiB ? `${(n / MiB).toFixed(1)}M` : `${(n / KiB).toFixed(0)}K`);
/** bytes the index spends per chunk: 32-byte hash + size + row overhead, roughly */
const BYTES_PER_CHUNK_RECORD = 48;

for (const [label, data] of [
  ['random', randomData(size, 1)],
  ['text', textData(size)],
] as const) {
  console.log(`\n${label} data, ${size / MiB} MiB`);
  console.log('min/avg/max        mean    chunks/GiB  index/GiB  chunk MB/s  insert5B@mid: chunks bytes   10 edits: chunks bytes');
  const inserted = insertAt(data, data.length >> 1, Buffer.from('hello'));
  const edited = scatteredEdits(data);
  for (const p of sets) {
    // speed: best of 3 passes of the boundaries alone
    let best = Infinity;
    for (let k = 0; k < 3; k++) {
      const t = performance.now();
      chunkBoundaries(data, p);
      best = Math.min(best, performance.now() - t);
    }
    const base = chunksOf(data, p);
    const ins = changed(base, chunksOf(inserted, p));
    const ed = changed(base, chunksOf(edited, p));
    const mean = data.length / base.length;
    const perGiB = (1024 * MiB) / mean;
    console.log(
      `${fmt(p.min)}/${fmt(p.avg)}/${fmt(p.max)}`.padEnd(18),
      fmt(mean).padStart(6),
      perGiB.toFixed(0).padStart(12),
      fmt(perGiB * BYTES_PER_CHUNK_RECORD).padStart(10),
      (data.length / 1e6 / (best / 1000)).toFixed(0).padStart(11),
      String(ins.chunks).padStart(20),
      fmt(ins.bytes).padStart(6),
      String(ed.chunks).padStart(17),
      fmt(ed.bytes).padStart(6),
    );
  }
}
