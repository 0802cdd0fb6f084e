import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FileEntryWire } from '../protocol/messages.ts';
import { EntrySigner } from './entry-signing.ts';
import { createShareSecret, deriveShareKeys, weakenSecret } from './secrets.ts';
import {
  BLOB_UNIT,
  SealError,
  decryptChunk,
  deriveSealingKeys,
  encryptChunk,
  nameToken,
  openEntry,
  openPresented,
  paddedSize,
  presentEntry,
  sealEntry,
  sha256,
  tokenText,
} from './sealing.ts';

const writer = 'CEIRCEI-RCEIRCE-IRCEIRC-EIRCEIR-CEIR63D';

function share() {
  const secret = createShareSecret();
  const k = deriveShareKeys(secret);
  const signer = new EntrySigner(k.discoveryId, k.writerKeyHash, k.readWriteSecret);
  return { secret, keys: deriveSealingKeys(secret), signer };
}

function signedEntry(signer: EntrySigner, chunks: Uint8Array[], path = 'docs/report.txt'): FileEntryWire {
  const e: FileEntryWire = {
    path,
    type: 'file',
    size: chunks.reduce((n, c) => n + c.length, 0),
    mode: 0o644,
    mtimeMs: 1_764_600_000_123,
    version: { [writer]: 3 },
    sequence: 9,
    deleted: false,
    symlinkTarget: null,
    chunkCount: chunks.length,
    chunks: chunks.map((c) => ({ hash: sha256(c), size: c.length })),
    modifiedBy: writer,
    signature: new Uint8Array(0),
  };
  e.signature = signer.sign(e);
  return e;
}

test('read-write and read-only members derive the same keys; an encrypted member cannot', () => {
  const secret = createShareSecret();
  const a = deriveSealingKeys(secret);
  const b = deriveSealingKeys(weakenSecret(secret, 'read-only'));
  assert.deepEqual(a, b);
  assert.throws(() => deriveSealingKeys(weakenSecret(secret, 'encrypted')), /encrypted member cannot derive/);
});

test('a chunk round-trips, padded to whole blob units, and encrypts the same way every time', () => {
  const { keys } = share();
  for (const n of [1, 100, 4096, 4097, 65_536, 262_144]) {
    const plain = new Uint8Array(randomBytes(n));
    const enc = encryptChunk(keys, plain);
    assert.equal(enc.body.length, paddedSize(n));
    assert.equal(enc.body.length % BLOB_UNIT, 0);
    assert.ok(enc.body.length <= 262_144, 'no blob is larger than the largest chunk');
    assert.deepEqual(enc.blobHash, sha256(enc.body));
    assert.deepEqual(encryptChunk(keys, plain).body, enc.body, 'deterministic');
    assert.deepEqual(decryptChunk(keys, enc.body, { hash: enc.plainHash, size: n, tag: enc.tag }), plain);
    if (n >= 16) assert.ok(!Buffer.from(enc.body).includes(Buffer.from(plain.subarray(0, 16))), 'no plaintext in the blob');
  }
});

test('a tampered, truncated or misattributed blob is refused with a SealError, never a crash', () => {
  const { keys } = share();
  const plain = new Uint8Array(randomBytes(5000));
  const enc = encryptChunk(keys, plain);
  const ref = { hash: enc.plainHash, size: plain.length, tag: enc.tag };
  const flipped = new Uint8Array(enc.body);
  flipped[100]! ^= 1;
  assert.throws(
    () => decryptChunk(keys, flipped, ref),
    (e) => e instanceof SealError && /does not decrypt/.test(e.message),
  );
  assert.throws(() => decryptChunk(keys, enc.body.subarray(0, 4096), ref), SealError);
  assert.throws(() => decryptChunk(keys, enc.body, { ...ref, tag: new Uint8Array(16) }), SealError);
  assert.throws(() => decryptChunk(keys, enc.body, { ...ref, hash: sha256(new Uint8Array(1)) }), SealError);
  assert.throws(() => decryptChunk(share().keys, enc.body, ref), SealError, "another share's keys");
  // a forged chunk with an honest-looking tag: the plaintext hash catches a changed length
  assert.throws(() => decryptChunk(keys, enc.body, { ...ref, size: 4999 }), SealError);
});

test('name tokens: one per path, the same on every trusted device, nothing of the name in them', () => {
  const { keys, secret } = share();
  const t = nameToken(keys, 'docs/report.txt');
  assert.equal(t.length, 32);
  assert.deepEqual(nameToken(deriveSealingKeys(weakenSecret(secret, 'read-only')), 'docs/report.txt'), t);
  // NFC: the same name typed two ways is one path
  assert.deepEqual(nameToken(keys, 'caf\u00e9'), nameToken(keys, 'cafe\u0301'));
  assert.notDeepEqual(nameToken(keys, 'docs/report.txt.'), t);
  assert.match(tokenText(t), /^[0-9a-f]{64}$/);
});

