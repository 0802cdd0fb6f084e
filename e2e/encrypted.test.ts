// Encrypted devices with real daemons (issue 9, PROTOCOL.md "Encrypted members"): a device that
// joined with the encrypted code keeps the share as encrypted blobs under name tokens, cannot read
// it (no name, no 16-byte run of any file anywhere under its folder or its home), and still serves
// and relays it: a device that only ever meets it gets every file intact, writers' signatures
// checked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseCode, shareSecretFromCode } from '../main/engine/keys/codes.ts';
import { deriveSealingKeys, nameToken, openEntry, sealedLength, tokenText } from '../main/engine/keys/sealing.ts';
import { Cluster, treeOf, waitUntil, type Device } from './harness.ts';

const c = new Cluster('peerfold-e2e-encrypted-');
after(() => c.close());

const sorted = (m: Map<string, string>) => JSON.stringify([...m].sort(([a], [b]) => a.localeCompare(b)));
const TOKEN = /^[0-9a-f]{64}$/;

/** Files with names and contents that must never show up on the encrypted device. */
function writeFiles(dir: string, tag: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>([
    [`finance-${tag}/quarterly-forecast-${tag}.txt`, Buffer.from(`Quarterly forecast ${tag}: revenue up, costs down. `.repeat(60))],
    [`photos-${tag}/holiday-beach-photo-${tag}.bin`, randomBytes(400_000)],
    [`notes-on-kittens-${tag}.md`, Buffer.from(`Kittens ${tag} sleep sixteen hours a day and purr at 25 Hz.\n`.repeat(5))],
    [`empty-placeholder-${tag}.txt`, Buffer.alloc(0)],
  ]);
  for (const [p, data] of files) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), data);
  }
  symlinkSync(`finance-${tag}/quarterly-forecast-${tag}.txt`, join(dir, `shortcut-to-forecast-${tag}`));
  return files;
}

/** The token files the encrypted device keeps in its folder (anything else there is a failure). */
function tokenFiles(dir: string): string[] {
  const names = readdirSync(dir).filter((n) => n !== '.peerfold' && !n.startsWith('.pftmp-'));
  for (const n of names) assert.match(n, TOKEN, `${n} in the encrypted device's folder is not a name token`);
  return names;
}

/** What the encrypted device stores for `path`, opened with the keys it does not have. */
function sealedOnDisk(code: string, dir: string, path: string) {
  const parsed = parseCode(code);
  assert.ok(parsed.ok);
  const keys = deriveSealingKeys(shareSecretFromCode(parsed));
  const token = nameToken(keys, path);
  const file = join(dir, tokenText(token));
  if (!existsSync(file)) return null;
  const bytes = readFileSync(file);
  const total = sealedLength(bytes);
  return total === null ? null : openEntry(keys, token, bytes.subarray(0, total)).entry;
}

/** Every file under `root` holds none of `needles` (names as UTF-8, and every 16-byte run of every plaintext). */
function assertNothingReadable(roots: string[], names: string[], plaintexts: Buffer[]): void {
  const runs = new Set<string>();
  for (const p of plaintexts) for (let i = 0; i + 16 <= p.length; i++) runs.add(p.subarray(i, i + 16).toString('latin1'));
  assert.ok(runs.size > 1000, 'there is plaintext to look for');
  let scanned = 0;
  const walk = (dir: string) => {
    for (const n of readdirSync(dir)) {
      const full = join(dir, n);
      for (const name of names) assert.ok(!n.includes(name), `${full} is named after ${name}`);
      const st = lstatSync(full);
      if (st.isDirectory()) walk(full);
      if (!st.isFile()) continue;
      const data = readFileSync(full);
      scanned += data.length;
      for (const name of names) assert.ok(!data.includes(Buffer.from(name)), `${full} holds the name ${name}`);
      for (let i = 0; i + 16 <= data.length; i++)
        assert.ok(!runs.has(data.subarray(i, i + 16).toString('latin1')), `${full} holds plaintext at byte ${i}`);
    }
  };
  for (const r of roots) walk(r);
  assert.ok(scanned > 400_000, `the scan read the encrypted copy (${scanned} bytes)`);
}

