// Read-only views computed from state: what the status bar says, how far a share is, which side
// of a conflict is "mine". Pure, so the components stay thin and the rules are tested.
import type { AccessLevel, ConflictInfo, ConflictSide, DeviceId, PeerInfo, ShareState, ShareSummary } from '../../../shared/api.ts';
import { formatBytes, formatRate, plural } from './format.ts';
import type { AppState, DetailTab } from './state.ts';

export type OverallKind =
  'connecting' | 'disconnected' | 'error' | 'syncing' | 'scanning' | 'waiting' | 'conflicts' | 'paused' | 'idle' | 'empty';

export interface Overall {
  kind: OverallKind;
  text: string;
  inBytesPerSec: number;
  outBytesPerSec: number;
}

export function totalRates(shares: ShareSummary[]): { inBytesPerSec: number; outBytesPerSec: number } {
  let inBytesPerSec = 0;
  let outBytesPerSec = 0;
  for (const s of shares) {
    inBytesPerSec += s.inBytesPerSec;
    outBytesPerSec += s.outBytesPerSec;
  }
  return { inBytesPerSec, outBytesPerSec };
}

/** Needs the user: a share error, or deletions held by the mass-delete guard. */
export function hasProblem(s: ShareSummary): boolean {
  return s.state === 'error' || s.error !== null || s.heldDeletes > 0;
}

/** The one-line summary of everything, like the tray's tooltip. */
export function overall(state: Pick<AppState, 'connection' | 'everConnected' | 'shares' | 'allPaused' | 'conflicts'>): Overall {
  const rates = totalRates(state.shares);
  const make = (kind: OverallKind, text: string): Overall => ({ kind, text, ...rates });
  if (state.connection === 'disconnected')
    return make('disconnected', state.everConnected ? 'Disconnected from the daemon' : 'Cannot reach the daemon');
  if (state.connection === 'connecting' && !state.everConnected) return make('connecting', 'Connecting…');
  const shares = state.shares;
  if (shares.length === 0) return make('empty', 'No shares yet');
  const broken = shares.filter(hasProblem).length;
  if (broken) return make('error', `${plural(broken, 'share')} ${broken === 1 ? 'has' : 'have'} a problem`);
  if (state.allPaused || shares.every((s) => s.paused)) return make('paused', 'Paused');
  const needFiles = shares.reduce((n, s) => n + (s.paused ? 0 : s.needFiles), 0);
  if (needFiles > 0 || shares.some((s) => s.state === 'syncing')) {
    const what = needFiles > 0 ? `Syncing ${plural(needFiles, 'file')}` : 'Syncing';
    return make('syncing', rates.inBytesPerSec > 0 ? `${what}, ${formatRate(rates.inBytesPerSec)}` : what);
  }
  if (shares.some((s) => s.state === 'scanning')) return make('scanning', 'Scanning for changes…');
  if (shares.some((s) => s.state === 'waiting')) return make('waiting', 'Waiting for a peer…');
  if (shares.some((s) => s.state === 'waiting-for-issuer')) return make('waiting', 'Waiting for the device that made an invite…');
  const conflicts = Math.max(
    state.conflicts.length,
    shares.reduce((n, s) => n + s.conflicts, 0),
  );
  if (conflicts) return make('conflicts', `${plural(conflicts, 'conflict')} waiting`);
  return make('idle', 'Up to date');
}

/**
 * Fraction (0..1) of the share's global content that is already here. The engine counts a file
 * as needed until it is complete, so the bytes of files still arriving are added: otherwise a
 * share whose one big file is 90% through would read 0%.
 */
export function shareProgress(s: ShareSummary): number {
  // a join by invite not granted yet has nothing here and does not know what there is
  if (s.invite) return 0;
  if (s.needBytes <= 0 && s.needFiles <= 0) return 1;
  if (s.globalBytes <= 0) return 0;
  const arriving = s.pulling.reduce((n, p) => n + Math.max(0, Math.min(p.done, p.size)), 0);
  const here = s.globalBytes - s.needBytes + Math.min(arriving, s.needBytes);
  return Math.max(0, Math.min(1, here / s.globalBytes));
}

/** What the share still needs, for a person: "Up to date" or "Needs 12 files (34 MB)". */
export function needText(s: ShareSummary): string {
  if (s.state === 'waiting') return 'Waiting for a peer’s list of files…';
  if (s.state === 'waiting-for-issuer') return 'Waiting for the device that made the invite…';
  if (s.needFiles <= 0 && s.needBytes <= 0) return s.state === 'scanning' ? 'Looking for changes…' : 'Up to date';
  return `Needs ${plural(s.needFiles, 'file')} (${formatBytes(s.needBytes)})`;
}

