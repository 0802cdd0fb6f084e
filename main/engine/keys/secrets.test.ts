import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createShareSecret,
  deriveShareKeys,
  weakenSecret,
  shareSecretFromReadWrite,
  authKey,
  writerSigningKey,
  writerKeyHash,
  levelCovers,
} from './secrets.ts';

test('each level derives from the one above, and only downwards', () => {
  const rw = createShareSecret();
  const ro = weakenSecret(rw, 'read-only');
  const enc = weakenSecret(ro, 'encrypted');
  assert.deepEqual(weakenSecret(rw, 'encrypted'), enc);
  assert.throws(() => weakenSecret(ro, 'read-write'), /cannot give/);
  assert.throws(() => weakenSecret(enc, 'read-only'), /cannot give/);
  for (const s of [rw, ro, enc]) assert.equal(s.secret.length, 16);
  assert.notDeepEqual(rw.secret, ro.secret);
  assert.notDeepEqual(ro.secret, enc.secret);
});

test('every member derives the same discovery ID and share ID; only its own auth keys', () => {
  const rw = createShareSecret();
  const keys = ['read-write', 'read-only', 'encrypted'].map((l) => deriveShareKeys(weakenSecret(rw, l as 'read-only')));
  for (const k of keys) {
    assert.deepEqual(k.discoveryId, keys[0]!.discoveryId);
    assert.equal(k.shareId, keys[0]!.shareId);
    assert.match(k.shareId, /^[a-z2-7]{12}$/);
    assert.equal(k.discoveryId.length, 20);
    assert.deepEqual(k.authKeys.encrypted, keys[0]!.authKeys.encrypted);
  }
  assert.equal(Object.keys(keys[0]!.authKeys).length, 3);
  assert.deepEqual(Object.keys(keys[2]!.authKeys), ['encrypted']);
  assert.notDeepEqual(keys[0]!.authKeys['read-write'], keys[0]!.authKeys['read-only']);
  assert.notEqual(deriveShareKeys(createShareSecret()).shareId, keys[0]!.shareId);
});

test('a tampered writer key hash makes another share', () => {
  const enc = weakenSecret(createShareSecret(), 'encrypted');
  const forged = { ...enc, writerKeyHash: new Uint8Array(12) };
  assert.notDeepEqual(deriveShareKeys(forged).discoveryId, deriveShareKeys(enc).discoveryId);
  assert.notDeepEqual(authKey(forged, 'encrypted'), authKey(enc, 'encrypted'));
});

test('the writer key is deterministic from the read-write secret', () => {
  const s = new Uint8Array(16).fill(7);
  assert.deepEqual(writerSigningKey(s).publicKey, writerSigningKey(s).publicKey);
  assert.deepEqual(shareSecretFromReadWrite(s).writerKeyHash, writerKeyHash(writerSigningKey(s).publicKey));
  assert.ok(levelCovers('read-write', 'encrypted') && !levelCovers('encrypted', 'read-only'));
  assert.throws(() => shareSecretFromReadWrite(new Uint8Array(8)), /16 bytes/);
});
