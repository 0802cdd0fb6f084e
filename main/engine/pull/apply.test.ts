import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installTemp, makeSymlink } from './apply.ts';

// A pulled version must read back with the author's whole-ms time: every device breaks ties
// between concurrent versions on floor(mtimeMs), and the puller records what the disk says.
test('an installed file and a made symlink keep the whole millisecond of the time they were given', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pf-apply-'));
  try {
    for (let i = 0; i < 200; i++) {
      const ms = 1_764_600_000_000 + i * 7919;
      const temp = join(root, `t${i}`);
      writeFileSync(temp, 'x');
      const st = await installTemp(root, `f${i}`, temp, 0o644, ms);
      assert.equal(Math.floor(st.mtimeMs), ms, `file ${i}: ${st.mtimeMs} for ${ms}`);
      const ln = await makeSymlink(root, `l${i}`, 'target', ms);
      assert.equal(Math.floor(ln.mtimeMs), ms, `symlink ${i}: ${ln.mtimeMs} for ${ms}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
