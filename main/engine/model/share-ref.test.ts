import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCode } from '../keys/codes.ts';
import { encodeInvite } from '../keys/invite-code.ts';
import { sampleInvite } from '../keys/invite-test-support.ts';
import { inviteIdIn, noShareMessage, pendingJoinMessage } from './share-ref.ts';

const secret = new Uint8Array(16).fill(7);

test('an invite code given as SHARE says it is an invite and how to use or cancel it', () => {
  const code = encodeInvite(sampleInvite);
  for (const ref of [code, code.toUpperCase()]) {
    const m = noShareMessage(ref, null);
    assert.match(m, /one-time invite code, not a share/);
    assert.match(m, /peerfold join CODE PATH/);
    assert.match(m, /peerfold revoke SHARE INVITE_ID/);
    assert.doesNotMatch(m, new RegExp(code), 'the secret code is not echoed back');
  }
});

test('a share code given as SHARE says to join with it', () => {
  const m = noShareMessage(encodeCode('read-write', secret), null);
  assert.match(m, /share code, not a share: `peerfold join CODE PATH`/);
});

test("an open invite's ID, bare or as invite-ID, names the invite and the command that cancels it", () => {
  const named = { id: '0123456789abcdef', shareId: 'abcd1234', shareName: 'Photos' };
  assert.equal(inviteIdIn('invite-0123456789ABCDEF'), '0123456789abcdef');
  assert.equal(inviteIdIn('0123456789abcdef'), '0123456789abcdef');
  assert.equal(
    noShareMessage('invite-0123456789abcdef', named),
    '"invite-0123456789abcdef" is an open invite of "Photos", not a share: `peerfold revoke abcd1234 0123456789abcdef` cancels it',
  );
});

test('an invite-… id with no waiting join says a granted join has an id of its own', () => {
  assert.match(
    noShareMessage('invite-0123456789abcdef', null),
    /^no join by invite "invite-0123456789abcdef" is waiting here.*peerfold shares/,
  );
  assert.equal(noShareMessage('nosuch', null), 'no share "nosuch"; `peerfold shares` lists them by id and folder');
});

test('a join still waiting for its issuer says how to follow it and how to give it up', () => {
  const m = pendingJoinMessage({ id: 'invite-0123456789abcdef', name: 'Photos', error: null });
  assert.match(m, /waiting for the device that made its invite/);
  assert.match(m, /`peerfold unshare invite-0123456789abcdef` gives up the join/);
  assert.match(
    pendingJoinMessage({ id: 'invite-1', name: 'Photos', error: 'this invite was already used' }),
    /could not join: this invite was already used\. `peerfold unshare invite-1` removes it/,
  );
});