async function waitTokens(d: Device, n: number, what: string): Promise<void> {
  await waitUntil(`${d.name} to hold ${n} encrypted entries (${what})`, () => tokenFiles(d.dir).length === n, 180_000);
}

test(
  'writer, read-only and encrypted devices converge; the encrypted one holds only tokens and ciphertext',
  { timeout: 600_000 },
  async () => {
    const writer = await c.add('writer');
    const reader = await c.add('reader');
    const vault = await c.add('vault');
    const files = writeFiles(writer.dir, 'alpha');
    const { share, codes } = await writer.call('share', { path: writer.dir });
    assert.ok(codes.encrypted?.startsWith('pfe1'));
    const joined = await vault.call('join', { code: codes.encrypted!, path: vault.dir });
    assert.equal(joined.share.access, 'encrypted');
    assert.deepEqual(await vault.call('codes', { share: share.id }), { readWrite: null, readOnly: null, encrypted: codes.encrypted });
    await reader.call('join', { code: codes.readOnly!, path: reader.dir });

    const paths = treeOf(writer.dir);
    await waitUntil('the reader to converge', () => sorted(treeOf(reader.dir)) === sorted(treeOf(writer.dir)), 180_000);
    await waitTokens(vault, paths.size, 'every path');
    assert.equal(
      sealedOnDisk(codes.readWrite!, vault.dir, 'notes-on-kittens-alpha.md')?.size,
      files.get('notes-on-kittens-alpha.md')!.length,
    );

    // a writer's edit and deletion reach both; the encrypted device keeps the new version under the same token
    const notes = Buffer.from('Kittens alpha, second edition: they also chase laser dots across the ceiling.\n'.repeat(4));
    writeFileSync(join(writer.dir, 'notes-on-kittens-alpha.md'), notes);
    rmSync(join(writer.dir, 'photos-alpha/holiday-beach-photo-alpha.bin'));
    await writer.call('rescan', { share: share.id });
    await waitUntil(
      'the reader to take the edit and the deletion',
      () => sorted(treeOf(reader.dir)) === sorted(treeOf(writer.dir)),
      180_000,
    );
    await waitUntil(
      'the encrypted device to hold the new version and the deletion',
      () =>
        sealedOnDisk(codes.readWrite!, vault.dir, 'notes-on-kittens-alpha.md')?.size === notes.length &&
        sealedOnDisk(codes.readWrite!, vault.dir, 'photos-alpha/holiday-beach-photo-alpha.bin')?.deleted === true,
      180_000,
    );
    await waitTokens(vault, paths.size, 'a tombstone keeps its token');
    const summary = await vault.share(share.id);
    assert.equal(summary.access, 'encrypted');
    assert.equal(summary.rejectedEntries, 0);
    assert.equal((await reader.share(share.id)).rejectedEntries, 0, 'the reader refused nothing the vault relayed');
    await assert.rejects(vault.call('revert', { share: share.id }), /keeps it encrypted and makes no changes/);

    const names = [...paths.keys()].flatMap((p) => p.split('/')).map((n) => basename(n));
    names.push('shortcut-to-forecast-alpha');
    await vault.stop();
    assertNothingReadable([vault.dir, vault.home], names, [...files.values(), notes]);
  },
);

