// Whether a share's folder can be opened from the shell (the tray's per-share items, the window's
// "Open folder"), and why not. Pure: main.ts looks at the disk and hands in what it found.
import type { ShareSummary } from '../../shared/api.ts';

/** What is at a share's path on disk. */
export type FolderOnDisk = 'folder' | 'file' | 'missing';

export type OpenFolder = { enabled: true; path: string } | { enabled: false; reason: string };

/**
 * A folder that is there opens, whatever the share's state (a join by invite still waiting for its
 * issuer included: the user may have picked a folder that exists). A waiting join's folder that is
 * not there yet is made when the issuer lets this device in, so that is the reason given; any other
 * share's missing folder is the same problem the share reports.
 */
export function openFolder(share: Pick<ShareSummary, 'path' | 'invite'>, onDisk: FolderOnDisk): OpenFolder {
  if (onDisk === 'folder') return { enabled: true, path: share.path };
  if (onDisk === 'file') return { enabled: false, reason: 'a file is where its folder should be' };
  if (share.invite) return { enabled: false, reason: 'the folder is made once the invite is granted' };
  return { enabled: false, reason: 'its folder is missing (a deleted folder or an unmounted drive?)' };
}
