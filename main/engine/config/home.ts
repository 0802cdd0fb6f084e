import { homedir, platform } from 'node:os';
import { join, resolve } from 'node:path';

/** --home DIR, else PEERFOLD_HOME, else the OS's per-user app-data folder. */
export function resolveHome(cliHome?: string, env: NodeJS.ProcessEnv = process.env, os = platform()): string {
  if (cliHome) return resolve(cliHome);
  if (env.PEERFOLD_HOME) return resolve(env.PEERFOLD_HOME);
  return defaultHome(env, os);
}

function defaultHome(env: NodeJS.ProcessEnv, os: NodeJS.Platform): string {
  if (os === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Peerfold');
  if (os === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Peerfold');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'peerfold');
}
