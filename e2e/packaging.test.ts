// Offline packaging smoke test: electron-builder packs the built tree (`--linux dir`) with the
// real electron-builder.yml, against a stub Electron distribution (so nothing is downloaded), and
// the produced app.asar is checked: entry points present, native code and wasm unpacked where
// Electron can load them, the security fuses flipped, nothing that does not belong there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asar from '@electron/asar';

const root = new URL('../', import.meta.url).pathname;
const ELECTRON_VERSION = JSON.parse(readFileSync(join(root, 'node_modules/electron/package.json'), 'utf8')).version as string;

/** What the build must have produced for the desktop app. */
const ENTRIES = {
  main: 'dist/main/app.cjs',
  preload: 'dist/preload/index.cjs',
  renderer: 'dist/renderer/index.html',
};

// @electron/fuses looks for this sentinel, then a version byte, the wire length and one byte per fuse.
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const FUSES = [
  'RunAsNode',
  'EnableCookieEncryption',
  'EnableNodeOptionsEnvironmentVariable',
  'EnableNodeCliInspectArguments',
  'EnableEmbeddedAsarIntegrityValidation',
  'OnlyLoadAppFromAsar',
  'LoadBrowserProcessSpecificV8Snapshot',
  'GrantFileProtocolExtraPrivileges',
];
// Electron's own defaults, which the stub starts from
const DEFAULT_WIRE = '10110001';

/**
 * A stand-in for Electron's unpacked Linux distribution: what electron-builder copies and renames
 * (the `electron` executable, with a fuse wire for @electron/fuses to flip), nothing it would run.
 */
function makeStubElectron(dir: string): void {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const exe = join(dir, 'electron');
  writeFileSync(
    exe,
    Buffer.concat([
      Buffer.from('#!/bin/sh\necho "stub Electron for the packaging test" >&2\nexit 1\n# '),
      Buffer.from(FUSE_SENTINEL, 'ascii'),
      Buffer.from([1, DEFAULT_WIRE.length]),
      Buffer.from(DEFAULT_WIRE, 'ascii'),
      Buffer.from('\n'),
    ]),
  );
  chmodSync(exe, 0o755);
  writeFileSync(join(dir, 'LICENSE'), 'stub');
  writeFileSync(join(dir, 'version'), ELECTRON_VERSION);
}

function fuseWire(exe: string): Record<string, string> {
  const bin = readFileSync(exe);
  const at = bin.indexOf(FUSE_SENTINEL);
  assert.ok(at >= 0, 'fuse sentinel missing from the packed executable');
  const len = bin[at + FUSE_SENTINEL.length + 1]!;
  const wire = bin.subarray(at + FUSE_SENTINEL.length + 2, at + FUSE_SENTINEL.length + 2 + len).toString('ascii');
  return Object.fromEntries(FUSES.map((name, i) => [name, wire[i]!]));
}

