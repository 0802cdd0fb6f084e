// Browses the folders of the machine the engine runs on (the daemon's server, through `listDir`),
// for shells without a native folder picker. Picking a folder reports its path; the caller owns it.
import { useCallback, useEffect, useState } from 'react';
import type { DirListing } from '../../../../shared/api.ts';
import { errorMessage } from '../../store/reducers.ts';
import { useActions } from '../app-context.tsx';
import { Spinner } from './bits.tsx';
import { Icon } from './Icon.tsx';

/** `request` asks the browser to show a folder (e.g. the one typed in the path field); bump `n` to repeat. */
export function FolderBrowser({
  start,
  onPick,
  selected,
  request,
}: {
  start?: string;
  onPick: (path: string) => void;
  selected: string;
  request?: { path: string; n: number } | null;
}) {
  const { listDir } = useActions();
  const [listing, setListing] = useState<DirListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [showHidden, setShowHidden] = useState(false);

  const open = useCallback(
    async (path?: string, pick = false) => {
      setLoading(true);
      setError(null);
      try {
        const l = await listDir(path);
        setListing(l);
        if (pick) onPick(l.path);
      } catch (err) {
        setError(errorMessage(err));
      } finally {
        setLoading(false);
      }
    },
    [listDir, onPick],
  );

  useEffect(() => {
    void open(start || undefined);
    // only on mount: later moves are the user's
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    if (request) void open(request.path);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [request?.n]);

  const dirs = (listing?.entries ?? []).filter((e) => e.isDir && (showHidden || !e.name.startsWith('.')));
  const hiddenCount = (listing?.entries ?? []).filter((e) => e.isDir && e.name.startsWith('.')).length;

  return (
    <div className="browser" data-testid="folder-browser">
      <div className="browser-bar">
        <button
          type="button"
          className="btn btn-ghost btn-sm"
          disabled={!listing?.parent || loading}
          onClick={() => listing?.parent && open(listing.parent, true)}
          data-testid="folder-up"
          aria-label="Up to the parent folder"
        >
          <Icon name="levelUp" size={14} />
          <span>Up</span>
        </button>
        <div className="browser-path" title={listing?.path} data-testid="folder-current">
          <span>{listing?.path ?? ' '}</span>
        </div>
        {loading && <Spinner label="Loading folders" />}
      </div>
      {error ? (
        <div className="browser-error" role="alert" data-testid="folder-error">
          <Icon name="alert" size={14} /> {error}
          {listing && (
            <button type="button" className="btn btn-link" onClick={() => open(listing.path)}>
              Back to {listing.path}
            </button>
          )}
        </div>
      ) : (
        <ul className="browser-list" aria-label={listing ? `Folders in ${listing.path}` : 'Folders'}>
          {listing && dirs.length === 0 && <li className="browser-empty">No folders here. You can share this folder itself.</li>}
          {dirs.map((e) => (
            <li key={e.path}>
              <button
                type="button"
                className={`browser-entry ${e.path === selected ? 'is-selected' : ''}`}
                onClick={() => open(e.path, true)}
                data-testid="folder-entry"
                data-path={e.path}
                aria-label={`Open ${e.name}`}
              >
                <Icon name="folder" size={16} />
                <span className="truncate">{e.name}</span>
                <Icon name="chevronRight" size={14} />
              </button>
            </li>
          ))}
        </ul>
      )}
      {hiddenCount > 0 && (
        <label className="browser-hidden">
          <input type="checkbox" checked={showHidden} onChange={(e) => setShowHidden(e.target.checked)} /> Show hidden folders (
          {hiddenCount})
        </label>
      )}
    </div>
  );
}
