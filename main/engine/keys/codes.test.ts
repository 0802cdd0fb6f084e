import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BECH32_ALPHABET } from './base32.ts';
import { encodeCode, parseCode, codeLength, groupCode, shareCodes, shareSecretFromCode } from './codes.ts';
import { createShareSecret, shareSecretFromReadWrite, deriveShareKeys } from './secrets.ts';

const secret = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
const rw = shareSecretFromReadWrite(secret);

test('codes round-trip at every level and stay within 60 characters', () => {
  const codes = shareCodes(rw);
  for (const [level, code] of [
    ['read-write', codes.readWrite],
    ['read-only', codes.readOnly],
    ['encrypted', codes.encrypted],
  ] as const) {
    assert.ok(code);
    assert.ok(code.length <= 60, `${code} is ${code.length} characters`);
    assert.equal(code.length, codeLength(level));
    const p = parseCode(code);
    assert.ok(p.ok, JSON.stringify(p));
    assert.equal(p.level, level);
    // a joined share has the same share ID and discovery ID as the original
    assert.equal(deriveShareKeys(shareSecretFromCode(p)).shareId, deriveShareKeys(rw).shareId);
  }
  assert.match(codes.readWrite!, /^pfw1q/);
  assert.match(codes.readOnly!, /^pfr1q/);
  assert.match(codes.encrypted!, /^pfe1q/);
  const p = parseCode(codes.readWrite!);
  assert.ok(p.ok && Buffer.from(p.secret).equals(Buffer.from(secret)));
});

test('lower levels give no codes above them', () => {
  const roCode = shareCodes(rw).readOnly!;
  const p = parseCode(roCode);
  assert.ok(p.ok);
  assert.deepEqual(shareCodes(shareSecretFromCode(p)), { readWrite: null, readOnly: roCode, encrypted: shareCodes(rw).encrypted });
});

test('pasting tolerates case, spaces, dashes and the read-aloud grouping', () => {
  const code = encodeCode('read-write', secret);
  for (const variant of [
    code.toUpperCase(),
    ` ${code}\n`,
    groupCode(code),
    groupCode(code).replace(/ /g, '-'),
    code.match(/.{1,5}/g)!.join(' '),
  ]) {
    const p = parseCode(variant);
    assert.ok(p.ok, variant);
    assert.equal(p.code, code);
  }
});

test('each kind of malformed code gets its own message', () => {
  const code = encodeCode('read-write', secret);
  const problem = (t: string) => {
    const p = parseCode(t);
    assert.ok(!p.ok);
    return p;
  };
  assert.equal(problem('').problem, 'empty');
  assert.equal(problem('   ').problem, 'empty');
  assert.equal(problem('hello world').problem, 'unknown-kind');
  assert.equal(problem(`pfx1${code.slice(4)}`).problem, 'unknown-kind');
  assert.match(problem(`pfx1${code.slice(4)}`).error, /pfw1 \(read-write\)/);
  assert.equal(problem(`pfi1${code.slice(4)}`).problem, 'unsupported');
  assert.equal(problem(code.slice(0, -1)).problem, 'wrong-length');
  assert.match(problem(code.slice(0, -1)).error, /has 37 characters, this one has 36 \(a character is missing\)/);
  assert.equal(problem(`${code}q`).problem, 'wrong-length');
  const withO = `${code.slice(0, 10)}o${code.slice(11)}`;
  assert.equal(problem(withO).problem, 'invalid-character');
  assert.match(problem(withO).error, /invalid character 'o' at position 11.*digit 0/);
  const typo = `${code.slice(0, 20)}${code[20] === 'q' ? 'p' : 'q'}${code.slice(21)}`;
  assert.equal(problem(typo).error, 'checksum mismatch: a character is mistyped or two are swapped');
  // a well-formed code of a future format version
  const data = [3, ...Array.from({ length: 26 }, () => 0)];
  // build it through the same checksum the encoder uses
  const future = (async () => {
    const { checksum } = await import('./bech32.ts');
    return `pfw1${[...data, ...checksum('pfw', data)].map((s) => BECH32_ALPHABET[s]).join('')}`;
  })();
  return future.then((f) => assert.equal(problem(f).problem, 'unsupported'));
});

test('every single-character substitution is caught', () => {
  for (const code of [encodeCode('read-write', secret), shareCodes(createShareSecret()).readOnly!]) {
    let tried = 0;
    for (let i = 0; i < code.length; i++) {
      for (const c of `${BECH32_ALPHABET}1bio`) {
        if (c === code[i]) continue;
        const typo = code.slice(0, i) + c + code.slice(i + 1);
        const p = parseCode(typo);
        tried++;
        assert.ok(!p.ok, `substitution at ${i} by ${c} went unnoticed: ${typo}`);
      }
    }
    assert.ok(tried > 1000);
  }
});

test('transpositions: every adjacent swap is caught, and (measured) any swap', () => {
  let adjacent = 0,
    adjacentCaught = 0,
    any = 0,
    anyCaught = 0;
  for (let n = 0; n < 20; n++) {
    const code = encodeCode('read-write', createShareSecret().secret);
    for (let i = 0; i < code.length; i++) {
      for (let j = i + 1; j < code.length; j++) {
        if (code[i] === code[j]) continue;
        const swapped = code.slice(0, i) + code[j] + code.slice(i + 1, j) + code[i] + code.slice(j + 1);
        const caught = !parseCode(swapped).ok;
        any++;
        if (caught) anyCaught++;
        if (j === i + 1) {
          adjacent++;
          if (caught) adjacentCaught++;
        }
      }
    }
  }
  console.log(`adjacent transpositions caught: ${adjacentCaught}/${adjacent}; any two characters swapped: ${anyCaught}/${any}`);
  assert.equal(adjacentCaught, adjacent);
  assert.equal(anyCaught, any);
});

test('the checksum is standard bech32m (BIP-350 test vectors)', async () => {
  const { verifyChecksum } = await import('./bech32.ts');
  for (const s of [
    'a1lqfn3a',
    'abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx',
    'split1checkupstagehandshakeupstreamerranterredcaperredlc445v',
    '?1v759aa',
  ]) {
    const sep = s.lastIndexOf('1');
    const symbols = [...s.slice(sep + 1)].map((c) => BECH32_ALPHABET.indexOf(c));
    assert.ok(verifyChecksum(s.slice(0, sep), symbols), s);
  }
  // and a bech32 (not bech32m) string does not pass
  assert.ok(
    !verifyChecksum(
      'a',
      [...'2uel5l'].map((c) => BECH32_ALPHABET.indexOf(c)),
    ),
  );
});
