// A fetched chunk's memory is handed back (ChunkProvider.written) only once the chunk is in the
// temp file: memory used again for the next answer must never change what was written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTempFile, sha256 } from './file-puller.ts';
import { frameBuffer, recycleFrame } from '../net/frame-pool.ts';

test('chunks written from frame memory that takes the next answer as soon as it is handed back: the file is exact', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pf-chunk-write-'));
  try {
    const sizes = Array.from({ length: 300 }, (_, i) => 20_000 + ((i * 7919) % 90_000));
    const chunks = sizes.map((n) => randomBytes(n));
    const content = Buffer.concat(chunks);
    const byOffset = new Map<number, Buffer>();
    let at = 0;
    for (const c of chunks) {
      byOffset.set(at, c);
      at += c.length;
    }
    const memories = new Set<ArrayBufferLike>();
    let written = 0;
    const { tempPath } = await buildTempFile({
      root,
      path: 'big.bin',
      size: content.length,
      contentHash: sha256(content).toString('hex'),
      chunks: chunks.map((c) => ({ hash: sha256(c), size: c.length })),
      demandBytes: () => 2 * 1024 * 1024,
      provider: {
        local: async () => null,
        remote: async (spec) => {
          // answers arrive out of order, each in frame memory (as a bulk stream's reader gives them)
          await new Promise((r) => setTimeout(r, (spec.offset * 13) % 5));
          const frame = frameBuffer(spec.size + 9);
          byOffset.get(spec.offset)!.copy(frame, 9);
          memories.add(frame.buffer);
          return frame.subarray(9);
        },
        written: (data) => {
          written++;
          recycleFrame(data);
        },
      },
      signal: new AbortController().signal,
    });
    assert.equal(written, chunks.length);
    assert.ok(memories.size < chunks.length / 2, `frame memory was used again (${memories.size} for ${chunks.length} chunks)`);
    assert.ok(readFileSync(tempPath).equals(content));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
