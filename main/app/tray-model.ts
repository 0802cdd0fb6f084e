// What the tray shows, as pure functions of engine state. main.ts only binds these to Electron's
// Tray and Menu, so every decision here is testable without launching Electron.
import type { ShareSummary, StatusResult } from '../../shared/api.ts';
import { openFolder, type FolderOnDisk } from './open-folder.ts';

export type TrayState = 'idle' | 'syncing' | 'paused' | 'error' | 'conflicts';
export const TRAY_STATES: readonly TrayState[] = ['idle', 'syncing', 'paused', 'error', 'conflicts'];

/** Everything the tray depends on. */
export interface TrayInput {
  /** null until the engine answers its first status (or when it failed to start) */
  status: StatusResult | null;
  /** the engine could not start or stopped working: shown instead of any share state */
  engineError: string | null;
}

/**
 * The one state the icon shows. Precedence, most urgent first:
 * error > conflicts > paused > syncing > idle.
 * An error means something is broken and sync may have stopped; conflicts wait for the user but
 * sync goes on; paused is the user's own choice, so it hides activity but not problems.
 */
export function trayState({ status, engineError }: TrayInput): TrayState {
  if (engineError) return 'error';
  if (!status) return 'idle';
  const shares = status.shares;
  if (shares.some(hasShareError)) return 'error';
  if (conflictCount(shares) > 0) return 'conflicts';
  if (isAllPaused(status)) return 'paused';
  if (shares.some((s) => isActive(s))) return 'syncing';
  return 'idle';
}

/** Everything paused: the global switch, or every share paused one by one. */
export function isAllPaused(status: StatusResult): boolean {
  return status.paused || (status.shares.length > 0 && status.shares.every((s) => s.paused || s.state === 'paused'));
}

function hasShareError(s: ShareSummary): boolean {
  return s.error !== null || s.state === 'error';
}

function isActive(s: ShareSummary): boolean {
  return !s.paused && (s.state === 'syncing' || s.state === 'scanning' || isWaiting(s));
}

/** Waiting for a peer's index, or for the device that made its invite. */
function isWaiting(s: ShareSummary): boolean {
  return s.state === 'waiting' || s.state === 'waiting-for-issuer';
}

function conflictCount(shares: ShareSummary[]): number {
  return shares.reduce((n, s) => n + Math.max(0, s.conflicts), 0);
}

/** One line for the tooltip and the menu's status line. */
export function traySummary(input: TrayInput): string {
  const state = trayState(input);
  const { status, engineError } = input;
  if (engineError) return `Error: ${engineError}`;
  if (!status) return 'Starting…';
  const shares = status.shares;
  switch (state) {
    case 'error': {
      const broken = shares.filter(hasShareError);
      const first = broken[0]!;
      const more = broken.length > 1 ? ` (and ${broken.length - 1} more)` : '';
      return `Error: ${first.name}: ${first.error ?? 'sync stopped'}${more}`;
    }
    case 'conflicts': {
      const n = conflictCount(shares);
      return `${n} ${n === 1 ? 'conflict' : 'conflicts'} waiting`;
    }
    case 'paused':
      return 'Paused';
    case 'syncing': {
      const active = shares.filter((s) => isActive(s));
      const files = active.reduce((n, s) => n + s.needFiles, 0);
      const rate = active.reduce((n, s) => n + s.inBytesPerSec, 0);
      if (files === 0 && active.every(isWaiting)) {
        return active.length === 1 ? `${active[0]!.name}: waiting for a peer` : `${active.length} folders waiting for a peer`;
      }
      if (files === 0 && active.every((s) => s.state === 'scanning')) {
        return active.length === 1 ? `Scanning ${active[0]!.name}` : `Scanning ${active.length} folders`;
      }
      const what = files > 0 ? `Syncing ${files} ${files === 1 ? 'file' : 'files'}` : 'Syncing';
      return rate > 0 ? `${what}, ${formatRate(rate)}` : what;
    }
    case 'idle': {
      if (shares.length === 0) return 'No shared folders yet';
      // idle but still missing files: "Up to date" would be a lie
      const behind = shares.filter((s) => !s.paused && s.needFiles > 0);
      const waiting = behind.reduce((n, s) => n + s.needFiles, 0);
      if (waiting === 0) return 'Up to date';
      const files = `${waiting} ${waiting === 1 ? 'file' : 'files'}`;
      return behind.every((s) => s.peersConnected === 0) ? `Waiting for a peer (${files} to get)` : `${files} waiting`;
    }
  }
}

export function trayTooltip(input: TrayInput): string {
  return `Peerfold: ${traySummary(input)}`;
}

