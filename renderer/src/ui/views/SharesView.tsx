// The list of shares: what each is, how far along, and a pause/resume control.
import type { ShareSummary } from '../../../../shared/api.ts';
import { accessLabel, needText, shareBadge, shareProgress } from '../../store/derive.ts';
import { formatBytes, formatRate, plural } from '../../store/format.ts';
import { useApp, useAppState } from '../app-context.tsx';
import { EmptyState, ProgressBar, StateBadge } from '../components/bits.tsx';
import { Icon } from '../components/Icon.tsx';
import { ShareDialog } from '../dialogs/ShareDialog.tsx';
import { useShareFolder } from '../flows.ts';

export function SharesView() {
  const { actions, bridge } = useApp();
  const shares = useAppState((s) => s.shares);
  const route = useAppState((s) => s.route);
  const device = useAppState((s) => s.device);
  const { start } = useShareFolder();
  const dialogOpen = route.view === 'shares' && route.dialog === 'share';
  const canDrop = bridge.capabilities.dropPaths;

  return (
    <section className="view" aria-labelledby="shares-title">
      <header className="view-header">
        <div>
          <h1 id="shares-title" className="view-title">
            Shares
          </h1>
          <p className="view-subtitle">
            {shares.length ? `${plural(shares.length, 'folder')} kept in sync` : 'Folders you share appear here.'}
          </p>
        </div>
        <div className="view-actions">
          <button type="button" className="btn btn-secondary" onClick={() => actions.navigate({ view: 'join' })} data-testid="join-button">
            <Icon name="link" size={15} />
            Join with a code
          </button>
          <button type="button" className="btn btn-primary" onClick={() => void start()} data-testid="share-folder-button">
            <Icon name="folderPlus" size={15} />
            Share a folder
          </button>
        </div>
      </header>

      {device === null ? null : shares.length === 0 ? (
        <EmptyState
          icon="folderPlus"
          title="Share your first folder"
          testid="shares-empty"
          actions={
            <>
              <button type="button" className="btn btn-primary" onClick={() => void start()} data-testid="empty-share-folder">
                <Icon name="folderPlus" size={15} />
                Share a folder
              </button>
              <button
                type="button"
                className="btn btn-secondary"
                onClick={() => actions.navigate({ view: 'join' })}
                data-testid="empty-join"
              >
                <Icon name="link" size={15} />
                Join with a code
              </button>
            </>
          }
        >
          <p>
            Pick a folder on this device and Peerfold gives you a code for it. Enter that code on your other devices, or send it to a
            friend, and the folder stays the same everywhere — directly between devices, with no cloud in between.
          </p>
          <p>{canDrop ? 'You can also drag a folder onto this window.' : 'Someone gave you a code? Join with it instead.'}</p>
        </EmptyState>
      ) : (
        <ul className="share-list" data-testid="share-list" aria-label="Shares">
          {shares.map((s) => (
            <ShareRow key={s.id} share={s} />
          ))}
        </ul>
      )}

      {canDrop && shares.length > 0 && (
        <div className="drop-zone" data-testid="drop-zone">
          <Icon name="upload" size={18} />
          <span>Drop a folder here to share it</span>
        </div>
      )}

      {dialogOpen && <ShareDialog onClose={() => actions.navigate({ view: 'shares' })} />}
    </section>
  );
}

function ShareRow({ share: s }: { share: ShareSummary }) {
  const { actions } = useApp();
  const badge = shareBadge(s);
  const progress = shareProgress(s);
  const open = () => actions.navigate({ view: 'share', shareId: s.id, tab: 'codes' });
  const busy = s.needFiles > 0 && !s.paused;
  return (
    <li
      className={`share-row ${s.paused ? 'is-paused' : ''}`}
      data-testid="share-row"
      data-share-id={s.id}
      data-share-name={s.name}
      data-state={badge}
    >
      <div className="share-icon" aria-hidden="true">
        <Icon name="folder" size={20} />
      </div>
      <div className="share-main">
        <div className="share-title-line">
          <button type="button" className="share-name link-button" onClick={open} data-testid="share-open" aria-label={`Open ${s.name}`}>
            <span data-testid="share-name">{s.name}</span>
          </button>
          <StateBadge state={badge} />
          <span className={`access access-${s.access}`} data-testid="share-access">
            {accessLabel[s.access]}
          </span>
          {s.conflicts > 0 && (
            <button
              type="button"
              className="chip chip-warn"
              onClick={() => actions.navigate({ view: 'conflicts' })}
              data-testid="share-conflicts"
            >
              <Icon name="alert" size={12} />
              {plural(s.conflicts, 'conflict')}
            </button>
          )}
          {s.access === 'read-only' && s.localChanges > 0 && (
            <button
              type="button"
              className="chip chip-warn"
              onClick={() => actions.navigate({ view: 'share', shareId: s.id, tab: 'changes' })}
              data-testid="share-local-changes"
            >
              {plural(s.localChanges, 'local change')}
            </button>
          )}
        </div>
        <div className="share-path mono truncate" title={s.path} data-testid="share-path">
          {s.path}
        </div>
        <div className="share-progress-line">
          <ProgressBar
            value={progress}
            label={`${s.name}: ${needText(s)}`}
            testid="share-progress"
            tone={s.paused || s.error || s.invite ? 'paused' : progress >= 1 ? 'ok' : 'accent'}
            size="sm"
          />
          <span className={`share-need ${s.error ? 'is-error' : ''}`} data-testid="share-need" title={s.error ?? undefined}>
            {s.error ? <span className="text-danger">{s.error}</span> : needText(s)}
          </span>
        </div>
      </div>
      <dl className="share-stats">
        <div>
          <dt>Size</dt>
          <dd data-testid="share-size">{formatBytes(s.localBytes)}</dd>
        </div>
        <div>
          <dt>Peers</dt>
          <dd data-testid="share-peers">{s.peersConnected}</dd>
        </div>
        <div>
          <dt>Speed</dt>
          <dd className="rates">
            <span title="Download">↓ {formatRate(s.inBytesPerSec)}</span>
            <span title="Upload">↑ {formatRate(s.outBytesPerSec)}</span>
          </dd>
        </div>
      </dl>
      <div className="share-actions">
        {!s.invite && (
          <button
            type="button"
            className="btn btn-secondary btn-sm"
            onClick={() => void (s.paused ? actions.resume(s.id) : actions.pause(s.id))}
            data-testid="share-pause-toggle"
            data-paused={s.paused}
            aria-label={s.paused ? `Resume ${s.name}` : `Pause ${s.name}`}
          >
            <Icon name={s.paused ? 'play' : 'pause'} size={14} />
            {s.paused ? 'Resume' : 'Pause'}
          </button>
        )}
        <button type="button" className="btn btn-icon btn-ghost" onClick={open} aria-label={`Details of ${s.name}`} tabIndex={-1}>
          <Icon name="chevronRight" />
        </button>
      </div>
      {busy && <span className="sr-only">Syncing</span>}
    </li>
  );
}
