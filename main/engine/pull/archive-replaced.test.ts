import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ARCHIVE_COALESCE_MS, archiveReplaced, archiveReplacedVersion } from './archive-replaced.ts';

const MIN = 60_000;

test('a replaced version is archived unless one of the same file was archived within the window', () => {
  const now = 1_764_600_000_000;
  assert.equal(archiveReplacedVersion([], now), true, 'the first version of a burst is kept');
  assert.equal(archiveReplacedVersion([now - 1 * MIN], now), false, 'an intermediate version is not');
  assert.equal(archiveReplacedVersion([now - ARCHIVE_COALESCE_MS - 1000], now), true, 'one per window');
  assert.equal(archiveReplacedVersion([now + 3600_000], now), true, 'a stamp from the future (clock set back) does not count');
  assert.equal(archiveReplacedVersion([now], now, 0), true, 'a window of 0 keeps every version');
});

test('a file replaced every few seconds for an hour keeps about one archived version per window, the oldest of each', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1_000, max: 60_000 }), { minLength: 1, maxLength: 400 }), (gaps) => {
      const kept: number[] = [];
      let t = 1_764_600_000_000;
      for (const g of gaps) {
        t += g;
        if (archiveReplacedVersion(kept, t)) kept.push(t);
      }
      const span = t - 1_764_600_000_000;
      // consecutive kept versions are a window apart, and the first replacement is always kept
      return (
        kept.length <= Math.floor(span / ARCHIVE_COALESCE_MS) + 1 &&
        kept.every((k, i) => i === 0 || k - kept[i - 1]! >= ARCHIVE_COALESCE_MS)
      );
    }),
  );
});

test('archiveReplaced skips the intermediate versions of one file, not those of another', async () => {
  const root = mkdtempSync(join(tmpdir(), 'peerfold-archive-'));
  try {
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs/log.txt'), 'v1');
    writeFileSync(join(root, 'docs/other.txt'), 'o1');
    assert.ok(await archiveReplaced(root, 'docs/log.txt', 'AAAAAAA-1'));
    writeFileSync(join(root, 'docs/log.txt'), 'v2');
    assert.equal(await archiveReplaced(root, 'docs/log.txt', 'AAAAAAA-2'), null, 'v2 came and went within the window');
    assert.ok(await archiveReplaced(root, 'docs/other.txt', 'AAAAAAA-1'), 'another file has its own window');
    writeFileSync(join(root, 'docs/log.txt'), 'v3');
    assert.ok(
      await archiveReplaced(root, 'docs/log.txt', 'AAAAAAA-3', Date.now() + ARCHIVE_COALESCE_MS + 1000),
      'the next window keeps one again',
    );
    assert.equal(readdirSync(join(root, '.peerfold/archive/docs')).filter((n) => n.startsWith('log~')).length, 2);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
