// `npm start`: build, then run the Electron app where Electron can run; elsewhere (no display, or
// no Electron runtime, as on build machines and servers) say why in one line and run the same
// engine headless, which prints the local web address.
// Arguments are passed on: `npm start -- --home DIR --ui-port 8080`. The home is --home, else
// PEERFOLD_HOME, else the OS app-data folder (resolved by the app and the daemon alike).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);

/** Why Electron cannot run here, or null when it can. */
export function electronUnavailable(env = process.env, platform = process.platform) {
  const hasDisplay = platform === 'darwin' || platform === 'win32' || Boolean(env.DISPLAY) || Boolean(env.WAYLAND_DISPLAY);
  if (!hasDisplay) return 'no display: DISPLAY and WAYLAND_DISPLAY are unset';
  const bin = electronBinary(env);
  if (!bin) return 'the Electron binary is not installed in node_modules/electron';
  return null;
}

/**
 * What `require('electron')` would return, without calling it: under plain Node that module starts
 * a download when the binary is missing (and fails offline), so its own lookup is repeated here.
 */
export function electronBinary(env = process.env) {
  const pkg = join(root, 'node_modules', 'electron');
  let rel = null;
  try {
    rel = readFileSync(join(pkg, 'path.txt'), 'utf8').trim();
  } catch {
    // no path.txt: the postinstall download never happened
  }
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = join(env.ELECTRON_OVERRIDE_DIST_PATH, rel || 'electron');
    return existsSync(p) ? p : null;
  }
  if (!rel) return null;
  const p = join(pkg, 'dist', rel);
  return existsSync(p) ? p : null;
}

function run(cmd, argv, extraEnv = {}) {
  const child = spawn(cmd, argv, { cwd: root, stdio: 'inherit', env: { ...process.env, ...extraEnv } });
  // Ctrl-C reaches the child through the terminal's process group; a SIGTERM to us is passed on
  const forward = (sig) => child.kill(sig);
  process.on('SIGTERM', forward);
  process.on('SIGINT', () => {});
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function main() {
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('npm start: the build failed (see above)');
    process.exit(build.status ?? 1);
  }

  const why = electronUnavailable();
  if (why === null) {
    const bin = electronBinary();
    run(bin, [root, ...args]);
    return;
  }
  console.log(`Electron runtime not available (${why}); running headless`);
  run(process.execPath, [join(root, 'bin', 'peerfold'), 'daemon', ...args]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
