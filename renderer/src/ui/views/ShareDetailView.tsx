// One share: its codes, peers, transfers, files, history, archive and ignore rules.
import { useEffect, useState } from 'react';
import type { ShareSummary } from '../../../../shared/api.ts';
import { accessLabel, detailTabsFor, joinSharePath, needText, peersOfShare, shareBadge, shareProgress } from '../../store/derive.ts';
import { formatAgo, formatBytes, formatRate, percent, plural } from '../../store/format.ts';
import type { DetailTab } from '../../store/state.ts';
import { useApp, useAppState } from '../app-context.tsx';
import { ProgressBar, StateBadge, useNow } from '../components/bits.tsx';
import { Icon } from '../components/Icon.tsx';
import { TabPanel, Tabs, type TabSpec } from '../components/Tabs.tsx';
import { ConfirmDialog } from '../dialogs/ConfirmDialog.tsx';
import { ArchiveTab } from './detail/ArchiveTab.tsx';
import { CodesTab } from './detail/CodesTab.tsx';
import { FilesTab } from './detail/FilesTab.tsx';
import { IgnoreTab } from './detail/IgnoreTab.tsx';
import { LocalChangesTab } from './detail/LocalChangesTab.tsx';
import { EncryptedCopyNote, LocalChangesNote, PendingJoinNote } from './detail/ShareNotes.tsx';
import { PeersTab } from './detail/PeersTab.tsx';
import { RecentTab } from './detail/RecentTab.tsx';
import { TransfersTab } from './detail/TransfersTab.tsx';

export function ShareDetailView({ shareId, tab }: { shareId: string; tab: DetailTab }) {
  const share = useAppState((s) => s.shares.find((x) => x.id === shareId));
  if (!share) return null;
  return <Detail share={share} tab={tab} />;
}

