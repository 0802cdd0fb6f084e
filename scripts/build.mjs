// Builds the three parts: the Node side (daemon + CLI, and the Electron main process) and the
// preload with esbuild, the renderer with vite. esbuild because the Node side is plain TypeScript
// that only needs bundling (no transforms tsc would add), and it builds in well under a second;
// vite for the renderer because it is the standard React toolchain with a dev server.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
const want = (part) => only.length === 0 || only.includes(part);

// Third-party packages stay in node_modules: node-datachannel is native, sql.js loads its wasm
// from its own folder, and electron-builder packs production dependencies anyway.
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  absWorkingDir: root,
};
// The CJS bundles still need import.meta.url (worker files are resolved beside the bundle).
const cjsImportMeta = {
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__importMetaUrl' },
};

const jobs = [];
if (want('headless')) {
  // chunk names carry a content hash: the last build's would pile up beside the new ones
  rmSync(`${root}/dist/headless`, { recursive: true, force: true });
  jobs.push(
    build({
      ...common,
      format: 'esm',
      entryPoints: { cli: 'main/headless/cli.ts', 'hash-worker': 'main/engine/scan/hash-worker.ts' },
      // the engine is a chunk of its own, loaded by `peerfold daemon` only: every other command
      // stays small
      splitting: true,
      outdir: 'dist/headless',
      outExtension: { '.js': '.js' },
    }),
  );
}
if (want('app')) {
  jobs.push(
    build({
      ...common,
      ...cjsImportMeta,
      format: 'cjs',
      entryPoints: { app: 'main/app/main.ts', 'hash-worker': 'main/engine/scan/hash-worker.ts' },
      outdir: 'dist/main',
      outExtension: { '.js': '.cjs' },
      external: ['electron'],
    }),
  );
  jobs.push(
    build({
      ...common,
      format: 'cjs',
      entryPoints: { index: 'preload/index.ts' },
      outdir: 'dist/preload',
      outExtension: { '.js': '.cjs' },
      external: ['electron'],
    }),
  );
}
await Promise.all(jobs);

if (want('renderer')) {
  if (existsSync(`${root}/renderer/vite.config.ts`)) {
    rmSync(`${root}/dist/renderer`, { recursive: true, force: true });
    const r = spawnSync(
      process.execPath,
      [`${root}/node_modules/vite/bin/vite.js`, 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'],
      { cwd: root, stdio: 'inherit' },
    );
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
console.log('built dist/');