export const accessLabel: Record<AccessLevel, string> = {
  'read-write': 'Read & write',
  'read-only': 'Read only',
  encrypted: 'Encrypted',
};

export const accessHint: Record<AccessLevel, string> = {
  'read-write': 'Whoever has this code can change the files.',
  'read-only': 'Whoever has this code receives the files but cannot change them.',
  encrypted: 'Keeps an encrypted copy: for a device you do not trust with the contents, such as a rented server.',
};

/**
 * The detail tabs a share has: an encrypted copy cannot be read here (no files, history, archive
 * or ignore rules), a read-only share lists its local changes, a join by invite not granted yet
 * has nothing to show.
 */
export function detailTabsFor(s: ShareSummary): DetailTab[] {
  if (s.invite) return [];
  if (s.access === 'encrypted') return ['codes', 'peers'];
  const all: DetailTab[] = ['codes', 'peers', 'transfers', 'files', 'changes', 'recent', 'archive', 'ignore'];
  return s.access === 'read-only' ? all : all.filter((t) => t !== 'changes');
}

export const stateLabel: Record<ShareState, string> = {
  scanning: 'Scanning',
  waiting: 'Waiting for a peer…',
  'waiting-for-issuer': 'Waiting for the inviter…',
  syncing: 'Syncing',
  idle: 'Up to date',
  paused: 'Paused',
  error: 'Problem',
};

/** The badge state of a share: a share-level error wins over what the engine is doing. */
export function shareBadge(s: ShareSummary): ShareState {
  if (s.error || s.heldDeletes > 0) return 'error';
  if (s.paused) return 'paused';
  return s.state;
}

export function peersOfShare(peers: PeerInfo[], shareId: string): PeerInfo[] {
  return peers.filter((p) => p.shareIds.includes(shareId));
}

export interface ConflictVersion {
  side: ConflictSide;
  /** the share-relative path that holds this version's bytes */
  path: string;
  /** true when this device wrote this version */
  mine: boolean;
}

/**
 * The two versions of a conflict as "mine" (kept by `resolve keep: 'local'`) and "theirs"
 * (`keep: 'remote'`). Mine is the side this device wrote; when neither or both sides are from
 * this device, the winner (the file at the original path, what this device shows now) is mine.
 */
export function conflictVersions(c: ConflictInfo, myId: DeviceId | null): { mine: ConflictVersion; theirs: ConflictVersion } {
  const winner: ConflictVersion = { side: c.winner, path: c.path, mine: c.winner.deviceId === myId };
  const loser: ConflictVersion = { side: c.loser, path: c.conflictPath, mine: c.loser.deviceId === myId };
  if (loser.mine && !winner.mine) return { mine: loser, theirs: winner };
  return { mine: winner, theirs: loser };
}

export type PreviewKind = 'text' | 'image' | 'other';

const textExt = new Set(
  'txt md markdown csv tsv json jsonc yaml yml toml ini cfg conf log xml html htm css scss less js mjs cjs jsx ts tsx py rb go rs java kt c h cpp hpp cs php sh bash zsh fish sql tex rst org svg env gitignore'.split(
    ' ',
  ),
);
const imageExt = new Set('png jpg jpeg gif webp bmp avif ico'.split(' '));

/** A guess from the name, used before the preview comes back; the preview's kind is the truth. */
export function previewKindOf(path: string): PreviewKind {
  const base = path.split('/').pop() ?? path;
  const dot = base.lastIndexOf('.');
  const ext = dot >= 0 ? base.slice(dot + 1).toLowerCase() : '';
  if (imageExt.has(ext)) return 'image';
  if (textExt.has(ext) || dot < 0) return 'text';
  return 'other';
}

/** Joins a share's folder and a share-relative path with the separator the folder uses. */
export function joinSharePath(root: string, rel: string): string {
  const sep = root.includes('\\') && !root.includes('/') ? '\\' : '/';
  const r = root.endsWith(sep) ? root.slice(0, -1) : root;
  if (!rel) return r;
  return `${r}${sep}${rel.split('/').join(sep)}`;
}

/** The folder part of a share-relative path ('' for the root). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** The last part of a path, for a default share name. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]+/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}

/** A stable string that changes when a share's content changes: the trigger to re-request lists. */
export function contentSignature(s: ShareSummary | undefined): string {
  if (!s) return '';
  return [s.localFiles, s.localBytes, s.globalFiles, s.globalBytes, s.needFiles, s.lastScanAt ?? 0, s.conflicts].join(':');
}
