import type { ArchiveEntry, ShareSummary } from '../../../../../shared/api.ts';
import { formatBytes, formatDateTime } from '../../../store/format.ts';
import { useActions } from '../../app-context.tsx';
import { EmptyState } from '../../components/bits.tsx';
import { PathCell, ResourcePending, RowActionButton, useRowAction } from './row-bits.tsx';
import { useShareResource } from './use-resource.ts';

const reasonLabel: Record<ArchiveEntry['reason'], string> = {
  replaced: 'Replaced',
  deleted: 'Deleted',
  'conflict-resolved': 'Lost a conflict',
};

export function ArchiveTab({ share }: { share: ShareSummary }) {
  const res = useShareResource(share, 'archive', { followChanges: true });
  const { restore } = useActions();
  const [busy, run] = useRowAction();

  if (!res?.data) return <ResourcePending res={res} label="Loading the archive" />;
  const list = [...res.data].sort((a, b) => b.archivedAt - a.archivedAt);
  if (list.length === 0)
    return (
      <EmptyState icon="history" title="The archive is empty" testid="archive-empty">
        <p>
          When a file is deleted or replaced by a newer version from another device, the old version is kept here for a while, so nothing is
          lost by accident.
        </p>
      </EmptyState>
    );
  return (
    <div className="stack">
      <p className="muted small">
        Old versions kept in <span className="mono">.peerfold/archive</span> inside the folder. Restoring puts the version back in place;
        the current one is archived in turn.
      </p>
      <div className="table-wrap">
        <table className="table" data-testid="archive-table">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Why</th>
              <th scope="col">Archived</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.archivedPath} data-testid="archive-row" data-path={a.path} data-archived-path={a.archivedPath}>
                <PathCell path={a.path} />
                <td>
                  <span className={`reason reason-${a.reason}`}>{reasonLabel[a.reason]}</span>
                </td>
                <td className="muted nowrap">{formatDateTime(a.archivedAt)}</td>
                <td className="num nowrap">{formatBytes(a.size)}</td>
                <RowActionButton
                  label="Restore"
                  runningLabel="Restoring…"
                  running={busy === a.archivedPath}
                  disabled={busy !== null}
                  onClick={() => void run(a.archivedPath, () => restore(share.id, a.archivedPath))}
                  testid="archive-restore"
                  ariaLabel={`Restore ${a.path} from ${formatDateTime(a.archivedAt)}`}
                />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
