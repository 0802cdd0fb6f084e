// One-time invites end to end (issue 9): real daemons, real links on loopback, the CLI as a user
// runs it. An invite works once; a used, expired or revoked one is refused by name and nothing is
// delivered: no share, no file, no secret in the joiner's home. While the issuer cannot be
// reached the share is listed at once, waiting for it, and joins or fails once it is reached.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InviteInfo } from '../shared/api.ts';
import { Cluster, loopbackEnv, repoRoot, waitUntil, type Device } from './harness.ts';

const cluster = new Cluster('peerfold-e2e-invites-');
after(() => cluster.close());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(d: Device, ...args: string[]): Promise<Run> {
  return cliWith({}, d, ...args);
}

function cliWith(env: Record<string, string>, d: Device, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin', 'peerfold'), '--home', d.home, ...args],
      { env: { ...process.env, ...loopbackEnv, PEERFOLD_HOME: '', ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function makeInvite(d: Device, shareId: string, ...opts: string[]): Promise<InviteInfo> {
  const r = await cli(d, 'invite', shareId, ...opts, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as InviteInfo;
}

/** Nothing of the share reached `d`: no share, nothing in its folder, no share code in its home. */
function assertNothingDelivered(d: Device, folder: string): void {
  const sharesFile = join(d.home, 'shares.json');
  const stored = existsSync(sharesFile) ? readFileSync(sharesFile, 'utf8') : '';
  assert.doesNotMatch(stored, /pf[wre]1/, `${d.name}'s shares.json holds a share code: ${stored}`);
  assert.deepEqual(existsSync(folder) ? readdirSync(folder) : [], [], `files arrived in ${folder}`);
}

let issuer: Device;
let shareId: string;
let issuerId: string;

test('setup: a device shares a folder with a file in it', async () => {
  issuer = await cluster.add('issuer');
  writeFileSync(join(issuer.dir, 'hello.txt'), 'invited in\n');
  shareId = (await issuer.call('share', { path: issuer.dir })).share.id;
  issuerId = (await issuer.status()).device.id;
});

test('an invite works once: the joiner finds the issuer on the LAN and becomes a member; a second use is refused as already used', async () => {
  const inv = await makeInvite(issuer, shareId);
  assert.match(inv.code, /^pfi1/);
  assert.equal(inv.access, 'read-write');
  assert.equal(inv.usesLeft, 1);
  assert.ok(inv.expiresAt > Date.now() + 23 * 3600_000 && inv.expiresAt <= Date.now() + 24 * 3600_000 + 1000, 'one day by default');
  assert.doesNotMatch(inv.code, /pfw1/);
  const listed = await cli(issuer, 'invites', shareId, '--json');
  assert.deepEqual(
    (JSON.parse(listed.stdout) as InviteInfo[]).map((i) => i.id),
    [inv.id],
  );

  const joiner = await cluster.add('joiner');
  const joined = await cli(joiner, 'join', inv.code, joiner.dir);
  assert.equal(joined.code, 0, joined.stderr);
  await waitUntil(
    'the file to arrive through the invite',
    () => existsSync(join(joiner.dir, 'hello.txt')) && readFileSync(join(joiner.dir, 'hello.txt'), 'utf8') === 'invited in\n',
  );
  assert.equal((await joiner.share(shareId)).id, shareId, 'the joiner is a normal member of the same share');
  // and a normal member both ways: its new file reaches the issuer
  writeFileSync(join(joiner.dir, 'from-joiner.txt'), 'back\n');
  await waitUntil("the joiner's file to reach the issuer", () => existsSync(join(issuer.dir, 'from-joiner.txt')));
  assert.deepEqual(JSON.parse((await cli(issuer, 'invites', shareId, '--json')).stdout), [], 'a used invite is no longer open');

  const late = await cluster.add('late');
  const port = (await issuer.status()).device.listenPort;
  const again = await cli(late, 'join', inv.code, late.dir, '--peer', `127.0.0.1:${port}`);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /this invite was already used/);
  assertNothingDelivered(late, late.dir);
  assert.deepEqual((await late.status()).shares, []);
});

test('an expired invite is refused at join, at once, from the code alone', async () => {
  const inv = await makeInvite(issuer, shareId, '--expires', '2s');
  await waitUntil('the invite to expire', () => Date.now() > inv.expiresAt + 100, 10_000);
  const d = await cluster.add('expired');
  const r = await cli(d, 'join', inv.code, d.dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /this invite has expired/);
  assertNothingDelivered(d, d.dir);
  assert.deepEqual((await d.status()).shares, []);
});

test('a revoked invite is refused by name, and an invite grants at most what was asked', async () => {
  const inv = await makeInvite(issuer, shareId, '--uses', '3', '--expires', '1h');
  assert.equal(inv.usesLeft, 3);
  const revoked = await cli(issuer, 'revoke', shareId, inv.id);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, new RegExp(`Revoked invite ${inv.id}`));
  assert.deepEqual(JSON.parse((await cli(issuer, 'invites', shareId, '--json')).stdout), []);
  const d = await cluster.add('revoked');
  const port = (await issuer.status()).device.listenPort;
  const r = await cli(d, 'join', inv.code, d.dir, '--peer', `127.0.0.1:${port}`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /this invite was revoked/);
  assertNothingDelivered(d, d.dir);

  const enc = await cli(issuer, 'invite', shareId, '--access', 'encrypted', '--json');
  assert.equal(enc.code, 0, enc.stderr);
  const encInvite = JSON.parse(enc.stdout) as InviteInfo;
  assert.equal(encInvite.access, 'encrypted', 'encrypted devices can be invited too');
  assert.equal((await cli(issuer, 'revoke', shareId, encInvite.id)).code, 0);
});

test('open invites survive a restart of the issuer', async () => {
  const inv = await makeInvite(issuer, shareId, '--expires', '1h');
  await issuer.stop();
  await issuer.start();
  const list = JSON.parse((await cli(issuer, 'invites', shareId, '--json')).stdout) as InviteInfo[];
  assert.deepEqual(
    list.map((i) => [i.id, i.code]),
    [[inv.id, inv.code]],
  );
  const d = await cluster.add('after-restart');
  const r = await cli(d, 'join', inv.code, d.dir);
  assert.equal(r.code, 0, r.stderr);
  await waitUntil('the file to arrive after the restart', () => existsSync(join(d.dir, 'hello.txt')));
});

test('while the issuer is offline the share is listed at once, waiting for it, across a restart; it joins once the issuer is back', async () => {
  const inv = await makeInvite(issuer, shareId, '--expires', '1h');
  await issuer.stop();
  const d = await cluster.add('waiting');
  let pendingId = '';
  try {
    // the API answers at once, with the share waiting for the issuer
    const joined = await d.call('join', { code: inv.code, path: d.dir });
    assert.equal(joined.share.state, 'waiting-for-issuer');
    assert.equal(joined.share.access, 'read-write');
    assert.deepEqual(joined.share.invite, { issuer: issuerId, expiresAt: inv.expiresAt });
    assert.equal(joined.share.error, null);
    pendingId = joined.share.id;
    assert.match(pendingId, /^invite-[0-9a-f]{16}$/);
    const listed = (await d.status()).shares;
    assert.deepEqual(
      listed.map((s) => [s.id, s.state, s.path]),
      [[pendingId, 'waiting-for-issuer', d.dir]],
    );
    // what the user reads
    const shown = await cli(d, 'status', pendingId);
    assert.match(shown.stdout, /waiting-for-issuer/);
    assert.match(shown.stdout, /waiting for the device that made the invite/);
    // a share that is not there yet has nothing to list, and says why
    const files = await cli(d, 'files', pendingId);
    assert.equal(files.code, 1);
    assert.match(files.stderr, /is waiting for the device that made its invite/);
    // still waiting after the joiner restarts
    await d.stop();
    await d.start();
    assert.deepEqual(
      (await d.status()).shares.map((s) => [s.id, s.state]),
      [[pendingId, 'waiting-for-issuer']],
    );
    assertNothingDelivered(d, d.dir);
  } finally {
    await issuer.start();
  }
  await waitUntil(
    'the waiting share to join once the issuer is back',
    async () => {
      const s = (await d.status()).shares;
      return s.length === 1 && s[0]!.id === shareId && s[0]!.invite === null && existsSync(join(d.dir, 'hello.txt'));
    },
    120_000,
  );
  assert.equal(readFileSync(join(d.dir, 'hello.txt'), 'utf8'), 'invited in\n');
  assert.equal((await d.share(shareId)).access, 'read-write');
  assert.ok(
    !(JSON.parse((await cli(issuer, 'invites', shareId, '--json')).stdout) as InviteInfo[]).some((i) => i.id === inv.id),
    'the invite is used',
  );
  assert.deepEqual(JSON.parse(readFileSync(join(d.home, 'pending-joins.json'), 'utf8')), { joins: [] });
});

test('the CLI says a join by invite goes on waiting for an unreachable issuer, and that `unshare` gives it up', async () => {
  // the issuer does not announce itself on the LAN, and the joiner knows no address of it
  await issuer.call('setSettings', { lanDiscovery: false });
  try {
    const inv = await makeInvite(issuer, shareId, '--expires', '1h');
    const d = await cluster.add('cli-waiting');
    const r = await cliWith({ PEERFOLD_INVITE_WAIT_MS: '2000' }, d, 'join', inv.code, d.dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Still waiting for the device that made the invite/);
    assert.match(r.stdout, /must be running and on this network, or give its address \(--peer HOST:PORT\)/);
    const [pending] = (await d.status()).shares;
    assert.equal(pending!.state, 'waiting-for-issuer');
    const paused = await cli(d, 'pause', pending!.id);
    assert.equal(paused.code, 1);
    assert.match(
      paused.stderr,
      new RegExp(`\`peerfold unshare ${pending!.id}\` gives up the join`),
      'a waiting join says how to give it up',
    );
    const gone = await cli(d, 'unshare', pending!.id);
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, /^Gave up the join by invite invite-[0-9a-f]+: nothing of the share was delivered/);
    assert.deepEqual((await d.status()).shares, []);
    assertNothingDelivered(d, d.dir);
    assert.ok(
      (JSON.parse((await cli(issuer, 'invites', shareId, '--json')).stdout) as InviteInfo[]).some((i) => i.id === inv.id),
      'an invite nobody could claim is still open',
    );
    // on the issuer, the invite is not a share: its code, its ID and "invite-ID" each say what to do instead
    const byCode = await cli(issuer, 'unshare', inv.code);
    assert.equal(byCode.code, 1);
    assert.match(byCode.stderr, /one-time invite code, not a share.*`peerfold revoke SHARE INVITE_ID` cancels one/);
    for (const ref of [inv.id, `invite-${inv.id}`]) {
      const byId = await cli(issuer, 'unshare', ref);
      assert.equal(byId.code, 1);
      assert.match(byId.stderr, new RegExp(`is an open invite of ".+", not a share: \`peerfold revoke ${shareId} ${inv.id}\` cancels it`));
    }
    assert.equal((await issuer.status()).shares.length, 1, 'the issuer still has its share');
  } finally {
    await issuer.call('setSettings', { lanDiscovery: true });
  }
});

test('an invite revoked while the joiner waits for the issuer becomes the share’s error once the issuer is reached; nothing is delivered', async () => {
  await issuer.call('setSettings', { lanDiscovery: false });
  const inv = await makeInvite(issuer, shareId, '--expires', '1h');
  const d = await cluster.add('revoked-waiting');
  let pendingId = '';
  try {
    const joined = await d.call('join', { code: inv.code, path: d.dir });
    pendingId = joined.share.id;
    assert.equal(joined.share.state, 'waiting-for-issuer');
    const revoked = await cli(issuer, 'revoke', shareId, inv.id);
    assert.equal(revoked.code, 0, revoked.stderr);
  } finally {
    await issuer.call('setSettings', { lanDiscovery: true });
  }
  const failed = await waitUntil(
    'the share to show the refusal',
    async () => {
      const s = (await d.status()).shares.find((x) => x.id === pendingId);
      return s && s.state === 'error' ? s : false;
    },
    90_000,
  );
  assert.match(failed.error ?? '', /^this invite was revoked/);
  assert.deepEqual(failed.invite, { issuer: issuerId, expiresAt: inv.expiresAt });
  assertNothingDelivered(d, d.dir);
  // it stays listed, with its error, until removed; a restart keeps it
  await d.stop();
  await d.start();
  assert.deepEqual(
    (await d.status()).shares.map((s) => [s.id, s.state, s.error]),
    [[pendingId, 'error', failed.error]],
  );
  assert.equal((await cli(d, 'unshare', pendingId)).code, 0);
  assert.deepEqual((await d.status()).shares, []);
});

test('a read-only invite gives a read-only share that behaves as one; it cannot invite a read-write device', async () => {
  const inv = await makeInvite(issuer, shareId, '--access', 'read-only');
  assert.equal(inv.access, 'read-only');
  const d = await cluster.add('ro-invited');
  const joined = await cli(d, 'join', inv.code, d.dir);
  assert.equal(joined.code, 0, joined.stderr);
  await waitUntil('the file to reach the read-only device', () => existsSync(join(d.dir, 'hello.txt')));
  const s = await d.share(shareId);
  assert.equal(s.access, 'read-only');
  const codes = await d.call('codes', { share: shareId });
  assert.equal(codes.readWrite, null, 'a read-only device shows no read-write code');
  assert.match(codes.readOnly ?? '', /^pfr1/);
  // its edit stays a local change nobody takes; the writer's changes still arrive
  writeFileSync(join(d.dir, 'hello.txt'), 'changed by the read-only device\n');
  await d.call('rescan', { share: shareId });
  await waitUntil('the local change to be counted', async () => (await d.share(shareId)).localChanges === 1, 120_000);
  writeFileSync(join(issuer.dir, 'later.txt'), 'from the writer\n');
  await issuer.call('rescan', { share: shareId });
  await waitUntil('the writer’s new file on the read-only device', () => existsSync(join(d.dir, 'later.txt')), 120_000);
  assert.equal(readFileSync(join(issuer.dir, 'hello.txt'), 'utf8'), 'invited in\n', 'the writer did not take the edit');
  // an invite may grant at most the issuer's own level
  const up = await cli(d, 'invite', shareId, '--access', 'read-write');
  assert.equal(up.code, 1);
  assert.match(up.stderr, /this device holds the share read-only: it cannot invite a read-write device/);
  const same = await makeInvite(d, shareId);
  assert.equal(same.access, 'read-only', 'by default an invite grants the issuer’s own level');
});
