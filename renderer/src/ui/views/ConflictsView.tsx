// Every conflict, both versions side by side, a text diff or image previews, and the choice.
import { useEffect, useMemo, useState } from 'react';
import type { ConflictInfo, FilePreview, ResolveKeep } from '../../../../shared/api.ts';
import { conflictVersions, joinSharePath, parentOf, previewKindOf, type ConflictVersion } from '../../store/derive.ts';
import { diffLines, hunks } from '../../store/diff.ts';
import { formatAgo, formatBytes, formatDateTime, plural } from '../../store/format.ts';
import { errorMessage } from '../../store/reducers.ts';
import { useApp, useAppState } from '../app-context.tsx';
import { EmptyState, Spinner, useNow } from '../components/bits.tsx';
import { Icon } from '../components/Icon.tsx';

export function ConflictsView() {
  const conflicts = useAppState((s) => s.conflicts);
  const sorted = useMemo(() => [...conflicts].sort((a, b) => b.createdAt - a.createdAt), [conflicts]);
  return (
    <section className="view" aria-labelledby="conflicts-title">
      <header className="view-header">
        <div>
          <h1 id="conflicts-title" className="view-title">
            Conflicts
          </h1>
          <p className="view-subtitle">
            {sorted.length
              ? `${plural(sorted.length, 'file')} changed on two devices at once. Both versions are safe; choose what to keep.`
              : 'When a file is changed on two devices before they sync, both versions are kept and shown here.'}
          </p>
        </div>
      </header>
      {sorted.length === 0 ? (
        <EmptyState icon="check" title="No conflicts" testid="conflicts-empty">
          <p>
            Everything agrees. If the same file is ever edited on two devices at the same time, you will choose which version to keep here —
            nothing is overwritten without you.
          </p>
        </EmptyState>
      ) : (
        <ul className="conflict-list" aria-label="Conflicts">
          {sorted.map((c, i) => (
            <ConflictCard key={`${c.shareId}:${c.conflictPath}`} conflict={c} initiallyOpen={i < 3} />
          ))}
        </ul>
      )}
    </section>
  );
}

type PreviewState = { status: 'loading' } | { status: 'ready'; preview: FilePreview } | { status: 'error'; error: string };

function usePreview(shareId: string, path: string, enabled: boolean): PreviewState | null {
  const { actions } = useApp();
  const [state, setState] = useState<PreviewState | null>(null);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    setState({ status: 'loading' });
    const maxBytes = previewKindOf(path) === 'image' ? 4 * 1024 * 1024 : 256 * 1024;
    actions.preview(shareId, path, maxBytes).then(
      (preview) => live && setState({ status: 'ready', preview }),
      (err) => live && setState({ status: 'error', error: errorMessage(err) }),
    );
    return () => {
      live = false;
    };
  }, [actions, shareId, path, enabled]);
  return state;
}

function ConflictCard({ conflict: c, initiallyOpen }: { conflict: ConflictInfo; initiallyOpen: boolean }) {
  const { actions, bridge } = useApp();
  const myId = useAppState((s) => s.device?.id ?? null);
  const share = useAppState((s) => s.shares.find((x) => x.id === c.shareId));
  const [open, setOpen] = useState(initiallyOpen);
  const [busy, setBusy] = useState<ResolveKeep | null>(null);
  const now = useNow();
  const { mine, theirs } = conflictVersions(c, myId);
  const mineP = usePreview(c.shareId, mine.path, open);
  const theirsP = usePreview(c.shareId, theirs.path, open);
  const canOpen = bridge.capabilities.openPath && !!bridge.openPath && !!share;

  const resolve = async (keep: ResolveKeep) => {
    setBusy(keep);
    // the conflict copy names this conflict uniquely (a file can have several)
    const ok = await actions.resolve(c.shareId, c.conflictPath, keep);
    if (!ok) setBusy(null);
  };

  return (
    <li
      className="card conflict-card"
      data-testid="conflict-item"
      data-share-id={c.shareId}
      data-path={c.path}
      data-conflict-path={c.conflictPath}
    >
      <header className="conflict-head">
        <Icon name="file" size={18} />
        <div className="min-w-0">
          <h2 className="conflict-path mono truncate" title={c.path} data-testid="conflict-path">
            {c.path}
          </h2>
          <p className="muted small">
            {share ? `In “${share.name}”` : 'In a removed share'} · found {formatAgo(c.createdAt, now)}
          </p>
        </div>
        <button
          type="button"
          className="btn btn-ghost btn-sm"
          onClick={() => setOpen((o) => !o)}
          aria-expanded={open}
          data-testid="conflict-toggle"
        >
          {open ? 'Hide comparison' : 'Compare'}
        </button>
      </header>

      <div className="versions">
        <VersionCard
          title="Mine"
          version={mine}
          testid="conflict-local"
          tone="mine"
          preview={open ? mineP : null}
          onOpen={canOpen ? () => void bridge.openPath?.(joinSharePath(share!.path, mine.path)) : undefined}
        />
        <VersionCard
          title="Theirs"
          version={theirs}
          testid="conflict-remote"
          tone="theirs"
          preview={open ? theirsP : null}
          onOpen={canOpen ? () => void bridge.openPath?.(joinSharePath(share!.path, theirs.path)) : undefined}
        />
      </div>

      {open && <TextDiff mine={mineP} theirs={theirsP} />}

      <footer className="conflict-actions">
        <button
          type="button"
          className="btn btn-primary"
          disabled={busy !== null}
          onClick={() => void resolve('local')}
          data-testid="resolve-keep-local"
        >
          {busy === 'local' ? 'Keeping…' : 'Keep mine'}
        </button>
        <button
          type="button"
          className="btn btn-secondary"
          disabled={busy !== null}
          onClick={() => void resolve('remote')}
          data-testid="resolve-keep-remote"
        >
          {busy === 'remote' ? 'Keeping…' : 'Keep theirs'}
        </button>
        <button
          type="button"
          className="btn btn-secondary"
          disabled={busy !== null}
          onClick={() => void resolve('both')}
          data-testid="resolve-keep-both"
          title="Keep both files: the other version stays as a renamed copy"
        >
          {busy === 'both' ? 'Keeping…' : 'Keep both'}
        </button>
        <span className="spacer" />
        {canOpen && (
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => void bridge.openPath?.(joinSharePath(share!.path, parentOf(c.path)))}
            data-testid="conflict-open-folder"
          >
            <Icon name="external" size={15} />
            Open folder
          </button>
        )}
      </footer>
      <p className="muted small conflict-note">The version you do not keep goes to the archive, so it can still be restored.</p>
    </li>
  );
}

