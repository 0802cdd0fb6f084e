// Fuzzing the decoders of what people paste and peers present: share codes (parseCode), device IDs
// (parseDeviceId, deviceIdFromBytes), certificate fingerprints and the SDP fingerprint line. They
// return their own failure result ({ ok: false, error } or null), never throw, and do not work in
// proportion to an oversized paste.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BECH32_ALPHABET } from './base32.ts';
import { codeLength, encodeCode, groupCode, parseCode, type CodeParse } from './codes.ts';
import { DEVICE_ID_BYTES, deviceIdFromBytes, normalizeFingerprint, parseDeviceId, parseSdpFingerprint } from './device-id.ts';
import { encodeInvite, parseInvite } from './invite-code.ts';

const secret = fc.uint8Array({ minLength: 16, maxLength: 16 });
const writerHash = fc.uint8Array({ minLength: 12, maxLength: 12 });
const level = fc.constantFrom('read-write' as const, 'read-only' as const, 'encrypted' as const);
const code = fc.tuple(level, secret, writerHash).map(([l, s, w]) => encodeCode(l, s, l === 'read-write' ? undefined : w));

function parsesOrFails(text: unknown): CodeParse {
  const r = parseCode(text as string);
  if (r.ok) {
    assert.equal(r.code.length, codeLength(r.level));
    assert.equal(r.secret.length, 16);
    assert.equal(r.writerKeyHash === null, r.level === 'read-write');
    assert.equal(encodeCode(r.level, r.secret, r.writerKeyHash ?? undefined), r.code, 'what parses re-encodes to itself');
  } else {
    assert.equal(typeof r.error, 'string');
    assert.ok(r.error.length < 300, 'a message a person can read, not an echo of the input');
  }
  return r;
}

test('fuzz: codes with characters changed, cut, doubled or swapped parse to the original or fail with a reason', () => {
  fc.assert(
    fc.property(
      code,
      fc.nat(),
      fc.constantFrom(...BECH32_ALPHABET, 'o', 'b', 'i', '1', 'Z', ' ', '-', 'é', '\u0000'),
      fc.nat(),
      (c, at, ch, cut) => {
        assert.ok(parsesOrFails(c).ok);
        assert.ok(parsesOrFails(groupCode(c).toUpperCase()).ok);
        const i = at % c.length;
        const changed = c.slice(0, i) + ch + c.slice(i + 1);
        const r = parsesOrFails(changed);
        // a single change after the prefix never yields another valid code (bech32m catches it)
        if (r.ok) assert.equal(r.code, c.replace(/[\s-]/g, ''));
        parsesOrFails(c.slice(0, cut % c.length));
        parsesOrFails(c + c.slice(i));
        parsesOrFails(c.slice(0, i) + c.slice(i + 1, i + 2) + c.slice(i, i + 1) + c.slice(i + 2));
      },
    ),
    { numRuns: 1000 },
  );
});

test('fuzz: random text and wrongly typed input fail with a reason, never an exception', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 80 }),
        fc.string({ unit: fc.constantFrom(...BECH32_ALPHABET, '1', 'p', 'f', 'w', 'r', 'e'), maxLength: 70 }).map((s) => `pfw1${s}`),
      ),
      (s) => void parsesOrFails(s),
    ),
    { numRuns: 1000 },
  );
  for (const v of [
    null,
    undefined,
    42,
    {},
    [],
    ['pfw1'],
    Object.create(null),
    Symbol('pfw1'),
    {
      toString() {
        throw new Error('x');
      },
    },
  ]) {
    assert.equal(parsesOrFails(v).ok, false, String(typeof v));
  }
  fc.assert(
    fc.property(fc.anything({ withNullPrototype: true }), (v) => void parsesOrFails(v)),
    { numRuns: 300 },
  );
});

test('an oversized paste is refused by its length, without decoding it', () => {
  for (const n of [1000, 1_000_000]) {
    const r = parsesOrFails('pfw1' + 'q'.repeat(n));
    assert.equal(r.ok ? '' : r.problem, 'wrong-length');
  }
});