function ensureBuilt(): void {
  if (Object.values(ENTRIES).every((f) => existsSync(join(root, f)))) return;
  const r = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm run build failed:\n${r.stdout}\n${r.stderr}`);
  for (const f of Object.values(ENTRIES)) assert.ok(existsSync(join(root, f)), `the build did not produce ${f}`);
}

function walk(dir: string, base = dir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, base, out);
    else out.push(p.slice(base.length + 1));
  }
  return out;
}

test('electron-builder --linux dir packs a complete app.asar, offline', () => {
  ensureBuilt();
  const tmp = mkdtempSync(join(tmpdir(), 'peerfold-pack-'));
  try {
    const stub = join(tmp, 'electron-dist');
    const out = join(tmp, 'release');
    const cache = join(tmp, 'cache');
    makeStubElectron(stub);
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/electron-builder/cli.js'),
        // the host's architecture: only its node-datachannel binary is installed
        '--linux',
        'dir',
        process.arch === 'arm64' ? '--arm64' : '--x64',
        '--publish',
        'never',
        '--projectDir',
        root,
        `-c.electronDist=${stub}`,
        `-c.electronVersion=${ELECTRON_VERSION}`,
        `-c.directories.output=${out}`,
      ],
      {
        cwd: root,
        encoding: 'utf8',
        env: {
          ...process.env,
          // anything electron-builder or @electron/get would download lands here (and must not)
          ELECTRON_BUILDER_CACHE: cache,
          electron_config_cache: cache,
          ELECTRON_SKIP_BINARY_DOWNLOAD: '1',
          // and any HTTP attempt goes to a closed local port instead of the internet
          HTTPS_PROXY: 'http://127.0.0.1:9',
          HTTP_PROXY: 'http://127.0.0.1:9',
          https_proxy: 'http://127.0.0.1:9',
          http_proxy: 'http://127.0.0.1:9',
          NO_PROXY: '',
          no_proxy: '',
          CI: '',
        },
      },
    );
    const log = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, `electron-builder failed:\n${log}`);
    assert.ok(
      !existsSync(cache) || walk(cache).length === 0,
      `electron-builder downloaded something:\n${existsSync(cache) ? walk(cache).join('\n') : ''}`,
    );

    const app = join(out, 'linux-unpacked');
    const asarFile = join(app, 'resources', 'app.asar');
    assert.ok(existsSync(join(app, 'peerfold')), 'the executable is named peerfold');
    assert.ok(existsSync(asarFile), 'app.asar exists');

    const files = new Set(asar.listPackage(asarFile, { isPack: false }).map((f) => f.replace(/\\/g, '/').replace(/^\//, '')));
    // entry points, and package.json's main pointing at the one we built
    for (const f of Object.values(ENTRIES)) assert.ok(files.has(f), `app.asar lacks ${f}`);
    const pkg = JSON.parse(asar.extractFile(asarFile, 'package.json').toString('utf8'));
    assert.equal(pkg.main, ENTRIES.main);
    assert.equal(pkg.desktopName, 'peerfold.desktop');
    // the icons main.ts loads at run time
    for (const state of ['idle', 'syncing', 'paused', 'error', 'conflicts']) {
      for (const f of [`assets/tray/tray-${state}.png`, `assets/tray/tray-${state}@2x.png`, `assets/tray/tray-${state}-32.png`])
        assert.ok(files.has(f), `app.asar lacks ${f}`);
    }
    assert.ok(files.has('assets/icons/256x256.png'));
    // the sandboxed preload may require nothing but electron
    const preload = asar.extractFile(asarFile, ENTRIES.preload).toString('utf8');
    const required = [...preload.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(required)], ['electron'], 'the preload bundle requires more than electron');
    // nothing that does not belong in the app
    const stray = [...files].filter(
      (f) =>
        /\.map$/.test(f) ||
        /^dist\/headless\//.test(f) ||
        /^(main|preload|renderer|shared|e2e|scripts|bench)\//.test(f) ||
        /^node_modules\/(electron|electron-builder|typescript|vite|esbuild|tsx|playwright-core)\//.test(f),
    );
    assert.deepEqual(stray, [], 'app.asar carries sources, maps or dev tools');

    // native binary and wasm: marked unpacked in the header and present beside the archive
    const unpackedDir = join(app, 'resources', 'app.asar.unpacked');
    const unpacked = existsSync(unpackedDir) ? walk(unpackedDir).map((f) => f.replace(/\\/g, '/')) : [];
    const natives = unpacked.filter((f) => /^node_modules\/(@node-datachannel\/[^/]+|node-datachannel)\/.*\.node$/.test(f));
    assert.ok(natives.length > 0, `node-datachannel's native binary is not unpacked; unpacked: ${unpacked.join(', ')}`);
    assert.ok(
      unpacked.includes('node_modules/sql.js/dist/sql-wasm.wasm'),
      `sql.js's wasm is not unpacked; unpacked: ${unpacked.join(', ')}`,
    );
    for (const f of [...natives, 'node_modules/sql.js/dist/sql-wasm.wasm']) {
      const st = asar.statFile(asarFile, f) as { unpacked?: boolean };
      assert.equal(st.unpacked, true, `${f} is not marked unpacked in app.asar`);
    }
    // the loader code stays in the archive and finds its binary through the normal require path
    assert.ok(files.has('node_modules/node-datachannel/package.json'));
    assert.ok(files.has('node_modules/sql.js/package.json'));

    // the hardening fuses of electron-builder.yml were applied to the executable
    const fuses = fuseWire(join(app, 'peerfold'));
    assert.equal(fuses.RunAsNode, '0');
    assert.equal(fuses.EnableNodeOptionsEnvironmentVariable, '0');
    assert.equal(fuses.EnableNodeCliInspectArguments, '0');
    assert.equal(fuses.OnlyLoadAppFromAsar, '1');
    assert.equal(fuses.GrantFileProtocolExtraPrivileges, '0');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