test(
  'relay: a writer syncs to the encrypted device and leaves; devices that only meet the encrypted one get every file',
  { timeout: 600_000 },
  async () => {
    const writer = await c.add('writer2');
    const vault = await c.add('vault2');
    writeFiles(writer.dir, 'beta');
    const { share, codes } = await writer.call('share', { path: writer.dir });
    await vault.call('join', { code: codes.encrypted!, path: vault.dir });
    await waitTokens(vault, treeOf(writer.dir).size, 'every path');
    // a deletion and a rename travel through the encrypted device too
    rmSync(join(writer.dir, 'empty-placeholder-beta.txt'));
    writeFileSync(join(writer.dir, 'late-addition-beta.txt'), 'written just before the writer left\n'.repeat(3));
    await writer.call('rescan', { share: share.id });
    // the deleted file's token stays (its tombstone): one more token, for the new file
    await waitTokens(vault, treeOf(writer.dir).size + 1, 'the new file');
    await waitUntil(
      'the vault to hold the tombstone and be idle',
      async () =>
        sealedOnDisk(codes.readWrite!, vault.dir, 'empty-placeholder-beta.txt')?.deleted === true &&
        (await vault.share(share.id)).state === 'idle',
      180_000,
    );
    const expected = sorted(treeOf(writer.dir));
    await writer.stop();

    const newcomer = await c.add('newcomer');
    const reader = await c.add('reader2');
    await newcomer.call('join', { code: codes.readWrite!, path: newcomer.dir });
    await reader.call('join', { code: codes.readOnly!, path: reader.dir });
    await waitUntil('the new writer to get every file from the vault', () => sorted(treeOf(newcomer.dir)) === expected, 240_000);
    await waitUntil('the new reader to get every file from the vault', () => sorted(treeOf(reader.dir)) === expected, 240_000);
    assert.equal(existsSync(join(newcomer.dir, 'empty-placeholder-beta.txt')), false);
    for (const d of [newcomer, reader]) {
      const s = await d.share(share.id);
      assert.equal(s.rejectedEntries, 0, `${d.name} checked and took every writer signature`);
      const peers = (await d.call('peers', {})).filter((p) => p.connected).map((p) => p.name);
      assert.ok(!peers.includes('writer2'), 'the writer is gone');
    }
  },
);

test(
  'a hostile encrypted device can alter or corrupt nothing undetected: a device that only meets it takes nothing',
  { timeout: 600_000 },
  async () => {
    const writer = await c.add('writer3');
    // one raises the clear version of every entry it relays, the other serves every blob corrupted
    const tamperer = await c.add('tamperer', { PEERFOLD_TEST: '1', PEERFOLD_TEST_FORGE_ENTRIES: 'tampered' });
    const corrupter = await c.add('corrupter', { PEERFOLD_FAULT_CORRUPT_SERVE: '1' });
    writeFiles(writer.dir, 'gamma');
    const { share, codes } = await writer.call('share', { path: writer.dir });
    const paths = treeOf(writer.dir).size;
    for (const v of [tamperer, corrupter]) await v.call('join', { code: codes.encrypted!, path: v.dir });
    for (const v of [tamperer, corrupter]) await waitTokens(v, paths, 'every path');
    await writer.stop();
    await tamperer.stop();

    // the reader meets one hostile device at a time (each refusal is named in its log)
    const reader = await c.add('reader3');
    await reader.call('join', { code: codes.readOnly!, path: reader.dir });
    await waitUntil(
      'the reader to refuse what the corrupter relays',
      async () => (await reader.share(share.id)).rejectedEntries >= paths && /from corrupter in share/.test(reader.log),
      240_000,
    );
    assert.match(reader.log, /from corrupter in share [^:]+: its sealed entry does not match its hash/);
    const first = (await reader.share(share.id)).rejectedEntries;
    await corrupter.stop();
    await tamperer.start();
    await waitUntil(
      'the reader to refuse what the tamperer relays',
      async () => (await reader.share(share.id)).rejectedEntries >= first + paths && /from tamperer in share/.test(reader.log),
      240_000,
    );
    assert.match(reader.log, /from tamperer in share [^:]+: [0-9a-f]{64}: its version, author or time differ from its sealed entry/);
    assert.equal(treeOf(reader.dir).size, 0, 'nothing was taken');
    assert.equal((await reader.call('files', { share: share.id })).length, 0);
  },
);
