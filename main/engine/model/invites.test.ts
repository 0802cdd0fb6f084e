import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessLevel } from '../../../shared/api.ts';
import { InvitesFile } from '../config/invites-file.ts';
import type { ShareRow } from '../index/rows.ts';
import { parseCode, shareCodes } from '../keys/codes.ts';
import { deviceIdFromFingerprint } from '../keys/device-id.ts';
import { parseInvite } from '../keys/invite-code.ts';
import { createShareSecret, deriveShareKeys, weakenSecret } from '../keys/secrets.ts';
import { inviteClaimMac } from '../protocol/invite-proof.ts';
import type { LinkSides } from '../protocol/share-proofs.ts';
import type { InviteAnswer } from '../protocol/messages.ts';
import { CLAIM_LIMIT } from './claim-limit.ts';
import { Invites, inviteLevelProblem, type ClaimNotNow } from './invites.ts';

/** The answer sent, failing the test when the claim was not answered. */
function answered(a: InviteAnswer | ClaimNotNow): InviteAnswer {
  assert.ok(!('notNow' in a), `the claim was not answered: ${'notNow' in a ? a.notNow : ''}`);
  return a;
}

const side = () => {
  const fingerprint = randomBytes(32).toString('hex');
  return { fingerprint, deviceId: deviceIdFromFingerprint(fingerprint), nonce: new Uint8Array(randomBytes(32)) };
};

function setup(access: AccessLevel = 'read-write') {
  const home = mkdtempSync(join(tmpdir(), 'peerfold-invites-'));
  const secret = weakenSecret(createShareSecret(), access);
  const codes = shareCodes(secret);
  const row: ShareRow = {
    id: deriveShareKeys(secret).shareId,
    name: 's',
    path: '/x',
    access,
    secret: (codes.readWrite ?? codes.readOnly ?? codes.encrypted)!,
    paused: false,
    createdAt: 0,
  };
  const issuer = side();
  const make = () =>
    new Invites({
      file: new InvitesFile(home),
      deviceId: issuer.deviceId,
      share: (id) => (id === row.id ? row : null),
      log: () => undefined,
      changed: () => undefined,
    });
  return { home, row, issuer, make, done: () => rmSync(home, { recursive: true, force: true }) };
}

/** A joiner's claim of `code` on a link to `issuer`, as the issuer's handshake hands it over. */
function claimOf(code: string, issuer: ReturnType<typeof side>) {
  const p = parseInvite(code);
  assert.ok(p.ok);
  const joiner = side();
  const joinerSides: LinkSides = { local: joiner, peer: issuer };
  return { invite: p.invite.id, mac: inviteClaimMac(p.invite, joinerSides), sides: { local: issuer, peer: joiner } };
}

test('an invite grants at most the issuer’s level', () => {
  assert.equal(inviteLevelProblem('read-write', 'read-write'), null);
  assert.equal(inviteLevelProblem('read-write', 'read-only'), null);
  assert.match(inviteLevelProblem('read-only', 'read-write')!, /holds the share read-only: it cannot invite a read-write device/);
  assert.equal(inviteLevelProblem('read-write', 'encrypted'), null);
  assert.match(inviteLevelProblem('encrypted', 'read-only')!, /holds the share encrypted: it cannot invite a read-only device/);
  const s = setup('read-only');
  try {
    assert.throws(() => s.make().create(s.row, { access: 'read-write' }), /cannot invite a read-write device/);
    assert.equal(s.make().create(s.row, {}).access, 'read-only', 'by default the issuer’s own level');
  } finally {
    s.done();
  }
});

test('a claim is granted once with the code of the invited level; the use is counted on disk (0600) and survives a restart', () => {
  const s = setup();
  try {
    const inv = s.make().create(s.row, { access: 'read-only' });
    assert.equal(statSync(join(s.home, 'invites.json')).mode & 0o777, 0o600);
    const first = answered(s.make().answer('joiner', claimOf(inv.code, s.issuer), null));
    assert.equal(first.status, 'granted');
    const got = parseCode(first.code);
    assert.ok(got.ok && got.level === 'read-only', 'a read-only code, never the read-write one');
    const again = s.make().answer('joiner', claimOf(inv.code, s.issuer), null);
    assert.deepEqual(again, { type: 'inviteAnswer', status: 'used', code: '' });
    assert.deepEqual(s.make().open(s.row.id), []);
  } finally {
    s.done();
  }
});

test('revoked and expired invites are refused by name; an unknown one as unknown', () => {
  const s = setup();
  try {
    const inv = s.make().create(s.row, { uses: 5 });
    s.make().revoke(s.row.id, inv.id);
    assert.equal(answered(s.make().answer('j', claimOf(inv.code, s.issuer), null)).status, 'revoked');
    const short = s.make().create(s.row, { expiresInMs: 1000 }, Date.now() - 5000);
    assert.equal(answered(s.make().answer('j', claimOf(short.code, s.issuer), null)).status, 'expired');
    const other = setup();
    try {
      const foreign = other.make().create(other.row, {});
      assert.equal(answered(s.make().answer('j', claimOf(foreign.code, s.issuer), null)).status, 'unknown');
    } finally {
      other.done();
    }
    assert.throws(() => s.make().revoke(s.row.id, 'ffffffffffffffff'), /no invite/);
  } finally {
    s.done();
  }
});

test('after too many failed claims from one address, or one device, further claims are not answered until the window passes', () => {
  const s = setup();
  try {
    const invites = s.make();
    const inv = invites.create(s.row, { uses: 2 });
    const now = Date.now();
    // a guesser: right invite ID, wrong proof, a new device ID every time, from one address
    const guess = () => ({ ...claimOf(inv.code, s.issuer), mac: new Uint8Array(32) });
    for (let i = 0; i < CLAIM_LIMIT.maxFailures; i++)
      assert.equal(answered(invites.answer(`guesser-${i}`, guess(), '203.0.113.7', now + i)).status, 'wrong-proof');
    const blocked = invites.answer('honest', claimOf(inv.code, s.issuer), '203.0.113.7', now + 10);
    assert.ok('notNow' in blocked, 'the address is held off, even for a right claim');
    assert.match(blocked.notNow, /too many failed invite claims.*try again in 10 min/);
    assert.equal(answered(invites.answer('elsewhere', claimOf(inv.code, s.issuer), '198.51.100.2', now + 10)).status, 'granted');
    // one device, many addresses
    for (let i = 0; i < CLAIM_LIMIT.maxFailures; i++) invites.answer('roamer', guess(), `192.0.2.${i}`, now + i);
    assert.ok('notNow' in invites.answer('roamer', claimOf(inv.code, s.issuer), '192.0.2.200', now + 10));
    // the window passes: the address may claim again, and the invite is still there to grant
    const later = now + CLAIM_LIMIT.windowMs + 1;
    assert.equal(answered(invites.answer('honest', claimOf(inv.code, s.issuer), '203.0.113.7', later)).status, 'granted');
  } finally {
    s.done();
  }
});
