import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deviceIdFromFingerprint } from '../keys/device-id.ts';
import { encodeInvite, parseInvite } from '../keys/invite-code.ts';
import { altered, sampleInvite } from '../keys/invite-test-support.ts';
import { createShareSecret, deriveShareKeys } from '../keys/secrets.ts';
import { Handshake, type ClaimedInvite } from './handshake.ts';
import { decideClaim, verifyInviteClaim, type InviteRecord, type InviteTerms } from './invite-proof.ts';
import { decodeMessage, encodeMessage, type InviteAnswer, type Message } from './messages.ts';

const dev = () => {
  const fingerprint = randomBytes(32).toString('hex');
  return { fingerprint, deviceId: deviceIdFromFingerprint(fingerprint) };
};
const wire = (msgs: Message[]) => msgs.map((m) => decodeMessage(encodeMessage(m)));

/** A joiner claiming `claimed` from an issuer: the claim as the issuer's handshake hands it over, and the joiner's outcome on `answer`. */
function redeem(claimed: InviteTerms, issuerDev = dev(), joinerDev = dev()) {
  const share = deriveShareKeys(createShareSecret());
  const issuer = new Handshake({
    local: { ...issuerDev, deviceName: 'issuer', clientVersion: 't' },
    remoteFingerprint: joinerDev.fingerprint,
    shares: [share],
  });
  const joiner = new Handshake({
    local: { ...joinerDev, deviceName: 'joiner', clientVersion: 't' },
    remoteFingerprint: issuerDev.fingerprint,
    shares: [],
    expectDeviceId: claimed.issuer,
    claim: claimed,
  });
  const fromIssuer = wire(issuer.start());
  const fromJoiner = wire(joiner.start());
  const j1 = joiner.receive(fromIssuer[0]!);
  assert.equal(j1.outcome, null, JSON.stringify(j1.outcome));
  assert.deepEqual(
    j1.send.map((m) => m.type),
    ['inviteClaim'],
  );
  const i1 = issuer.receive(fromJoiner[0]!);
  assert.deepEqual(
    i1.send.map((m) => m.type),
    ['auth'],
  );
  const i2 = issuer.receive(wire(j1.send)[0]!);
  assert.ok(i2.outcome && 'claim' in i2.outcome, 'the issuer sees a claim');
  assert.equal(i2.outcome.peer.deviceId, joinerDev.deviceId);
  assert.equal(joiner.receive(wire(i1.send)[0]!).outcome, null, "the joiner ignores the issuer's proofs");
  const answerWith = (a: InviteAnswer) => joiner.receive(wire([a])[0]!).outcome;
  return { claim: i2.outcome.claim as ClaimedInvite, answerWith };
}

const terms = (over: Partial<InviteTerms> = {}, issuer = dev()): InviteTerms & { dev: ReturnType<typeof dev> } => ({
  ...sampleInvite,
  issuer: issuer.deviceId,
  ...over,
  dev: issuer,
});

test('a claim over a link verifies against the issuer record; the joiner takes the answer', () => {
  const t = terms();
  const { claim, answerWith } = redeem(t, t.dev);
  assert.equal(claim.invite, t.id);
  assert.ok(verifyInviteClaim(t, claim.sides, claim.mac));
  const out = answerWith({ type: 'inviteAnswer', status: 'granted', code: 'pfw1xyz' });
  assert.ok(out && 'answer' in out && out.answer.status === 'granted' && out.answer.code === 'pfw1xyz');
});

test('an altered code proves nothing: changed expiry, level, share or secret fail at the issuer', () => {
  const t = terms();
  const code = encodeInvite(t);
  const edits: [string, (p: Uint8Array) => void][] = [
    [
      'expiry',
      (p) => {
        p[64] ^= 1;
      },
    ],
    [
      'level',
      (p) => {
        p[68] = 2;
      },
    ],
    [
      'share',
      (p) => {
        p[20] ^= 1;
      },
    ],
    [
      'secret',
      (p) => {
        p[48] ^= 1;
      },
    ],
  ];
  for (const [what, edit] of edits) {
    const p = parseInvite(altered(code, edit));
    assert.ok(p.ok, what);
    const { claim } = redeem(p.invite, t.dev);
    assert.ok(!verifyInviteClaim(t, claim.sides, claim.mac), `a code with a changed ${what} was accepted`);
  }
});

test('a changed issuer is refused by the joiner: the certificate is not that device', () => {
  const t = terms();
  const other = dev();
  const joinerDev = dev();
  const joiner = new Handshake({
    local: { ...joinerDev, deviceName: 'j', clientVersion: 't' },
    remoteFingerprint: other.fingerprint,
    shares: [],
    expectDeviceId: t.issuer,
    claim: t,
  });
  joiner.start();
  const fake = new Handshake({
    local: { ...other, deviceName: 'x', clientVersion: 't' },
    remoteFingerprint: joinerDev.fingerprint,
    shares: [],
  });
  const step = joiner.receive(wire(fake.start())[0]!);
  assert.ok(step.outcome && !step.outcome.accepted && /expected device/.test(step.outcome.reason));
  assert.ok(!step.send.some((m) => m.type === 'inviteClaim'), 'no claim goes to the wrong device');
});

test('a claim made on one link fails on another (other nonces)', () => {
  const t = terms();
  const a = redeem(t, t.dev);
  const b = redeem(t, t.dev);
  assert.ok(!verifyInviteClaim(t, b.claim.sides, a.claim.mac));
});

test('the decision: unknown, wrong proof, revoked, used, expired, granted', () => {
  const now = 1_000_000;
  const rec = (over: Partial<InviteRecord> = {}): InviteRecord => ({
    ...sampleInvite,
    shareId: 's',
    createdAt: 0,
    usesLeft: 1,
    revoked: false,
    expiresAt: now + 1,
    ...over,
  });
  const ok = () => true;
  assert.deepEqual(decideClaim(null, ok, now), { grant: false, refusal: 'unknown' });
  assert.deepEqual(
    decideClaim(rec(), () => false, now),
    { grant: false, refusal: 'wrong-proof' },
  );
  assert.deepEqual(decideClaim(rec({ revoked: true, usesLeft: 0, expiresAt: 0 }), ok, now), { grant: false, refusal: 'revoked' });
  assert.deepEqual(decideClaim(rec({ usesLeft: 0, expiresAt: 0 }), ok, now), { grant: false, refusal: 'used' });
  assert.deepEqual(decideClaim(rec({ expiresAt: now }), ok, now), { grant: false, refusal: 'expired' });
  assert.deepEqual(decideClaim(rec(), ok, now), { grant: true });
});
