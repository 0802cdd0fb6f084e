import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BECH32_ALPHABET } from './base32.ts';
import { parseCode } from './codes.ts';
import { INVITE_CODE_LENGTH, encodeInvite, looksLikeInvite, parseInvite } from './invite-code.ts';
import { altered, sampleInvite } from './invite-test-support.ts';

test('an invite code round-trips, is told apart from share codes, and holds no share code', () => {
  const code = encodeInvite(sampleInvite);
  assert.equal(code.length, INVITE_CODE_LENGTH);
  assert.match(code, /^pfi1q/);
  assert.ok(looksLikeInvite(code) && looksLikeInvite(` ${code.toUpperCase().slice(0, 10)}`));
  assert.ok(!looksLikeInvite('pfw1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0j8a3ey'));
  const p = parseInvite(code.toUpperCase().replace(/(.{8})/g, '$1-'));
  assert.ok(p.ok, JSON.stringify(p));
  assert.deepEqual({ ...p.invite, secret: [...p.invite.secret] }, { ...sampleInvite, secret: [...sampleInvite.secret] });
  const asShare = parseCode(code);
  assert.ok(!asShare.ok && /one-time invite/.test(asShare.error));
});

test('every single typo and every swap of neighbours is caught', () => {
  const code = encodeInvite(sampleInvite);
  for (let i = 4; i < code.length; i++) {
    for (const c of BECH32_ALPHABET) {
      if (c === code[i]) continue;
      const typo = code.slice(0, i) + c + code.slice(i + 1);
      assert.ok(!parseInvite(typo).ok, `typo at ${i} accepted`);
    }
    if (i + 1 < code.length && code[i] !== code[i + 1]) {
      const swapped = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2);
      assert.match((parseInvite(swapped) as { error: string }).error, /checksum mismatch/);
    }
  }
  assert.match((parseInvite(code.slice(0, -1)) as { error: string }).error, /wrong length.*a character is missing/);
  assert.match((parseInvite(code + 'q') as { error: string }).error, /wrong length.*too many/);
  assert.match((parseInvite(code.slice(0, 20) + 'o' + code.slice(21)) as { error: string }).error, /invalid character 'o'/);
});

test('an altered invite with a recomputed checksum still parses: the issuer, not the code, refuses it', () => {
  const code = encodeInvite(sampleInvite);
  const later = altered(code, (p) => {
    p[64] = 0xff;
  });
  const p = parseInvite(later);
  assert.ok(p.ok);
  assert.notEqual(p.invite.expiresAt, sampleInvite.expiresAt);
  // (protocol/invite-proof.test.ts: the claim made from it fails at the issuer)
  const badLevel = parseInvite(
    altered(code, (x) => {
      x[68] = 9;
    }),
  );
  assert.ok(!badLevel.ok && /malformed/.test(badLevel.error));
});
