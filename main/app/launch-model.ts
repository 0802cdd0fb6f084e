// How the desktop app was launched and how it registers itself to start at login, as pure
// functions. Electron's login-item API covers macOS and Windows only; on Linux the app writes an
// XDG autostart entry itself (the freedesktop.org Desktop Application Autostart spec).
import { join } from 'node:path';

export interface AppArgs {
  /** --home DIR / --home=DIR: the engine's home folder */
  home: string | undefined;
  /** --hidden: start in the tray without showing the window (used by start at login) */
  hidden: boolean;
}

/**
 * Reads our flags from anywhere in argv: a packaged app gets [exe, ...flags], a development run
 * [electron, appDir, ...flags], and Chromium may add switches of its own.
 */
export function parseAppArgs(argv: readonly string[]): AppArgs {
  let home: string | undefined;
  let hidden = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--hidden') hidden = true;
    else if (a === '--home' && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) home = argv[++i];
    else if (a.startsWith('--home=') && a.length > '--home='.length) home = a.slice('--home='.length);
  }
  return { home, hidden };
}

/** Show the window at startup unless started hidden (by flag, or by macOS at login). */
export function showWindowAtStart(args: AppArgs, openedAtLogin: boolean): boolean {
  return !args.hidden && !openedAtLogin;
}

export interface LaunchContext {
  platform: NodeJS.Platform;
  /** process.execPath */
  execPath: string;
  /** arguments the executable needs before ours: [appDir] when running unpackaged under electron */
  appArgs: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  homeDir: string;
  /** the --home this instance runs with, kept for the login launch */
  home: string | undefined;
}

export type LoginItemPlan =
  | { kind: 'electron'; settings: { openAtLogin: boolean; path?: string; args?: string[] } }
  /** content null: remove the file */
  | { kind: 'xdg'; file: string; content: string | null };

/** What the app launched at login runs: the same program, hidden, with the same home. */
export function loginCommand(ctx: LaunchContext): { exec: string; args: string[] } {
  // an AppImage's execPath lives in a mount that disappears on exit: start the image itself
  const exec = ctx.platform === 'linux' && ctx.env.APPIMAGE ? ctx.env.APPIMAGE : ctx.execPath;
  const appArgs = ctx.platform === 'linux' && ctx.env.APPIMAGE ? [] : [...ctx.appArgs];
  return { exec, args: [...appArgs, '--hidden', ...(ctx.home ? ['--home', ctx.home] : [])] };
}

export function loginItemPlan(enabled: boolean, ctx: LaunchContext): LoginItemPlan {
  if (ctx.platform === 'darwin') {
    // macOS passes no arguments to login items; main asks wasOpenedAtLogin instead of --hidden
    return { kind: 'electron', settings: { openAtLogin: enabled } };
  }
  if (ctx.platform === 'win32') {
    const { exec, args } = loginCommand(ctx);
    return { kind: 'electron', settings: { openAtLogin: enabled, path: exec, args } };
  }
  const configHome =
    ctx.env.XDG_CONFIG_HOME && ctx.env.XDG_CONFIG_HOME.startsWith('/') ? ctx.env.XDG_CONFIG_HOME : join(ctx.homeDir, '.config');
  const file = join(configHome, 'autostart', 'peerfold.desktop');
  if (!enabled) return { kind: 'xdg', file, content: null };
  const { exec, args } = loginCommand(ctx);
  return { kind: 'xdg', file, content: xdgAutostartEntry([exec, ...args]) };
}

/** A desktop entry whose Exec line runs argv exactly (quoting per the Desktop Entry spec). */
export function xdgAutostartEntry(argv: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Peerfold',
    'Comment=Peer-to-peer folder sync',
    `Exec=${argv.map(quoteExecArg).join(' ')}`,
    'Icon=peerfold',
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/**
 * Desktop Entry Exec quoting: an argument with reserved characters goes in double quotes, where
 * ", `, $ and \ take a backslash; then the value-level escaping doubles every backslash again, and
 * a literal % is written %%.
 */
export function quoteExecArg(arg: string): string {
  let out = arg;
  if (arg === '' || /[ \t\n"'\\><~|&;$*?#()`]/.test(arg)) out = `"${arg.replace(/["`$\\]/g, (c) => `\\${c}`)}"`;
  return out.replace(/\\/g, '\\\\').replace(/%/g, '%%').replace(/\n/g, '\\n');
}
