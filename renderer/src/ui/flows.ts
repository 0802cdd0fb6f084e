// User flows that span the bridge's shell capabilities and the store: sharing a folder picked
// natively, dropped onto the window, or typed into the web dialog.
import { useCallback } from 'react';
import { baseName } from '../store/derive.ts';
import { useApp } from './app-context.tsx';

export function useShareFolder() {
  const { bridge, actions } = useApp();
  const shareAndOpen = useCallback(
    async (path: string, name?: string) => {
      const res = await actions.shareFolder(path, name);
      actions.navigate({ view: 'share', shareId: res.share.id, tab: 'codes' });
      return res;
    },
    [actions],
  );

  /** "Share a folder": the native picker when the shell has one, else the path dialog. */
  const start = useCallback(async () => {
    if (bridge.capabilities.pickFolder && bridge.pickFolder) {
      let path: string | null = null;
      try {
        path = await bridge.pickFolder();
      } catch (err) {
        actions.notifyError('open the folder picker', err);
        return;
      }
      if (!path) return;
      try {
        await shareAndOpen(path);
      } catch (err) {
        actions.notifyError(`share “${baseName(path)}”`, err);
      }
      return;
    }
    actions.navigate({ view: 'shares', dialog: 'share' });
  }, [bridge, actions, shareAndOpen]);

  /** Folders dropped on the window: each is shared (only shells that expose dropped paths). */
  const shareDropped = useCallback(
    async (dt: DataTransfer) => {
      if (!bridge.capabilities.dropPaths || !bridge.pathForFile) return;
      const items = Array.from(dt.items ?? []);
      const files = Array.from(dt.files ?? []);
      let shared = 0;
      for (let i = 0; i < files.length; i++) {
        const entry = items[i]?.webkitGetAsEntry?.();
        const path = bridge.pathForFile(files[i]);
        if (!path) continue;
        if (entry && !entry.isDirectory) {
          actions.notifyError(
            `share “${files[i].name}”`,
            new Error('Only folders can be shared. Drop the folder that contains it instead.'),
          );
          continue;
        }
        try {
          await shareAndOpen(path);
          shared++;
        } catch (err) {
          actions.notifyError(`share “${baseName(path)}”`, err);
        }
      }
      return shared;
    },
    [bridge, actions, shareAndOpen],
  );

  return { start, shareAndOpen, shareDropped };
}

/** Picks a local folder for joining: native picker, or null when the caller should show the browser dialog. */
export function useNativePicker(): (() => Promise<string | null>) | null {
  const { bridge } = useApp();
  if (!bridge.capabilities.pickFolder || !bridge.pickFolder) return null;
  return bridge.pickFolder;
}
