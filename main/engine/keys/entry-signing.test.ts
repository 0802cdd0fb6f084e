import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntrySigner, type SignedEntry } from './entry-signing.ts';
import { createShareSecret, deriveShareKeys, weakenSecret } from './secrets.ts';

const writer = 'CEIRCEI-RCEIRCE-IRCEIRC-EIRCEIR-CEIR63D';
const entry: SignedEntry = {
  path: 'a/b.txt',
  type: 'file',
  size: 5,
  mode: 0o644,
  mtimeMs: 1_700_000_000_123,
  version: { [writer]: 2 },
  deleted: false,
  symlinkTarget: null,
  chunks: [{ hash: new Uint8Array(32).fill(7), size: 5 }],
  modifiedBy: writer,
};

function members() {
  const secret = createShareSecret();
  const signer = (level: 'read-write' | 'read-only' | 'encrypted') => {
    const k = deriveShareKeys(weakenSecret(secret, level));
    return new EntrySigner(k.discoveryId, k.writerKeyHash, k.readWriteSecret);
  };
  return { rw: signer('read-write'), ro: signer('read-only'), enc: signer('encrypted') };
}

test('a writer signs; every level checks the signature, and only a writer can sign', () => {
  const { rw, ro, enc } = members();
  const sig = rw.sign(entry);
  assert.equal(sig.length, 96);
  for (const m of [rw, ro, enc]) assert.equal(m.check(entry, sig), null);
  assert.equal(ro.canSign, false);
  assert.throws(() => ro.sign(entry), /only a read-write member/);
});

test('unsigned, foreign-key and altered entries fail, each with its reason', () => {
  const { rw, ro } = members();
  const sig = rw.sign(entry);
  assert.match(ro.check(entry, new Uint8Array(0))!, /not signed/);
  assert.match(ro.check(entry, sig.subarray(0, 95))!, /95 bytes/);
  assert.match(ro.check(entry, members().rw.sign(entry))!, /not the share's writer key/);
  const altered: SignedEntry[] = [
    { ...entry, path: 'a/c.txt' },
    { ...entry, size: 6 },
    { ...entry, mode: 0o755 },
    { ...entry, mtimeMs: entry.mtimeMs + 1 },
    { ...entry, version: { [writer]: 3 } },
    { ...entry, deleted: true },
    { ...entry, type: 'symlink', symlinkTarget: 'x' },
    { ...entry, chunks: [{ hash: new Uint8Array(32).fill(8), size: 5 }] },
    { ...entry, modifiedBy: 'EIRCEIR-CEIRCEI-RCEIRCE-IRCEIRC-EIRCEXA' },
  ];
  for (const e of altered) assert.match(ro.check(e, sig)!, /does not match/, JSON.stringify(e));
  // what does not define a version may differ: other permission bits
  assert.equal(ro.check({ ...entry, mode: 0o600 }, sig), null);
});

test('a signature is bound to its share', () => {
  const a = members();
  const b = members();
  assert.notEqual(b.ro.check(entry, a.rw.sign(entry)), null);
});

test('a version signed or checked before is known again, and only with its own bytes and signature', () => {
  const { rw, ro } = members();
  const sig = rw.sign(entry);
  assert.deepEqual(rw.sign({ ...entry }), sig, 'one version, one signature');
  assert.equal(ro.check(entry, sig), null);
  assert.equal(ro.check({ ...entry }, sig), null, 'checked again');
  // the memo never vouches for other bytes or another signature
  assert.match(ro.check({ ...entry, size: 6 }, sig)!, /does not match/);
  const flipped = new Uint8Array(sig);
  flipped[40]! ^= 1;
  assert.match(ro.check(entry, flipped)!, /does not match/);
  assert.equal(ro.check(entry, sig), null, 'the good signature still checks');
});

test('a member that cannot sign keeps the signatures it receives (it passes them on); a writer keeps none', () => {
  const { rw, ro, enc } = members();
  const sig = rw.sign(entry);
  assert.equal(ro.kept(sig), sig);
  assert.equal(enc.kept(sig), sig);
  assert.equal(rw.kept(sig), null, 'a writer signs what it sends itself');
  assert.equal(ro.kept(undefined), null);
});
