// One-time invites end to end (issue 9): real daemons, real links on loopback, the CLI as a user
// runs it. An invite works once; a used, expired or revoked one is refused by name and nothing is
// delivered: no share, no file, no secret in the joiner's home.
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
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin', 'peerfold'), '--home', d.home, ...args],
      { env: { ...process.env, ...loopbackEnv, PEERFOLD_HOME: '' } },
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

test('setup: a device shares a folder with a file in it', async () => {
  issuer = await cluster.add('issuer');
  writeFileSync(join(issuer.dir, 'hello.txt'), 'invited in\n');
  shareId = (await issuer.call('share', { path: issuer.dir })).share.id;
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

  const enc = await cli(issuer, 'invite', shareId, '--access', 'encrypted');
  assert.equal(enc.code, 1);
  assert.match(enc.stderr, /encrypted devices are not supported yet/);
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

test('while the issuer is unreachable, join waits for it and then says so; the invite stays open for later', async () => {
  const inv = await makeInvite(issuer, shareId, '--expires', '1h');
  await issuer.stop();
  try {
    const d = await cluster.add('waiting', { PEERFOLD_INVITE_WAIT_MS: '3000' });
    const r = await cli(d, 'join', inv.code, d.dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /waited 3 s for the device that made the invite/);
    assert.match(r.stderr, /must be running and on this network, or give its address \(--peer HOST:PORT\)/);
    assertNothingDelivered(d, d.dir);
  } finally {
    await issuer.start();
  }
  const open = JSON.parse((await cli(issuer, 'invites', shareId, '--json')).stdout) as InviteInfo[];
  assert.ok(
    open.some((i) => i.id === inv.id),
    'an invite nobody could claim is still open',
  );
});