function Detail({ share: s, tab }: { share: ShareSummary; tab: DetailTab }) {
  const { actions, bridge } = useApp();
  const peers = useAppState((st) => st.peers);
  const sharePeers = peersOfShare(peers, s.id);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const now = useNow();
  const badge = shareBadge(s);

  useEffect(() => {
    document.title = `${s.name} — Peerfold`;
    return () => {
      document.title = 'Peerfold';
    };
  }, [s.name]);

  const allTabs: Record<DetailTab, TabSpec<DetailTab>> = {
    codes: { id: 'codes', label: 'Codes' },
    peers: { id: 'peers', label: 'Peers', count: sharePeers.length },
    transfers: { id: 'transfers', label: 'Transfers', count: s.pulling.length },
    files: { id: 'files', label: 'Files' },
    changes: { id: 'changes', label: 'Local changes', count: s.localChanges, attention: s.localChanges > 0 },
    recent: { id: 'recent', label: 'Recent changes' },
    archive: { id: 'archive', label: 'Archive' },
    ignore: { id: 'ignore', label: 'Ignore rules' },
  };
  const tabs = detailTabsFor(s).map((t) => allTabs[t]);
  // a tab this share does not have (an encrypted copy has no files) shows its first one
  const shown = tabs.some((t) => t.id === tab) ? tab : (tabs[0]?.id ?? tab);
  const select = (t: DetailTab) => actions.navigate({ view: 'share', shareId: s.id, tab: t });

  return (
    <section className="view" aria-labelledby="detail-title" data-testid="share-detail" data-share-id={s.id} data-share-name={s.name}>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <button type="button" className="link-button" onClick={() => actions.navigate({ view: 'shares' })} data-testid="detail-back">
          <Icon name="chevronLeft" size={14} /> Shares
        </button>
      </nav>
      <header className="view-header detail-header">
        <div className="detail-heading">
          <div className="share-icon share-icon-lg" aria-hidden="true">
            <Icon name="folder" size={24} />
          </div>
          <div className="min-w-0">
            <div className="share-title-line">
              <h1 id="detail-title" className="view-title truncate" data-testid="detail-name">
                {s.name}
              </h1>
              <StateBadge state={badge} testid="detail-state" />
              <span className={`access access-${s.access}`} data-testid="detail-access">
                {accessLabel[s.access]}
              </span>
            </div>
            <p className="view-subtitle mono truncate" title={s.path} data-testid="detail-path">
              {s.path}
            </p>
          </div>
        </div>
        <div className="view-actions">
          {bridge.capabilities.openPath && bridge.openPath && (
            <button
              type="button"
              className="btn btn-secondary"
              onClick={() => bridge.openPath?.(joinSharePath(s.path, '')).catch((err) => actions.notifyError('open the folder', err, s.id))}
              data-testid="detail-open-folder"
            >
              <Icon name="external" size={15} />
              Open folder
            </button>
          )}
          {!s.invite && (
            <>
              <button
                type="button"
                className="btn btn-secondary"
                onClick={() => void actions.rescan(s.id)}
                data-testid="detail-rescan"
                title="Look for changes now"
              >
                <Icon name="refresh" size={15} />
                Rescan
              </button>
              <button
                type="button"
                className="btn btn-secondary"
                onClick={() => void (s.paused ? actions.resume(s.id) : actions.pause(s.id))}
                data-testid="detail-pause-toggle"
                data-paused={s.paused}
              >
                <Icon name={s.paused ? 'play' : 'pause'} size={15} />
                {s.paused ? 'Resume' : 'Pause'}
              </button>
            </>
          )}
          <button
            type="button"
            className="btn btn-ghost btn-danger-text"
            onClick={() => setConfirmRemove(true)}
            data-testid="detail-unshare"
            aria-label={`Stop sharing ${s.name}`}
          >
            <Icon name="trash" size={15} />
          </button>
        </div>
      </header>

      <PendingJoinNote share={s} />
      <EncryptedCopyNote share={s} />
      <LocalChangesNote share={s} />
      {s.error && !s.invite && (
        <div className="callout callout-danger" role="alert" data-testid="detail-error">
          <Icon name="alert" size={16} />
          <div>{s.error}</div>
        </div>
      )}
      {s.heldDeletes > 0 && (
        <div className="callout callout-warn held-deletes" role="alert" data-testid="detail-held-deletes">
          <Icon name="alert" size={16} />
          <div>
            <p>
              <strong>{plural(s.heldDeletes, 'file')} deleted here at once</strong> — most of this share. The deletions have not been sent
              to other devices, and syncing waits until you decide.
            </p>
            <div className="callout-actions">
              <button
                type="button"
                className="btn btn-secondary"
                onClick={() => void actions.settleHeldDeletes(s.id, 'restore')}
                data-testid="held-restore"
              >
                Restore the files
              </button>
              <button
                type="button"
                className="btn btn-danger"
                onClick={() => void actions.settleHeldDeletes(s.id, 'confirm')}
                data-testid="held-confirm"
              >
                Delete everywhere
              </button>
            </div>
          </div>
        </div>
      )}
      {s.watcher === 'rescan-only' && (
        <div className="callout callout-warn">
          <Icon name="info" size={16} />
          <div>
            This system’s limit on watched folders was reached, so changes here are found by periodic rescans and may take a little longer
            to sync.
          </div>
        </div>
      )}

      {!s.invite && (
        <>
          <div className="stat-grid">
            <div className="stat">
              <div className="stat-label">Progress</div>
              <div className="stat-value">
                {s.state === 'waiting'
                  ? 'Waiting for a peer…'
                  : shareProgress(s) >= 1
                    ? s.state === 'scanning'
                      ? 'Scanning…'
                      : 'Up to date'
                    : `${percent(shareProgress(s))}%`}
              </div>
              <ProgressBar
                value={shareProgress(s)}
                label={`${s.name}: ${needText(s)}`}
                testid="detail-progress"
                tone={s.paused || s.error ? 'paused' : shareProgress(s) >= 1 ? 'ok' : 'accent'}
                size="sm"
              />
              {shareProgress(s) < 1 && <div className="stat-sub truncate">{needText(s)}</div>}
            </div>
            <div className="stat">
              <div className="stat-label">On this device</div>
              <div className="stat-value" data-testid="detail-size">
                {formatBytes(s.localBytes)}
              </div>
              <div className="stat-sub">{plural(s.localFiles, 'file')}</div>
            </div>
            <div className="stat">
              <div className="stat-label">Peers connected</div>
              <div className="stat-value" data-testid="detail-peers">
                {s.peersConnected}
              </div>
              <div className="stat-sub">{plural(sharePeers.length, 'device')} known</div>
            </div>
            <div className="stat">
              <div className="stat-label">Speed</div>
              <div className="stat-value rates">
                <span>↓ {formatRate(s.inBytesPerSec)}</span>
                <span>↑ {formatRate(s.outBytesPerSec)}</span>
              </div>
              <div className="stat-sub">{s.lastScanAt ? `Scanned ${formatAgo(s.lastScanAt, now)}` : 'Not scanned yet'}</div>
            </div>
          </div>

          {s.errors.length > 0 && (
            <details className="callout callout-warn path-errors" data-testid="detail-path-errors">
              <summary>
                {plural(s.errors.length, 'file')} could not be synced <span className="muted">— show</span>
              </summary>
              <ul>
                {s.errors.slice(0, 100).map((e) => (
                  <li key={e.path}>
                    <span className="mono">{e.path}</span>: {e.error}
                  </li>
                ))}
              </ul>
            </details>
          )}

          <Tabs tabs={tabs} current={shown} onSelect={select} idPrefix="detail" />
          <TabPanel idPrefix="detail" current={shown}>
            {shown === 'codes' && <CodesTab share={s} />}
            {shown === 'peers' && <PeersTab share={s} peers={sharePeers} />}
            {shown === 'transfers' && <TransfersTab share={s} />}
            {shown === 'files' && <FilesTab share={s} />}
            {shown === 'changes' && <LocalChangesTab share={s} />}
            {shown === 'recent' && <RecentTab share={s} />}
            {shown === 'archive' && <ArchiveTab share={s} />}
            {shown === 'ignore' && <IgnoreTab share={s} />}
          </TabPanel>
        </>
      )}

      {confirmRemove && (
        <ConfirmDialog
          title={`Stop sharing “${s.name}”?`}
          confirm="Stop sharing"
          danger
          onClose={() => setConfirmRemove(false)}
          onConfirm={async () => {
            setConfirmRemove(false);
            if (await actions.unshare(s.id)) actions.navigate({ view: 'shares' });
          }}
        >
          <p>This device stops syncing the folder. The files stay where they are, and other devices keep their copies.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
