// Loads one per-share resource when its tab opens, and re-requests it when the engine's status
// says the share's content changed (event-driven, never a timer).
import { useEffect, useRef } from 'react';
import type { ShareSummary } from '../../../../../shared/api.ts';
import { contentSignature } from '../../../store/derive.ts';
import type { Loadable, ResourceKey, ShareResources } from '../../../store/state.ts';
import { useActions, useAppState } from '../../app-context.tsx';

export function useShareResource<K extends ResourceKey>(
  share: ShareSummary,
  key: K,
  opts: { followChanges?: boolean } = {},
): Loadable<ShareResources[K]> | undefined {
  const { load } = useActions();
  const res = useAppState((s) => s.details[share.id]?.[key]) as Loadable<ShareResources[K]> | undefined;
  const signature = opts.followChanges ? contentSignature(share) : '';
  const first = useRef(true);

  useEffect(() => {
    // The first load is immediate; follow-ups wait for a burst of status events to settle.
    if (first.current) {
      first.current = false;
      void load(share.id, key);
      return;
    }
    const t = setTimeout(() => void load(share.id, key), 600);
    return () => clearTimeout(t);
  }, [share.id, key, signature, load]);

  return res;
}