test('fuzz: device IDs typed, mistyped, cut or of the wrong type parse or fail with a reason', () => {
  const ids = fc.uint8Array({ minLength: DEVICE_ID_BYTES, maxLength: DEVICE_ID_BYTES }).map(deviceIdFromBytes);
  const check = (text: unknown) => {
    const r = parseDeviceId(text as string);
    if (r.ok) assert.equal(deviceIdFromBytes(r.bytes), r.deviceId);
    else assert.equal(typeof r.error, 'string');
    return r;
  };
  fc.assert(
    fc.property(
      ids,
      fc.nat(),
      fc.constantFrom('A', 'Z', '2', '7', '0', '1', '8', '9', 'a', '-', ' ', '\u00e9'),
      fc.nat(),
      (id, at, ch, cut) => {
        assert.equal(check(id).ok, true);
        assert.equal(check(id.toLowerCase().replace(/-/g, ' ')).ok, true);
        const i = at % id.length;
        check(id.slice(0, i) + ch + id.slice(i + 1));
        check(id.slice(0, cut % id.length));
        check(id + id);
      },
    ),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.anything({ withNullPrototype: true })), (v) => void check(v)),
    { numRuns: 500 },
  );
  for (const v of [null, undefined, 42, {}, Object.create(null)]) assert.equal(check(v).ok, false, typeof v);
  assert.equal(check('A'.repeat(1_000_000)).ok, false);
  for (const n of [0, 19, 21, 1000])
    assert.throws(() => deviceIdFromBytes(new Uint8Array(n)), RangeError, 'the wire decoder checks the length before it gets here');
});

test('fuzz: fingerprints and SDP fingerprint lines parse or give null', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 120 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex').match(/../g)!.join(':')),
      ),
      (fp) => {
        const n = normalizeFingerprint(fp);
        if (n !== null) assert.match(n, /^[0-9a-f]{64}$/);
        const sdp = parseSdpFingerprint(`v=0\r\na=fingerprint:sha-256 ${fp}\r\n`);
        if (sdp !== null) assert.equal(sdp, n);
      },
    ),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      const r = parseSdpFingerprint(s);
      if (r !== null) assert.match(r, /^[0-9a-f]{64}$/);
    }),
    { numRuns: 500 },
  );
  for (const v of [null, undefined, 42]) {
    assert.equal(normalizeFingerprint(v as unknown as string), null);
    assert.equal(parseSdpFingerprint(v as unknown as string), null);
  }
});

test('fuzz: invite codes changed, cut, doubled or of the wrong type parse to the original or fail with a reason', () => {
  const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
  const invite = fc.record(
    {
      issuer: fc.uint8Array({ minLength: DEVICE_ID_BYTES, maxLength: DEVICE_ID_BYTES }).map(deviceIdFromBytes),
      discoveryId: hex(20),
      id: hex(8),
      secret: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      expiresAt: fc.nat(0xffffffff).map((s) => s * 1000),
      level,
    },
    { noNullPrototype: true },
  );
  const check = (text: unknown) => {
    const r = parseInvite(text as string);
    if (r.ok) assert.equal(encodeInvite(r.invite), r.code, 'what parses re-encodes to itself');
    else assert.ok(typeof r.error === 'string' && r.error.length < 300);
    return r;
  };
  fc.assert(
    fc.property(invite, fc.nat(), fc.constantFrom(...BECH32_ALPHABET, 'o', '1', ' ', '-', 'é'), fc.nat(), (inv, at, ch, cut) => {
      const c = encodeInvite(inv);
      const r = check(groupCode(c).toUpperCase());
      assert.ok(r.ok);
      assert.deepEqual(r.invite, inv);
      const i = at % c.length;
      const changed = check(c.slice(0, i) + ch + c.slice(i + 1));
      if (changed.ok) assert.equal(changed.code, c);
      check(c.slice(0, cut % c.length));
      check(c + c.slice(i));
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 130 }), fc.anything({ withNullPrototype: true })), (v) => void check(v)),
    { numRuns: 300 },
  );
  for (const v of [null, undefined, 42, {}, Object.create(null), 'pfi1' + 'q'.repeat(1_000_000)])
    assert.equal(check(v).ok, false, typeof v);
  // and a share-code parser handed an invite says what it is
  const inv = encodeInvite(fc.sample(invite, { numRuns: 1, seed: 3 })[0]!);
  assert.equal((parseCode(inv) as { problem: string }).problem, 'unsupported');
});
