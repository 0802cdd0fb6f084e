import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileIgnore, IGNORE_FILE, isInternalPath, isTempName, loadIgnore, tempNameFor } from './ignore.ts';

const HASH = 'ab'.repeat(32);

test('temp names: same folder, recognisable, unique per content, legal length', () => {
  assert.equal(tempNameFor('report.pdf', HASH), '.pftmp-abababababababab-report.pdf');
  assert.ok(isTempName(tempNameFor('report.pdf', HASH)));
  assert.notEqual(tempNameFor('a', HASH), tempNameFor('a', 'cd'.repeat(32)));
  assert.equal(isTempName('report.pdf'), false);
  assert.equal(isTempName('.pftmp-notahash-x'), false);
  assert.equal(isTempName('report.conflict-laptop-20250101-120000.pdf'), false, 'conflict copies sync');

  const long = 'é'.repeat(120) + '.txt'; // 244 bytes
  const t = tempNameFor(long, HASH);
  assert.ok(Buffer.byteLength(t) <= 255, `${Buffer.byteLength(t)} bytes`);
  assert.ok(isTempName(t));
  assert.notEqual(t, tempNameFor('é'.repeat(120) + '.txu', HASH), 'shortened names stay distinct');
  assert.throws(() => tempNameFor('x', 'not hex at all!'), /hex/);
});

test('.peerfold at the root and temp files are always ignored', () => {
  const m = compileIgnore('!.peerfold\n!.peerfold/**\n!*');
  assert.ok(isInternalPath('.peerfold'));
  assert.ok(m.ignores('.peerfold', true));
  assert.ok(m.ignores('.peerfold/ignore', false));
  assert.ok(m.ignores('.peerfold/archive/a/b.txt', false));
  assert.ok(m.ignores(`deep/dir/${tempNameFor('x.bin', HASH)}`, false));
  assert.ok(!m.ignores('sub/.peerfold', true), 'only the root .peerfold is ours');
  assert.ok(!m.ignores('.peerfoldish', false));
  assert.ok(!m.ignores('', true), 'the root itself is never ignored');
});

// the matcher starts over with a fresh `ignore` instance every N lookups (its answer cache is
// bounded): answers must not depend on where in that cycle a lookup falls
for (const lookupsPerInstance of [undefined, 1, 3]) {
  test(`gitignore semantics: nested patterns, anchoring, directory patterns, negation (restart every ${lookupsPerInstance ?? 'default'} lookups)`, () => {
    const m = compileIgnore(
      [
        '# comment',
        '*.tmp',
        '/build',
        'logs/',
        'docs/**/draft-*',
        'cache/*',
        '!cache/keep.txt',
        'secret/',
        '!secret/open.txt', // cannot re-include: its folder is excluded (as in git)
        'Thumbs.db',
      ].join('\n'),
      lookupsPerInstance,
    );

    // unanchored file pattern, any depth
    assert.ok(m.ignores('a.tmp', false));
    assert.ok(m.ignores('x/y/z.tmp', false));
    assert.ok(!m.ignores('a.tmpl', false));
    // anchored: only at the root
    assert.ok(m.ignores('build', true));
    assert.ok(m.ignores('build/out.js', false));
    assert.ok(!m.ignores('src/build', true));
    // directory-only pattern: a folder named logs anywhere, not a file named logs
    assert.ok(m.ignores('logs', true));
    assert.ok(m.ignores('app/logs', true));
    assert.ok(m.ignores('app/logs/today.txt', false));
    assert.ok(!m.ignores('logs', false));
    // ** in the middle
    assert.ok(m.ignores('docs/draft-1.md', false));
    assert.ok(m.ignores('docs/a/b/draft-2.md', false));
    assert.ok(!m.ignores('docs/final.md', false));
    // negation re-includes a file whose folder is not excluded
    assert.ok(m.ignores('cache/blob', false));
    assert.ok(!m.ignores('cache/keep.txt', false));
    assert.ok(m.ignores('secret/open.txt', false));
    // case-sensitive, like git on Linux
    assert.ok(m.ignores('Thumbs.db', false));
    assert.ok(!m.ignores('thumbs.db', false));
  });
}

test('IgnoreRules loads .peerfold/ignore and reloads it only when it changes', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pf-ignore-'));
  try {
    const rules = await loadIgnore(root);
    assert.equal(rules.source, '');
    assert.ok(!rules.ignores('a.log', false));
    assert.ok(rules.ignores('.peerfold', true));

    await mkdir(join(root, '.peerfold'));
    await writeFile(join(root, IGNORE_FILE), '*.log\n');
    assert.equal(await rules.reload(), true);
    assert.ok(rules.ignores('a.log', false));
    assert.equal(await rules.reload(), false, 'unchanged file: no reload');

    await writeFile(join(root, IGNORE_FILE), '*.log\n!keep.log\n');
    assert.equal(await rules.reload(), true);
    assert.ok(!rules.ignores('keep.log', false));

    await rm(join(root, IGNORE_FILE));
    assert.equal(await rules.reload(), true);
    assert.ok(!rules.ignores('a.log', false));
    assert.equal(rules.error, null);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('comments and blank lines alone ignore nothing but what is always ignored', () => {
  const m = compileIgnore('# only a comment\n\n   \n');
  assert.ok(!m.ignores('a.log', false));
  assert.ok(!m.ignores('#x', false));
  assert.ok(m.ignores('.peerfold/ignore', false));
  assert.ok(compileIgnore('\\#x\n').ignores('#x', false), 'an escaped # is a pattern');
});

test('NFC: patterns and paths compare in the same normalization', () => {
  const m = compileIgnore('cafe\u0301/\n'); // NFD in the file
  assert.ok(m.ignores('caf\u00e9', true)); // NFC path
});
