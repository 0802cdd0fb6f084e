// The engine runs headless under plain Node: nothing under main/engine, main/headless or shared may
// import Electron, not even for types. This scans the sources, so it fails the moment one does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const guarded = ['main/engine', 'main/headless', 'shared'];

/** Every way a module can name 'electron' (or a subpath such as 'electron/main'). */
const ELECTRON_IMPORT =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+|\bimport\s*=\s*require\s*\(\s*)(['"`])electron(?:\/[^'"`]*)?\1/;

function importsElectron(source: string): boolean {
  // comments may mention electron freely
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return ELECTRON_IMPORT.test(code);
}

function sources(dir: string, out: string[] = []): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(?:[cm]?ts|tsx|[cm]?js)$/.test(name)) out.push(p);
  }
  return out;
}

test('the detector catches every import form and ignores look-alikes', () => {
  for (const src of [
    "import { app } from 'electron';",
    'import type { App } from "electron";',
    "import 'electron';",
    "const { app } = require('electron');",
    'const e = await import("electron");',
    "import { ipcMain } from 'electron/main';",
    'import electron = require("electron");',
    "export { app } from 'electron';",
  ]) {
    assert.equal(importsElectron(src), true, src);
  }
  for (const src of [
    "// we never import 'electron' here",
    "/* require('electron') */",
    "import x from 'electron-builder';",
    "import x from './electron.ts';",
    "const s = 'runs under electron or node';",
  ]) {
    assert.equal(importsElectron(src), false, src);
  }
});

test('no engine, headless or shared source imports electron', () => {
  const files = guarded.flatMap((d) => sources(join(root, d)));
  assert.ok(
    files.some((f) => f.includes('main/engine')),
    'found no engine sources to check',
  );
  const offenders = files.filter((f) => importsElectron(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
  assert.deepEqual(offenders, [], `these must not import electron: ${offenders.join(', ')}`);
});
