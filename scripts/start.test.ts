import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs script without type declarations
import { electronUnavailable, electronBinary } from './start.mjs';

test('no display on Linux means headless, whatever Electron holds', () => {
  assert.match(electronUnavailable({}, 'linux'), /no display: DISPLAY and WAYLAND_DISPLAY are unset/);
});

test('a display with an Electron binary means Electron; without the binary, headless', (t) => {
  const dist = mkdtempSync(join(tmpdir(), 'peerfold-electron-'));
  t.after(() => rmSync(dist, { recursive: true, force: true }));
  assert.match(electronUnavailable({ DISPLAY: ':0', ELECTRON_OVERRIDE_DIST_PATH: dist }, 'linux'), /Electron binary is not installed/);
  writeFileSync(join(dist, 'electron'), '');
  const env = { WAYLAND_DISPLAY: 'wayland-0', ELECTRON_OVERRIDE_DIST_PATH: dist };
  assert.equal(electronUnavailable(env, 'linux'), null);
  assert.equal(electronBinary(env), join(dist, 'electron'));
  assert.equal(electronUnavailable({ ELECTRON_OVERRIDE_DIST_PATH: dist }, 'darwin'), null);
});
