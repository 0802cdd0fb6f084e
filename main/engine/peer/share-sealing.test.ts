import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileRecord } from '../index/rows.ts';
import { EntrySigner } from '../keys/entry-signing.ts';
import { createShareSecret, deriveShareKeys, weakenSecret } from '../keys/secrets.ts';
import { SealError } from '../keys/sealing.ts';
import { chunkSizes } from '../scan/cdc.ts';
import { ShareSealing, shareSealingFor, type SealingStore } from './share-sealing.ts';
import { signedForSending } from './index-exchange.ts';

const writer = 'CEIRCEI-RCEIRCE-IRCEIRC-EIRCEIR-CEIR63D';

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'peerfold-sealing-'));
  const data = randomBytes(300_000);
  writeFileSync(join(root, 'secret-plans.bin'), data);
  let at = 0;
  const chunks = chunkSizes(data).map((n) => {
    const c = data.subarray(at, (at += n));
    return { hash: new Uint8Array(createHash('sha256').update(c).digest()), size: n };
  });
  const rec: FileRecord = {
    shareId: 's',
    deviceId: writer,
    path: 'secret-plans.bin',
    type: 'file',
    size: data.length,
    mode: 0o644,
    mtimeMs: 1_764_600_000_000,
    inode: 1,
    symlinkTarget: null,
    version: { [writer]: 1 },
    sequence: 1,
    deleted: false,
    chunks,
    hash: '',
    modifiedBy: writer,
    signature: null,
  };
  const store: SealingStore = {
    getFile: (_s, _d, p) => (p === rec.path ? rec : null),
    listFiles: () => [rec],
    getShare: () => ({ id: 's', name: 's', path: root, access: 'read-write', secret: '', paused: false, createdAt: 0 }),
  };
  const secret = createShareSecret();
  const keys = { ...deriveShareKeys(secret), shareId: 's' };
  const sealing = shareSealingFor(keys, writer, store)!;
  const signer = new EntrySigner(keys.discoveryId, keys.writerKeyHash, keys.readWriteSecret);
  // a read-only member of the same share, which opens what the encrypted device relays
  const roKeys = { ...deriveShareKeys(weakenSecret(secret, 'read-only')), shareId: 's' };
  const reader = shareSealingFor(roKeys, 'OTHER', store)!;
  return { root, data, rec, sealing, signer, reader, done: () => rmSync(root, { recursive: true, force: true }) };
}

/** An encrypted device's blobs: what `sealing` served for the presented entry, end to end. */
async function blobsOf(sealing: ShareSealing, wire: { path: string; chunks: { hash: Uint8Array; size: number }[] }) {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of wire.chunks) {
    const b = await sealing.blob(wire.path, c.hash, at, c.size);
    assert.ok(b, 'the trusted device serves every blob of its entry');
    out.push(new Uint8Array(b));
    at += c.size;
  }
  return out;
}

test('a presented entry is served blob by blob, and a reader opens and decrypts it from those blobs alone', async () => {
  const s = setup();
  try {
    const e = signedForSending(s.signer, s.rec)!;
    const wire = (await s.sealing.present(e))!;
    assert.match(wire.path, /^[0-9a-f]{64}$/);
    const blobs = await blobsOf(s.sealing, wire);
    for (const [i, b] of blobs.entries()) assert.deepEqual(createHash('sha256').update(b).digest(), Buffer.from(wire.chunks[i]!.hash));
    for (const b of blobs) assert.ok(!Buffer.from(b).includes(s.data.subarray(1000, 1016)), 'no plaintext in any blob');

    const offsets = wire.chunks.map((_, i) => wire.chunks.slice(0, i).reduce((n, c) => n + c.size, 0));
    const fetch = async (_token: string, hash: Uint8Array, offset: number) => {
      const i = offsets.indexOf(offset);
      return i >= 0 && Buffer.from(wire.chunks[i]!.hash).equals(Buffer.from(hash)) ? blobs[i]! : null;
    };
    const opened = await s.reader.open(wire, fetch);
    assert.ok(!('refused' in opened));
    assert.equal(opened.path, 'secret-plans.bin');
    assert.equal(s.signer.check(opened, opened.signature), null, "the writer's signature came through");
    const rebuilt = opened.chunks.map((c) => {
      const learned = s.reader.blobFor(c.hash)!;
      return s.reader.decrypt(learned, blobs[offsets.indexOf(learned.blobOffset)]!);
    });
    assert.deepEqual(Buffer.concat(rebuilt), s.data);
  } finally {
    s.done();
  }
});

test('what an encrypted device alters is refused by name: a sealed entry, a clear field, a chunk blob', async () => {
  const s = setup();
  try {
    const wire = (await s.sealing.present(signedForSending(s.signer, s.rec)!))!;
    const blobs = await blobsOf(s.sealing, wire);
    const honest = async (_t: string, hash: Uint8Array) => blobs.find((b) => createHash('sha256').update(b).digest().equals(hash)) ?? null;

    const flipped = new Uint8Array(blobs[0]!);
    flipped[50]! ^= 1;
    const tampered = await s.reader.open(wire, async () => flipped);
    assert.deepEqual(tampered, { refused: 'its sealed entry does not match its hash' });
    // the encrypted device rewrites the blob's hash too: the sealed entry no longer decrypts
    const rehashed = {
      ...wire,
      chunks: [{ hash: new Uint8Array(createHash('sha256').update(flipped).digest()), size: flipped.length }, ...wire.chunks.slice(1)],
    };
    assert.ok('refused' in (await s.reader.open(rehashed, async () => flipped)));
    const bumped = await s.reader.open({ ...wire, version: { [writer]: 9 } }, honest);
    assert.ok('refused' in bumped && /differ from its sealed entry/.test(bumped.refused));
    await assert.rejects(
      s.reader.open(wire, async () => null),
      /did not send the sealed entry/,
      'a link problem, not a refusal',
    );

    // a chunk's blob swapped for another blob of the same size fails to decrypt: never wrong plaintext
    assert.ok(!('refused' in (await s.reader.open(wire, honest))));
    const chunkHash = s.rec.chunks[0]!.hash;
    const learned = s.reader.blobFor(chunkHash)!;
    const other = new Uint8Array(learned.blobSize);
    assert.throws(() => s.reader.decrypt(learned, other), SealError);
    assert.throws(() => s.reader.decrypt({ ...learned, blobHash: createHash('sha256').update(other).digest() }, other), SealError);
  } finally {
    s.done();
  }
});

test('a file changed since it was indexed is not presented; an unsigned entry is not either', async () => {
  const s = setup();
  try {
    writeFileSync(join(s.root, 'secret-plans.bin'), randomBytes(300_000));
    assert.equal(await s.sealing.present(signedForSending(s.signer, s.rec)!), null);
    const roSigner = new EntrySigner(s.signer['discoveryId'], s.signer['writerKeyHash'], null);
    assert.equal(signedForSending(roSigner, s.rec), null, 'a read-only member sends nothing no writer signed');
  } finally {
    s.done();
  }
});