test('a sealed entry opens to the signed entry, its signature and tags; padded to blob units', () => {
  const { keys, signer } = share();
  const chunks = [new Uint8Array(randomBytes(20_000)), new Uint8Array(randomBytes(300))];
  const e = signedEntry(signer, chunks);
  const tags = chunks.map((c) => encryptChunk(keys, c).tag);
  const sealed = sealEntry(keys, { entry: e, signature: e.signature, tags });
  assert.equal(sealed.length % BLOB_UNIT, 0);
  assert.ok(!Buffer.from(sealed).includes(Buffer.from('report')));
  const opened = openEntry(keys, nameToken(keys, e.path), sealed);
  assert.equal(opened.entry.path, e.path);
  assert.deepEqual(opened.tags, tags);
  assert.equal(signer.check(opened.entry, opened.signature), null, "the writer's signature survives");
  assert.deepEqual(sealEntry(keys, { entry: e, signature: e.signature, tags }), sealed, 'deterministic');
});

test('an altered or moved sealed entry is refused with a SealError', () => {
  const { keys, signer } = share();
  const e = signedEntry(signer, [new Uint8Array(10)]);
  const sealed = sealEntry(keys, { entry: e, signature: e.signature, tags: [new Uint8Array(16)] });
  const token = nameToken(keys, e.path);
  for (const at of [0, 3, 5, 40, sealed.length - 1]) {
    const bad = new Uint8Array(sealed);
    bad[at]! ^= 0x10;
    assert.throws(() => openEntry(keys, token, bad), SealError, `byte ${at}`);
  }
  assert.throws(() => openEntry(keys, nameToken(keys, 'other.txt'), sealed), /moved to another path/);
  assert.throws(() => openEntry(keys, token, sealed.subarray(0, 100)), /wrong length/);
  assert.throws(() => openEntry(share().keys, token, sealed), SealError);
});

test('a presented entry hides the path and sizes, and opens back to what the writer signed', () => {
  const { keys, signer } = share();
  const chunks = [new Uint8Array(randomBytes(70_000)), new Uint8Array(randomBytes(123))];
  const e = signedEntry(signer, chunks);
  const enc = chunks.map((c) => encryptChunk(keys, c));
  const p = presentEntry(keys, e, enc);
  assert.equal(p.wire.path, tokenText(nameToken(keys, e.path)));
  assert.equal(p.wire.signature.length, 0);
  assert.equal(p.sealedPieces, 1);
  assert.ok(p.wire.chunks.every((c) => c.size % BLOB_UNIT === 0));
  assert.equal(p.wire.size, p.sealed.length + paddedSize(70_000) + paddedSize(123));
  const opened = openPresented(keys, p.wire, p.sealed);
  assert.equal(opened.plain.path, e.path);
  assert.equal(opened.plain.size, e.size);
  assert.equal(signer.check(opened.plain, opened.plain.signature), null);
  assert.deepEqual(
    opened.chunks.map((c) => c.blobHash),
    enc.map((c) => c.blobHash),
  );
  // the encrypted device sees the version: changing it is caught against the sealed one
  assert.throws(() => openPresented(keys, { ...p.wire, version: { [writer]: 4 } }, p.sealed), /differ from its sealed entry/);
  assert.throws(() => openPresented(keys, { ...p.wire, mtimeMs: p.wire.mtimeMs + 1 }, p.sealed), /differ/);
  assert.throws(() => openPresented(keys, { ...p.wire, chunks: p.wire.chunks.slice(0, 2) }, p.sealed), /do not match/);
});

test('tombstones, folders and symlinks are sealed like files: the encrypted device sees one kind of entry', () => {
  const { keys, signer } = share();
  const kinds: Partial<FileEntryWire>[] = [
    { type: 'file', deleted: true },
    { type: 'dir' },
    { type: 'symlink', symlinkTarget: '../secret/target', size: 16 },
  ];
  for (const k of kinds) {
    const e: FileEntryWire = { ...signedEntry(signer, []), size: 0, ...k };
    e.signature = signer.sign(e);
    const p = presentEntry(keys, e, []);
    assert.equal(p.wire.type, 'file');
    assert.equal(p.wire.deleted, false);
    assert.equal(p.wire.size, BLOB_UNIT);
    const opened = openPresented(keys, p.wire, p.sealed).plain;
    assert.equal(opened.type, e.type);
    assert.equal(opened.deleted, e.deleted);
    assert.equal(opened.symlinkTarget, e.symlinkTarget);
    assert.equal(signer.check(opened, opened.signature), null);
  }
});
