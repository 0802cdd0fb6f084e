import type { RecentChange, ShareSummary } from '../../../../../shared/api.ts';
import { formatAgo, formatDateTime } from '../../../store/format.ts';
import { useAppState } from '../../app-context.tsx';
import { EmptyState, useNow } from '../../components/bits.tsx';
import { ResourcePending } from './row-bits.tsx';
import { useShareResource } from './use-resource.ts';

const actionLabel: Record<RecentChange['action'], string> = { added: 'Added', modified: 'Changed', deleted: 'Deleted' };

export function RecentTab({ share }: { share: ShareSummary }) {
  const res = useShareResource(share, 'recent', { followChanges: true });
  const myId = useAppState((s) => s.device?.id ?? null);
  const now = useNow();
  if (!res?.data) return <ResourcePending res={res} label="Loading recent changes" />;
  const list = [...res.data].sort((a, b) => b.at - a.at);
  if (list.length === 0)
    return (
      <EmptyState icon="clock" title="No changes yet" testid="recent-empty">
        <p>Files added, changed or deleted on any device show up here.</p>
      </EmptyState>
    );
  return (
    <ul className="timeline" aria-label="Recent changes">
      {list.map((c, i) => (
        <li key={`${c.path}-${c.at}-${i}`} className="timeline-row" data-testid="recent-row" data-path={c.path} data-action={c.action}>
          <span className={`action action-${c.action}`}>{actionLabel[c.action]}</span>
          <span className="mono truncate" title={c.path}>
            {c.path}
          </span>
          <span className="muted small nowrap">{c.deviceId === myId ? 'this device' : c.deviceName}</span>
          <time className="muted small nowrap" dateTime={new Date(c.at).toISOString()} title={formatDateTime(c.at)}>
            {formatAgo(c.at, now)}
          </time>
        </li>
      ))}
    </ul>
  );
}
