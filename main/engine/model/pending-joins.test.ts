// A join by invite waiting for its issuer: how each answer ends it (the network is a scripted
// `redeem`; e2e/invites.test.ts does the same with real daemons).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PendingJoinsFile, type PendingJoinRecord } from '../config/pending-joins-file.ts';
import { shareCodes } from '../keys/codes.ts';
import { encodeInvite, type Invite } from '../keys/invite-code.ts';
import { createShareSecret, deriveShareKeys } from '../keys/secrets.ts';
import type { ClaimResult } from '../peer/invite-claim.ts';
import { PendingJoins, grantProblem, pendingJoinId } from './pending-joins.ts';

const secret = createShareSecret();
const codes = shareCodes(secret);
const terms = (over: Partial<Invite> = {}): Invite => ({
  issuer: 'CEIRCEI-RCEIRCE-IRCEIRC-EIRCEIR-CEIR63D',
  discoveryId: deriveShareKeys(secret).discoveryIdHex,
  id: '0123456789abcdef',
  secret: new Uint8Array(16).fill(7),
  expiresAt: Math.floor(Date.now() / 1000) * 1000 + 3600_000,
  level: 'read-only',
  ...over,
});

function record(t: Invite, dir: string): PendingJoinRecord {
  return {
    id: pendingJoinId(t.id),
    code: encodeInvite(t),
    path: join(dir, 'folder'),
    name: 'folder',
    peer: null,
    createdAt: 1,
    error: null,
  };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

/** A PendingJoins whose network answers with `answers` in turn (then never). */
function setup(answers: ClaimResult[]) {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-pending-'));
  const file = new PendingJoinsFile(dir);
  const completed: string[] = [];
  const signals: AbortSignal[] = [];
  let calls = 0;
  const joins = new PendingJoins({
    file,
    redeem: async (_t, _peer, timeoutMs, signal) => {
      signals.push(signal);
      const next = answers[calls++];
      if (next) return next;
      await new Promise<void>((r) => {
        const t = setTimeout(r, timeoutMs);
        signal.addEventListener('abort', () => (clearTimeout(t), r()));
      });
      return { ok: false, error: 'not found' };
    },
    complete: async (_j, code) => void completed.push(code),
    changed: () => undefined,
    log: () => undefined,
  });
  return {
    dir,
    file,
    joins,
    completed,
    signals,
    calls: () => calls,
    done: () => (joins.stop(), rmSync(dir, { recursive: true, force: true })),
  };
}

const answer = (status: 'granted' | 'used' | 'revoked', code = ''): ClaimResult => ({
  ok: true,
  answer: { type: 'inviteAnswer', status, code },
});

test('unanswered attempts keep the join waiting; a grant of the invited share and level completes it and it leaves the list', async () => {
  const s = setup([{ ok: false, error: 'not found' }, answer('granted', codes.readOnly!)]);
  try {
    s.joins.add(record(terms(), s.dir));
    assert.equal((statSync(join(s.dir, 'pending-joins.json')).mode & 0o777).toString(8), '600', 'the invite code is kept private');
    await until('the join to complete', () => s.completed.length === 1);
    assert.deepEqual(s.completed, [codes.readOnly]);
    assert.deepEqual(s.joins.list(), []);
    assert.deepEqual(s.file.read(), []);
  } finally {
    s.done();
  }
});

test('a refusal by the issuer becomes the join’s error by name, kept across a restart, and nothing is joined', async () => {
  const s = setup([answer('revoked')]);
  try {
    s.joins.add(record(terms(), s.dir));
    await until('the refusal', () => s.joins.list()[0]?.error !== null);
    assert.match(s.joins.list()[0]!.error!, /^this invite was revoked/);
    assert.deepEqual(s.completed, []);
    assert.match(s.file.read()[0]!.error!, /^this invite was revoked/);
  } finally {
    s.done();
  }
});

test('a granted code of another level or share is refused and not joined', async () => {
  assert.equal(grantProblem(terms(), codes.readOnly!), null);
  assert.match(grantProblem(terms(), codes.readWrite!)!, /another share or level/);
  assert.match(grantProblem(terms(), shareCodes(createShareSecret()).readOnly!)!, /another share or level/);
  const s = setup([answer('granted', codes.readWrite!)]);
  try {
    s.joins.add(record(terms(), s.dir));
    await until('the refusal', () => s.joins.list()[0]?.error !== null);
    assert.deepEqual(s.completed, []);
  } finally {
    s.done();
  }
});

test('an invite that expires while the join waits fails as expired; a removed join stops trying', async () => {
  const s = setup([]);
  try {
    const soon = terms({ id: '00000000000000aa', expiresAt: Math.ceil((Date.now() + 1500) / 1000) * 1000 });
    s.joins.add(record(soon, s.dir));
    await until('the expiry', () => s.joins.list()[0]?.error !== null);
    assert.match(s.joins.list()[0]!.error!, /^this invite has expired/);

    const other = record(terms({ id: '00000000000000bb' }), s.dir);
    const before = s.calls();
    s.joins.add(other);
    await until('an attempt to reach the issuer', () => s.calls() === before + 1);
    const attempt = s.signals.at(-1)!;
    assert.equal(attempt.aborted, false);
    s.joins.remove(other.id);
    assert.equal(attempt.aborted, true, 'the attempt under way is given up');
    assert.equal(s.joins.find(other.id), null);
    assert.deepEqual(
      s.file.read().map((j) => j.id),
      [pendingJoinId(soon.id)],
    );
  } finally {
    s.done();
  }
});