function VersionCard({
  title,
  version: v,
  testid,
  tone,
  preview,
  onOpen,
}: {
  title: string;
  version: ConflictVersion;
  testid: string;
  tone: 'mine' | 'theirs';
  preview: PreviewState | null;
  onOpen?: () => void;
}) {
  const p = preview?.status === 'ready' ? preview.preview : null;
  return (
    <div className={`version version-${tone}`} data-testid={testid} data-device-id={v.side.deviceId}>
      <div className="version-head">
        <span className="version-title">{title}</span>
        {onOpen && (
          <button type="button" className="btn btn-ghost btn-sm" onClick={onOpen} aria-label={`Open ${title.toLowerCase()} version`}>
            <Icon name="external" size={13} /> Open
          </button>
        )}
      </div>
      <dl className="version-meta">
        <div>
          <dt>Device</dt>
          <dd data-testid={`${testid}-device`}>
            {v.side.deviceName || v.side.deviceId}
            {v.mine && <span className="tag">this device</span>}
          </dd>
        </div>
        <div>
          <dt>Modified</dt>
          <dd data-testid={`${testid}-time`}>{formatDateTime(v.side.mtimeMs)}</dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd data-testid={`${testid}-size`}>{formatBytes(v.side.size)}</dd>
        </div>
      </dl>
      {preview?.status === 'loading' && <Spinner label="Loading preview" />}
      {preview?.status === 'error' && <p className="muted small">No preview: {preview.error}</p>}
      {p?.kind === 'image' && p.base64 && !p.truncated && (
        <div className="image-preview">
          <img
            src={`data:${p.mime ?? 'image/png'};base64,${p.base64}`}
            alt={`${title} version`}
            data-testid={`conflict-image-${tone === 'mine' ? 'local' : 'remote'}`}
          />
        </div>
      )}
      {p?.kind === 'image' && p.truncated && <p className="muted small">Too large to preview here.</p>}
      {p?.kind === 'binary' && <p className="muted small">No preview for this kind of file.</p>}
      {p?.kind === 'missing' && <p className="muted small">This version is no longer on disk.</p>}
    </div>
  );
}

function TextDiff({ mine, theirs }: { mine: PreviewState | null; theirs: PreviewState | null }) {
  const a = mine?.status === 'ready' && mine.preview.kind === 'text' ? mine.preview : null;
  const b = theirs?.status === 'ready' && theirs.preview.kind === 'text' ? theirs.preview : null;
  const result = useMemo(() => (a && b ? diffLines(a.text ?? '', b.text ?? '') : null), [a, b]);
  const parts = useMemo(() => (result ? hunks(result.ops, 3) : []), [result]);
  if (!a || !b || !result) return null;
  const changes = result.ops.filter((o) => o.kind !== 'same').length;
  return (
    <div className="diff" data-testid="conflict-diff">
      <div className="diff-head">
        <span className="small">
          <strong>Differences</strong> <span className="muted">· {changes === 0 ? 'the text is the same' : plural(changes, 'line')}</span>
        </span>
        <span className="diff-legend small">
          <span className="legend legend-mine">− only in mine</span>
          <span className="legend legend-theirs">+ only in theirs</span>
        </span>
      </div>
      {(a.truncated || b.truncated) && <p className="muted small diff-note">Only the beginning of the files is compared.</p>}
      {result.gaveUp && <p className="muted small diff-note">The versions are too different to line up; showing both in full.</p>}
      <div className="diff-body" role="table" aria-label="Line differences">
        {parts.map((h, i) =>
          'skipped' in h ? (
            <div key={i} className="diff-skip" role="row">
              <span role="cell">⋯ {plural(h.skipped, 'unchanged line')}</span>
            </div>
          ) : (
            h.ops.map((o, j) => (
              <div key={`${i}-${j}`} className={`diff-line diff-${o.kind}`} role="row">
                <span className="diff-num" role="cell">
                  {o.a ?? ''}
                </span>
                <span className="diff-num" role="cell">
                  {o.b ?? ''}
                </span>
                <span
                  className="diff-mark"
                  role="cell"
                  aria-label={o.kind === 'del' ? 'only in mine' : o.kind === 'add' ? 'only in theirs' : 'same'}
                >
                  {o.kind === 'del' ? '−' : o.kind === 'add' ? '+' : ' '}
                </span>
                <span className="diff-text" role="cell">
                  {o.text || ' '}
                </span>
              </div>
            ))
          ),
        )}
      </div>
    </div>
  );
}
