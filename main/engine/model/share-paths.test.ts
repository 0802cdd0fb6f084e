import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listDir } from '../api/handlers.ts';
import { checkShareableFolder } from './share-paths.ts';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'peerfold-paths-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('joining into a path that is a file, or lies under one, says so', () => {
  withDir((dir) => {
    const home = join(dir, 'home');
    writeFileSync(join(dir, 'notes.txt'), 'x');
    assert.throws(() => checkShareableFolder(join(dir, 'notes.txt'), [], home, false), /notes\.txt is a file, not a folder; give a folder/);
    assert.throws(
      () => checkShareableFolder(join(dir, 'notes.txt', 'sub'), [], home, false),
      /cannot be a folder: a part of that path is a file/,
    );
    assert.throws(
      () => checkShareableFolder(join(dir, 'notes.txt'), [], home, true),
      /is a file, not a folder; share the folder that holds it/,
    );
    assert.equal(checkShareableFolder(join(dir, 'new'), [], home, false), join(dir, 'new'), 'a folder yet to be made is fine');
  });
});

test("the folder picker lists folders, but nothing inside Peerfold's home", () => {
  withDir((dir) => {
    const home = join(dir, 'home');
    mkdirSync(join(home, 'index'), { recursive: true });
    writeFileSync(join(home, 'control-token'), 'secret');
    mkdirSync(join(dir, 'Photos'));
    const listing = listDir(dir, home);
    assert.deepEqual(
      listing.entries.map((e) => e.name),
      ['home', 'Photos'],
    );
    assert.throws(() => listDir(home, home), /inside Peerfold's own folder/);
    assert.throws(() => listDir(join(home, 'index'), home), /inside Peerfold's own folder/);
    assert.throws(() => listDir(join(dir, 'Photos', '..', 'home'), home), /inside Peerfold's own folder/);
    symlinkSync(home, join(dir, 'Photos', 'shortcut'));
    assert.throws(() => listDir(join(dir, 'Photos', 'shortcut'), home), /inside Peerfold's own folder/, 'not through a symlink either');
  });
});
