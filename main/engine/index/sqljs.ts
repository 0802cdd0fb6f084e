// Loads sql.js (SQLite compiled to WebAssembly) once per process.
// sql.js is a CommonJS module; under ESM (node, tsx) its module.exports arrives as the default import.
// The .wasm file is read by us and handed over as bytes, so it works wherever our fs works (an Electron
// asar too). Packagers that move the file set PEERFOLD_SQLJS_WASM to its path.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import initSqlJs from 'sql.js';
import type { SqlJsStatic } from 'sql.js';

let loading: Promise<SqlJsStatic> | null = null;

export function sqlJsWasmPath(): string {
  const override = process.env.PEERFOLD_SQLJS_WASM;
  if (override) return override;
  try {
    return createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm');
  } catch (err) {
    throw new Error(
      `cannot find sql.js's sql-wasm.wasm (${(err as Error).message}); ` +
        "install dependencies (npm install) or set PEERFOLD_SQLJS_WASM to the file's path",
      { cause: err },
    );
  }
}

export function loadSqlJs(): Promise<SqlJsStatic> {
  loading ??= (async () => {
    const path = sqlJsWasmPath();
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new Error(
        `cannot read the SQLite WebAssembly file ${path}: ${(err as Error).message}; set PEERFOLD_SQLJS_WASM to a valid sql-wasm.wasm`,
        { cause: err },
      );
    }
    const wasmBinary = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    baselineWasmOnly();
    return initSqlJs({ wasmBinary });
  })();
  loading.catch(() => {
    loading = null; // let a later call retry (e.g. after the env var was fixed)
  });
  return loading;
}

/**
 * SQLite's WebAssembly is compiled by V8's baseline compiler (Liftoff) only, never tiered up to
 * TurboFan: the optimizing compiles ran on background threads at startup and on every hot path,
 * and the memory their zones took stayed resident in those threads' malloc arenas (bench/README.md,
 * "Memory, third round": idle daemon 90-97 -> 75-82 MB peak, no more CPU in index.bench.ts). A
 * process-wide V8 flag, read when a module is compiled: set here, just before the only one is.
 */
function baselineWasmOnly(): void {
  try {
    setFlagsFromString('--liftoff-only');
  } catch {
    // a runtime that refuses flags after start (an embedder's choice) keeps its default tiering
  }
}