/** Bytes per second for people: decimal units, two significant digits below 10. */
export function formatRate(bytesPerSec: number): string {
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s'];
  let v = Math.max(0, bytesPerSec);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  // 999.6 KB/s would round to "1000 KB/s": show it as the next unit instead
  if (i < units.length - 1 && Math.round(v) >= 1000) {
    v /= 1000;
    i++;
  }
  const text = i > 0 && v < 10 ? (Math.round(v * 10) / 10).toFixed(1).replace(/\.0$/, '') : String(Math.round(v));
  return `${text} ${units[i]}`;
}

export interface TrayIconOptions {
  platform: NodeJS.Platform;
}

/**
 * The icon file for a state, relative to the assets folder. Windows and macOS get the 16 px file
 * (Electron picks its @2x twin on high-DPI screens by itself); Linux panels draw tray icons at
 * 22-24 px and scale them themselves, so they get the 32 px file to scale down from.
 */
export function trayIconFile(state: TrayState, { platform }: TrayIconOptions): string {
  return platform === 'linux' ? `tray/tray-${state}-32.png` : `tray/tray-${state}.png`;
}

export type TrayAction = 'open' | 'share' | 'join' | 'pause-all' | 'resume-all' | 'toggle-start-at-login' | 'quit';

export type TrayMenuItem =
  | { kind: 'status'; label: string }
  | { kind: 'separator' }
  | { kind: 'action'; action: TrayAction; label: string; enabled: boolean }
  /** opens a share's folder; a disabled one says why in its label */
  | { kind: 'folder'; path: string; label: string; enabled: boolean }
  | { kind: 'checkbox'; action: TrayAction; label: string; checked: boolean; enabled: boolean };

export interface TrayMenuInput extends TrayInput {
  startAtLogin: boolean;
  /** false where the shell cannot register a login item */
  canStartAtLogin: boolean;
  /** what is at each share's path (by path); a path not listed counts as missing */
  folders: ReadonlyMap<string, FolderOnDisk>;
}

/** The most folders the menu lists; the window lists them all. */
export const TRAY_FOLDERS_MAX = 8;

/** One "Open" item per share, by name. */
export function folderItems(shares: readonly ShareSummary[], folders: ReadonlyMap<string, FolderOnDisk>): TrayMenuItem[] {
  return [...shares]
    .sort((a, b) => a.name.localeCompare(b.name))
    .slice(0, TRAY_FOLDERS_MAX)
    .map((s) => {
      const o = openFolder(s, folders.get(s.path) ?? 'missing');
      return o.enabled
        ? { kind: 'folder', path: o.path, label: `Open “${s.name}”`, enabled: true }
        : { kind: 'folder', path: s.path, label: `“${s.name}”: ${o.reason}`, enabled: false };
    });
}

/**
 * The tray menu. The first line repeats the summary because Linux tray hosts (AppIndicator)
 * never show tooltips.
 */
export function trayMenu(input: TrayMenuInput): TrayMenuItem[] {
  const running = input.status !== null && !input.engineError;
  const hasShares = running && input.status!.shares.length > 0;
  const paused = running && isAllPaused(input.status!);
  const items: TrayMenuItem[] = [
    { kind: 'status', label: traySummary(input) },
    { kind: 'separator' },
    { kind: 'action', action: 'open', label: 'Open Peerfold', enabled: true },
    ...(hasShares ? folderItems(input.status!.shares, input.folders) : []),
    { kind: 'separator' },
    { kind: 'action', action: 'share', label: 'Share a folder…', enabled: running },
    { kind: 'action', action: 'join', label: 'Join with a code…', enabled: running },
    { kind: 'separator' },
    paused
      ? { kind: 'action', action: 'resume-all', label: 'Resume all', enabled: hasShares || input.status!.paused }
      : { kind: 'action', action: 'pause-all', label: 'Pause all', enabled: hasShares },
  ];
  if (input.canStartAtLogin) {
    items.push({
      kind: 'checkbox',
      action: 'toggle-start-at-login',
      label: 'Start at login',
      checked: input.startAtLogin,
      enabled: running,
    });
  }
  items.push({ kind: 'separator' }, { kind: 'action', action: 'quit', label: 'Quit', enabled: true });
  return items;
}

/** Everything the tray shows at once, so main.ts updates it in one place. */
export interface TrayView {
  state: TrayState;
  icon: string;
  tooltip: string;
  menu: TrayMenuItem[];
}

export function trayView(input: TrayMenuInput, platform: NodeJS.Platform): TrayView {
  const state = trayState(input);
  return { state, icon: trayIconFile(state, { platform }), tooltip: trayTooltip(input), menu: trayMenu(input) };
}
